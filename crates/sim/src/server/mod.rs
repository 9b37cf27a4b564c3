//! The Powercloud simulator: the generated dataset served over Powercloud's HTTP scheme, with
//! fault injection and a change stream that pushes events to an export target.
//!
//! Routes (all behind HTTP Basic auth with the user `client#<user>`):
//! - `GET /rest:client/{hash}/{function}` with the functions of [`crate::powercloud`]
//!   (`getContractById`, `getCustomerById`, `getContracts`, `getCustomers`), faults applied;
//! - `GET`/`PUT /_sim/faults`, `GET /_sim/stats`, `POST /_sim/changes`: control for tests and
//!   demos, never faulted.
//!
//! Start it with [`serve`] (the binary) or [`spawn`] (tests: binds `127.0.0.1:0`); [`SimState`]
//! also answers the current truth directly, so tests can compare what a client fetched with it.

mod auth;
mod changes;
mod control;
mod dataset;
mod export;
mod faults;
mod live_ids;
mod rest;
mod stats;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::powercloud::{ChangeEvent, Failure, RawContract, RawCustomer};

pub use changes::{
    CONTRACT_CREATED, CONTRACT_DELETED, CONTRACT_UPDATED, CUSTOMER_UPDATED, ChangeError, ChangeKind,
    ChangeRequest,
};
pub use dataset::Dataset;
pub use export::EXPORT_TOKEN_HEADER;
pub use faults::Faults;
pub use live_ids::LiveIds;
pub use rest::DEFAULT_PAGE_SIZE;
pub use stats::{FaultCounts, SimStats};

use export::ExportQueue;
use faults::FaultInjector;
use stats::Stats;

/// Everything the simulator is started with.
#[derive(Clone)]
pub struct SimConfig {
    /// Seed of the generated data (and of the fault and change draws).
    pub seed: u64,
    /// Number of generated contracts.
    pub num_contracts: u64,
    /// The installation's application hash in the URL (32 hex characters in real installations).
    pub application_hash: String,
    /// The API user, without the `client#` prefix clients must add.
    pub user: String,
    /// The API password.
    pub password: String,
    /// Fault settings at start (changeable at runtime).
    pub faults: Faults,
    /// Random changes applied per second in the background; 0 turns the stream off.
    pub change_rate_per_sec: f64,
    /// URL the change events are POSTed to, if any.
    pub export_target: Option<String>,
    /// Sent with each event as `X-Export-Token`, for the receiver to authenticate the sender.
    pub export_token: Option<String>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 42,
            num_contracts: 2000,
            application_hash: "0123456789abcdef0123456789abcdef".to_owned(),
            user: "apiuser".to_owned(),
            password: "secret".to_owned(),
            faults: Faults::default(),
            change_rate_per_sec: 0.0,
            export_target: None,
            export_token: None,
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SimConfig")
            .field("seed", &self.seed)
            .field("num_contracts", &self.num_contracts)
            .field("application_hash", &self.application_hash)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("faults", &self.faults)
            .field("change_rate_per_sec", &self.change_rate_per_sec)
            .field("export_target", &self.export_target)
            .field("export_token", &self.export_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The simulator's shared state: dataset, fault settings, counters and export queue. Cheap to
/// clone (one `Arc`).
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

struct Inner {
    application_hash: String,
    user: String,
    /// `client#<user>:<password>`, as a client's Basic credentials decode.
    credentials: Vec<u8>,
    dataset: RwLock<Dataset>,
    faults: FaultInjector,
    stats: Stats,
    change_rate_per_sec: f64,
    export: Option<ExportQueue>,
    num_events: AtomicU64,
}

impl fmt::Debug for SimState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SimState")
            .field("application_hash", &self.inner.application_hash)
            .field("num_contracts", &self.read_dataset().contract_ids().len())
            .finish_non_exhaustive()
    }
}

impl SimState {
    /// Generates the dataset's index (linear in `num_contracts`; about a second per ten million
    /// contracts) and prepares the export queue. Background work starts with [`serve_state`].
    pub fn new(config: SimConfig) -> SimState {
        let export =
            config.export_target.clone().map(|target| ExportQueue::new(target, config.export_token.clone()));
        SimState {
            inner: Arc::new(Inner {
                credentials: auth::expected_credentials(&config.user, &config.password),
                application_hash: config.application_hash,
                user: config.user,
                dataset: RwLock::new(Dataset::new(config.seed, config.num_contracts)),
                faults: FaultInjector::new(config.seed, config.faults),
                stats: Stats::default(),
                change_rate_per_sec: config.change_rate_per_sec,
                export,
                num_events: AtomicU64::new(0),
            }),
        }
    }

    /// The application hash in the URL.
    pub fn application_hash(&self) -> &str {
        &self.inner.application_hash
    }

    /// The Basic auth user a client sends: `client#<user>`.
    pub fn basic_user(&self) -> String {
        format!("client#{}", self.inner.user)
    }

    /// The current raw record of a contract, `None` if it does not exist (or no longer).
    pub fn current_contract(&self, contract_id: u64) -> Option<RawContract> {
        self.read_dataset().raw_contract(contract_id)
    }

    /// The current raw record of a customer, `None` if it does not exist (or no longer).
    pub fn current_customer(&self, customer_id: u64) -> Option<RawCustomer> {
        self.read_dataset().raw_customer(customer_id)
    }

    /// Every live contract id, ascending (a snapshot; memory proportional to the dataset).
    pub fn contract_ids(&self) -> Vec<u64> {
        self.read_dataset().contract_ids().to_vec()
    }

    /// Every live customer id, ascending (a snapshot; memory proportional to the dataset).
    pub fn customer_ids(&self) -> Vec<u64> {
        self.read_dataset().customer_ids().to_vec()
    }

    /// Number of live contracts.
    pub fn num_contracts(&self) -> u64 {
        self.read_dataset().contract_ids().len()
    }

    /// Number of live customers.
    pub fn num_customers(&self) -> u64 {
        self.read_dataset().customer_ids().len()
    }

    /// The current fault settings.
    pub fn faults(&self) -> Faults {
        self.inner.faults.get()
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.faults.set(faults);
    }

    /// The counters.
    pub fn stats(&self) -> SimStats {
        self.inner.stats.snapshot()
    }

    /// Applies one change now and returns its events, which are also queued for the export
    /// target if one is configured (dropped and counted if the queue is full).
    pub fn apply_change(&self, request: &ChangeRequest) -> Result<Vec<ChangeEvent>, ChangeError> {
        let touched = changes::apply(&mut self.write_dataset(), request)?;
        tracing::debug!(kind = ?request.kind, contract_id = request.contract_id, "change applied");
        let events = self.record_change(touched);
        if let Some(export) = &self.inner.export {
            for event in &events {
                if let Err(TrySendError::Full(event) | TrySendError::Closed(event)) =
                    export.sender.try_send(event.clone())
                {
                    self.inner.stats.events_dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(event_id = %event.event_id, "export queue full; change event dropped");
                }
            }
        }
        Ok(events)
    }

    /// Applies a random change (the background stream's step).
    fn apply_random_change(&self) -> Result<Vec<ChangeEvent>, ChangeError> {
        let (kind, touched) = changes::apply_random(&mut self.write_dataset())?;
        tracing::debug!(?kind, "random change applied");
        Ok(self.record_change(touched))
    }

    fn record_change(&self, touched: Vec<changes::Touched>) -> Vec<ChangeEvent> {
        self.inner.stats.changes_applied.fetch_add(1, Ordering::Relaxed);
        changes::events(self, touched)
    }

    /// Queues events for export, waiting while the queue is full.
    async fn export_waiting(&self, events: Vec<ChangeEvent>) {
        let Some(export) = &self.inner.export else {
            return;
        };
        for event in events {
            if export.sender.send(event).await.is_err() {
                self.inner.stats.events_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn next_event_number(&self) -> u64 {
        self.inner.num_events.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn read_dataset(&self) -> RwLockReadGuard<'_, Dataset> {
        // A panic while holding the lock leaves the overlay consistent enough for a simulator.
        self.inner.dataset.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_dataset(&self) -> std::sync::RwLockWriteGuard<'_, Dataset> {
        self.inner.dataset.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A JSON failure in Powercloud's shape.
pub(crate) fn failure(status: StatusCode, code: &str, message: &str) -> Response {
    let body = Failure { success: false, code: code.to_owned(), message: message.to_owned() };
    (status, Json(body)).into_response()
}

async fn not_found() -> Response {
    failure(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The simulator's routes over `state`.
pub fn router(state: SimState) -> Router {
    let powercloud = Router::new()
        .route("/rest:client/{hash}/{function}", get(rest::call))
        .route_layer(from_fn_with_state(state.clone(), auth::require_basic))
        // Outermost, as a gateway in front of the ERP: faults hit authenticated or not.
        .route_layer(from_fn_with_state(state.clone(), faults::inject));
    let control = Router::new()
        .route("/_sim/faults", get(control::get_faults).put(control::put_faults))
        .route("/_sim/stats", get(control::get_stats))
        .route("/_sim/changes", post(control::post_change))
        .route_layer(from_fn_with_state(state.clone(), auth::require_basic));
    powercloud.merge(control).fallback(not_found).with_state(state)
}

/// Serves a new simulator for `config` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let state = tokio::task::spawn_blocking(move || SimState::new(config)).await.map_err(io::Error::other)?;
    serve_state(listener, state, shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes, with the background change stream
/// and the event export running alongside (the export starts only for the first server of a
/// state).
pub async fn serve_state(
    listener: TcpListener,
    state: SimState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut background = Vec::new();
    if let Some(export) = &state.inner.export {
        let receiver = export.receiver.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(receiver) = receiver {
            let task = export::run(state.clone(), receiver, export.target.clone(), export.token.clone());
            background.push(tokio::spawn(task));
        }
    }
    let rate = state.inner.change_rate_per_sec;
    if rate > 0.0 && rate.is_finite() {
        background.push(tokio::spawn(changes::run_stream(state.clone(), rate)));
    }
    let address = listener.local_addr()?;
    tracing::info!(%address, num_contracts = state.num_contracts(), "powercloud simulator listening");
    let result = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;
    for task in background {
        task.abort();
    }
    tracing::info!(%address, "powercloud simulator stopped");
    result
}

/// A simulator running on a loopback port, for tests. Dropping it shuts the server down.
#[derive(Debug)]
pub struct RunningSim {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The simulator's state, for truth snapshots and runtime changes.
    pub state: SimState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningSim {
    /// The URL of a Powercloud function, e.g. `rest_url("getContractById")`.
    pub fn rest_url(&self, function: &str) -> String {
        format!("{}/rest:client/{}/{function}", self.base_url, self.state.application_hash())
    }

    /// The URL of a control route, e.g. `sim_url("stats")`.
    pub fn sim_url(&self, route: &str) -> String {
        format!("{}/_sim/{route}", self.base_url)
    }

    /// Stops the server and waits for open requests to finish.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Starts a simulator for `config` on `127.0.0.1` with a free port.
pub async fn spawn(config: SimConfig) -> io::Result<RunningSim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let state = tokio::task::spawn_blocking(move || SimState::new(config)).await.map_err(io::Error::other)?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_state(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(RunningSim {
        addr,
        base_url: format!("http://{addr}"),
        state,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}
