//! A healthy ERP: a full rebuild of 50,000 contracts equals the simulator's data record for record.

use std::time::Instant;

use super::{
    assert_generation_holds, connector, connector_config, current_pointer, expected_contracts,
    generation_dirs, open_store, rebuild_from, simulator,
};

const NUM_CONTRACTS: u64 = 50_000;
const PAGE_SIZE: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_rebuild_equals_the_erp_record_for_record() {
    let sim = simulator(42, NUM_CONTRACTS).await;
    let connector = connector(connector_config(&sim, PAGE_SIZE));
    let data_dir = tempfile::tempdir().unwrap();
    let store = open_store(data_dir.path());
    assert!(store.current().is_none());

    let started = Instant::now();
    let report = rebuild_from(&store, &connector, false).await.expect("the rebuild succeeds");
    let rebuild_secs = started.elapsed().as_secs_f64();
    assert_eq!(report.generation, "g000001");
    assert_eq!(report.num_contracts, NUM_CONTRACTS);
    assert_eq!((report.num_skipped, report.num_carried_over), (0, 0));
    // With the total announced, every page exactly once and nothing beyond the end.
    assert_eq!(sim.state.stats().requests, NUM_CONTRACTS.div_ceil(PAGE_SIZE as u64));

    let generation = store.current().expect("a generation is served");
    assert_eq!(generation.id(), "g000001");
    assert_eq!(generation.meta().num_contracts, NUM_CONTRACTS);
    assert_eq!(generation.meta().sources.get("powercloud"), Some(&NUM_CONTRACTS));
    assert_eq!(current_pointer(data_dir.path()), "g000001");
    assert_eq!(generation_dirs(data_dir.path()), ["g000001"]);

    let started = Instant::now();
    let expected = expected_contracts(&sim, connector.mapping_options());
    assert_eq!(expected.len() as u64, sim.state.num_contracts());
    assert_generation_holds(&generation, &expected);
    eprintln!(
        "rebuild of {NUM_CONTRACTS} contracts: {rebuild_secs:.1} s; comparison: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
