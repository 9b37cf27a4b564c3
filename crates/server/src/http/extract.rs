//! Extractors whose rejections are [`ApiError`]s, so that a bad body, path or query string is
//! answered in the same JSON error shape as everything else.
//!
//! [`ApiJson`] reads the body as JSON whatever its `Content-Type` says: executors are short
//! hand-written programs, and a forgotten header should not turn a good request into an error.
//! The body size limit (axum's `DefaultBodyLimit`, set by the router) applies while reading.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;

/// A JSON body, deserialised into `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes =
            Bytes::from_request(request, state).await.map_err(|rejection| body_error(rejection, state))?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn body_error(rejection: BytesRejection, state: &AppState) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge { limit_bytes: state.settings().max_body_bytes }
    } else {
        ApiError::InvalidJson("the request body could not be read".to_owned())
    }
}

/// Parses JSON, telling "not JSON" (400) from "JSON of the wrong shape" (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::InvalidRequest(error.to_string()),
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => ApiError::InvalidJson(error.to_string()),
    })
}

/// Path parameters.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection: PathRejection| ApiError::InvalidRequest(rejection.body_text()))
    }
}

/// Query-string parameters.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| ApiError::InvalidRequest(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_and_shape_are_told_apart() {
        let syntax = parse_json::<contract_search_model::FreeTextQuery>(b"{\"q\": ").unwrap_err();
        assert_eq!(syntax.status_and_code().1, "invalid_json");
        let shape = parse_json::<contract_search_model::FreeTextQuery>(b"{\"limit\": 3}").unwrap_err();
        assert_eq!(shape.status_and_code().1, "invalid_request");
        let empty = parse_json::<contract_search_model::FreeTextQuery>(b"").unwrap_err();
        assert_eq!(empty.status_and_code().1, "invalid_json");
    }
}
