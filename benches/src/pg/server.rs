//! The peer's HTTP server: contract-search's routes and answer shapes over PostgreSQL, so one
//! load generator and one quality check drive both.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/contracts/{contractId}` | Contract (the stored `jsonb`), or 404 `contract_not_found` |
//! | `GET /v1/customers/{customerId}` | Customer derived from its contracts, or 404 `customer_not_found` |
//! | `POST /v1/search/fields[?explain=true]` | `{"contractId","customerId"}` or `{}` (with `explain`: reason and candidates) |
//! | `POST /v1/search` `{"q","limit","offset"}`, `GET /v1/search?q=` | `[{"id": customerId}, ...]` |
//! | `GET /healthz`, `GET /readyz` | 200 `{"status":"ok"}` |
//!
//! No authentication: an `Authorization` header is accepted and ignored. Errors are
//! `{"error": {"code", "message"}}` as in contract-search. Every statement is prepared once per
//! connection (deadpool's statement cache); the pool holds two connections per core, the usual
//! size for a CPU-bound database on the same machine. Requests take at most five seconds.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use contract_search_model::normalize::{canonical_id, id_variants};
use contract_search_model::{Contract, CustomerRef, FieldsQuery, FreeTextQuery};
use contract_search_query::customer_from_contracts;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::Deserialize;
use serde_json::json;
use tokio_postgres::types::{ToSql, Type};

use super::fields::{self, Features, FieldsPlan, FieldsThresholds};
use super::free_text::{FreeTextPlan, IDENTIFIER_PARAM_TYPES, merge_customers};

/// Most customers one free-text call answers (as contract-search).
pub const MAX_LIMIT: usize = 100;
/// Largest free-text `offset` (as contract-search).
pub const MAX_OFFSET: usize = 1000;
/// Customers answered when the caller gives no `limit` (as contract-search).
pub const DEFAULT_LIMIT: usize = 10;
/// Longest time a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// `pg_trgm` thresholds of the `%` and `%>` operators, set on every pooled connection.
/// 0.4 for `%` (default 0.3) still admits a typo in each of first and last name, and cuts
/// about tenfold the rows a common first name drags into the recheck; 0.5 for word similarity
/// (default 0.6) lets a typo in a five-letter name through.
pub const TRIGRAM_OPTIONS: &str =
    "-c pg_trgm.similarity_threshold=0.4 -c pg_trgm.word_similarity_threshold=0.5";

/// Settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// Thresholds of the fields search.
    pub thresholds: FieldsThresholds,
}

impl Default for ServeOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        ServeOptions { pool_size: 2 * cores, thresholds: FieldsThresholds::default() }
    }
}

#[derive(Clone)]
struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    thresholds: FieldsThresholds,
}

/// Serves the API on `listener` from `database_url` until the future is dropped or fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    database_url: &str,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let app = app(database_url, &options).await?;
    let address: SocketAddr = listener.local_addr()?;
    tracing::info!(%address, pool_size = options.pool_size, "pg-peer serving");
    axum::serve(listener, app).await.context("serving HTTP")
}

/// The router over a new pool on `database_url` (checks that the table is there).
pub async fn app(database_url: &str, options: &ServeOptions) -> anyhow::Result<Router> {
    let mut config: tokio_postgres::Config = database_url.parse().context("parsing the database URL")?;
    config.options(TRIGRAM_OPTIONS);
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    let pool =
        Pool::builder(manager).max_size(options.pool_size.max(1)).build().context("building the pool")?;
    let client = pool.get().await.context("connecting to PostgreSQL")?;
    let num_contracts: i64 = client
        .query_one("SELECT count(*) FROM contracts", &[])
        .await
        .context("counting contracts (has `pg-peer load` run?)")?
        .get(0);
    tracing::info!(num_contracts, "contracts table found");
    drop(client);
    let state = AppState { inner: Arc::new(Inner { pool, thresholds: options.thresholds }) };
    Ok(Router::new()
        .route("/v1/contracts/{contractId}", get(contract_by_id))
        .route("/v1/customers/{customerId}", get(customer_by_id))
        .route("/v1/search/fields", post(fields_search))
        .route("/v1/search", post(free_text).get(free_text_get))
        .route("/healthz", get(healthz))
        .route("/readyz", get(healthz))
        .fallback(|| async { PeerError::RouteNotFound })
        .layer(from_fn(timeout))
        .with_state(state))
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
enum PeerError {
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no contract with this id")]
    ContractNotFound,
    #[error("no customer with this id")]
    CustomerNotFound,
    #[error("no such route")]
    RouteNotFound,
    #[error("the request did not finish in time")]
    Timeout,
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

fn internal(error: impl Into<anyhow::Error>) -> PeerError {
    PeerError::Internal(error.into())
}

impl IntoResponse for PeerError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            PeerError::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            PeerError::InvalidRequest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            PeerError::ContractNotFound => (StatusCode::NOT_FOUND, "contract_not_found"),
            PeerError::CustomerNotFound => (StatusCode::NOT_FOUND, "customer_not_found"),
            PeerError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
            PeerError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            PeerError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        };
        let message = match &self {
            PeerError::Internal(cause) => {
                // Causes are statements and driver errors, never request contents.
                tracing::error!(cause = %format!("{cause:#}"), "request failed on our side");
                "the request failed on our side; the cause is in the server log".to_owned()
            }
            other => other.to_string(),
        };
        (status, axum::Json(json!({ "error": { "code": code, "message": message } }))).into_response()
    }
}

async fn timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => PeerError::Timeout.into_response(),
    }
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// Parses a JSON body whatever its `Content-Type`, telling "not JSON" from "wrong shape".
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PeerError> {
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => PeerError::InvalidRequest(error.to_string()),
        _ => PeerError::InvalidJson(error.to_string()),
    })
}

fn json_text(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

type Params = Vec<Box<dyn ToSql + Sync + Send>>;

impl AppState {
    /// Runs a statement (prepared once per connection and shape) with `params`.
    async fn query(
        &self,
        sql: &str,
        types: &[Type],
        params: &Params,
    ) -> Result<Vec<tokio_postgres::Row>, PeerError> {
        let client = self.inner.pool.get().await.map_err(internal)?;
        let statement = client.prepare_typed_cached(sql, types).await.map_err(internal)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|param| param.as_ref() as _).collect();
        client.query(&statement, &params).await.map_err(internal)
    }
}

/// Contracts whose id matches a variant of the typed id: `(id, customer_id, doc::text)`.
const CONTRACT_BY_ID: &str = "SELECT id, customer_id, doc::text FROM contracts \
     WHERE contract_key = ANY($1) OR contract_num = ANY($1) LIMIT 3";
/// Contracts whose customer id matches a variant of the typed id: `(id, customer_id, doc)`.
const CONTRACTS_OF_CUSTOMER: &str = "SELECT id, customer_id, doc FROM contracts \
     WHERE customer_key = ANY($1) OR customer_num = ANY($1) LIMIT 10000";

async fn contract_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PeerError> {
    let variants = id_variants(&id);
    if variants.is_empty() {
        return Err(PeerError::ContractNotFound);
    }
    let rows = state.query(CONTRACT_BY_ID, &[Type::TEXT_ARRAY], &vec![Box::new(variants)]).await?;
    // The exact id wins; otherwise the variants must lead to one contract.
    let exact = rows.iter().find(|row| row.get::<_, &str>(0) == id.trim());
    let row = match (exact, rows.as_slice()) {
        (Some(row), _) | (None, [row]) => row,
        _ => return Err(PeerError::ContractNotFound),
    };
    Ok(json_text(row.get(2)))
}

async fn customer_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PeerError> {
    let variants = id_variants(&id);
    if variants.is_empty() {
        return Err(PeerError::CustomerNotFound);
    }
    let rows = state.query(CONTRACTS_OF_CUSTOMER, &[Type::TEXT_ARRAY], &vec![Box::new(variants)]).await?;
    let canonical = canonical_id(&id);
    let customers: HashSet<&str> = rows.iter().map(|row| row.get::<_, &str>(1)).collect();
    // The exact customer id wins; otherwise the variants must lead to one customer.
    let chosen = if customers.iter().any(|customer| canonical_id(customer) == canonical) {
        customers.iter().find(|customer| canonical_id(customer) == canonical).copied()
    } else if customers.len() == 1 {
        customers.iter().next().copied()
    } else {
        None
    };
    let chosen = chosen.ok_or(PeerError::CustomerNotFound)?;
    let contracts = rows
        .iter()
        .filter(|row| row.get::<_, &str>(1) == chosen)
        .map(|row| serde_json::from_value::<Contract>(row.get(2)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    let customer = customer_from_contracts(contracts).ok_or(PeerError::CustomerNotFound)?;
    Ok(axum::Json(customer).into_response())
}

/// Query parameters of the fields search.
#[derive(Debug, Deserialize)]
struct FieldsParams {
    #[serde(default)]
    explain: bool,
}

async fn fields_search(
    State(state): State<AppState>,
    Query(params): Query<FieldsParams>,
    body: Bytes,
) -> Result<Response, PeerError> {
    let query: FieldsQuery = parse_json(&body)?;
    let plan = FieldsPlan::from_query(&query);
    if plan.is_empty() {
        let mut body = json!({});
        if params.explain {
            body["explain"] = json!({ "reason": "no usable field was given", "candidates": [] });
        }
        return Ok(axum::Json(body).into_response());
    }
    let rows = state.query(&plan.sql(), fields::PARAM_TYPES, &plan.params()).await?;
    let candidates = rows.iter().map(Features::from_row).collect::<Result<Vec<_>, _>>().map_err(internal)?;
    let decision = fields::decide(&plan, &candidates, state.inner.thresholds);
    let mut body = match &decision.matched {
        Some(matched) => serde_json::to_value(matched).map_err(internal)?,
        None => json!({}),
    };
    if params.explain {
        body["explain"] = json!({ "reason": decision.reason, "candidates": decision.candidates });
    }
    Ok(axum::Json(body).into_response())
}

async fn free_text(State(state): State<AppState>, body: Bytes) -> Result<Response, PeerError> {
    let query: FreeTextQuery = parse_json(&body)?;
    answer_free_text(&state, &query).await
}

/// Query parameters of `GET /v1/search`.
#[derive(Debug, Deserialize)]
struct FreeTextParams {
    q: String,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn free_text_get(
    State(state): State<AppState>,
    Query(params): Query<FreeTextParams>,
) -> Result<Response, PeerError> {
    let query = FreeTextQuery {
        q: params.q,
        limit: params.limit.unwrap_or(DEFAULT_LIMIT),
        offset: params.offset.unwrap_or(0),
    };
    answer_free_text(&state, &query).await
}

async fn answer_free_text(state: &AppState, query: &FreeTextQuery) -> Result<Response, PeerError> {
    if query.limit > MAX_LIMIT {
        return Err(PeerError::InvalidRequest(format!(
            "limit must be at most {MAX_LIMIT}, not {}",
            query.limit
        )));
    }
    if query.offset > MAX_OFFSET {
        return Err(PeerError::InvalidRequest(format!(
            "offset must be at most {MAX_OFFSET}, not {}",
            query.offset
        )));
    }
    if query.limit == 0 {
        return Ok(axum::Json(Vec::<CustomerRef>::new()).into_response());
    }
    let wanted = query.offset + query.limit;
    let plan = FreeTextPlan::from_text(&query.q);
    let (mut order, mut seen) = (Vec::new(), HashSet::new());
    if let Some(sql) = plan.identifier_sql() {
        let rows = state.query(&sql, IDENTIFIER_PARAM_TYPES, &plan.identifier_params(wanted as i64)).await?;
        merge_customers(&mut order, &mut seen, rows.iter().map(|row| row.get(0)).collect());
    }
    let passes = if plan.may_relax() { 2 } else { 1 };
    for allowed_misses in 0..passes {
        if order.len() >= wanted {
            break;
        }
        let Some(sql) = plan.words_sql(allowed_misses) else { break };
        let (params, types) = plan.words_params(wanted as i64);
        let rows = state.query(&sql, &types, &params).await?;
        merge_customers(&mut order, &mut seen, rows.iter().map(|row| row.get(0)).collect());
    }
    let answer: Vec<CustomerRef> =
        order.into_iter().skip(query.offset).take(query.limit).map(|id| CustomerRef { id }).collect();
    Ok(axum::Json(answer).into_response())
}
