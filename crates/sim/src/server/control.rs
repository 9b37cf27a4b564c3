//! The simulator's own control routes under `/_sim` (Basic auth like the Powercloud routes):
//! read and change the fault settings, read the counters, apply a change.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::changes::{ChangeError, ChangeRequest};
use super::faults::Faults;
use super::{SimState, failure};

/// `GET /_sim/faults`.
pub(crate) async fn get_faults(State(state): State<SimState>) -> Json<Faults> {
    Json(state.faults())
}

/// `PUT /_sim/faults`: replaces the settings; absent fields take their defaults.
pub(crate) async fn put_faults(
    State(state): State<SimState>,
    body: Result<Json<Faults>, JsonRejection>,
) -> Response {
    let faults = match body {
        Ok(Json(faults)) => faults,
        Err(rejection) => return failure(StatusCode::BAD_REQUEST, "invalid_body", &rejection.body_text()),
    };
    if let Err(message) = faults.validate() {
        return failure(StatusCode::BAD_REQUEST, "invalid_body", &message);
    }
    tracing::info!(?faults, "fault settings changed");
    state.set_faults(faults.clone());
    Json(faults).into_response()
}

/// `GET /_sim/stats`.
pub(crate) async fn get_stats(State(state): State<SimState>) -> Response {
    Json(state.stats()).into_response()
}

/// `POST /_sim/changes`: applies one change and answers its events.
pub(crate) async fn post_change(
    State(state): State<SimState>,
    body: Result<Json<ChangeRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return failure(StatusCode::BAD_REQUEST, "invalid_body", &rejection.body_text()),
    };
    match state.apply_change(&request) {
        Ok(events) => Json(events).into_response(),
        Err(error @ ChangeError::ContractNotFound(_)) => {
            failure(StatusCode::NOT_FOUND, "contract_not_found", &error.to_string())
        }
        Err(error @ ChangeError::NoLiveContract) => {
            failure(StatusCode::CONFLICT, "no_live_contract", &error.to_string())
        }
    }
}
