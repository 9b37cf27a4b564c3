//! HTTP Basic authentication as Powercloud does it: the user is written `<context>#<user>`
//! (here always `client#<user>`), and every `/rest:` and `/_sim` route requires it.
//!
//! The decoded `user:password` is compared with the expected one in constant time, so the
//! simulator does not teach clients to rely on a timing side channel being absent or present.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use super::{SimState, failure};

/// The `user:password` pair a client must send for `user` and `password`.
pub(crate) fn expected_credentials(user: &str, password: &str) -> Vec<u8> {
    format!("client#{user}:{password}").into_bytes()
}

/// Whether the request's `Authorization` header carries exactly `expected`.
fn authorized(headers: &HeaderMap, expected: &[u8]) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    decoded.ct_eq(expected).into()
}

/// Middleware: lets authenticated requests through, answers 401 with a challenge otherwise.
pub(crate) async fn require_basic(State(state): State<SimState>, request: Request, next: Next) -> Response {
    if authorized(request.headers(), &state.inner.credentials) {
        return next.run(request).await;
    }
    state.inner.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(path = request.uri().path(), "rejecting a request without valid credentials");
    let mut response =
        failure(StatusCode::UNAUTHORIZED, "unauthorized", "valid HTTP Basic credentials are required");
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"powercloud\""));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_pair_passes() {
        let expected = expected_credentials("apiuser", "secret");
        let encode = |text: &str| format!("Basic {}", STANDARD.encode(text));
        assert!(authorized(&headers_with(&encode("client#apiuser:secret")), &expected));
        assert!(authorized(
            &headers_with(&encode("client#apiuser:secret").replace("Basic", "basic")),
            &expected
        ));
        assert!(!authorized(&headers_with(&encode("apiuser:secret")), &expected));
        assert!(!authorized(&headers_with(&encode("client#apiuser:secret2")), &expected));
        assert!(!authorized(&headers_with(&encode("client#apiuser:")), &expected));
        assert!(!authorized(&headers_with("Basic !!!"), &expected));
        assert!(!authorized(&headers_with("Bearer abc"), &expected));
        assert!(!authorized(&HeaderMap::new(), &expected));
    }
}
