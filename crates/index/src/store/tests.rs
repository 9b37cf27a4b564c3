use contract_search_model::Contract;

use super::*;

fn contract(number: u64) -> Contract {
    Contract {
        id: format!("{}", 30_000_000 + number),
        customer_id: format!("{}", 10_000_000 + number / 2),
        firstname: Some("Jürgen".into()),
        lastname: Some(format!("Müller{number}")),
        email: Some(format!("j.mueller{number}@web.de")),
        counter_number: Some(format!("1ESY11{:08}", number)),
        delivery_address: Some("Hauptstraße 5, 01067 Dresden".into()),
        source: Some("powercloud".into()),
        ..Contract::default()
    }
}

fn build(store: &GenerationStore, count: u64) -> Result<BuiltGeneration> {
    let (mut builder, _lock) = store.begin_build()?;
    for number in 0..count {
        builder.add(&contract(number))?;
    }
    builder.finish()
}

fn small_options() -> StoreOptions {
    StoreOptions {
        build: BuildOptions { num_threads: 1, memory_budget_bytes: 20 << 20 },
        ..StoreOptions::default()
    }
}

fn generation_dirs(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join(GENERATIONS_DIR))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn publish_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    assert!(store.current().is_none());
    let built = build(&store, 50).unwrap();
    let generation = store.publish(built, false).unwrap();
    assert_eq!(generation.num_contracts(), 50);
    assert_eq!(generation.contract_by_exact_id("30000007").unwrap(), Some(contract(7)));
    drop(store);
    let reopened = GenerationStore::open(dir.path(), small_options()).unwrap();
    let current = reopened.current().unwrap();
    assert_eq!(current.id(), "g000001");
    assert_eq!(current.contract_by_exact_id("30000049").unwrap(), Some(contract(49)));
}

#[test]
fn shrink_guard_keeps_the_served_generation() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    store.publish(build(&store, 100).unwrap(), false).unwrap();
    let error = store.publish(build(&store, 80).unwrap(), false).unwrap_err();
    assert!(matches!(error, Error::Validation { .. }), "{error}");
    assert!(error.to_string().contains("shrink"), "{error}");
    assert_eq!(store.current().unwrap().id(), "g000001");
    assert_eq!(generation_dirs(dir.path()), ["g000001"]);
    // The operator's override publishes it.
    let forced = store.publish(build(&store, 80).unwrap(), true).unwrap();
    assert_eq!(forced.num_contracts(), 80);
    // An empty first generation is refused too.
    let empty_dir = tempfile::tempdir().unwrap();
    let empty_store = GenerationStore::open(empty_dir.path(), small_options()).unwrap();
    assert!(empty_store.publish(build(&empty_store, 0).unwrap(), false).is_err());
    assert!(empty_store.current().is_none());
}

#[test]
fn retention_keeps_two_and_in_flight_readers_finish() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    store.publish(build(&store, 10).unwrap(), false).unwrap();
    let first = store.current().unwrap();
    let searcher = first.searcher();
    store.publish(build(&store, 11).unwrap(), false).unwrap();
    store.publish(build(&store, 12).unwrap(), false).unwrap();
    assert_eq!(generation_dirs(dir.path()), ["g000002", "g000003"]);
    // The first generation's directory is gone, yet a query that started on it still completes.
    assert_eq!(searcher.num_docs(), 10);
    assert_eq!(first.contract_by_exact_id("30000003").unwrap(), Some(contract(3)));
    assert_eq!(store.current().unwrap().num_contracts(), 12);
}

#[test]
fn leftovers_of_crashed_builds_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = GenerationStore::open(dir.path(), small_options()).unwrap();
        store.publish(build(&store, 10).unwrap(), false).unwrap();
        // A build that died half way (its builder dropped without finishing)...
        let (mut builder, lock) = store.begin_build().unwrap();
        builder.add(&contract(1)).unwrap();
        drop(builder);
        drop(lock);
        // ...and one that finished but crashed before CURRENT was replaced.
        let built = build(&store, 10).unwrap();
        fs::rename(&built.dir, dir.path().join(GENERATIONS_DIR).join("g000003")).unwrap();
    }
    assert_eq!(generation_dirs(dir.path()), ["g000001", "g000002.partial", "g000003"]);
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    assert_eq!(generation_dirs(dir.path()), ["g000001"]);
    assert_eq!(store.current().unwrap().id(), "g000001");
}

#[test]
fn one_build_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    let (_builder, _lock) = store.begin_build().unwrap();
    assert!(matches!(store.begin_build(), Err(Error::BuildRunning)));
}

#[test]
fn a_corrupt_pointer_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(CURRENT_FILE), "../../etc\n").unwrap();
    let error = GenerationStore::open(dir.path(), small_options()).err().unwrap();
    assert!(error.to_string().contains("names no generation"), "{error}");
}

#[test]
fn generation_numbers() {
    assert_eq!(parse_generation_number("g000007"), Some(7));
    assert_eq!(parse_generation_number("g000007.partial"), Some(7));
    assert_eq!(parse_generation_number("gx"), None);
    assert_eq!(parse_generation_number("CURRENT"), None);
}

#[test]
fn refresh_picks_up_another_processes_publication() {
    let dir = tempfile::tempdir().unwrap();
    let server = GenerationStore::open(dir.path(), small_options()).unwrap();
    server.publish(build(&server, 10).unwrap(), false).unwrap();
    assert!(!server.refresh().unwrap());
    // Another process (a cron rebuild) opens the same directory and publishes.
    let cron = GenerationStore::open(dir.path(), small_options()).unwrap();
    cron.publish(build(&cron, 12).unwrap(), false).unwrap();
    assert_eq!(server.current().unwrap().num_contracts(), 10);
    assert!(server.refresh().unwrap());
    assert_eq!(server.current().unwrap().num_contracts(), 12);
    assert_eq!(server.current().unwrap().id(), "g000002");
}

#[test]
fn opening_leaves_a_running_build_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    store.publish(build(&store, 10).unwrap(), false).unwrap();
    let (mut builder, _lock) = store.begin_build().unwrap();
    builder.add(&contract(1)).unwrap();
    // A second process (a server starting, a cron rebuild) opens the directory meanwhile.
    let other = GenerationStore::open(dir.path(), small_options()).unwrap();
    assert_eq!(other.current().unwrap().id(), "g000001");
    assert_eq!(generation_dirs(dir.path()), ["g000001", "g000002.partial"]);
    // The running build still finishes and publishes.
    let built = builder.finish().unwrap();
    store.publish(built, true).unwrap();
    assert_eq!(store.current().unwrap().id(), "g000002");
}

#[test]
fn live_changes_are_committed_with_their_journal_position_and_carried_into_the_next_build() {
    use crate::live::{CommitPayload, LiveWriter};
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    store.publish(build(&store, 20).unwrap(), false).unwrap();
    let generation = store.current().unwrap();
    assert_eq!(generation.commit_payload().unwrap(), CommitPayload::default());

    let mut writer = LiveWriter::open(generation.clone()).unwrap();
    let mut changed = contract(3);
    changed.email = Some("neu@example.org".into());
    writer.upsert(&changed).unwrap();
    writer.upsert(&contract(100)).unwrap();
    writer.delete("30000005");
    writer.delete("39999999");
    assert_eq!(
        generation.contract_by_exact_id("30000005").unwrap(),
        Some(contract(5)),
        "not before the commit"
    );
    writer.commit(&CommitPayload { journal_seq: 42, retry: vec![40] }).unwrap();
    assert_eq!(generation.num_contracts(), 20);
    assert_eq!(generation.contract_by_exact_id("30000003").unwrap(), Some(changed.clone()));
    assert_eq!(generation.contract_by_exact_id("30000100").unwrap(), Some(contract(100)));
    assert_eq!(generation.contract_by_exact_id("30000005").unwrap(), None);
    assert_eq!(
        generation
            .contracts_of_customer("10000001")
            .unwrap()
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["30000002", "30000003"]
    );
    drop(writer);

    // Reopened, the index says which journal entries it holds.
    drop(generation);
    drop(store);
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    let payload = store.current().unwrap().commit_payload().unwrap();
    assert_eq!(payload, CommitPayload { journal_seq: 42, retry: vec![40] });

    // A build starts from the served position: what came later is replayed onto it.
    let built = build(&store, 20).unwrap();
    assert_eq!(built.meta.journal_seq, 42);
    let next = store.publish(built, false).unwrap();
    assert_eq!(next.commit_payload().unwrap(), payload);
}

#[test]
fn a_contract_listed_twice_in_a_build_is_one_document_with_the_later_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    let (mut builder, _lock) = store.begin_build().unwrap();
    for number in 0..20 {
        builder.add(&contract(number)).unwrap();
    }
    // The ERP's list shifted while it was paged: contract 7 comes again, changed meanwhile.
    let later = Contract { email: Some("later@web.de".into()), ..contract(7) };
    builder.add(&later).unwrap();
    assert_eq!((builder.num_added(), builder.num_duplicates()), (20, 1));
    let generation = store.publish(builder.finish().unwrap(), false).unwrap();
    assert_eq!(generation.num_contracts(), 20);
    assert_eq!(generation.contract_by_exact_id("30000007").unwrap(), Some(later));
}

#[test]
fn ids_a_newer_generation_lacks_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = GenerationStore::open(dir.path(), small_options()).unwrap();
    let old = store.publish(build(&store, 10).unwrap(), false).unwrap();
    let (mut builder, _lock) = store.begin_build().unwrap();
    for number in (0..10).filter(|number| ![3, 8].contains(number)) {
        builder.add(&contract(number)).unwrap();
    }
    builder.add(&contract(42)).unwrap();
    let new = store.publish(builder.finish().unwrap(), true).unwrap();
    assert_eq!(old.ids_not_in(&new).unwrap(), ["30000003", "30000008"]);
    assert!(new.ids_not_in(&new).unwrap().is_empty());
    assert_eq!(new.ids_not_in(&old).unwrap(), ["30000042"]);
}
