//! A cut-short export never replaces a complete generation: without a `total` only the shrink
//! guard can notice, with one the connector notices first; either way the rebuild fails, the
//! previous generation keeps serving and nothing of the failed build stays on disk.

use contract_search_index::Error as IndexError;
use contract_search_ingest::Error;
use contract_search_sim::server::Faults;

use super::{
    assert_generation_holds, connector, connector_config, current_pointer, expected_contracts,
    generation_dirs, open_store, rebuild_from, simulator,
};

const NUM_CONTRACTS: u64 = 5000;
const CUT: u64 = 3000;
const PAGE_SIZE: usize = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_short_export_is_refused_and_the_previous_generation_keeps_serving() {
    let sim = simulator(11, NUM_CONTRACTS).await;
    let connector = connector(connector_config(&sim, PAGE_SIZE));
    let data_dir = tempfile::tempdir().unwrap();
    let store = open_store(data_dir.path());
    let first = rebuild_from(&store, &connector, false).await.expect("the first rebuild succeeds");
    assert_eq!((first.generation.as_str(), first.num_contracts), ("g000001", NUM_CONTRACTS));
    let expected = expected_contracts(&sim, connector.mapping_options());
    let served = store.current().unwrap();
    assert_generation_holds(&served, &expected);

    let assert_first_still_serves = |what: &str| {
        let current = store.current().unwrap();
        assert_eq!(current.id(), "g000001", "{what}");
        assert_eq!(current.num_contracts(), NUM_CONTRACTS, "{what}");
        assert_eq!(current_pointer(data_dir.path()), "g000001", "{what}");
        assert_eq!(generation_dirs(data_dir.path()), ["g000001"], "{what}: no partial or extra generation");
    };

    // An older installation without `total`: the list simply ends at the cut, so the connector
    // sees a complete-looking list of 3,000; the shrink guard refuses it.
    sim.state.set_faults(Faults { truncate_after: Some(CUT), omit_total: true, ..Faults::default() });
    let error = rebuild_from(&store, &connector, false).await.expect_err("a 40% shrink is refused");
    assert!(
        matches!(&error, Error::Index(IndexError::Validation { generation, .. }) if generation == "g000002"),
        "refused by the shrink guard, not by the connector: {error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("shrink"), "{message}");
    assert!(message.contains(&format!("{CUT} contracts against {NUM_CONTRACTS} served")), "{message}");
    assert!(sim.state.stats().faults.truncate > 0, "the export really was cut");
    assert_first_still_serves("after the shrink guard");
    assert_generation_holds(&store.current().unwrap(), &expected);

    // With `total` the connector notices the short page itself and nothing gets as far as the
    // guard; the outcome for the served generation is the same.
    sim.state.set_faults(Faults { truncate_after: Some(CUT), ..Faults::default() });
    let error = rebuild_from(&store, &connector, false).await.expect_err("a cut-short list is refused");
    assert!(
        matches!(error, Error::Incomplete { offset: CUT, num_records: 0, total: NUM_CONTRACTS, .. }),
        "refused by the connector: {error:?}"
    );
    assert_first_still_serves("after the connector's refusal");

    // A restart sees the same: the first generation, and nothing else on disk.
    drop(store);
    let reopened = open_store(data_dir.path());
    assert_eq!(reopened.current().unwrap().id(), "g000001");
    assert_generation_holds(&reopened.current().unwrap(), &expected);
    assert_eq!(generation_dirs(data_dir.path()), ["g000001"]);
}
