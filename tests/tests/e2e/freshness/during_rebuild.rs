//! 1,000 and more change events delivered by the simulator's export while the server rebuilds
//! from it: after the new generation is published and the events are applied, the index equals
//! the simulator's records, record for record. The new build starts from the journal position of
//! the generation it replaces, so an event applied to the old generation while the new one was
//! fetching is applied again to the new one.

use std::time::{Duration, Instant};

use contract_search_sim::server::{ChangeKind, ChangeRequest, Faults};
use reqwest::StatusCode;

use super::{KEY, Server, TIMEOUT, first_generation, free_port, simulator, truth};

/// Change events wanted during the rebuild.
const MIN_EVENTS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_during_a_rebuild_are_all_in_the_new_generation() {
    let port = free_port();
    let sim = simulator(41, 3000, Some(port)).await;
    let data_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let options = first_generation(&sim, data_dir.path()).await;
    let server = Server::start_with_page_size(&sim, data_dir.path(), scratch.path(), port, "serve", 50).await;

    // A slow ERP while the rebuild fetches, so that the changes land in the middle of it.
    sim.state.set_faults(Faults { latency_ms: 40, ..Faults::default() });
    let response = server.http.post(server.url("/v1/admin/rebuild")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let kinds = [
        ChangeKind::NewEmail,
        ChangeKind::Move,
        ChangeKind::Terminate,
        ChangeKind::NewPhone,
        ChangeKind::NewContract,
        ChangeKind::Delete,
    ];
    let mut num_events = 0;
    let mut num_changes = 0;
    let mut running_at_half = None;
    while num_events < MIN_EVENTS {
        let kind = kinds[num_changes % kinds.len()];
        if let Ok(events) = sim.state.apply_change(&ChangeRequest { kind, contract_id: None }) {
            num_events += events.len();
            num_changes += 1;
        }
        if running_at_half.is_none() && num_events >= MIN_EVENTS / 2 {
            running_at_half = Some(server.status().await["rebuild"]["running"] == true);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(running_at_half, Some(true), "half of the events arrived while the rebuild ran");

    // The rebuild publishes the next generation; then the ERP is fast again.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let status = server.status().await;
        if status["rebuild"]["running"] == false && status["rebuild"]["last"]["generation"].is_string() {
            assert_eq!(status["rebuild"]["last"]["ok"], true, "the rebuild succeeded: {status}");
            assert_eq!(status["generation"]["id"], "g000002");
            break;
        }
        assert!(Instant::now() < deadline, "the rebuild did not finish: {status}{}", server.child.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim.state.set_faults(Faults::default());
    // Every event delivered (none given up or dropped), then applied.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stats = sim.state.stats();
        assert_eq!(stats.events_failed + stats.events_dropped, 0, "the simulator lost no event: {stats:?}");
        if stats.events_exported as usize >= num_events {
            break;
        }
        assert!(Instant::now() < deadline, "the export did not finish: {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.wait_caught_up().await;

    let ids = sim.state.contract_ids();
    for &id in &ids {
        let expected = truth(&sim, id, &options);
        assert!(expected.is_some());
        assert_eq!(server.contract(&id.to_string()).await, expected, "contract {id}");
    }
    let status = server.status().await;
    assert_eq!(status["generation"]["numContracts"], ids.len() as u64, "no contract more: {status}");
    eprintln!("{num_changes} changes, {num_events} events during the rebuild; {} contracts equal", ids.len());
}
