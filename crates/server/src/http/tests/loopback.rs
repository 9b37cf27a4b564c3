//! `serve` on a real loopback port, spoken to with reqwest: the same router, plus binding,
//! startup on an empty data directory and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use contract_search_index::{GenerationStore, StoreOptions};
use serde_json::{Value, json};
use tempfile::TempDir;

use super::{CONTRACT_ID, CUSTOMER_ID, FIELDS_INPUT, SEARCH_KEY, keys, sample_store};
use crate::commands::serve::{ServerSettings, serve_on};

#[tokio::test]
async fn serves_on_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = ServerSettings::new(address, keys());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listener, sample_store(), None, Vec::new(), server, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let contract: Value = client
        .get(format!("{base}/v1/contracts/{CONTRACT_ID}"))
        .bearer_auth(SEARCH_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contract["customerId"], CUSTOMER_ID);
    let matched: Value = client
        .post(format!("{base}/v1/search/fields"))
        .bearer_auth(SEARCH_KEY)
        .body(FIELDS_INPUT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(matched, json!({"contractId": CONTRACT_ID, "customerId": CUSTOMER_ID}));
    let denied = client.get(format!("{base}/v1/admin/status")).bearer_auth(SEARCH_KEY).send().await.unwrap();
    assert_eq!(denied.status(), reqwest::StatusCode::FORBIDDEN);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "stopped");
}

#[tokio::test]
async fn serve_without_erp_publishes_an_empty_generation() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(GenerationStore::open(dir.path(), StoreOptions::default()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = ServerSettings::new(address, keys());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listener, store.clone(), None, Vec::new(), server, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..100 {
        match client.get(format!("http://{address}/readyz")).send().await {
            Ok(answer) => {
                ready = Some(answer.status());
                break;
            }
            Err(_) if task.is_finished() => panic!("serve stopped: {:?}", task.await),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert_eq!(ready, Some(reqwest::StatusCode::OK));
    assert_eq!(store.current().unwrap().num_contracts(), 0);
    let missing =
        client.get(format!("http://{address}/v1/contracts/1")).bearer_auth(SEARCH_KEY).send().await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_with_an_erp_rebuilds_then_gets_ready() {
    let sim = contract_search_sim::server::spawn(contract_search_sim::server::SimConfig {
        num_contracts: 300,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = TempDir::new().unwrap();
    let common = crate::config::CommonArgs {
        data_dir: Some(dir.path().to_owned()),
        powercloud_url: Some(sim.base_url.clone()),
        powercloud_hash: Some(sim.state.application_hash().to_owned()),
        powercloud_user: Some("apiuser".into()),
        powercloud_secret: Some("secret".into()),
        ..Default::default()
    };
    let settings = common.resolve().unwrap();
    let store = Arc::new(GenerationStore::open(dir.path(), settings.store.clone()).unwrap());
    let job = crate::commands::serve::rebuild_job(Arc::new(settings), store.clone()).unwrap();
    assert!(job.is_some());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = ServerSettings::new(address, keys());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listener, store, job, Vec::new(), server, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..500 {
        if let Ok(answer) = client.get(format!("http://{address}/readyz")).send().await {
            if answer.status() == reqwest::StatusCode::OK {
                ready = true;
                break;
            }
            assert_eq!(answer.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready, "never ready");
    let status: Value = client
        .get(format!("http://{address}/v1/admin/status"))
        .bearer_auth(super::ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["generation"]["numContracts"], 300, "{status}");
    assert_eq!(status["rebuild"]["erpConfigured"], true);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    sim.shutdown().await.unwrap();
}
