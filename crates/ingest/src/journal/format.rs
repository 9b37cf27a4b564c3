//! The journal's on-disk format: segment file names and the one-JSON-object-per-line encoding.
//!
//! A line is `{"seq":N,"atMs":M,"op":"...",...}\n`: the [`Change`]'s own JSON object with the
//! sequence number and the time prepended. serde_json writes compact JSON, which never holds a raw
//! newline (newlines inside strings are escaped), so `\n` ends a line and nothing else.
//!
//! Reading has three speeds. Skipping a line only needs its sequence number, which the writer
//! always puts first, so [`line_head`] reads it from the prefix without parsing the rest (and falls
//! back to a full parse for a line that a tool rewrote with other key order). Recovery checks that
//! every line is well-formed JSON with a head ([`check_line`]), which validates the syntax of the
//! whole line without building the change. Only the entries handed out are decoded in full
//! ([`decode_line`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Change, Entry};

/// Extension of segment files.
const SEGMENT_EXTENSION: &str = "journal";
/// Digits of the first sequence number in a segment's name (enough for any `u64`).
const SEGMENT_NAME_DIGITS: usize = 20;

/// The path of the segment whose first entry has sequence number `first_seq`.
pub(super) fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:0width$}.{SEGMENT_EXTENSION}", width = SEGMENT_NAME_DIGITS))
}

/// The first sequence number named by a segment file name, or `None` for any other file.
pub(super) fn parse_segment_name(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(SEGMENT_EXTENSION)?.strip_suffix('.')?;
    if digits.len() != SEGMENT_NAME_DIGITS || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Serialises a change to the JSON object that follows the line prefix. Done outside the
/// journal's lock, since it is the expensive part of an append.
pub(super) fn encode_change(change: &Change, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(out, change)
}

/// Appends the line for one entry: `{"seq":N,"atMs":M,` + the change object without its `{` + `\n`.
pub(super) fn encode_line(out: &mut Vec<u8>, seq: u64, at_ms: u64, change_json: &[u8]) {
    // An internally tagged enum always writes an object holding at least `"op"`.
    debug_assert!(change_json.starts_with(b"{\"op\":") && change_json.ends_with(b"}"));
    write!(out, "{{\"seq\":{seq},\"atMs\":{at_ms},").expect("writing to a Vec cannot fail");
    out.extend_from_slice(&change_json[1..]);
    out.push(b'\n');
}

/// The fields every line starts with; `op` must be present, the rest is checked for syntax only.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    seq: u64,
    at_ms: u64,
    #[serde(rename = "op")]
    _op: IgnoredAny,
}

/// Sequence number and time of a line (without its `\n`), from the prefix the writer puts first,
/// or from a full parse when the prefix differs. `None` when the line has no valid head.
pub(super) fn line_head(line: &[u8]) -> Option<(u64, u64)> {
    fast_head(line).or_else(|| check_line(line).ok())
}

/// Checks that a line (without its `\n`) is one well-formed JSON object with `seq`, `atMs` and
/// `op`, and returns its sequence number and time. The error says what is wrong.
pub(super) fn check_line(line: &[u8]) -> Result<(u64, u64), String> {
    serde_json::from_slice::<Head>(line).map(|head| (head.seq, head.at_ms)).map_err(|error| error.to_string())
}

/// Decodes a whole line (without its `\n`) into an entry.
pub(super) fn decode_line(line: &[u8]) -> Result<Entry, String> {
    let (seq, at_ms) = line_head(line).ok_or("no valid `seq` and `atMs`")?;
    // The change's variants ignore unknown keys, so `seq` and `atMs` beside `op` do no harm and
    // the line is parsed once, without copying.
    let change = serde_json::from_slice::<Change>(line).map_err(|error| error.to_string())?;
    Ok(Entry { seq, at_ms, change })
}

/// Reads `{"seq":N,"atMs":M,` without parsing the rest of the line.
fn fast_head(line: &[u8]) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let (seq, rest) = leading_number(rest)?;
    let rest = rest.strip_prefix(b",\"atMs\":")?;
    let (at_ms, rest) = leading_number(rest)?;
    rest.starts_with(b",").then_some((seq, at_ms))
}

/// A decimal `u64` at the start of `bytes` and what follows it.
fn leading_number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let num_digits = bytes.iter().take_while(|byte| byte.is_ascii_digit()).count();
    let number = std::str::from_utf8(&bytes[..num_digits]).ok()?.parse().ok()?;
    Some((number, &bytes[num_digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RecordKind;

    #[test]
    fn segment_names_round_trip_and_sort_by_sequence() {
        let path = segment_path(Path::new("/j"), 42);
        assert_eq!(path, Path::new("/j/00000000000000000042.journal"));
        assert_eq!(parse_segment_name("00000000000000000042.journal"), Some(42));
        assert_eq!(parse_segment_name(&format!("{:020}.journal", u64::MAX)), Some(u64::MAX));
        for other in
            ["LOCK", "42.journal", "00000000000000000042.journal.tmp", "0000000000000000004x.journal"]
        {
            assert_eq!(parse_segment_name(other), None, "{other}");
        }
    }

    #[test]
    fn lines_carry_seq_and_time_first() {
        let change =
            Change::Refetch { source: "powercloud".into(), record: RecordKind::Contract, id: "7".into() };
        let mut json = Vec::new();
        encode_change(&change, &mut json).unwrap();
        let mut line = Vec::new();
        encode_line(&mut line, 12, 1_700_000_000_000, &json);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"seq\":12,\"atMs\":1700000000000,\"op\":\"refetch\",\"source\":\"powercloud\",\"record\":\"contract\",\"id\":\"7\"}\n"
        );
        let line = &line[..line.len() - 1];
        assert_eq!(fast_head(line), Some((12, 1_700_000_000_000)));
        assert_eq!(check_line(line), Ok((12, 1_700_000_000_000)));
        assert_eq!(decode_line(line).unwrap(), Entry { seq: 12, at_ms: 1_700_000_000_000, change });
    }

    #[test]
    fn other_key_order_is_read_by_the_slow_path() {
        let line = br#"{"op":"deleteContract","id":"9","atMs":5,"seq":3}"#;
        assert_eq!(fast_head(line), None);
        assert_eq!(line_head(line), Some((3, 5)));
        assert_eq!(decode_line(line).unwrap().change, Change::DeleteContract { id: "9".into() });
    }

    #[test]
    fn torn_and_malformed_lines_are_rejected() {
        let whole = br#"{"seq":3,"atMs":5,"op":"deleteContract","id":"9"}"#;
        for cut in 1..whole.len() {
            assert!(check_line(&whole[..cut]).is_err(), "{}", String::from_utf8_lossy(&whole[..cut]));
        }
        assert!(check_line(b"\0\0\0\0").is_err());
        assert!(check_line(br#"{"seq":3,"atMs":5}"#).is_err(), "op is required");
        assert!(decode_line(br#"{"seq":3,"atMs":5,"op":"launchRocket"}"#).is_err());
    }
}
