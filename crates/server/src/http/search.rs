//! The search routes: enneo's four executor calls and the ranked contract search.
//!
//! Inputs are taken as enneo's executors pass them; answers are the executor outputs as enneo
//! expects them ("no match" is `{}` for the fields search and `[]` for free text, not an error).

use axum::Json;
use axum::extract::State;
use contract_search_model::{Contract, Customer, CustomerRef, FieldsQuery, FreeTextQuery};
use contract_search_query::free_text::MAX_LIMIT;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};

/// Largest `offset` of the free-text search. The search ranks a bounded number of contracts,
/// so customers far down the list are never reached anyway.
pub const MAX_OFFSET: usize = 1000;
/// Customers (or contracts) answered when the caller gives no `limit`.
const DEFAULT_LIMIT: usize = 10;

/// `GET /v1/contracts/{contractId}`.
pub async fn contract_by_id(
    State(state): State<AppState>,
    ApiPath(contract_id): ApiPath<String>,
) -> Result<Json<Contract>, ApiError> {
    state
        .run_search(move |search| search.contract_by_id(&contract_id))
        .await?
        .map(Json)
        .ok_or(ApiError::ContractNotFound)
}

/// `GET /v1/customers/{customerId}`.
pub async fn customer_by_id(
    State(state): State<AppState>,
    ApiPath(customer_id): ApiPath<String>,
) -> Result<Json<Customer>, ApiError> {
    state
        .run_search(move |search| search.customer_by_id(&customer_id))
        .await?
        .map(Json)
        .ok_or(ApiError::CustomerNotFound)
}

/// Query parameters of the fields search.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsParams {
    /// Add the decision's reason and the scored candidates.
    #[serde(default)]
    explain: bool,
}

/// `POST /v1/search/fields`: one confident contract or `{}`.
pub async fn fields(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<FieldsParams>,
    ApiJson(query): ApiJson<FieldsQuery>,
) -> Result<Json<Value>, ApiError> {
    let explain = params.explain;
    let outcome = state.run_search(move |search| search.fields(&query, explain)).await?;
    let mut body = match &outcome.matched {
        Some(matched) => {
            serde_json::to_value(matched).map_err(|error| ApiError::Internal(error.to_string()))?
        }
        None => json!({}),
    };
    if explain {
        body["explain"] = json!({ "reason": outcome.reason, "candidates": outcome.candidates });
    }
    Ok(Json(body))
}

fn check_page(limit: usize, offset: usize) -> Result<(), ApiError> {
    if limit > MAX_LIMIT {
        return Err(ApiError::InvalidRequest(format!("limit must be at most {MAX_LIMIT}, not {limit}")));
    }
    if offset > MAX_OFFSET {
        return Err(ApiError::InvalidRequest(format!("offset must be at most {MAX_OFFSET}, not {offset}")));
    }
    Ok(())
}

async fn answer_free_text(state: AppState, query: FreeTextQuery) -> Result<Json<Vec<CustomerRef>>, ApiError> {
    check_page(query.limit, query.offset)?;
    Ok(Json(state.run_search(move |search| search.free_text(&query)).await?))
}

/// `POST /v1/search` with enneo's free-text executor input `{"q","limit","offset"}`.
pub async fn free_text(
    State(state): State<AppState>,
    ApiJson(query): ApiJson<FreeTextQuery>,
) -> Result<Json<Vec<CustomerRef>>, ApiError> {
    answer_free_text(state, query).await
}

/// Query parameters of `GET /v1/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeTextParams {
    q: String,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /v1/search?q=&limit=&offset=`: the same as the POST, for trying it out.
pub async fn free_text_get(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<FreeTextParams>,
) -> Result<Json<Vec<CustomerRef>>, ApiError> {
    let query = FreeTextQuery {
        q: params.q,
        limit: params.limit.unwrap_or(DEFAULT_LIMIT),
        offset: params.offset.unwrap_or(0),
    };
    answer_free_text(state, query).await
}

/// Query parameters of `GET /v1/search/contracts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractsParams {
    q: String,
    limit: Option<usize>,
}

/// One ranked contract.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractHitBody {
    contract: Contract,
    /// Relevance, comparable within one answer only.
    score: f32,
    /// enneo field names that matched.
    matched_fields: Vec<&'static str>,
}

/// `GET /v1/search/contracts?q=&limit=`: contracts ranked for free text, best first.
pub async fn contracts(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ContractsParams>,
) -> Result<Json<Vec<ContractHitBody>>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 {
        return Err(ApiError::InvalidRequest("limit must be at least 1".to_owned()));
    }
    check_page(limit, 0)?;
    let hits = state.run_search(move |search| search.contracts(&params.q, limit)).await?;
    Ok(Json(
        hits.into_iter()
            .map(|hit| ContractHitBody {
                contract: hit.contract,
                score: hit.score,
                matched_fields: hit.matched_fields,
            })
            .collect(),
    ))
}
