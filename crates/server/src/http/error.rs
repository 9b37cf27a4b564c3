//! THE mapping of everything that can go wrong in a request to an HTTP answer.
//!
//! Every failure becomes an [`ApiError`]; its [`IntoResponse`] is the one `match` that picks the
//! status and the stable snake_case `code` of the body
//! `{"error": {"code": "...", "message": "..."}}`. axum's own rejections (body, path, query) are
//! converted into it by the extractors in [`super::extract`], so they answer in the same shape.
//!
//! A 5xx never carries internal detail: the body says only that something failed on our side,
//! and the cause is logged here, once, at error level. Causes never hold personal data: the
//! query and index errors name files and stages, not contract contents.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::{error, warn};

use super::auth::Scope;

/// Why a request failed: the caller's fault (4xx) or ours (5xx).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all (syntax error, empty, cut off).
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body, query string or path is well-formed but not what this route takes.
    #[error("{0}")]
    InvalidRequest(String),
    /// The body exceeds the configured limit.
    #[error("the request body exceeds {limit_bytes} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit_bytes: usize,
    },
    /// No `Authorization: Bearer` header.
    #[error("this route needs an API key: send `Authorization: Bearer <key>`")]
    MissingApiKey,
    /// A key was sent, but it is not one of the configured keys.
    #[error("the API key is not valid")]
    InvalidApiKey,
    /// The key is valid, but its scope does not cover this route.
    #[error("the API key lacks the `{0}` scope this route needs")]
    InsufficientScope(Scope),
    /// No contract with the requested id.
    #[error("no contract with this id")]
    ContractNotFound,
    /// No customer with the requested id.
    #[error("no customer with this id")]
    CustomerNotFound,
    /// No such route.
    #[error("no such route")]
    RouteNotFound,
    /// The route exists, but not for this method.
    #[error("this route does not take this method")]
    MethodNotAllowed,
    /// A rebuild is running already (in this process or another one on the data directory).
    #[error("a rebuild is running already")]
    RebuildRunning,
    /// A rebuild was requested, but no ERP is configured to rebuild from.
    #[error("no ERP is configured to rebuild from")]
    NoErpConfigured,
    /// The ERP webhooks need a secret, and none is configured.
    #[error("the ERP webhooks are disabled: configure a webhook secret (CONTRACT_SEARCH_WEBHOOK_SECRET)")]
    WebhookDisabled,
    /// The webhook token or signature is missing or wrong.
    #[error("the webhook token or signature is missing or wrong")]
    InvalidWebhookAuth,
    /// A bulk import grew beyond the import limit.
    #[error("the import exceeds {limit_bytes} bytes; the {accepted} lines before the limit were accepted")]
    ImportTooLarge {
        /// The configured limit.
        limit_bytes: u64,
        /// Lines accepted before the limit.
        accepted: u64,
    },
    /// This server takes no changes (no journal).
    #[error("this server takes no changes")]
    UpdatesUnavailable,
    /// No index generation is loaded yet (the first rebuild is still running).
    #[error("no index generation is loaded yet; try again after the first rebuild")]
    NotReady,
    /// The request did not finish within the configured request timeout.
    #[error("the request did not finish in time")]
    Timeout,
    /// Something failed on our side; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// The status and the stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            ApiError::InvalidRequest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            ApiError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::MissingApiKey => (StatusCode::UNAUTHORIZED, "missing_api_key"),
            ApiError::InvalidApiKey => (StatusCode::UNAUTHORIZED, "invalid_api_key"),
            ApiError::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            ApiError::ContractNotFound => (StatusCode::NOT_FOUND, "contract_not_found"),
            ApiError::CustomerNotFound => (StatusCode::NOT_FOUND, "customer_not_found"),
            ApiError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::RebuildRunning => (StatusCode::CONFLICT, "rebuild_running"),
            ApiError::NoErpConfigured => (StatusCode::CONFLICT, "no_erp_configured"),
            ApiError::WebhookDisabled => (StatusCode::FORBIDDEN, "webhook_disabled"),
            ApiError::InvalidWebhookAuth => (StatusCode::UNAUTHORIZED, "invalid_webhook_auth"),
            ApiError::ImportTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::UpdatesUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "updates_unavailable"),
            ApiError::NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(cause) => {
                error!(cause = %cause, "request failed on our side");
                "the request failed on our side; the cause is in the server log".to_owned()
            }
            ApiError::Timeout => {
                warn!("request timed out");
                self.to_string()
            }
            _ => self.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code, message: &message } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED && !matches!(self, ApiError::InvalidWebhookAuth) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<contract_search_query::Error> for ApiError {
    fn from(error: contract_search_query::Error) -> ApiError {
        match error {
            contract_search_query::Error::NoGeneration => ApiError::NotReady,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_stays_out_of_the_body() {
        let response =
            ApiError::Internal("reading /data/generations/g000001: disk on fire".into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = futures_body(response);
        assert!(!body.contains("disk on fire"), "{body}");
        assert!(body.contains("internal_error"), "{body}");
    }

    fn futures_body(response: Response) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let bytes = runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn no_generation_is_not_ready() {
        let error = ApiError::from(contract_search_query::Error::NoGeneration);
        assert_eq!(error.status_and_code(), (StatusCode::SERVICE_UNAVAILABLE, "not_ready"));
    }
}
