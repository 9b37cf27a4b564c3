//! The durable change journal: every accepted change, in order, on disk before the server
//! answers.
//!
//! The HTTP handlers [`Journal::append`] each accepted change (ERP webhook, contract or customer
//! `PUT`/`DELETE`, NDJSON bulk import) and answer 202/200 only once it returns. The worker reads
//! entries in order with [`Journal::read_after`] from the last sequence number it applied, sleeps
//! in [`Journal::wait_after`] until there are more, and drops what the index has committed with
//! [`Journal::compact`]. Share one journal as `Arc<Journal>`; one process at a time may open a
//! directory.
//!
//! # On disk
//!
//! ```text
//! <dir>/LOCK                               exclusive lock of the process holding the journal
//! <dir>/00000000000000000001.journal       a segment, named by its first sequence number
//! <dir>/00000000000000052001.journal       the active segment, appended to
//! ```
//!
//! Each line is one entry, a JSON object ending in `\n`, sequence number and time first:
//! `{"seq":52001,"atMs":1767225600000,"op":"upsertContract","contract":{"id":"30000001",...}}`.
//! The format is for `jq` on purpose: `cat <dir>/*.journal | jq -c 'select(.op == "deleteContract")'`.
//! Sequence numbers start at 1 and are consecutive across segments; a segment rolls over when
//! the next line would take it beyond [`JournalOptions::segment_bytes`]. Compaction deletes whole
//! segments from the oldest end.
//!
//! # Crash safety
//!
//! The claim: once `append` has returned `Ok`, its entries survive a crash at any moment
//! (`SIGKILL`, power loss) with their sequence numbers, and later entries never get those numbers.
//!
//! 1. `append` returns only after an `fdatasync` of the active segment that *began* after the
//!    entries were written to it (the syncing thread reads the written position after its own
//!    write). `fdatasync` makes both the bytes and the file length durable.
//! 2. A segment is left behind only after an `fdatasync` of it, and a new segment's directory
//!    entry is made durable (fsync of the directory) before any line goes into it. So every
//!    segment but the last is whole and durable at all times, and a crash can only damage the
//!    bytes of the last segment after its last completed sync: bytes that hold no acknowledged
//!    entry.
//! 3. Open reads every line. In the last segment, a tail of lines that are all bad (no final
//!    `\n`, or not an entry) is cut off: it holds no whole entry, hence no acknowledged one.
//!    A bad line followed by a good one, or a bad line in any other segment, is not something a
//!    crash produces: open fails naming file and line instead of guessing. Open then syncs the
//!    last segment and the directory, so whatever it found is durable before the worker acts.
//! 4. Entries found whole but never acknowledged (written, then killed before the sync returned)
//!    are kept. Their caller saw no answer and retries; changes are idempotent (full-record
//!    upserts, deletes, refetches), so applying one twice is harmless. A cut-off entry was never
//!    durable, so nobody has seen its sequence number, and the next append reuses it.
//! 5. Sequence numbers continue from the last entry on open. Compaction never deletes the active
//!    segment: when it covers that one too, it first rolls to a new, empty segment named by the
//!    next sequence number, which thereby survives even with no entries left. Segments are
//!    deleted oldest first with a directory fsync after each, so a crash during compaction leaves
//!    a gap-free run of segments.
//! 6. After a failed write or fsync the journal accepts no more appends ([`JournalError::Poisoned`]):
//!    once an fsync has failed, Linux may have dropped the dirty pages, and a retried fsync would
//!    report success for data that is gone. Restarting (open is recovery) re-reads what is really
//!    on disk.
//!
//! # Group commit
//!
//! An append serialises its changes without any lock, then, under the writer lock, gives them
//! sequence numbers and writes their lines (one `write` per segment touched). It then waits until
//! a sync covers its last entry: if no sync is running, it becomes the leader, notes how far the
//! file has been written, and syncs outside every lock; meanwhile other appenders write and wait.
//! When the sync ends, every appender it covers returns, and one of those it does not cover leads
//! the next one. Under load, one fsync acknowledges many appends; a batch of a thousand contracts
//! costs one fsync. The same condition variable wakes [`Journal::wait_after`].

mod change;
mod error;
mod format;
mod recovery;
mod segment;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{error, info};

pub use change::{Change, Entry, RecordKind};
pub use error::{JournalError, Result};
use recovery::{list_segments, lock_directory, parent_dir, recover, sync_data, sync_dir};
use segment::{ReadRequest, Segment};
/// A line buffer grown beyond this by a huge batch is not kept for the next append.
const MAX_KEPT_BUFFER_BYTES: usize = 4 << 20;

/// Settings of a [`Journal`].
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// A segment file rolls over when the next line would take it beyond this many bytes
    /// (a single larger line gets a segment of its own). Compaction frees whole segments, so this
    /// is also its granularity. Default 64 MiB.
    pub segment_bytes: u64,
}

impl Default for JournalOptions {
    fn default() -> JournalOptions {
        JournalOptions { segment_bytes: 64 << 20 }
    }
}

/// The durable, ordered change journal (see the [module documentation](self)). `Send + Sync`;
/// share it as `Arc<Journal>`.
pub struct Journal {
    dir: PathBuf,
    segment_bytes: u64,
    /// The active segment and the next sequence number. Held while writing, never while syncing.
    writer: Mutex<Writer>,
    /// Index of the segment files, oldest first; the last one is the active segment.
    segments: Mutex<Vec<Segment>>,
    /// How far entries are written and durable, and who is syncing.
    sync: Mutex<SyncState>,
    /// Signalled whenever `durable_seq` grows or the journal is poisoned.
    synced: Condvar,
    /// Serialises compactions.
    compaction: Mutex<()>,
    /// Set after a failed write or fsync (crash-safety point 6).
    poisoned: AtomicBool,
    num_syncs: AtomicU64,
    /// Holds the exclusive lock on `LOCK` while the journal is open.
    _lock_file: File,
    /// Tests slow syncs down to mimic a disk on a RAM file system.
    #[cfg(test)]
    sync_delay_micros: AtomicU64,
    /// Tests make the next sync fail.
    #[cfg(test)]
    fail_next_sync: AtomicBool,
}

struct Writer {
    file: Arc<File>,
    path: PathBuf,
    first_seq: u64,
    len: u64,
    next_seq: u64,
    /// Reused buffer for the lines of one append.
    lines: Vec<u8>,
}

struct SyncState {
    /// Last sequence number whose line has been written to its segment.
    written_seq: u64,
    /// Last sequence number known to be on disk; readers see entries up to here.
    durable_seq: u64,
    /// The active segment, for the next sync.
    file: Arc<File>,
    path: PathBuf,
    /// Whether a leader is syncing right now.
    syncing: bool,
}

impl Journal {
    /// Opens the journal in `dir`, creating the directory if needed, and recovers: cuts off a torn
    /// tail of the last segment and continues the sequence numbers. Fails on corruption (naming
    /// file and line) and when another process has the directory open.
    pub fn open(dir: &Path, options: JournalOptions) -> Result<Journal> {
        let num_syncs = AtomicU64::new(0);
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(JournalError::io("creating directory", dir))?;
            sync_dir(parent_dir(dir), &num_syncs)?;
        }
        let lock_file = lock_directory(dir)?;
        let (segments, next_seq) = recover(dir, &list_segments(dir)?, &num_syncs)?;
        let active = segments.last().expect("recovery leaves at least the active segment");
        let file = OpenOptions::new()
            .append(true)
            .open(&active.path)
            .map_err(JournalError::io("opening segment", &active.path))?;
        // What a killed process wrote may still be only in the page cache; make it durable
        // before the worker applies it (crash-safety point 3).
        sync_data(&file, &active.path, &num_syncs)?;
        sync_dir(dir, &num_syncs)?;
        let file = Arc::new(file);
        let writer = Writer {
            file: Arc::clone(&file),
            path: active.path.clone(),
            first_seq: active.first_seq,
            len: active.len,
            next_seq,
            lines: Vec::new(),
        };
        let sync = SyncState {
            written_seq: next_seq - 1,
            durable_seq: next_seq - 1,
            file,
            path: active.path.clone(),
            syncing: false,
        };
        info!(dir = %dir.display(), last_seq = next_seq - 1, num_segments = segments.len(), "journal opened");
        Ok(Journal {
            dir: dir.to_owned(),
            segment_bytes: options.segment_bytes,
            writer: Mutex::new(writer),
            segments: Mutex::new(segments),
            sync: Mutex::new(sync),
            synced: Condvar::new(),
            compaction: Mutex::new(()),
            poisoned: AtomicBool::new(false),
            num_syncs,
            _lock_file: lock_file,
            #[cfg(test)]
            sync_delay_micros: AtomicU64::new(0),
            #[cfg(test)]
            fail_next_sync: AtomicBool::new(false),
        })
    }

    /// Appends the changes in order and returns once they are on disk (fdatasync): the sequence
    /// numbers they got, consecutive. Blocking; concurrent callers share fsyncs (group commit).
    /// An empty batch writes nothing and returns an empty range.
    ///
    /// On `Err` the changes were not acknowledged but may still be applied (some may have
    /// reached the disk); after an I/O error every later append fails with
    /// [`JournalError::Poisoned`].
    pub fn append(&self, changes: &[Change]) -> Result<RangeInclusive<u64>> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(JournalError::Poisoned);
        }
        if changes.is_empty() {
            let last_seq = self.last_seq();
            return Ok(last_seq + 1..=last_seq);
        }
        // Serialising is the expensive part: done before taking the lock.
        let mut json = Vec::with_capacity(changes.len() * 512);
        let mut json_ends = Vec::with_capacity(changes.len());
        for change in changes {
            format::encode_change(change, &mut json).map_err(JournalError::Encode)?;
            json_ends.push(json.len());
        }
        let seqs = {
            let mut writer = self.writer.lock().map_err(|_| JournalError::Poisoned)?;
            if self.poisoned.load(Ordering::Acquire) {
                return Err(JournalError::Poisoned);
            }
            self.write_lines(&mut writer, &json, &json_ends).inspect_err(|_| self.poison())?
        };
        self.await_durable(*seqs.end())?;
        Ok(seqs)
    }

    /// The last durable sequence number; 0 before the first entry. Sequence numbers never
    /// repeat, also after compaction and reopening.
    pub fn last_seq(&self) -> u64 {
        lock(&self.sync).durable_seq
    }

    /// The oldest entry still kept, or `None` when no entry is kept (nothing journalled yet, or
    /// everything compacted away).
    pub fn first_seq(&self) -> Option<u64> {
        let last_seq = self.last_seq();
        let first_seq = lock(&self.segments).first().map(|segment| segment.first_seq)?;
        (first_seq <= last_seq).then_some(first_seq)
    }

    /// Up to `max` durable entries with sequence numbers above `after`, in order. Entries
    /// already compacted away are skipped: the answer then starts at [`first_seq`](Self::first_seq).
    /// Reads the segment files from the nearest remembered offset, so it costs about what it
    /// returns, wherever `after` is.
    pub fn read_after(&self, after: u64, max: usize) -> Result<Vec<Entry>> {
        let until_seq = self.last_seq();
        let from_seq = after.saturating_add(1);
        if max == 0 || from_seq > until_seq {
            return Ok(Vec::new());
        }
        // Plan under the lock, read without it.
        let mut plan = Vec::new();
        {
            let segments = lock(&self.segments);
            let start = segments.partition_point(|segment| segment.first_seq <= from_seq).saturating_sub(1);
            for (index, segment) in segments.iter().enumerate().skip(start) {
                if segment.first_seq > until_seq {
                    break;
                }
                let segment_until = segments.get(index + 1).map_or(until_seq, |next| next.first_seq - 1);
                let (offset, seq_at_offset) = segment.start_for(from_seq);
                plan.push((segment.path.clone(), segment.first_seq, offset, seq_at_offset, segment_until));
            }
        }
        let mut entries = Vec::with_capacity(max.min((until_seq - after) as usize).min(4096));
        for (path, first_seq, offset, seq_at_offset, segment_until) in plan {
            if entries.len() >= max {
                break;
            }
            let request = ReadRequest {
                path: &path,
                first_seq,
                offset,
                seq_at_offset,
                from_seq,
                until_seq: segment_until.min(until_seq),
                max,
            };
            segment::read_entries(&request, &mut entries)?;
        }
        Ok(entries)
    }

    /// Blocks until an entry with a sequence number above `after` is durable, or `timeout`
    /// passes; returns whether there is one.
    pub fn wait_after(&self, after: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut sync = lock(&self.sync);
        while sync.durable_seq <= after {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            sync = self.synced.wait_timeout(sync, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// Deletes the segment files whose entries all have sequence numbers up to `upto` (at most
    /// the last durable one) and returns how many. When that includes the active segment, the
    /// journal first moves on to a new, empty one, so the next sequence number stays on disk.
    pub fn compact(&self, upto: u64) -> Result<usize> {
        let _compacting = lock(&self.compaction);
        if self.poisoned.load(Ordering::Acquire) {
            return Err(JournalError::Poisoned);
        }
        let upto = upto.min(self.last_seq());
        {
            let mut writer = self.writer.lock().map_err(|_| JournalError::Poisoned)?;
            if writer.next_seq > writer.first_seq && writer.next_seq - 1 <= upto {
                self.roll(&mut writer).inspect_err(|_| self.poison())?;
            }
        }
        let covered: Vec<PathBuf> = {
            let mut segments = lock(&self.segments);
            // Never the last (active) segment; the others end where the next one begins.
            let num_covered = segments.windows(2).take_while(|pair| pair[1].first_seq - 1 <= upto).count();
            segments.drain(..num_covered).map(|segment| segment.path).collect()
        };
        // Oldest first, each deletion durable before the next (crash-safety point 5).
        for path in &covered {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(JournalError::io("deleting segment", path)(error)),
            }
            sync_dir(&self.dir, &self.num_syncs)?;
        }
        Ok(covered.len())
    }

    /// Bytes of all segment files.
    pub fn disk_bytes(&self) -> u64 {
        lock(&self.segments).iter().map(|segment| segment.len).sum()
    }

    /// fsyncs (of files and of the directory) since open, including those of open itself. Under
    /// concurrent appends this grows slower than the number of appends.
    pub fn num_syncs(&self) -> u64 {
        self.num_syncs.load(Ordering::Relaxed)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Gives the lines sequence numbers and writes them, rolling segments as they fill up.
    fn write_lines(
        &self,
        writer: &mut Writer,
        json: &[u8],
        json_ends: &[usize],
    ) -> Result<RangeInclusive<u64>> {
        let at_ms = unix_millis();
        let first_seq = writer.next_seq;
        let mut lines = std::mem::take(&mut writer.lines);
        lines.clear();
        let mut checkpoints = Vec::new();
        let mut json_start = 0;
        for &json_end in json_ends {
            let seq = writer.next_seq;
            let line_start = lines.len();
            format::encode_line(&mut lines, seq, at_ms, &json[json_start..json_end]);
            json_start = json_end;
            let line_len = lines.len() - line_start;
            let segment_has_lines = writer.len > 0 || line_start > 0;
            if segment_has_lines && writer.len + lines.len() as u64 > self.segment_bytes {
                self.write_to_segment(writer, &lines[..line_start], seq - 1, &mut checkpoints)?;
                lines.drain(..line_start);
                self.roll(writer)?;
            }
            let offset = writer.len + (lines.len() - line_len) as u64;
            Segment::note_entry(&mut checkpoints, writer.first_seq, seq, offset);
            writer.next_seq += 1;
        }
        let last_seq = writer.next_seq - 1;
        self.write_to_segment(writer, &lines, last_seq, &mut checkpoints)?;
        if lines.capacity() <= MAX_KEPT_BUFFER_BYTES {
            writer.lines = lines;
        }
        Ok(first_seq..=last_seq)
    }

    /// Writes whole lines, ending with entry `last_seq`, to the active segment and publishes them
    /// to the segment index and to the next sync.
    fn write_to_segment(
        &self,
        writer: &mut Writer,
        lines: &[u8],
        last_seq: u64,
        checkpoints: &mut Vec<u64>,
    ) -> Result<()> {
        if !lines.is_empty() {
            (&*writer.file).write_all(lines).map_err(JournalError::io("writing", &writer.path))?;
            writer.len += lines.len() as u64;
        }
        {
            let mut segments = lock(&self.segments);
            let active = segments.last_mut().expect("the active segment is always indexed");
            debug_assert_eq!(active.first_seq, writer.first_seq);
            active.len = writer.len;
            active.checkpoints.append(checkpoints);
        }
        lock(&self.sync).written_seq = last_seq;
        Ok(())
    }

    /// Finishes the active segment (synced) and starts a new, empty one named by the next
    /// sequence number (directory synced), crash-safety points 2 and 5.
    fn roll(&self, writer: &mut Writer) -> Result<()> {
        self.sync_file(&writer.file, &writer.path)?;
        {
            let mut sync = lock(&self.sync);
            sync.durable_seq = sync.durable_seq.max(sync.written_seq);
            self.synced.notify_all();
        }
        let first_seq = writer.next_seq;
        let path = format::segment_path(&self.dir, first_seq);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(JournalError::io("creating segment", &path))?;
        sync_dir(&self.dir, &self.num_syncs)?;
        writer.file = Arc::new(file);
        writer.path = path.clone();
        writer.first_seq = first_seq;
        writer.len = 0;
        lock(&self.segments).push(Segment::empty(first_seq, path.clone()));
        let mut sync = lock(&self.sync);
        sync.file = Arc::clone(&writer.file);
        sync.path = path;
        Ok(())
    }

    /// Returns once entry `seq` is durable, leading a sync if none is running (group commit).
    fn await_durable(&self, seq: u64) -> Result<()> {
        let mut sync = lock(&self.sync);
        loop {
            if sync.durable_seq >= seq {
                return Ok(());
            }
            if self.poisoned.load(Ordering::Acquire) {
                return Err(JournalError::Poisoned);
            }
            if sync.syncing {
                sync = self.synced.wait(sync).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Lead: everything written so far is covered by a sync that starts now.
            sync.syncing = true;
            let target_seq = sync.written_seq;
            let file = Arc::clone(&sync.file);
            let path = sync.path.clone();
            drop(sync);
            let outcome = self.sync_file(&file, &path);
            sync = lock(&self.sync);
            sync.syncing = false;
            match outcome {
                Ok(()) => sync.durable_seq = sync.durable_seq.max(target_seq),
                // `poison` would take the lock held here.
                Err(_) => self.mark_poisoned(),
            }
            self.synced.notify_all();
            outcome?;
        }
    }

    fn sync_file(&self, file: &File, path: &Path) -> Result<()> {
        #[cfg(test)]
        {
            std::thread::sleep(Duration::from_micros(self.sync_delay_micros.load(Ordering::Relaxed)));
            if self.fail_next_sync.swap(false, Ordering::Relaxed) {
                return Err(JournalError::io("syncing", path)(std::io::Error::other("injected failure")));
            }
        }
        sync_data(file, path, &self.num_syncs)
    }

    /// Stops appends after an I/O error and wakes the waiters so they see it. Not with `sync`
    /// held.
    fn poison(&self) {
        self.mark_poisoned();
        // Taking the lock orders this after the waiters' check of the flag.
        let _sync = lock(&self.sync);
        self.synced.notify_all();
    }

    fn mark_poisoned(&self) {
        if !self.poisoned.swap(true, Ordering::AcqRel) {
            error!(dir = %self.dir.display(), "journal write failed; no more changes are accepted until restart");
        }
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Journal")
            .field("dir", &self.dir)
            .field("last_seq", &self.last_seq())
            .field("poisoned", &self.poisoned.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (plain counters and
/// an index that is updated in one step).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
