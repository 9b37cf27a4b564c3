//! Freshness end to end: the real `contract-search serve` binary on a loopback port, fed by the
//! Powercloud simulator's change events (its export to the server's webhook, or events posted by
//! the test) and by direct imports; checked only through the enneo calls over HTTP.
//!
//! - a change in the simulator is searchable within two seconds;
//! - a deleted contract is gone from every call at once;
//! - duplicated and reordered events end in the simulator's state;
//! - 1,000 events during a rebuild are all in the new generation ([`during_rebuild`]);
//! - SIGKILL at 20+ moments loses no acknowledged change ([`kill`]).

mod during_rebuild;
mod kill;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_model::Contract;
use contract_search_sim::powercloud::ChangeEvent;
use contract_search_sim::server::{ChangeKind, ChangeRequest, RunningSim, SimConfig, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::rebuild::{ERP_URL_TEMPLATE, PASSWORD, connector, connector_config, open_store, rebuild_from};
use crate::support::{ChildGuard, contract_search_binary};

/// The one API key of the server under test (search, import and admin scopes).
const KEY: &str = "freshness-e2e-key-0123456789abcdef";
/// The webhook secret, sent by the simulator as its export token.
const WEBHOOK_SECRET: &str = "freshness-e2e-webhook-secret-0123456789";
/// Least time between two commits of the server's live writer.
const COMMIT_INTERVAL: &str = "100ms";
/// Longest wait for the server to become ready or to catch up.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A free loopback port (bound, then released for the server to bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port").local_addr().unwrap().port()
}

/// A simulator of `num_contracts` contracts; with `export_port`, it delivers its change events
/// to the webhook of a server on that port.
async fn simulator(seed: u64, num_contracts: u64, export_port: Option<u16>) -> RunningSim {
    let config = SimConfig {
        seed,
        num_contracts,
        password: PASSWORD.to_owned(),
        export_target: export_port.map(|port| format!("http://127.0.0.1:{port}/v1/webhooks/powercloud")),
        export_token: Some(WEBHOOK_SECRET.to_owned()),
        ..SimConfig::default()
    };
    spawn(config).await.expect("the simulator starts")
}

/// Builds the first generation of `data_dir` from `sim` in process; returns how contracts are
/// mapped (the server maps them the same way: same deep-link template).
async fn first_generation(sim: &RunningSim, data_dir: &Path) -> MappingOptions {
    let connector = connector(connector_config(sim, 1000));
    let store = open_store(data_dir);
    rebuild_from(&store, &connector, false).await.expect("the first rebuild succeeds");
    connector.mapping_options().clone()
}

/// The simulator's contract now, mapped as the server maps it (`None` once deleted).
fn truth(sim: &RunningSim, id: u64, options: &MappingOptions) -> Option<Contract> {
    let raw = sim.state.current_contract(id)?;
    Some(map_contract(&json!({"id": id, "data": raw}), options).expect("simulator records map"))
}

/// Applies a change in the simulator (its events go to its export target, if any).
fn change(sim: &RunningSim, kind: ChangeKind, contract_id: u64) -> Vec<ChangeEvent> {
    sim.state
        .apply_change(&ChangeRequest { kind, contract_id: Some(contract_id) })
        .unwrap_or_else(|error| panic!("{kind:?} on {contract_id}: {error:?}"))
}

/// The server binary on a loopback port, with the simulator as its ERP.
struct Server {
    child: ChildGuard,
    base_url: String,
    http: reqwest::Client,
}

impl Server {
    /// Starts `contract-search serve` on `data_dir` and waits until it is ready.
    async fn start(sim: &RunningSim, data_dir: &Path, scratch: &Path, port: u16, name: &str) -> Server {
        Server::start_with_page_size(sim, data_dir, scratch, port, name, 200).await
    }

    /// [`Server::start`] with the page size of the server's rebuilds.
    async fn start_with_page_size(
        sim: &RunningSim,
        data_dir: &Path,
        scratch: &Path,
        port: u16,
        name: &str,
        page_size: usize,
    ) -> Server {
        let binary = tokio::task::spawn_blocking(contract_search_binary).await.unwrap();
        let config_path = scratch.join(format!("{name}.toml"));
        let config = format!(
            "[powercloud]\npage_size = {page_size}\nconcurrency = 2\nerp_url_template = \"{ERP_URL_TEMPLATE}\"\n"
        );
        std::fs::write(&config_path, config).unwrap();
        let mut command = Command::new(binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CONTRACT_SEARCH_") {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--rebuild-schedule", "off"])
            .args(["--powercloud-url", &sim.base_url])
            .args(["--powercloud-hash", sim.state.application_hash()])
            .args(["--powercloud-user", "apiuser"])
            .args(["--commit-interval", COMMIT_INTERVAL])
            .args(["--writer-memory-mb", "50", "--writer-threads", "2"])
            .env("CONTRACT_SEARCH_POWERCLOUD_SECRET", PASSWORD)
            .env("CONTRACT_SEARCH_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("CONTRACT_SEARCH_API_KEYS", format!("search={KEY},import={KEY},admin={KEY}"))
            .env("RUST_LOG", "info");
        let child = ChildGuard::spawn(command, &scratch.join(name));
        let server = Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base_url)).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            assert!(Instant::now() < deadline, "the server was not ready in time{}", self.child.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET /v1/contracts/{id}`: the contract, or `None` on 404.
    async fn contract(&self, id: &str) -> Option<Contract> {
        let response =
            self.http.get(self.url(&format!("/v1/contracts/{id}"))).bearer_auth(KEY).send().await.unwrap();
        match response.status() {
            StatusCode::OK => Some(response.json().await.expect("a contract")),
            StatusCode::NOT_FOUND => None,
            status => panic!("GET contract {id}: {status}: {}", response.text().await.unwrap_or_default()),
        }
    }

    /// `GET /v1/customers/{id}`: the body, or `None` on 404.
    async fn customer(&self, id: &str) -> Option<Value> {
        let response =
            self.http.get(self.url(&format!("/v1/customers/{id}"))).bearer_auth(KEY).send().await.unwrap();
        match response.status() {
            StatusCode::OK => Some(response.json().await.expect("a customer")),
            StatusCode::NOT_FOUND => None,
            status => panic!("GET customer {id}: {status}"),
        }
    }

    /// `POST /v1/search`: the customer ids answered.
    async fn free_text(&self, text: &str) -> Vec<String> {
        let response = self
            .http
            .post(self.url("/v1/search"))
            .bearer_auth(KEY)
            .json(&json!({"q": text, "limit": 10}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "free text {text:?}");
        let customers: Vec<Value> = response.json().await.unwrap();
        customers.iter().map(|customer| customer["id"].as_str().unwrap_or_default().to_owned()).collect()
    }

    /// `POST /v1/search/fields`: the contract id matched, if any.
    async fn fields(&self, query: Value) -> Option<String> {
        let response =
            self.http.post(self.url("/v1/search/fields")).bearer_auth(KEY).json(&query).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "fields {query}");
        let body: Value = response.json().await.unwrap();
        body["contractId"].as_str().map(str::to_owned)
    }

    /// `GET /v1/admin/status`.
    async fn status(&self) -> Value {
        let response = self.http.get(self.url("/v1/admin/status")).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `POST /v1/webhooks/powercloud` with the secret: the status.
    async fn webhook(&self, events: &[ChangeEvent]) -> reqwest::Result<StatusCode> {
        let response = self
            .http
            .post(self.url("/v1/webhooks/powercloud"))
            .header("X-Export-Token", WEBHOOK_SECRET)
            .json(&events)
            .send()
            .await?;
        Ok(response.status())
    }

    /// Waits until everything journalled is applied and no refetch waits for a retry.
    async fn wait_caught_up(&self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let status = self.status().await;
            let updates = &status["updates"];
            if updates["lag"] == 0 && updates["retries"].as_array().is_some_and(Vec::is_empty) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the updater did not catch up: {updates}{}",
                self.child.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Polls `check` until it holds; returns how long that took, or panics after `limit`.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_the_erp_is_searchable_within_two_seconds_and_a_delete_is_gone_from_every_call() {
    let port = free_port();
    let sim = simulator(31, 1500, Some(port)).await;
    let data_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let options = first_generation(&sim, data_dir.path()).await;
    let server = Server::start(&sim, data_dir.path(), scratch.path(), port, "serve").await;

    // A new email: found by free text, by the fields search and by id within two seconds.
    let contract_id = sim.state.contract_ids()[10];
    let before = truth(&sim, contract_id, &options).unwrap();
    change(&sim, ChangeKind::NewEmail, contract_id);
    let after = truth(&sim, contract_id, &options).unwrap();
    let email = after.email.clone().expect("the new email");
    assert_ne!(before.email.as_deref(), Some(email.as_str()), "the simulator changed the email");
    let id = contract_id.to_string();
    let took = within(Duration::from_secs(2), "the new email searchable", || async {
        server.free_text(&email).await.first() == Some(&after.customer_id)
    })
    .await;
    assert_eq!(server.contract(&id).await.as_ref(), Some(&after), "by id, the contract is the ERP's");
    let fields = json!({"email": email, "lastname": after.lastname, "firstname": after.firstname});
    assert_eq!(server.fields(fields).await, Some(id.clone()), "the fields search finds it by the new email");
    eprintln!("new email searchable after {took:?}");

    // A deletion: once by id answers 404, no other call knows the contract either.
    let customer_id = after.customer_id.clone();
    change(&sim, ChangeKind::Delete, contract_id);
    assert!(truth(&sim, contract_id, &options).is_none());
    let took = within(Duration::from_secs(2), "the deleted contract gone", || async {
        server.contract(&id).await.is_none()
    })
    .await;
    eprintln!("deletion visible after {took:?}");
    assert!(!server.free_text(&id).await.contains(&customer_id), "free text by the contract id");
    assert_eq!(
        server.fields(json!({"contractId": id, "lastname": after.lastname})).await,
        None,
        "fields by id"
    );
    match server.customer(&customer_id).await {
        None => assert!(sim.state.current_customer(customer_id.parse().unwrap()).is_none()),
        Some(customer) => {
            let ids: Vec<&str> =
                customer["contractIds"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            assert!(!ids.contains(&id.as_str()), "the customer no longer lists the contract: {ids:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_events_end_in_the_erp_state() {
    // No export: the test holds the events and delivers them itself, shuffled and twice.
    let sim = simulator(37, 800, None).await;
    let data_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let options = first_generation(&sim, data_dir.path()).await;
    let server = Server::start(&sim, data_dir.path(), scratch.path(), free_port(), "serve").await;

    let ids = sim.state.contract_ids();
    let kinds = [ChangeKind::NewEmail, ChangeKind::Move, ChangeKind::Terminate, ChangeKind::NewPhone];
    let mut events = Vec::new();
    let mut touched = Vec::new();
    // Several changes to the same few contracts, so that order matters if it were trusted.
    for round in 0..3 {
        for (index, &id) in ids.iter().take(20).enumerate() {
            events.extend(change(&sim, kinds[(index + round) % kinds.len()], id));
            touched.push(id);
        }
    }
    events.extend(change(&sim, ChangeKind::Delete, ids[3]));
    events.extend(change(&sim, ChangeKind::NewContract, ids[5]));
    // Every event twice, in a scrambled order (a fixed permutation: reproducible).
    let mut delivered: Vec<ChangeEvent> = events.iter().chain(events.iter()).cloned().collect();
    let len = delivered.len();
    for index in 0..len {
        delivered.swap(index, (index * 7919 + 13) % len);
    }
    for chunk in delivered.chunks(7) {
        assert_eq!(server.webhook(chunk).await.unwrap(), StatusCode::ACCEPTED);
    }
    server.wait_caught_up().await;
    let mut all_ids = sim.state.contract_ids();
    all_ids.extend(touched);
    all_ids.sort_unstable();
    all_ids.dedup();
    for id in all_ids {
        let expected = truth(&sim, id, &options);
        assert_eq!(server.contract(&id.to_string()).await, expected, "contract {id}");
    }
    let status = server.status().await;
    assert_eq!(status["generation"]["numContracts"], sim.state.num_contracts(), "no contract more or less");
}
