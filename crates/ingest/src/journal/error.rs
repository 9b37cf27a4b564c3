//! Errors of the change journal. All of them are "our fault" (disk, corruption, a second
//! process); none is the caller's.

use std::path::PathBuf;

/// Errors of the [`Journal`](super::Journal).
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// File system error, with what was being done and the path.
    #[error("journal: {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line that is not a valid entry, anywhere but in a torn tail. Open refuses the journal
    /// rather than guess; the file and line say where to look (`sed -n LINEp FILE`).
    #[error("journal file {path} is corrupt at line {line}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// The line number, from 1.
        line: u64,
        /// What is wrong with the line.
        reason: String,
    },
    /// The segment files do not fit together (a missing segment between two others).
    #[error("journal directory {path} is inconsistent: {reason}")]
    Inconsistent {
        /// The directory or segment.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// Another process has this journal open.
    #[error("journal directory {path} is in use by another process")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// An earlier write or fsync failed, so what is on disk is uncertain: the journal accepts
    /// no more appends. Reopening it (restarting the process) recovers from what is on disk.
    #[error("the journal stopped accepting changes after an earlier I/O error; restart to recover")]
    Poisoned,
    /// A change could not be written as JSON.
    #[error("a change could not be encoded as JSON: {0}")]
    Encode(#[source] serde_json::Error),
}

impl JournalError {
    pub(super) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> JournalError {
        let path = path.into();
        move |source| JournalError::Io { action, path, source }
    }

    pub(super) fn corrupt(path: impl Into<PathBuf>, line: u64, reason: impl Into<String>) -> JournalError {
        JournalError::Corrupt { path: path.into(), line, reason: reason.into() }
    }
}

/// `Result` with the journal's [`JournalError`].
pub type Result<T> = std::result::Result<T, JournalError>;
