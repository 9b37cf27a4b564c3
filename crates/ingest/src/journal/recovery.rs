//! Opening a journal directory: the process lock, the recovery of the segments (crash-safety
//! point 3 of the [module documentation](super)), and the fsync helpers used from the start.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::warn;

use super::segment::{self, Segment};
use super::{JournalError, Result, format};

/// Name of the lock file in the journal directory.
const LOCK_FILE_NAME: &str = "LOCK";

/// The first sequence numbers of the segment files in `dir`, sorted. Other files are ignored.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut first_seqs = Vec::new();
    for dir_entry in fs::read_dir(dir).map_err(JournalError::io("listing", dir))? {
        let dir_entry = dir_entry.map_err(JournalError::io("listing", dir))?;
        if let Some(first_seq) = dir_entry.file_name().to_str().and_then(format::parse_segment_name) {
            first_seqs.push(first_seq);
        }
    }
    first_seqs.sort_unstable();
    Ok(first_seqs)
}

/// Scans the segments (sorted by first sequence number), cuts off a torn tail, and returns the
/// segment index and the next sequence number. An empty directory gets segment 1.
pub(super) fn recover(dir: &Path, first_seqs: &[u64], num_syncs: &AtomicU64) -> Result<(Vec<Segment>, u64)> {
    let Some(&last_first_seq) = first_seqs.last() else {
        let path = format::segment_path(dir, 1);
        File::create_new(&path).map_err(JournalError::io("creating segment", &path))?;
        sync_dir(dir, num_syncs)?;
        return Ok((vec![Segment::empty(1, path)], 1));
    };
    let mut segments = Vec::with_capacity(first_seqs.len());
    let mut next_seq = None;
    for &first_seq in first_seqs {
        let path = format::segment_path(dir, first_seq);
        if let Some(expected) = next_seq
            && first_seq != expected
        {
            let reason = format!(
                "segment {} starts at sequence number {first_seq}, but the one before it ends at {}",
                path.display(),
                expected - 1
            );
            return Err(JournalError::Inconsistent { path: dir.to_owned(), reason });
        }
        let scan = segment::scan(&path, first_seq, first_seq == last_first_seq)?;
        if let Some((line, num_bytes)) = scan.torn {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(JournalError::io("opening segment", &path))?;
            file.set_len(scan.segment.len).map_err(JournalError::io("truncating", &path))?;
            sync_data(&file, &path, num_syncs)?;
            warn!(path = %path.display(), line, num_bytes, "cut off a torn journal tail left by a crash");
        }
        next_seq = Some(first_seq + scan.num_entries);
        segments.push(scan.segment);
    }
    Ok((segments, next_seq.expect("at least one segment")))
}

/// Takes the exclusive lock on `<dir>/LOCK`, held as long as the returned file is open.
pub(super) fn lock_directory(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(JournalError::io("opening", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::Locked { path: dir.to_owned() }),
        Err(TryLockError::Error(error)) => Err(JournalError::io("locking", &path)(error)),
    }
}

pub(super) fn sync_data(file: &File, path: &Path, num_syncs: &AtomicU64) -> Result<()> {
    num_syncs.fetch_add(1, Ordering::Relaxed);
    file.sync_data().map_err(JournalError::io("syncing", path))
}

pub(super) fn sync_dir(dir: &Path, num_syncs: &AtomicU64) -> Result<()> {
    num_syncs.fetch_add(1, Ordering::Relaxed);
    File::open(dir).and_then(|dir_file| dir_file.sync_all()).map_err(JournalError::io("syncing", dir))
}

pub(super) fn parent_dir(dir: &Path) -> &Path {
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}
