//! The full rebuild end to end: the simulator's contract list over real HTTP into index
//! generations on disk, compared record for record with the simulator's data; faults on the way;
//! a cut-short export refused by the shrink guard; and the real binary killed with SIGKILL in the
//! middle of a rebuild, after which the last good generation still serves.
//!
//! Writers run with small memory budgets and two threads, and the connector with small backoffs,
//! so that the module stays within about a minute in a debug build on two cores.

mod concurrent;
mod crash;
mod faults;
mod full;
mod shrink;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use contract_search_index::generation::BuildOptions;
use contract_search_index::validate::ValidationOptions;
use contract_search_index::{Generation, GenerationStore, StoreOptions};
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_ingest::rebuild::{ProgressFn, RebuildOptions, RebuildReport, rebuild};
use contract_search_ingest::{Connector, PowercloudConfig, PowercloudConnector};
use contract_search_model::Contract;
use contract_search_sim::server::{RunningSim, SimConfig, spawn};
use serde_json::json;

/// The simulator's API password in these tests.
pub(crate) const PASSWORD: &str = "rebuild-e2e-secret";
/// Deep links into the ERP, part of every mapped contract.
pub(crate) const ERP_URL_TEMPLATE: &str = "https://app.powercloud.de/contract/{id}";
/// Writer memory budget of every build here.
const WRITER_MEMORY_MB: usize = 50;
/// Writer threads of every build here.
const WRITER_THREADS: usize = 2;

/// A simulator of `num_contracts` contracts under `seed` on a loopback port.
pub(crate) async fn simulator(seed: u64, num_contracts: u64) -> RunningSim {
    let config = SimConfig { seed, num_contracts, password: PASSWORD.to_owned(), ..SimConfig::default() };
    spawn(config).await.expect("the simulator starts")
}

/// A connector config for `sim`, with `page_size` and tiny backoffs (a cap of two seconds, so
/// that a `Retry-After: 1` is still honoured).
pub(crate) fn connector_config(sim: &RunningSim, page_size: usize) -> PowercloudConfig {
    PowercloudConfig {
        page_size,
        concurrency: 4,
        request_timeout: Duration::from_secs(10),
        max_retries: 20,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_secs(2),
        erp_url_template: Some(ERP_URL_TEMPLATE.to_owned()),
        ..PowercloudConfig::new(&sim.base_url, sim.state.application_hash(), "apiuser", PASSWORD)
    }
}

pub(crate) fn connector(config: PowercloudConfig) -> Arc<PowercloudConnector> {
    Arc::new(PowercloudConnector::new(config).expect("a valid connector config"))
}

/// Store settings of these tests: small writers, the default shrink guard (10%).
fn store_options() -> StoreOptions {
    StoreOptions {
        retention: 2,
        build: BuildOptions { num_threads: WRITER_THREADS, memory_budget_bytes: WRITER_MEMORY_MB << 20 },
        validation: ValidationOptions::default(),
    }
}

pub(crate) fn open_store(data_dir: &Path) -> Arc<GenerationStore> {
    Arc::new(GenerationStore::open(data_dir, store_options()).expect("the data directory opens"))
}

/// One rebuild of `store` from `connector`, in process.
pub(crate) async fn rebuild_from(
    store: &Arc<GenerationStore>,
    connector: &Arc<PowercloudConnector>,
    allow_shrink: bool,
) -> contract_search_ingest::Result<RebuildReport> {
    let sources: Vec<Arc<dyn Connector>> = vec![connector.clone()];
    let progress: ProgressFn = Arc::new(|_| {});
    rebuild(store.clone(), sources, RebuildOptions { allow_shrink }, progress).await
}

/// The simulator's current contracts, each mapped exactly as the connector maps a fetched record,
/// in id order (on all cores: regenerating and mapping is most of the comparison's cost).
pub(crate) fn expected_contracts(sim: &RunningSim, options: &MappingOptions) -> Vec<Contract> {
    let ids = sim.state.contract_ids();
    let map = |ids: &[u64]| -> Vec<Contract> {
        ids.iter()
            .map(|&id| {
                let raw = sim.state.current_contract(id).expect("a listed contract exists");
                map_contract(&json!({"id": id, "data": raw}), options).expect("simulator records map")
            })
            .collect()
    };
    let chunks: Vec<&[u64]> = ids.chunks(ids.len().div_ceil(num_threads()).max(1)).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks.into_iter().map(|chunk| scope.spawn(move || map(chunk))).collect();
        workers.into_iter().flat_map(|worker| worker.join().expect("mapping does not panic")).collect()
    })
}

/// The generation holds exactly `expected`: every expected contract is found by its exact id and
/// equals the expected one, and the generation has as many documents as `expected`. Together
/// that rules out extra ids: the expected ids are distinct, each look-up returned a document
/// whose payload carries its own id, so `expected.len()` distinct documents were found among
/// `expected.len()` in all.
fn assert_generation_holds(generation: &Generation, expected: &[Contract]) {
    assert_eq!(generation.num_contracts(), expected.len() as u64, "documents in {}", generation.id());
    let distinct_ids: BTreeSet<&str> = expected.iter().map(|contract| contract.id.as_str()).collect();
    assert_eq!(distinct_ids.len(), expected.len(), "the expected ids are distinct");
    // The first difference of a chunk, if any.
    let check = |contracts: &[Contract]| -> Option<String> {
        contracts.iter().find_map(|contract| {
            match generation.contract_by_exact_id(&contract.id).expect("the look-up runs") {
                None => Some(format!("contract {} is missing", contract.id)),
                Some(stored) if &stored != contract => Some(format!(
                    "contract {} differs:\n stored: {stored:?}\n expected: {contract:?}",
                    contract.id
                )),
                Some(_) => None,
            }
        })
    };
    let difference = std::thread::scope(|scope| {
        let workers: Vec<_> = expected
            .chunks(expected.len().div_ceil(num_threads()).max(1))
            .map(|chunk| scope.spawn(move || check(chunk)))
            .collect();
        workers.into_iter().find_map(|worker| worker.join().expect("the look-ups do not panic"))
    });
    if let Some(difference) = difference {
        panic!("{} does not hold the expected contracts: {difference}", generation.id());
    }
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The generation `CURRENT` names on disk.
fn current_pointer(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("CURRENT")).expect("CURRENT exists").trim().to_owned()
}

/// The entries of `<data_dir>/generations`, sorted.
fn generation_dirs(data_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir.join("generations"))
        .expect("the generations directory exists")
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
