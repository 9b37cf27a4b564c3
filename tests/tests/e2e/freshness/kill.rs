//! The server killed with SIGKILL at 20 or more moments while ERP events (webhook), single pushes
//! (`PUT /v1/contracts/{id}`) and bulk imports (`POST /v1/import`) stream in. After each restart,
//! and at the end, every change the server had answered 202 or 200 for is in the index.
//!
//! Each contract is changed at most once in the whole test, so a lost change cannot hide behind
//! a later one. Changes in flight at the kill (no answer) may or may not be there: not checked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contract_search_model::Contract;
use contract_search_sim::server::ChangeKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{KEY, Server, WEBHOOK_SECRET, change, first_generation, free_port, simulator, truth};

/// Kill points with acknowledged changes before them, at least.
const MIN_KILLS: u64 = 20;
/// Kill points at most (a kill can come before the first answer).
const MAX_KILLS: u64 = 30;

/// What the server acknowledged.
#[derive(Debug, Default)]
struct Acknowledged {
    /// ERP contracts whose (single) change event was answered 202.
    erp_contracts: Vec<u64>,
    /// Pushed contracts (single or bulk) answered 200, as sent.
    pushed: Vec<Value>,
}

/// A pushed contract in enneo's format.
fn pushed_contract(cycle: u64, number: u64) -> Value {
    json!({
        "id": format!("kill-{cycle}-{number}"),
        "customerId": format!("kill-customer-{cycle}-{number}"),
        "business": false,
        "firstname": "Kira",
        "lastname": format!("Killtest{cycle}x{number}"),
        "email": format!("kira.{cycle}.{number}@example.org"),
        "status": "active",
    })
}

/// Streams changes into `server` until the task is aborted (or a request fails).
async fn stream(
    http: reqwest::Client,
    base_url: String,
    sim: Arc<contract_search_sim::server::RunningSim>,
    erp_ids: Arc<Mutex<Vec<u64>>>,
    acknowledged: Arc<Mutex<Acknowledged>>,
    cycle: u64,
) {
    let mut number = 0;
    loop {
        number += 1;
        // Now and then an ERP change to a contract never changed before.
        let erp_id = if number % 3 == 1 { erp_ids.lock().unwrap().pop() } else { None };
        if let Some(id) = erp_id {
            let kind = if id % 3 == 0 { ChangeKind::Delete } else { ChangeKind::Terminate };
            let events = change(&sim, kind, id);
            let webhook = http
                .post(format!("{base_url}/v1/webhooks/powercloud"))
                .header("X-Export-Token", WEBHOOK_SECRET)
                .json(&events)
                .send()
                .await;
            match webhook {
                Ok(response) if response.status() == StatusCode::ACCEPTED => {
                    acknowledged.lock().unwrap().erp_contracts.push(id);
                }
                Ok(response) => panic!("webhook answered {}", response.status()),
                Err(_) => return,
            }
        }
        // A single push.
        let contract = pushed_contract(cycle, number);
        let url = format!("{base_url}/v1/contracts/{}", contract["id"].as_str().unwrap());
        match http.put(url).bearer_auth(KEY).json(&contract).send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                acknowledged.lock().unwrap().pushed.push(contract);
            }
            Ok(response) => panic!("PUT answered {}", response.status()),
            Err(_) => return,
        }
        // Now and then a bulk import of ten.
        if number % 4 == 0 {
            let batch: Vec<Value> =
                (0..10).map(|offset| pushed_contract(cycle, 10_000 + number * 10 + offset)).collect();
            let body: String = batch.iter().map(|contract| format!("{contract}\n")).collect();
            match http.post(format!("{base_url}/v1/import")).bearer_auth(KEY).body(body).send().await {
                Ok(response) if response.status() == StatusCode::OK => {
                    let report: Value = response.json().await.unwrap_or_default();
                    if report["accepted"] == 10 {
                        acknowledged.lock().unwrap().pushed.extend(batch);
                    } else if report.is_object() {
                        panic!("the import accepted less than sent: {report}");
                    }
                }
                Ok(response) => panic!("import answered {}", response.status()),
                Err(_) => return,
            }
        }
    }
}

/// Every acknowledged change is in the index.
async fn assert_acknowledged_present(
    server: &Server,
    sim: &contract_search_sim::server::RunningSim,
    options: &contract_search_ingest::powercloud::mapping::MappingOptions,
    acknowledged: &Acknowledged,
    when: &str,
) {
    server.wait_caught_up().await;
    for &id in &acknowledged.erp_contracts {
        let expected = truth(sim, id, options);
        assert_eq!(server.contract(&id.to_string()).await, expected, "ERP contract {id} {when}");
    }
    for sent in &acknowledged.pushed {
        let id = sent["id"].as_str().unwrap();
        let stored: Contract =
            server.contract(id).await.unwrap_or_else(|| panic!("pushed contract {id} missing {when}"));
        assert_eq!(stored.customer_id, sent["customerId"].as_str().unwrap(), "{id} {when}");
        assert_eq!(stored.lastname.as_deref(), sent["lastname"].as_str(), "{id} {when}");
        assert_eq!(stored.email.as_deref(), sent["email"].as_str(), "{id} {when}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_at_random_moments_loses_no_acknowledged_change() {
    let sim = Arc::new(simulator(43, 3000, None).await);
    let data_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let options = first_generation(&sim, data_dir.path()).await;
    let erp_ids = Arc::new(Mutex::new(sim.state.contract_ids()));
    // Everything acknowledged before earlier kills, and what the current cycle's stream got.
    let mut all = Acknowledged::default();
    let mut killed_with_changes = 0;
    let mut cycle = 0;
    while killed_with_changes < MIN_KILLS {
        assert!(cycle < MAX_KILLS, "only {killed_with_changes} of {cycle} kills came after an answer");
        let name = format!("serve-{cycle}");
        let mut server = Server::start(&sim, data_dir.path(), scratch.path(), free_port(), &name).await;
        let current = Arc::new(Mutex::new(Acknowledged::default()));
        let streamer = tokio::spawn(stream(
            server.http.clone(),
            server.base_url.clone(),
            sim.clone(),
            erp_ids.clone(),
            current.clone(),
            cycle,
        ));
        // A pseudo-random moment between 100 and 700 ms into the stream (reproducible).
        let delay = 100 + (cycle * 7_919 + 104_729) % 600;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.child.kill();
        // Requests in flight fail now; the streamer returns (or is stopped here).
        let abort = streamer.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), streamer).await.is_err() {
            abort.abort();
        }
        let current = std::mem::take(&mut *current.lock().unwrap());
        let num_acknowledged = current.erp_contracts.len() + current.pushed.len();
        eprintln!("kill {cycle} after {delay} ms: {num_acknowledged} changes acknowledged before it");
        // Right after the restart: what the killed server had acknowledged is there.
        let server =
            Server::start(&sim, data_dir.path(), scratch.path(), free_port(), &format!("{name}-check")).await;
        assert_acknowledged_present(&server, &sim, &options, &current, &format!("after kill {cycle}")).await;
        drop(server);
        killed_with_changes += u64::from(num_acknowledged > 0);
        all.erp_contracts.extend(current.erp_contracts);
        all.pushed.extend(current.pushed);
        cycle += 1;
    }
    let server = Server::start(&sim, data_dir.path(), scratch.path(), free_port(), "serve-last").await;
    // At the end, nothing acknowledged before any kill was lost later (every ERP change and every
    // fifth pushed contract: each was checked in full right after its own kill).
    let sample = Acknowledged {
        erp_contracts: all.erp_contracts.clone(),
        pushed: all.pushed.iter().step_by(5).cloned().collect(),
    };
    assert_acknowledged_present(&server, &sim, &options, &sample, "at the end").await;
    let acknowledged = all;
    eprintln!(
        "{cycle} kills, {killed_with_changes} after answers; {} ERP events and {} pushed contracts acknowledged, all present",
        acknowledged.erp_contracts.len(),
        acknowledged.pushed.len()
    );
}
