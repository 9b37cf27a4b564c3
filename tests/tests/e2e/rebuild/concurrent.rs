//! A rebuild and a second opening of the same data directory (a server starting, an overlapping
//! cron `rebuild`) must not disturb each other.
//! (`GenerationStore::open` once removed the `.partial` directory of a running build as a crash
//! leftover; it now leaves leftovers alone while the build lock is held.)

use std::time::Duration;

use contract_search_sim::server::Faults;

use super::{
    connector, connector_config, current_pointer, generation_dirs, open_store, rebuild_from, simulator,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_data_directory_during_a_rebuild_leaves_the_build_alone() {
    let sim = simulator(5, 3000).await;
    let connector = connector(connector_config(&sim, 100));
    let data_dir = tempfile::tempdir().unwrap();
    let store = open_store(data_dir.path());
    rebuild_from(&store, &connector, false).await.expect("the first rebuild succeeds");

    // A slow second rebuild; while it runs, the data directory is opened again.
    sim.state.set_faults(Faults { latency_ms: 100, ..Faults::default() });
    let running = tokio::spawn({
        let (store, connector) = (store.clone(), connector.clone());
        async move { rebuild_from(&store, &connector, false).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !generation_dirs(data_dir.path()).contains(&"g000002.partial".to_owned()) {
        assert!(tokio::time::Instant::now() < deadline, "the second rebuild started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = open_store(data_dir.path());
    assert_eq!(second.current().unwrap().id(), "g000001");
    assert!(
        generation_dirs(data_dir.path()).contains(&"g000002.partial".to_owned()),
        "the running build's directory survives the second opening"
    );

    let report = running.await.unwrap().expect("the running rebuild is not disturbed");
    assert_eq!(report.generation, "g000002");
    assert_eq!(current_pointer(data_dir.path()), "g000002");
}
