//! An unreliable ERP: server errors, rate limits with `Retry-After` and latency on the way; the
//! rebuild retries through them and the result is still the simulator's data record for record.

use std::time::Instant;

use contract_search_sim::server::Faults;

use super::{
    assert_generation_holds, connector, connector_config, expected_contracts, open_store, rebuild_from,
    simulator,
};

const NUM_CONTRACTS: u64 = 10_000;
const PAGE_SIZE: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_through_errors_and_rate_limits_is_still_complete() {
    let sim = simulator(7, NUM_CONTRACTS).await;
    let connector = connector(connector_config(&sim, PAGE_SIZE));
    let faults = Faults {
        latency_ms: 20,
        error_rate: 0.05,
        rate_limit_rate: 0.03,
        retry_after_secs: 1,
        ..Faults::default()
    };
    sim.state.set_faults(faults);
    let data_dir = tempfile::tempdir().unwrap();
    let store = open_store(data_dir.path());

    let started = Instant::now();
    let report =
        rebuild_from(&store, &connector, false).await.expect("the rebuild retries through the faults");
    let elapsed = started.elapsed();
    assert_eq!(report.num_contracts, NUM_CONTRACTS);
    assert_eq!(report.num_skipped, 0);

    let stats = sim.state.stats();
    assert!(stats.faults.error > 0, "server errors were injected: {stats:?}");
    assert!(stats.faults.rate_limit > 0, "rate limits were injected: {stats:?}");
    assert_eq!(stats.faults.latency, stats.requests, "every request was delayed: {stats:?}");
    // Every page was fetched once successfully, and every injected fault cost exactly one retry.
    let num_pages = NUM_CONTRACTS.div_ceil(PAGE_SIZE as u64);
    assert_eq!(stats.requests, num_pages + stats.faults.error + stats.faults.rate_limit, "{stats:?}");

    let generation = store.current().expect("a generation is served");
    assert_eq!(generation.id(), "g000001");
    assert_generation_holds(&generation, &expected_contracts(&sim, connector.mapping_options()));
    eprintln!("rebuild through faults: {:.1} s, {stats:?}", elapsed.as_secs_f64());
}
