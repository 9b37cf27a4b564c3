//! The real binary killed with SIGKILL in the middle of a rebuild: while fetching, after most
//! pages, and while merging the committed segments. Each time `CURRENT` still names the last good
//! generation, and opening the data directory removes the leftover `.partial` directory and serves
//! that generation with all its contracts. After the three crashes the binary's next rebuild runs
//! to its end and publishes the next generation.
//!
//! The moments are found by watching, not by timing: the simulator counts the pages it served,
//! and the partial directory shows tantivy's commit (`meta.json` lists segments) and the merge
//! (files of a segment `meta.json` does not list yet).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contract_search_ingest::PowercloudConnector;
use contract_search_model::Contract;
use contract_search_sim::server::{Faults, RunningSim};

use super::{
    ERP_URL_TEMPLATE, PASSWORD, WRITER_MEMORY_MB, WRITER_THREADS, assert_generation_holds, connector,
    connector_config, current_pointer, expected_contracts, generation_dirs, open_store, rebuild_from,
    simulator,
};
use crate::support::{ChildGuard, contract_search_binary};

const NUM_CONTRACTS: u64 = 4000;
/// Page size and concurrency of the binary, so that fetching takes a few seconds.
const CHILD_PAGE_SIZE: u64 = 50;
const CHILD_CONCURRENCY: u64 = 2;
/// Latency of every ERP answer while the binary rebuilds.
const CHILD_LATENCY_MS: u64 = 30;
const NUM_PAGES: u64 = NUM_CONTRACTS.div_ceil(CHILD_PAGE_SIZE);

/// When to kill the rebuild.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// As soon as the partial directory holds files and the first page was requested.
    Fetching,
    /// When 60% of the pages were requested.
    MostPagesFetched,
    /// After the commit, while the segments are being merged into one.
    Merging,
}

/// What the partial directory of a build shows.
#[derive(Debug, Default)]
struct PartialDir {
    exists: bool,
    num_files: usize,
    /// Segments the last tantivy commit lists in `meta.json`.
    committed_segments: BTreeSet<String>,
    /// Segments with files on disk.
    segments_on_disk: BTreeSet<String>,
    /// `GENERATION.json`, written after the merge.
    has_generation_meta: bool,
}

impl PartialDir {
    fn read(dir: &Path) -> PartialDir {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return PartialDir::default();
        };
        let mut state = PartialDir { exists: true, ..PartialDir::default() };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            state.num_files += 1;
            state.has_generation_meta |= name == "GENERATION.json";
            if let Some((stem, _)) = name.split_once('.')
                && stem.len() == 32
                && stem.bytes().all(|byte| byte.is_ascii_hexdigit())
            {
                state.segments_on_disk.insert(stem.to_ascii_lowercase());
            }
        }
        // tantivy replaces meta.json atomically; a missing one means nothing committed yet.
        if let Ok(text) = std::fs::read_to_string(dir.join("meta.json"))
            && let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text)
        {
            for segment in meta["segments"].as_array().into_iter().flatten() {
                if let Some(id) = segment["segment_id"].as_str() {
                    state.committed_segments.insert(id.replace('-', "").to_ascii_lowercase());
                }
            }
        }
        state
    }

    /// Committed, and a segment that the commit does not list is being written: the merge.
    fn is_merging(&self) -> bool {
        !self.committed_segments.is_empty()
            && !self.has_generation_meta
            && self.segments_on_disk.difference(&self.committed_segments).next().is_some()
    }
}

/// Starts `contract-search rebuild` on `data_dir` against `sim`; the page size and concurrency
/// come from a config file, everything else from flags and the secret from the environment.
fn spawn_rebuild(binary: &Path, sim: &RunningSim, data_dir: &Path, scratch: &Path, name: &str) -> ChildGuard {
    let config_path = scratch.join(format!("{name}.toml"));
    // The same deep links as the in-process connector, so both build the same contracts.
    let config = format!(
        "[powercloud]\npage_size = {CHILD_PAGE_SIZE}\nconcurrency = {CHILD_CONCURRENCY}\n\
         erp_url_template = \"{ERP_URL_TEMPLATE}\"\n"
    );
    std::fs::write(&config_path, config).unwrap();
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CONTRACT_SEARCH_") {
            command.env_remove(key);
        }
    }
    command
        .arg("rebuild")
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--powercloud-url", &sim.base_url])
        .args(["--powercloud-hash", sim.state.application_hash()])
        .args(["--powercloud-user", "apiuser"])
        .args(["--writer-memory-mb", &WRITER_MEMORY_MB.to_string()])
        .args(["--writer-threads", &WRITER_THREADS.to_string()])
        .env("CONTRACT_SEARCH_POWERCLOUD_SECRET", PASSWORD)
        .env("RUST_LOG", "info");
    ChildGuard::spawn(command, &scratch.join(name))
}

/// Waits until the running rebuild reaches `moment`, then kills it with SIGKILL. Returns what the
/// partial directory showed when the kill was decided, and the pages requested by then.
async fn kill_at(
    child: &mut ChildGuard,
    moment: Moment,
    sim: &RunningSim,
    partial_dir: &Path,
    requests_before: u64,
) -> (PartialDir, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let partial = PartialDir::read(partial_dir);
        let num_requested = sim.state.stats().requests - requests_before;
        let reached = match moment {
            Moment::Fetching => partial.num_files > 0 && num_requested >= 1,
            Moment::MostPagesFetched => partial.exists && num_requested * 10 >= NUM_PAGES * 6,
            Moment::Merging => partial.is_merging(),
        };
        if reached {
            let status = child.kill();
            assert_killed(status, child);
            eprintln!("killed at {moment:?}: {num_requested} of {NUM_PAGES} pages requested, {partial:?}");
            return (partial, num_requested);
        }
        if let Some(status) = child.try_wait() {
            panic!("the rebuild ended ({status}) before {moment:?}: {partial:?}{}", child.logs());
        }
        assert!(Instant::now() < deadline, "{moment:?} not reached within a minute{}", child.logs());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[cfg(unix)]
fn assert_killed(status: std::process::ExitStatus, child: &ChildGuard) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the child died of SIGKILL, not on its own{}", child.logs());
}

#[cfg(not(unix))]
fn assert_killed(status: std::process::ExitStatus, child: &ChildGuard) {
    assert!(!status.success(), "the child was killed{}", child.logs());
}

/// After a kill: the pointer still names the first generation, and opening the data directory
/// removes the partial build and serves the first generation with every contract.
fn assert_first_generation_serves(data_dir: &Path, expected: &[Contract]) {
    assert_eq!(current_pointer(data_dir), "g000001", "CURRENT after the kill");
    assert!(
        generation_dirs(data_dir).contains(&"g000002.partial".to_owned()),
        "the crash left its partial build"
    );
    let store = open_store(data_dir);
    assert_eq!(generation_dirs(data_dir), ["g000001"], "leftovers are removed on open");
    let current = store.current().expect("a generation is served after the crash");
    assert_eq!(current.id(), "g000001");
    assert_generation_holds(&current, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_killed_at_any_moment_leaves_the_last_good_generation_serving() {
    let binary = tokio::task::spawn_blocking(contract_search_binary).await.unwrap();
    let sim = simulator(23, NUM_CONTRACTS).await;
    let data_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let fast_connector: Arc<PowercloudConnector> = connector(connector_config(&sim, 1000));

    let store = open_store(data_dir.path());
    let first = rebuild_from(&store, &fast_connector, false).await.expect("the first rebuild succeeds");
    assert_eq!(first.generation, "g000001");
    drop(store);
    let expected = expected_contracts(&sim, fast_connector.mapping_options());
    let partial_dir = data_dir.path().join("generations").join("g000002.partial");

    sim.state.set_faults(Faults { latency_ms: CHILD_LATENCY_MS, ..Faults::default() });
    for moment in [Moment::Fetching, Moment::MostPagesFetched, Moment::Merging] {
        let requests_before = sim.state.stats().requests;
        let name = format!("{moment:?}").to_lowercase();
        let mut child = spawn_rebuild(&binary, &sim, data_dir.path(), scratch.path(), &name);
        let (seen, num_requested) = kill_at(&mut child, moment, &sim, &partial_dir, requests_before).await;

        // The process is dead: what it left on disk is what a crash leaves.
        let left = PartialDir::read(&partial_dir);
        assert!(left.exists, "the kill hit a running build");
        assert!(!left.has_generation_meta, "killed before the build finished: {left:?}");
        match moment {
            Moment::Fetching | Moment::MostPagesFetched => {
                assert!(num_requested < NUM_PAGES, "killed while fetching: {num_requested} pages requested");
                assert!(left.committed_segments.is_empty(), "killed before the commit: {left:?}");
            }
            Moment::Merging => {
                assert!(left.committed_segments.len() >= 2, "killed before the merge committed: {left:?}");
                assert!(seen.is_merging() && left.is_merging(), "killed while merging: {left:?}");
            }
        }
        assert_first_generation_serves(data_dir.path(), &expected);
    }

    // The crashes do not hinder the next rebuild: the build lock is free, the number of the
    // abandoned build is taken again, and the binary runs to its end.
    let mut child = spawn_rebuild(&binary, &sim, data_dir.path(), scratch.path(), "complete");
    let status = child.wait_async(Duration::from_secs(120)).await;
    assert!(status.success(), "the binary's rebuild succeeds{}", child.logs());
    let stdout = std::fs::read_to_string(&child.stdout_path).unwrap();
    assert!(
        stdout.contains(&format!("published generation g000002 with {NUM_CONTRACTS} contracts")),
        "{stdout}"
    );
    assert_eq!(current_pointer(data_dir.path()), "g000002");
    assert_eq!(generation_dirs(data_dir.path()), ["g000001", "g000002"]);
    let store = open_store(data_dir.path());
    assert_eq!(store.current().unwrap().id(), "g000002");
    assert_generation_holds(&store.current().unwrap(), &expected);
}
