//! Segment files: the in-memory index of one segment, the recovery scan on open, and reading
//! entries from a position.
//!
//! Entries in a segment are consecutive: line `k` (from 1) holds sequence number
//! `first_seq + k - 1`. So a sparse table of byte offsets, one every [`CHECKPOINT_STRIDE`]
//! entries, finds any entry after reading at most `CHECKPOINT_STRIDE - 1` lines to skip, and line
//! numbers for error messages follow from sequence numbers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::format::{check_line, decode_line, line_head};
use super::{Entry, JournalError, Result};

/// Entries between two remembered byte offsets. At 600 bytes a contract, skipping to any entry
/// reads under 40 KB; the table costs 8 bytes per 64 entries.
pub(super) const CHECKPOINT_STRIDE: u64 = 64;

/// Read buffer for segment files.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// What the journal keeps in memory about one segment file.
#[derive(Debug)]
pub(super) struct Segment {
    /// Sequence number of its first entry (also its name); the next sequence number when empty.
    pub first_seq: u64,
    /// The file.
    pub path: PathBuf,
    /// Bytes written to it (whole lines only).
    pub len: u64,
    /// `checkpoints[i]` is the byte offset of the entry `first_seq + i * CHECKPOINT_STRIDE`.
    pub checkpoints: Vec<u64>,
}

impl Segment {
    /// A segment without entries.
    pub fn empty(first_seq: u64, path: PathBuf) -> Segment {
        Segment { first_seq, path, len: 0, checkpoints: Vec::new() }
    }

    /// Where to start reading to reach `seq`: a byte offset and the sequence number of the entry
    /// there (at most `seq`).
    pub fn start_for(&self, seq: u64) -> (u64, u64) {
        let index = (seq.saturating_sub(self.first_seq) / CHECKPOINT_STRIDE) as usize;
        match self.checkpoints.get(index).or(self.checkpoints.last()) {
            Some(&offset) => {
                let index = index.min(self.checkpoints.len() - 1) as u64;
                (offset, self.first_seq + index * CHECKPOINT_STRIDE)
            }
            None => (0, self.first_seq),
        }
    }

    /// Notes the byte offset of a newly written entry if it falls on a checkpoint.
    pub fn note_entry(checkpoints: &mut Vec<u64>, first_seq: u64, seq: u64, offset: u64) {
        if (seq - first_seq).is_multiple_of(CHECKPOINT_STRIDE) {
            checkpoints.push(offset);
        }
    }
}

/// The outcome of scanning one segment on open.
#[derive(Debug)]
pub(super) struct Scan {
    /// The segment as found (its length excludes a torn tail).
    pub segment: Segment,
    /// Entries in it.
    pub num_entries: u64,
    /// A torn tail to cut off: its first line number and its length in bytes.
    pub torn: Option<(u64, u64)>,
}

/// Reads a whole segment and checks every line: well-formed JSON with a head, and the expected
/// consecutive sequence number. In the last segment (`may_be_torn`), a tail of lines that are
/// all bad is reported as torn rather than as corruption: none of it can be an acknowledged
/// entry, since an acknowledged entry is whole and parses. A good line after a bad one is
/// corruption anywhere.
pub(super) fn scan(path: &Path, first_seq: u64, may_be_torn: bool) -> Result<Scan> {
    let file = File::open(path).map_err(JournalError::io("opening segment", path))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    let mut segment = Segment::empty(first_seq, path.to_owned());
    let mut line = Vec::new();
    let mut num_lines = 0u64;
    let mut num_entries = 0u64;
    let mut first_bad: Option<(u64, String)> = None;
    let mut torn_bytes = 0u64;
    loop {
        line.clear();
        let num_read =
            reader.read_until(b'\n', &mut line).map_err(JournalError::io("reading segment", path))?;
        if num_read == 0 {
            break;
        }
        num_lines += 1;
        let verdict = match line.strip_suffix(b"\n") {
            Some(content) => check_line(content),
            None => Err("the line has no terminating newline".to_owned()),
        };
        match (verdict, &first_bad) {
            (Ok((seq, _)), None) => {
                let expected = first_seq + num_lines - 1;
                if seq != expected {
                    let reason = format!("sequence number {seq} where {expected} was expected");
                    return Err(JournalError::corrupt(path, num_lines, reason));
                }
                Segment::note_entry(&mut segment.checkpoints, first_seq, seq, segment.len);
                segment.len += num_read as u64;
                num_entries += 1;
            }
            (Ok(_), Some((bad_line, reason))) => {
                let reason = format!("{reason} (and whole entries follow, so this is not a torn tail)");
                return Err(JournalError::corrupt(path, *bad_line, reason));
            }
            (Err(reason), None) if !may_be_torn => {
                return Err(JournalError::corrupt(path, num_lines, reason));
            }
            (Err(reason), None) => {
                first_bad = Some((num_lines, reason));
                torn_bytes = num_read as u64;
            }
            (Err(_), Some(_)) => torn_bytes += num_read as u64,
        }
    }
    let torn = first_bad.map(|(bad_line, _)| (bad_line, torn_bytes));
    Ok(Scan { segment, num_entries, torn })
}

/// Where a read of one segment starts and what it may return.
pub(super) struct ReadRequest<'a> {
    /// The segment file.
    pub path: &'a Path,
    /// The segment's first sequence number (for line numbers).
    pub first_seq: u64,
    /// Byte offset to start at, the start of the entry `seq_at_offset`.
    pub offset: u64,
    /// Sequence number of the entry at `offset`.
    pub seq_at_offset: u64,
    /// Return entries from this sequence number on.
    pub from_seq: u64,
    /// Return no entry beyond this one: the last durable entry, or the segment's last entry when a
    /// later segment follows.
    pub until_seq: u64,
    /// Stop when `out` holds this many entries.
    pub max: usize,
}

/// Appends the entries `from_seq..=until_seq` of one segment to `out`, up to `max` in all.
/// A file that no longer exists was compacted away meanwhile and yields nothing.
pub(super) fn read_entries(request: &ReadRequest<'_>, out: &mut Vec<Entry>) -> Result<()> {
    let path = request.path;
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(JournalError::io("opening segment", path)(error)),
    };
    file.seek(SeekFrom::Start(request.offset)).map_err(JournalError::io("reading segment", path))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    let mut line = Vec::new();
    let mut expected = request.seq_at_offset;
    while out.len() < request.max && expected <= request.until_seq {
        line.clear();
        reader.read_until(b'\n', &mut line).map_err(JournalError::io("reading segment", path))?;
        let line_number = expected - request.first_seq + 1;
        // Entries up to `until_seq` are durable and whole; anything short of that is damage.
        let Some(content) = line.strip_suffix(b"\n") else {
            let reason = format!("entry {expected} is missing or cut short");
            return Err(JournalError::corrupt(path, line_number, reason));
        };
        match line_head(content) {
            Some((seq, _)) if seq == expected => {}
            Some((seq, _)) => {
                let reason = format!("sequence number {seq} where {expected} was expected");
                return Err(JournalError::corrupt(path, line_number, reason));
            }
            None => return Err(JournalError::corrupt(path, line_number, "no valid `seq` and `atMs`")),
        }
        if expected >= request.from_seq {
            let entry =
                decode_line(content).map_err(|reason| JournalError::corrupt(path, line_number, reason))?;
            out.push(entry);
        }
        expected += 1;
    }
    Ok(())
}
