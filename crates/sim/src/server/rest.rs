//! The Powercloud functions under `/rest:client/{hash}/{function}`: single records by id and the
//! (assumed) list functions, answered from the dataset in Powercloud's envelopes. List pages
//! carry `"total"` unless the `omit_total` fault plays an older installation without it.
//!
//! List pages are built and serialised on the blocking pool: a 5,000-record page regenerates a
//! few thousand customers, which is milliseconds of CPU that must not stall the runtime.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::powercloud::{
    Envelope, GET_CONTRACT, GET_CUSTOMER, LIST_CONTRACTS, LIST_CUSTOMERS, MAX_PAGE_SIZE, Page, Record,
};

use super::{SimState, failure, faults};

/// Page size when `limit` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// A refusal: status, stable code and message.
struct Reject(StatusCode, &'static str, String);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        failure(self.0, self.1, &self.2)
    }
}

type Params = HashMap<String, String>;

/// `GET /rest:client/{hash}/{function}`.
pub(crate) async fn call(
    State(state): State<SimState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    match dispatch(state, path, query).await {
        Ok(response) => response,
        Err(reject) => reject.into_response(),
    }
}

async fn dispatch(
    state: SimState,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, Reject> {
    let Path((hash, function)) =
        path.map_err(|_| Reject(StatusCode::NOT_FOUND, "not_found", "no such route".into()))?;
    if !bool::from(hash.as_bytes().ct_eq(state.inner.application_hash.as_bytes())) {
        return Err(Reject(
            StatusCode::NOT_FOUND,
            "unknown_application",
            "no application with this hash".into(),
        ));
    }
    let Query(params) = query
        .map_err(|rejection| Reject(StatusCode::BAD_REQUEST, "invalid_parameter", rejection.body_text()))?;
    tracing::debug!(function = %function, "powercloud call");
    match function.as_str() {
        GET_CONTRACT => {
            let id = required_id(&params)?;
            match state.read_dataset().raw_contract(id) {
                Some(data) => Ok(json(&Envelope { success: true, data: Record { id, data } })),
                None => Err(Reject(
                    StatusCode::NOT_FOUND,
                    "contract_not_found",
                    format!("no contract with id {id}"),
                )),
            }
        }
        GET_CUSTOMER => {
            let id = required_id(&params)?;
            match state.read_dataset().raw_customer(id) {
                Some(data) => Ok(json(&Envelope { success: true, data: Record { id, data } })),
                None => Err(Reject(
                    StatusCode::NOT_FOUND,
                    "customer_not_found",
                    format!("no customer with id {id}"),
                )),
            }
        }
        LIST_CONTRACTS => list(state, &params, ListKind::Contracts).await,
        LIST_CUSTOMERS => list(state, &params, ListKind::Customers).await,
        _ => Err(Reject(StatusCode::NOT_FOUND, "unknown_function", format!("unknown function {function}"))),
    }
}

#[derive(Debug, Clone, Copy)]
enum ListKind {
    Contracts,
    Customers,
}

async fn list(state: SimState, params: &Params, kind: ListKind) -> Result<Response, Reject> {
    let limit = match number(params, "limit")? {
        None => DEFAULT_PAGE_SIZE,
        Some(limit) if (1..=MAX_PAGE_SIZE as u64).contains(&limit) => limit as usize,
        Some(_) => {
            let message = format!("limit must be between 1 and {MAX_PAGE_SIZE}");
            return Err(Reject(StatusCode::BAD_REQUEST, "invalid_parameter", message));
        }
    };
    let offset = number(params, "offset")?.unwrap_or(0);
    let faults = state.faults();
    let served_limit = faults::truncated_limit(&state, &faults, offset, limit);
    // An older installation announces no total; the records are the same either way.
    let announce_total = !faults.omit_total;
    let built = tokio::task::spawn_blocking(move || {
        let dataset = state.read_dataset();
        match kind {
            ListKind::Contracts => {
                let total = announce_total.then(|| dataset.contract_ids().len());
                let records =
                    served_limit.map(|limit| dataset.contract_page(offset, limit)).unwrap_or_default();
                serde_json::to_vec(&Envelope { success: true, data: Page { records, total } })
            }
            ListKind::Customers => {
                let total = announce_total.then(|| dataset.customer_ids().len());
                let records =
                    served_limit.map(|limit| dataset.customer_page(offset, limit)).unwrap_or_default();
                serde_json::to_vec(&Envelope { success: true, data: Page { records, total } })
            }
        }
    })
    .await;
    match built {
        Ok(Ok(body)) => Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response()),
        Ok(Err(error)) => {
            tracing::error!(%error, "cannot serialise a page");
            Err(internal())
        }
        Err(error) => {
            tracing::error!(%error, "page building failed");
            Err(internal())
        }
    }
}

fn internal() -> Reject {
    Reject(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal server error".into())
}

fn number(params: &Params, name: &'static str) -> Result<Option<u64>, Reject> {
    match params.get(name) {
        None => Ok(None),
        Some(text) => text.trim().parse().map(Some).map_err(|_| {
            Reject(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("{name} must be a non-negative integer"),
            )
        }),
    }
}

fn required_id(params: &Params) -> Result<u64, Reject> {
    number(params, "id")?
        .ok_or_else(|| Reject(StatusCode::BAD_REQUEST, "missing_parameter", "id is required".into()))
}

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot serialise a record");
            internal().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{Faults, SimConfig};

    async fn list_page(state: &SimState, function: &str, limit: u64, offset: u64) -> serde_json::Value {
        let path = Path((state.application_hash().to_owned(), function.to_owned()));
        let params = Params::from([
            ("limit".to_owned(), limit.to_string()),
            ("offset".to_owned(), offset.to_string()),
        ]);
        let Ok(response) = dispatch(state.clone(), Ok(path), Ok(Query(params))).await else {
            panic!("{function} is refused");
        };
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    #[tokio::test]
    async fn omit_total_leaves_out_only_the_total() {
        let state = SimState::new(SimConfig { num_contracts: 40, ..SimConfig::default() });
        let with_total = list_page(&state, LIST_CONTRACTS, 15, 10).await;
        assert_eq!(with_total["data"]["total"], 40);
        let customers = list_page(&state, LIST_CUSTOMERS, 5, 0).await;
        assert_eq!(customers["data"]["total"], state.num_customers());

        state.set_faults(Faults { omit_total: true, ..Faults::default() });
        let without_total = list_page(&state, LIST_CONTRACTS, 15, 10).await;
        assert!(without_total["data"].get("total").is_none(), "{}", without_total["data"]);
        assert_eq!(without_total["data"]["records"], with_total["data"]["records"]);
        assert_eq!(without_total["data"]["records"].as_array().unwrap().len(), 15);
        let customers = list_page(&state, LIST_CUSTOMERS, 5, 0).await;
        assert!(customers["data"].get("total").is_none());

        // With a cut as well, the short page is the only sign of the end.
        state.set_faults(Faults { omit_total: true, truncate_after: Some(20), ..Faults::default() });
        let cut = list_page(&state, LIST_CONTRACTS, 15, 15).await;
        assert_eq!(cut["data"]["records"].as_array().unwrap().len(), 5);
        assert!(cut["data"].get("total").is_none());
    }
}
