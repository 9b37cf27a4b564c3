//! Shared helpers: a Powercloud client for the simulator and a webhook receiver that records
//! what is POSTed to it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use contract_search_sim::powercloud::{Envelope, Page, Record};
use contract_search_sim::server::{ChangeKind, ChangeRequest, Faults, RunningSim, SimConfig, SimStats};
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

/// A small dataset: big enough for several pages, small enough to generate in milliseconds.
pub const NUM_CONTRACTS: u64 = 2000;

/// The default simulator config with the small dataset.
pub fn small_config() -> SimConfig {
    SimConfig { num_contracts: NUM_CONTRACTS, ..SimConfig::default() }
}

/// Starts a simulator on a free loopback port.
pub async fn start(config: SimConfig) -> (RunningSim, Powercloud) {
    let (user, password) = (config.user.clone(), config.password.clone());
    let sim = contract_search_sim::server::spawn(config).await.expect("simulator starts");
    let client = Powercloud {
        base_url: sim.base_url.clone(),
        rest_base: sim.rest_url(""),
        user: format!("client#{user}"),
        password,
        http: reqwest::Client::new(),
    };
    (sim, client)
}

/// A client of the simulator's Powercloud and control routes, with valid credentials.
#[derive(Clone)]
pub struct Powercloud {
    pub base_url: String,
    rest_base: String,
    pub user: String,
    pub password: String,
    pub http: reqwest::Client,
}

impl Powercloud {
    /// `GET /rest:client/<hash>/<function>?<query>` with valid credentials.
    pub fn get(&self, function: &str, query: &[(&str, String)]) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{function}", self.rest_base))
            .query(query)
            .basic_auth(&self.user, Some(&self.password))
    }

    /// A function call answered with status and JSON body.
    pub async fn call(&self, function: &str, query: &[(&str, String)]) -> (StatusCode, serde_json::Value) {
        let response = self.get(function, query).send().await.expect("request succeeds");
        let status = response.status();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }

    /// One page of a list function, which must succeed.
    pub async fn page<T: DeserializeOwned>(&self, function: &str, limit: usize, offset: u64) -> Page<T> {
        let response = self
            .get(function, &[("limit", limit.to_string()), ("offset", offset.to_string())])
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(response.status(), StatusCode::OK, "{function} limit {limit} offset {offset}");
        let envelope: Envelope<Page<T>> = response.json().await.expect("a page");
        assert!(envelope.success);
        envelope.data
    }

    /// Every record of a list function, paging until a short page.
    pub async fn all<T: DeserializeOwned>(
        &self,
        function: &str,
        limit: usize,
    ) -> (Vec<Record<T>>, Option<u64>) {
        let mut records = Vec::new();
        let mut total = None;
        loop {
            let page = self.page::<T>(function, limit, records.len() as u64).await;
            total = page.total.or(total);
            let num_records = page.records.len();
            records.extend(page.records);
            if num_records < limit {
                return (records, total);
            }
        }
    }

    /// `PUT /_sim/faults`.
    pub async fn set_faults(&self, faults: &Faults) {
        let response = self
            .http
            .put(format!("{}/_sim/faults", self.base_url))
            .basic_auth(&self.user, Some(&self.password))
            .json(faults)
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    }

    /// `GET /_sim/stats`.
    pub async fn stats(&self) -> SimStats {
        let response = self
            .http
            .get(format!("{}/_sim/stats", self.base_url))
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("stats")
    }

    /// `POST /_sim/changes`, answered with status and JSON body.
    pub async fn change(
        &self,
        kind: ChangeKind,
        contract_id: Option<u64>,
    ) -> (StatusCode, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}/_sim/changes", self.base_url))
            .basic_auth(&self.user, Some(&self.password))
            .json(&ChangeRequest { kind, contract_id })
            .send()
            .await
            .expect("request succeeds");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }
}

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub token: Option<String>,
    pub body: Bytes,
}

#[derive(Default)]
struct ReceiverShared {
    received: Mutex<Vec<Received>>,
    num_attempts: AtomicUsize,
    fail_first: usize,
}

/// A webhook receiver on a loopback port that records every POST; it answers 503 to the first
/// `fail_first` requests and 202 after that.
pub struct Receiver {
    pub url: String,
    shared: Arc<ReceiverShared>,
    _shutdown: oneshot::Sender<()>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        async fn receive(
            State(shared): State<Arc<ReceiverShared>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            if shared.num_attempts.fetch_add(1, Ordering::SeqCst) < shared.fail_first {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let token =
                headers.get("x-export-token").and_then(|value| value.to_str().ok()).map(str::to_owned);
            shared.received.lock().unwrap().push(Received { token, body });
            StatusCode::ACCEPTED
        }
        let shared = Arc::new(ReceiverShared { fail_first, ..ReceiverShared::default() });
        let app = Router::new().route("/events", post(receive)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Receiver { url, shared, _shutdown: shutdown }
    }

    /// Number of requests seen, refused ones included.
    pub fn num_attempts(&self) -> usize {
        self.shared.num_attempts.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` POSTs were accepted (or `timeout` passed) and returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.shared.received.lock().unwrap().clone();
            if received.len() >= count || Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The `contract-search` binary, built once per test run with the test's own cargo (so the
/// tests always run the binary of the checked-out code); later calls return the same path.
/// The path comes from cargo's build messages, so `CARGO_TARGET_DIR` and `build.target-dir`
/// are respected.
pub fn contract_search_binary() -> std::path::PathBuf {
    static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(build_contract_search_binary).clone()
}

fn build_contract_search_binary() -> std::path::PathBuf {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent");
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(workspace)
        .args(["build", "--locked", "-p", "contract-search", "--bin", "contract-search"])
        .arg("--message-format=json-render-diagnostics")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building the contract-search binary failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let built = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "contract-search"
        })
        .find_map(|message| message["executable"].as_str().map(std::path::PathBuf::from));
    let binary = built.unwrap_or_else(|| {
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let target_dir = if target_dir.is_absolute() { target_dir } else { workspace.join(target_dir) };
        target_dir.join("debug").join(format!("contract-search{}", std::env::consts::EXE_SUFFIX))
    });
    assert!(binary.is_file(), "no binary at {}", binary.display());
    binary
}

/// A child process that is killed (SIGKILL on Unix) and reaped when dropped, so a failing test
/// never leaks it. Its stdout and stderr go to files beside each other, for failure messages.
pub struct ChildGuard {
    child: Option<std::process::Child>,
    pub stdout_path: std::path::PathBuf,
    pub stderr_path: std::path::PathBuf,
}

impl ChildGuard {
    /// Spawns `command` with stdout and stderr written to `<log_prefix>.stdout` / `.stderr`.
    pub fn spawn(mut command: std::process::Command, log_prefix: &std::path::Path) -> ChildGuard {
        let stdout_path = log_prefix.with_extension("stdout");
        let stderr_path = log_prefix.with_extension("stderr");
        let stdout = std::fs::File::create(&stdout_path).expect("stdout file");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("the child starts");
        ChildGuard { child: Some(child), stdout_path, stderr_path }
    }

    /// The exit status if the child has exited, without waiting.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|child| child.try_wait().expect("polling the child"))
    }

    /// Kills the child with SIGKILL (Unix) and reaps it; returns its exit status.
    pub fn kill(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the child was not killed before");
        // Fails only if it already exited; `wait` then returns that status.
        let _ = child.kill();
        child.wait().expect("reaping the child")
    }

    /// Waits (polling, so an in-process server on this runtime keeps serving) until the child
    /// exits or `timeout` passes; panics with its stderr on a timeout.
    pub async fn wait_async(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                self.child = None;
                return status;
            }
            assert!(Instant::now() < deadline, "the child did not exit within {timeout:?}: {}", self.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The child's stdout and the tail of its stderr, for assertion messages.
    pub fn logs(&self) -> String {
        let stdout = std::fs::read_to_string(&self.stdout_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        format!("\n--- stdout ---\n{stdout}\n--- stderr (tail) ---\n{}", tail.join("\n"))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
