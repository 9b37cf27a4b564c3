//! Tests of the journal on real files in temporary directories: formats, recovery from torn
//! tails, corruption reports, segment rolling, compaction, group commit and waking.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use contract_search_model::{Contract, Customer};
use proptest::prelude::*;

use super::*;

fn contract(id: u64) -> Contract {
    Contract {
        id: id.to_string(),
        customer_id: format!("K{id}"),
        firstname: Some("Jörg".into()),
        lastname: Some("Müller-Lüdenscheidt".into()),
        email: Some(format!("kunde{id}@example.de")),
        delivery_address: Some("Hauptstraße 5, 10115 Berlin".into()),
        zip: Some("10115".into()),
        iban: Some("DE89370400440532013000".into()),
        monthly_deposit: Some(53.5),
        consumption: Some(3477),
        start_date: Some(1_661_990_400),
        source: Some("import".into()),
        ..Contract::default()
    }
}

fn customer(id: u64) -> Customer {
    Customer {
        id: format!("K{id}"),
        business: true,
        company: Some("Stadtwerke \"Nord\"\nGmbH".into()),
        lastname: None,
        contract_ids: vec![id.to_string(), (id + 1).to_string()],
        extra: BTreeMap::from([("tariffZone".to_owned(), serde_json::json!({"zone": [1, 2]}))]),
        ..Customer::default()
    }
}

/// A small change of each kind, by number.
fn change(number: u64) -> Change {
    match number % 4 {
        0 => Change::Refetch {
            source: "powercloud".into(),
            record: RecordKind::Contract,
            id: number.to_string(),
        },
        1 => Change::UpsertContract { contract: contract(number) },
        2 => Change::DeleteContract { id: number.to_string() },
        _ => Change::UpsertCustomer { customer: customer(number) },
    }
}

fn small_change(number: u64) -> Change {
    Change::DeleteContract { id: number.to_string() }
}

fn options(segment_bytes: u64) -> JournalOptions {
    JournalOptions { segment_bytes }
}

fn open(dir: &Path) -> Journal {
    Journal::open(dir, JournalOptions::default()).unwrap()
}

fn all_entries(journal: &Journal) -> Vec<Entry> {
    journal.read_after(0, usize::MAX).unwrap()
}

fn changes_of(entries: &[Entry]) -> Vec<Change> {
    entries.iter().map(|entry| entry.change.clone()).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "journal"))
        .collect();
    files.sort();
    files
}

#[test]
fn journal_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Journal>();
}

#[test]
fn every_change_kind_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let changes = vec![
        Change::Refetch { source: "powercloud".into(), record: RecordKind::Contract, id: "30000001".into() },
        Change::Refetch { source: "lynqtech".into(), record: RecordKind::Customer, id: "K7".into() },
        Change::UpsertContract { contract: contract(30000001) },
        Change::DeleteContract { id: "30000002".into() },
        Change::UpsertCustomer { customer: customer(7) },
    ];
    let before_ms = unix_millis();
    {
        let journal = open(dir.path());
        assert_eq!(journal.last_seq(), 0);
        assert_eq!(journal.first_seq(), None);
        assert_eq!(journal.append(&changes).unwrap(), 1..=5);
        let entries = all_entries(&journal);
        assert_eq!(changes_of(&entries), changes);
        assert_eq!(entries.iter().map(|entry| entry.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert!(entries.iter().all(|entry| entry.at_ms >= before_ms && entry.at_ms <= unix_millis()));
        assert_eq!(journal.first_seq(), Some(1));
        assert!(journal.append(&[]).unwrap().is_empty());
    }
    // One JSON object per line, sequence number first, readable without this code.
    let text = fs::read_to_string(dir.path().join("00000000000000000001.journal")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with(r#"{"seq":1,"atMs":"#));
    let third: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(third["op"], "upsertContract");
    assert_eq!(third["contract"]["customerId"], "K30000001");
    assert_eq!(serde_json::from_str::<serde_json::Value>(lines[1]).unwrap()["record"], "customer");
    // And the same entries after reopening.
    let journal = open(dir.path());
    assert_eq!(changes_of(&all_entries(&journal)), changes);
}

#[test]
fn reopen_continues_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(dir.path());
        assert_eq!(journal.append(&[change(1), change(2)]).unwrap(), 1..=2);
        assert_eq!(journal.append(&[change(3)]).unwrap(), 3..=3);
    }
    let journal = open(dir.path());
    assert_eq!(journal.last_seq(), 3);
    assert_eq!(journal.append(&[change(4), change(5)]).unwrap(), 4..=5);
    assert_eq!(changes_of(&all_entries(&journal)), (1..=5).map(change).collect::<Vec<_>>());
}

#[test]
fn second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path());
    let error = Journal::open(dir.path(), JournalOptions::default()).unwrap_err();
    assert!(matches!(error, JournalError::Locked { .. }), "{error}");
    drop(journal);
    open(dir.path());
}

/// Writes entries 1..=3, damages the end of the only segment, reopens.
fn reopen_after_damage(damage: impl FnOnce(&Path)) -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).append(&[change(1), change(2), change(3)]).unwrap();
    damage(&dir.path().join("00000000000000000001.journal"));
    let journal = open(dir.path());
    (dir, journal)
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut content = fs::read(path).unwrap();
    content.extend_from_slice(bytes);
    fs::write(path, content).unwrap();
}

#[test]
fn torn_tail_is_cut_off_and_appends_continue() {
    let garbage: [&[u8]; 4] = [
        br#"{"seq":4,"atMs":17000000"#,
        b"\0\0\0\0\0\0\0\0",
        b"\0\0\0\n\0\0\0\n\0\0",
        b"{\"seq\":4,\"atMs\":1,\"op\":\"deleteCon\n",
    ];
    for bytes in garbage {
        let (dir, journal) = reopen_after_damage(|path| append_bytes(path, bytes));
        assert_eq!(journal.last_seq(), 3, "{}", String::from_utf8_lossy(bytes));
        assert_eq!(journal.append(&[change(4)]).unwrap(), 4..=4);
        assert_eq!(changes_of(&all_entries(&journal)), (1..=4).map(change).collect::<Vec<_>>());
        drop(journal);
        let text = fs::read_to_string(dir.path().join("00000000000000000001.journal")).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.ends_with('\n'));
    }
    // Half of the last line: that entry was never acknowledged, its number is given again.
    let (_dir, journal) = reopen_after_damage(|path| {
        let content = fs::read(path).unwrap();
        fs::write(path, &content[..content.len() - 20]).unwrap();
    });
    assert_eq!(journal.last_seq(), 2);
    assert_eq!(journal.append(&[change(9)]).unwrap(), 3..=3);
    assert_eq!(changes_of(&all_entries(&journal)), [change(1), change(2), change(9)]);
}

#[test]
fn torn_tail_can_empty_the_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = Journal::open(dir.path(), options(1)).unwrap();
        journal.append(&[small_change(1), small_change(2)]).unwrap();
    }
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 2, "one line per segment");
    fs::write(&files[1], b"{\"seq\":2,\"atMs").unwrap();
    let journal = Journal::open(dir.path(), options(1)).unwrap();
    assert_eq!(journal.last_seq(), 1);
    assert_eq!(journal.append(&[small_change(7)]).unwrap(), 2..=2);
    assert_eq!(changes_of(&all_entries(&journal)), [small_change(1), small_change(7)]);
}

#[test]
fn bad_line_before_good_ones_fails_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).append(&[change(1), change(2), change(3)]).unwrap();
    let path = dir.path().join("00000000000000000001.journal");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = r#"{"seq":2,"atMs":1,"op":"upsertCont"#;
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    let error = Journal::open(dir.path(), JournalOptions::default()).unwrap_err().to_string();
    assert!(error.contains("00000000000000000001.journal"), "{error}");
    assert!(error.contains("line 2"), "{error}");
}

#[test]
fn damage_outside_the_last_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    Journal::open(dir.path(), options(1)).unwrap().append(&[small_change(1), small_change(2)]).unwrap();
    let files = segment_files(dir.path());
    let whole = fs::read(&files[0]).unwrap();
    // A torn line is fine only at the very end of the journal.
    fs::write(&files[0], &whole[..whole.len() - 3]).unwrap();
    let error = Journal::open(dir.path(), options(1)).unwrap_err().to_string();
    assert!(error.contains("00000000000000000001.journal is corrupt at line 1"), "{error}");
    // A wrong sequence number is never a torn write.
    fs::write(&files[0], String::from_utf8(whole.clone()).unwrap().replace("\"seq\":1", "\"seq\":5"))
        .unwrap();
    let error = Journal::open(dir.path(), options(1)).unwrap_err().to_string();
    assert!(error.contains("sequence number 5 where 1 was expected"), "{error}");
    // A missing segment between two others.
    fs::write(&files[0], &whole).unwrap();
    Journal::open(dir.path(), options(1)).unwrap().append(&[small_change(3)]).unwrap();
    fs::remove_file(&files[1]).unwrap();
    let error = Journal::open(dir.path(), options(1)).unwrap_err();
    assert!(matches!(error, JournalError::Inconsistent { .. }), "{error}");
}

#[test]
fn segments_roll_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let changes: Vec<Change> = (1..=40).map(small_change).collect();
    let journal = Journal::open(dir.path(), options(300)).unwrap();
    journal.append(&changes[..5]).unwrap();
    for change in &changes[5..25] {
        journal.append(std::slice::from_ref(change)).unwrap();
    }
    journal.append(&changes[25..]).unwrap();
    assert_eq!(journal.last_seq(), 40);
    let files = segment_files(dir.path());
    assert!(files.len() >= 5, "{files:?}");
    let mut disk_bytes = 0;
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        assert!(text.len() <= 300, "{} holds {} bytes", path.display(), text.len());
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(name.parse::<u64>().unwrap(), first["seq"].as_u64().unwrap());
        disk_bytes += text.len() as u64;
    }
    assert_eq!(journal.disk_bytes(), disk_bytes);
    let check = |journal: &Journal| {
        for after in 0..=40u64 {
            for max in [1, 3, 7, 100] {
                let entries = journal.read_after(after, max).unwrap();
                let expected: Vec<u64> = (after + 1..=40).take(max).collect();
                assert_eq!(entries.iter().map(|entry| entry.seq).collect::<Vec<_>>(), expected);
                assert_eq!(
                    changes_of(&entries),
                    expected.iter().map(|&seq| small_change(seq)).collect::<Vec<_>>()
                );
            }
        }
    };
    check(&journal);
    drop(journal);
    check(&Journal::open(dir.path(), options(300)).unwrap());
}

#[test]
fn reads_find_entries_across_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path());
    let num_entries = 3 * segment::CHECKPOINT_STRIDE + 5;
    journal.append(&(1..=num_entries).map(small_change).collect::<Vec<_>>()).unwrap();
    let check = |journal: &Journal| {
        for after in [0, 1, 62, 63, 64, 65, 127, 128, 129, 190, num_entries - 1, num_entries] {
            let entries = journal.read_after(after, 2).unwrap();
            let expected: Vec<u64> = (after + 1..=num_entries).take(2).collect();
            assert_eq!(entries.iter().map(|entry| entry.seq).collect::<Vec<_>>(), expected, "after {after}");
        }
    };
    check(&journal);
    drop(journal);
    check(&open(dir.path()));
}

#[test]
fn compaction_removes_only_fully_covered_segments() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), options(200)).unwrap();
    for seq in 1..=30 {
        journal.append(&[small_change(seq)]).unwrap();
    }
    let first_seqs = |dir: &Path| -> Vec<u64> {
        segment_files(dir)
            .iter()
            .map(|path| path.file_stem().unwrap().to_str().unwrap().parse().unwrap())
            .collect()
    };
    let before = first_seqs(dir.path());
    assert!(before.len() >= 4, "{before:?}");
    // Up to the middle of the third segment: the first two go, the third stays.
    let upto = before[2] + 1;
    assert_eq!(journal.compact(upto).unwrap(), 2);
    assert_eq!(first_seqs(dir.path()), before[2..]);
    assert_eq!(journal.first_seq(), Some(before[2]));
    assert_eq!(journal.read_after(upto, 1).unwrap()[0].seq, upto + 1);
    assert_eq!(journal.read_after(0, 1).unwrap()[0].seq, before[2], "compacted entries are skipped");
    assert_eq!(journal.compact(upto).unwrap(), 0);
    // Everything: the active segment makes way for an empty one named by the next number.
    assert_eq!(journal.compact(u64::MAX).unwrap(), before.len() - 2);
    assert_eq!(first_seqs(dir.path()), [31]);
    assert_eq!(journal.first_seq(), None);
    assert_eq!(journal.disk_bytes(), 0);
    assert!(journal.read_after(0, 10).unwrap().is_empty());
    assert_eq!(journal.last_seq(), 30);
    drop(journal);
    let journal = Journal::open(dir.path(), options(200)).unwrap();
    assert_eq!(journal.last_seq(), 30);
    assert_eq!(journal.append(&[small_change(31)]).unwrap(), 31..=31);
    assert_eq!(changes_of(&journal.read_after(0, 10).unwrap()), [small_change(31)]);
}

#[test]
fn concurrent_appends_get_unique_consecutive_numbers_and_share_fsyncs() {
    const NUM_THREADS: u64 = 8;
    const APPENDS_PER_THREAD: u64 = 25;
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(open(dir.path()));
    // A disk-like fsync, also where the temporary directory is in RAM.
    journal.sync_delay_micros.store(1_000, Ordering::Relaxed);
    let syncs_before = journal.num_syncs();
    let threads: Vec<_> = (0..NUM_THREADS)
        .map(|thread_number| {
            let journal = Arc::clone(&journal);
            thread::spawn(move || {
                (0..APPENDS_PER_THREAD)
                    .map(|index| {
                        let seqs = journal.append(&[small_change(thread_number * 1000 + index)]).unwrap();
                        assert_eq!(seqs.start(), seqs.end());
                        // Acknowledged means readable.
                        assert!(journal.last_seq() >= *seqs.end());
                        *seqs.start()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect();
    let num_appends = NUM_THREADS * APPENDS_PER_THREAD;
    let num_syncs = journal.num_syncs() - syncs_before;
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=num_appends).collect::<Vec<_>>());
    assert!(num_syncs < num_appends, "{num_syncs} fsyncs for {num_appends} appends");
    // Each entry exactly once, in order, and each thread's changes in its own order.
    let entries = all_entries(&journal);
    assert_eq!(
        entries.iter().map(|entry| entry.seq).collect::<Vec<_>>(),
        (1..=num_appends).collect::<Vec<_>>()
    );
    for thread_number in 0..NUM_THREADS {
        let ids: Vec<Change> = changes_of(&entries)
            .into_iter()
            .filter(|change| matches!(change, Change::DeleteContract { id } if id.parse::<u64>().unwrap() / 1000 == thread_number))
            .collect();
        let expected: Vec<Change> =
            (0..APPENDS_PER_THREAD).map(|index| small_change(thread_number * 1000 + index)).collect();
        assert_eq!(ids, expected);
    }
}

#[test]
fn wait_after_wakes_on_append_and_times_out_without() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(open(dir.path()));
    let started = Instant::now();
    assert!(!journal.wait_after(0, Duration::from_millis(20)));
    assert!(started.elapsed() >= Duration::from_millis(20));
    let waiter = {
        let journal = Arc::clone(&journal);
        thread::spawn(move || {
            let started = Instant::now();
            (journal.wait_after(0, Duration::from_secs(10)), started.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(30));
    journal.append(&[change(1)]).unwrap();
    let (woken, waited) = waiter.join().unwrap();
    assert!(woken);
    assert!(waited < Duration::from_secs(5), "woke only after {waited:?}");
    assert!(journal.wait_after(0, Duration::ZERO), "an entry exists already");
    assert!(!journal.wait_after(1, Duration::ZERO));
}

#[test]
fn failed_fsync_stops_appends_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(open(dir.path()));
    journal.append(&[change(1)]).unwrap();
    journal.sync_delay_micros.store(20_000, Ordering::Relaxed);
    journal.fail_next_sync.store(true, Ordering::Relaxed);
    // Several appenders share the failing sync or wait behind it: all fail, none hangs.
    let threads: Vec<_> = (2..6)
        .map(|number| {
            let journal = Arc::clone(&journal);
            thread::spawn(move || journal.append(&[change(number)]))
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|thread| thread.join().unwrap()).collect();
    assert!(outcomes.iter().any(|outcome| matches!(outcome, Err(JournalError::Io { .. }))), "{outcomes:?}");
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    assert!(matches!(journal.append(&[change(9)]), Err(JournalError::Poisoned)));
    assert!(matches!(journal.compact(1), Err(JournalError::Poisoned)));
    assert_eq!(journal.last_seq(), 1, "nothing unsynced is handed to readers");
    drop(journal);
    // Reopening is recovery: entries that did reach the file are kept (never acknowledged,
    // applied at least once), and appends work again.
    let journal = open(dir.path());
    assert_eq!(journal.last_seq(), 5);
    assert_eq!(journal.append(&[change(6)]).unwrap(), 6..=6);
}

fn arbitrary_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        ("[a-z]{1,8}", any::<bool>(), "[0-9A-Z]{1,10}").prop_map(|(source, is_contract, id)| {
            Change::Refetch {
                source,
                record: if is_contract { RecordKind::Contract } else { RecordKind::Customer },
                id,
            }
        }),
        ("[0-9]{1,9}", "\\PC{0,30}").prop_map(|(id, lastname)| Change::UpsertContract {
            contract: Contract { lastname: Some(lastname), ..contract(id.parse().unwrap()) }
        }),
        "\\PC{1,12}".prop_map(|id| Change::DeleteContract { id }),
        (0u64..1000).prop_map(|id| Change::UpsertCustomer { customer: customer(id) }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Whatever the batches and the segment size, reopening yields exactly what was appended,
    /// and any window read from any position is the matching slice.
    #[test]
    fn random_batches_read_back_the_same_after_reopen(
        batches in prop::collection::vec(prop::collection::vec(arbitrary_change(), 0..6), 1..8),
        segment_bytes in 100u64..3000,
        windows in prop::collection::vec((0u64..40, 1usize..10), 5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let appended: Vec<Change> = batches.concat();
        {
            let journal = Journal::open(dir.path(), options(segment_bytes)).unwrap();
            let mut next_seq = 1;
            for batch in &batches {
                let seqs = journal.append(batch).unwrap();
                prop_assert_eq!(seqs.clone().count(), batch.len());
                prop_assert_eq!(*seqs.start(), next_seq);
                next_seq += batch.len() as u64;
            }
        }
        let journal = Journal::open(dir.path(), options(segment_bytes)).unwrap();
        let entries = all_entries(&journal);
        prop_assert_eq!(changes_of(&entries), appended.clone());
        for (after, max) in windows {
            let window = journal.read_after(after, max).unwrap();
            let expected: Vec<Entry> = entries.iter().filter(|entry| entry.seq > after).take(max).cloned().collect();
            prop_assert_eq!(window, expected);
        }
    }
}

/// A measurement, not a test: prints what appends cost on the disk under `JOURNAL_MEASURE_DIR`
/// (default: the system's temporary directory).
/// `cargo test -p contract-search-ingest --release journal::tests::measure -- --ignored --nocapture`
#[test]
#[ignore = "measurement; prints timings"]
fn measure_append_costs() {
    let base = std::env::var_os("JOURNAL_MEASURE_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();
    let journal = Arc::new(open(dir.path()));
    let report = |what: &str, started: Instant, syncs_before: u64, journal: &Journal| {
        let elapsed = started.elapsed();
        println!(
            "{what}: {:.1} ms, {} fsyncs",
            elapsed.as_secs_f64() * 1e3,
            journal.num_syncs() - syncs_before
        );
    };

    let batch: Vec<Change> =
        (0..1000).map(|id| Change::UpsertContract { contract: contract(30_000_000 + id) }).collect();
    for round in 0..3 {
        let (started, syncs) = (Instant::now(), journal.num_syncs());
        journal.append(&batch).unwrap();
        report(&format!("batch of 1,000 contracts (round {round})"), started, syncs, &journal);
    }
    println!("  {} bytes per contract line", journal.disk_bytes() / 3000);

    let (started, syncs) = (Instant::now(), journal.num_syncs());
    for id in 0..200 {
        journal.append(&[Change::UpsertContract { contract: contract(id) }]).unwrap();
    }
    report("200 single appends from 1 thread", started, syncs, &journal);

    let (started, syncs) = (Instant::now(), journal.num_syncs());
    let threads: Vec<_> = (0..8u64)
        .map(|thread_number| {
            let journal = Arc::clone(&journal);
            thread::spawn(move || {
                for index in 0..125 {
                    journal
                        .append(&[Change::UpsertContract {
                            contract: contract(thread_number * 1000 + index),
                        }])
                        .unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|thread| thread.join().unwrap());
    report("1,000 single appends from 8 threads", started, syncs, &journal);

    let started = Instant::now();
    let mut after = 0;
    let mut num_read = 0;
    loop {
        let entries = journal.read_after(after, 1000).unwrap();
        let Some(last) = entries.last() else { break };
        after = last.seq;
        num_read += entries.len();
    }
    println!(
        "read_after in windows of 1,000: {num_read} entries in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    drop(journal);
    let started = Instant::now();
    let journal = open(dir.path());
    println!(
        "reopen (recovery scan) of {} entries: {:.1} ms",
        journal.last_seq(),
        started.elapsed().as_secs_f64() * 1e3
    );
}
