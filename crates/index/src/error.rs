//! Errors of the index crate.

use std::path::PathBuf;

/// Errors of the index crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// tantivy failed (I/O below it, a corrupt segment, a lock held by another process).
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// File system error with the path it happened on.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A stored payload that does not decode: the index is corrupt or from another version.
    #[error("stored contract does not decode: {0}")]
    Payload(String),
    /// A generation failed validation and was not published.
    #[error("generation {generation} not published: {reason}")]
    Validation {
        /// The generation that failed.
        generation: String,
        /// Why.
        reason: String,
    },
    /// Another build holds the build lock of this data directory.
    #[error("a rebuild is already running on this data directory")]
    BuildRunning,
    /// The data directory holds something we do not understand.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
