//! The HTTP API (v1): enneo's four executor calls, a ranked contract search, and the routes for
//! operators and orchestration. The handlers hold no search logic: they take the executor
//! input as enneo passes it, run the search of `contract_search_query` off the async runtime,
//! and return the executor output as enneo expects it.
//!
//! | route | scope | answer |
//! |---|---|---|
//! | `GET /v1/contracts/{contractId}` | search | Contract, or 404 `contract_not_found` |
//! | `GET /v1/customers/{customerId}` | search | Customer with `contractIds`, or 404 `customer_not_found` |
//! | `POST /v1/search/fields[?explain=true]` | search | `{"contractId","customerId"}` or `{}`; with `explain` also `"explain": {"reason","candidates"}` |
//! | `POST /v1/search` `{"q","limit","offset"}` | search | `[{"id": customerId}, ...]` |
//! | `GET /v1/search?q=&limit=&offset=` | search | the same (search text in URLs ends up in proxy logs: prefer POST) |
//! | `GET /v1/search/contracts?q=&limit=` | search | `[{"contract","score","matchedFields"}, ...]`, best first |
//! | `POST /v1/admin/rebuild[?allowShrink=true]` | admin | 202, or 409 `rebuild_running` / `no_erp_configured` |
//! | `GET /v1/admin/status` | admin | generation, rebuild state, last rebuild, schedule |
//! | `GET /metrics` | any key | Prometheus text |
//! | `GET /healthz` | none | 200 `{"status":"ok"}` while the process runs |
//! | `GET /readyz` | none | 200 once a generation is loaded, else 503 `not_ready` |
//!
//! Every error is `{"error": {"code", "message"}}` (see [`error`]). Around every route: the
//! access log and metrics ([`metrics`]), the request timeout (503 `timeout`) and the body limit
//! (413 `body_too_large`). Searches run on the blocking pool, at most
//! [`HttpSettings::max_concurrent_searches`] at once; the others wait (within the timeout).

mod admin;
mod auth;
mod error;
mod extract;
mod metrics;
mod search;
#[cfg(test)]
mod tests;
pub mod updates;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use contract_search_index::GenerationStore;
use contract_search_query::{ContractSearch, FieldsSettings};
use tokio::sync::Semaphore;

pub use auth::{ApiKeys, Auth, RECOMMENDED_MIN_KEY_LEN, Requirement, Scope};
pub use error::ApiError;
pub use metrics::Metrics;

use crate::schedule::RebuildRunner;

/// Limits of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Longest time a request may take, searches included (default 5 s).
    pub request_timeout: Duration,
    /// Largest request body (default 1 MiB).
    pub max_body_bytes: usize,
    /// Searches running at once on the blocking pool (default four per core).
    pub max_concurrent_searches: usize,
    /// Largest body of one `POST /v1/import` (default 16 GiB; read as a stream).
    pub max_import_bytes: u64,
}

/// The default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The default body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// The default limit of one bulk import.
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 16 << 30;

impl Default for HttpSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        HttpSettings {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_concurrent_searches: cores * 4,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
        }
    }
}

/// What the handlers share. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    search: ContractSearch,
    store: Arc<GenerationStore>,
    auth: Auth,
    metrics: Metrics,
    rebuilds: Arc<RebuildRunner>,
    searches: Arc<Semaphore>,
    settings: HttpSettings,
    started: Instant,
    updates: Option<updates::Updates>,
}

impl AppState {
    /// State over `store`, answering with `fields_settings`, guarded by `auth`, rebuilding
    /// through `rebuilds`.
    pub fn new(
        store: Arc<GenerationStore>,
        fields_settings: FieldsSettings,
        auth: Auth,
        rebuilds: Arc<RebuildRunner>,
        settings: HttpSettings,
    ) -> AppState {
        let searches = Arc::new(Semaphore::new(settings.max_concurrent_searches.max(1)));
        AppState {
            inner: Arc::new(Inner {
                search: ContractSearch::new(store.clone(), fields_settings),
                store,
                auth,
                metrics: Metrics::default(),
                rebuilds,
                searches,
                settings,
                started: Instant::now(),
                updates: None,
            }),
        }
    }

    /// Takes changes (webhooks, imports) through `updates`. Call before the state is shared.
    pub fn with_updates(mut self, updates: updates::Updates) -> AppState {
        Arc::get_mut(&mut self.inner).expect("with_updates is called before the state is shared").updates =
            Some(updates);
        self
    }

    fn updates(&self) -> Result<&updates::Updates, ApiError> {
        self.inner.updates.as_ref().ok_or(ApiError::UpdatesUnavailable)
    }

    fn webhook(&self) -> updates::WebhookAuth {
        self.inner.updates.as_ref().map(|updates| updates.webhook.clone()).unwrap_or_default()
    }

    fn erp_sources(&self) -> &[String] {
        self.inner.updates.as_ref().map_or(&[], |updates| updates.erp_sources.as_slice())
    }

    /// Appends changes to the journal (flushed to disk) off the async runtime; returns the
    /// sequence number of the last one.
    async fn journal_append(
        &self,
        changes: Vec<contract_search_ingest::journal::Change>,
    ) -> Result<u64, ApiError> {
        let journal = self.updates()?.updater.journal().clone();
        let range = tokio::task::spawn_blocking(move || journal.append(&changes))
            .await
            .map_err(|_| ApiError::Internal("the journal append task failed".into()))?
            .map_err(|error| ApiError::Internal(format!("journal append: {error}")))?;
        Ok(*range.end())
    }

    /// Waits until the journal entry `seq` is searchable (at most the request timeout less a
    /// margin, or [`updates::MAX_WAIT`] on routes without a timeout); whether it is.
    async fn wait_applied(&self, seq: u64) -> bool {
        let Ok(updates) = self.updates() else { return false };
        let updater = updates.updater.clone();
        let budget = self.settings().request_timeout.saturating_sub(Duration::from_millis(250));
        let timeout = budget.max(Duration::from_millis(100)).min(updates::MAX_WAIT);
        tokio::task::spawn_blocking(move || updater.wait_applied(seq, timeout)).await.unwrap_or(false)
    }

    /// The updater's status, when this server takes changes.
    pub fn updater_status(&self) -> Option<contract_search_ingest::updater::UpdaterStatus> {
        self.inner.updates.as_ref().map(|updates| updates.updater.status())
    }

    fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    fn settings(&self) -> &HttpSettings {
        &self.inner.settings
    }

    fn store(&self) -> &GenerationStore {
        &self.inner.store
    }

    fn rebuilds(&self) -> &Arc<RebuildRunner> {
        &self.inner.rebuilds
    }

    /// Runs a search on the blocking pool (tantivy is synchronous), bounded in concurrency.
    async fn run_search<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&ContractSearch) -> contract_search_query::Result<T> + Send + 'static,
    {
        let permit = self
            .inner
            .searches
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("the search semaphore is closed".to_owned()))?;
        let search = self.inner.search.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&search)
        })
        .await
        .map_err(|failure| {
            ApiError::Internal(
                if failure.is_panic() { "a search panicked" } else { "a search was cancelled" }.into(),
            )
        })?;
        Ok(outcome?)
    }
}

/// The API's routes over `state`, with auth, limits, the access log and metrics.
pub fn router(state: AppState) -> Router {
    let require = |requirement| from_fn_with_state((state.clone(), requirement), auth::require);
    let searches = Router::new()
        .route("/v1/contracts/{contractId}", get(search::contract_by_id))
        .route("/v1/customers/{customerId}", get(search::customer_by_id))
        .route("/v1/search/fields", post(search::fields))
        .route("/v1/search", post(search::free_text).get(search::free_text_get))
        .route("/v1/search/contracts", get(search::contracts))
        .route_layer(require(Requirement::Scope(Scope::Search)));
    let admin = Router::new()
        .route("/v1/admin/rebuild", post(admin::rebuild))
        .route("/v1/admin/status", get(admin::status))
        .route_layer(require(Requirement::Scope(Scope::Admin)));
    let imports = Router::new()
        .route("/v1/contracts/{contractId}", put(updates::put_contract).delete(updates::delete_contract))
        .route("/v1/customers/{customerId}", put(updates::put_customer))
        .route("/v1/import", post(updates::import))
        .route_layer(require(Requirement::Scope(Scope::Import)));
    // Webhooks authenticate with their own secret (checked in the handler: it needs the body).
    let webhooks = Router::new().route("/v1/webhooks/powercloud", post(updates::powercloud_webhook));
    let metrics =
        Router::new().route("/metrics", get(admin::metrics)).route_layer(require(Requirement::AnyKey));
    let open = Router::new().route("/healthz", get(admin::healthz)).route("/readyz", get(admin::readyz));
    Router::new()
        .merge(searches)
        .merge(imports)
        .merge(webhooks)
        .merge(admin)
        .merge(metrics)
        .merge(open)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings().max_body_bytes))
        .layer(from_fn_with_state(state.clone(), timeout))
        .layer(from_fn_with_state(state.clone(), metrics::observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Middleware: answers 503 `timeout` when the request takes longer than the request timeout.
/// A search already on the blocking pool finishes there; its answer is dropped. A bulk import
/// (`POST /v1/import`) takes as long as its body does: it is exempt.
async fn timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/v1/import" {
        return next.run(request).await;
    }
    match tokio::time::timeout(state.settings().request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}
