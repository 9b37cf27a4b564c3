//! Handler tests: the router answers requests in memory (`oneshot`, no port) on an index of the
//! checked-in sample contracts; response shapes are pinned with insta snapshots (volatile
//! fields redacted). [`loopback`] serves on real loopback ports and speaks HTTP with reqwest.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use contract_search_index::GenerationStore;
use contract_search_query::FieldsSettings;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{ApiKeys, AppState, Auth, HttpSettings, Scope, router};
use crate::schedule::{RebuildJob, RebuildRunner};

mod admin;
mod loopback;
mod updates;

const SEARCH_KEY: &str = "search-key-0123456789abcdef";
const IMPORT_KEY: &str = "import-key-0123456789abcdef";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

/// The sample contract of customer 10000000 (Fatma Roseneder, three contracts).
const CONTRACT_ID: &str = "30000000";
const CUSTOMER_ID: &str = "10000000";

use crate::test_support::sample_store;

fn keys() -> Auth {
    Auth::Keys(
        ApiKeys::new([
            (Scope::Search, SEARCH_KEY.to_owned()),
            (Scope::Import, IMPORT_KEY.to_owned()),
            (Scope::Admin, ADMIN_KEY.to_owned()),
        ])
        .unwrap(),
    )
}

fn state_with(store: Arc<GenerationStore>, job: Option<RebuildJob>, http: HttpSettings) -> AppState {
    AppState::new(store, FieldsSettings::default(), keys(), Arc::new(RebuildRunner::new(job, None)), http)
}

fn sample_state() -> AppState {
    state_with(sample_store(), None, HttpSettings::default())
}

fn app() -> Router {
    router(sample_state())
}

fn request(method: Method, uri: &str, key: Option<&str>, body: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

fn get(uri: &str) -> Request<Body> {
    request(Method::GET, uri, Some(SEARCH_KEY), None)
}

fn post(uri: &str, body: &str) -> Request<Body> {
    request(Method::POST, uri, Some(SEARCH_KEY), Some(body))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {}", self.text))
            .to_owned()
    }
}

async fn call(app: Router, request: Request<Body>) -> Answer {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer { status, headers, text: String::from_utf8(bytes.to_vec()).unwrap() }
}

#[tokio::test]
async fn contract_by_id() {
    let answer = call(app(), get(&format!("/v1/contracts/{CONTRACT_ID}"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    insta::assert_json_snapshot!("contract_by_id", answer.json());
    // The id variants people type reach the same contract.
    let answer = call(app(), get(&format!("/v1/contracts/VN-{CONTRACT_ID}"))).await;
    assert_eq!(answer.json()["id"], CONTRACT_ID);
}

#[tokio::test]
async fn unknown_ids_are_404_with_a_json_error() {
    let answer = call(app(), get("/v1/contracts/99999999")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("contract_not_found", answer.json());
    let answer = call(app(), get("/v1/customers/99999999")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.code(), "customer_not_found");
}

#[tokio::test]
async fn customer_by_id_lists_its_contracts() {
    let answer = call(app(), get(&format!("/v1/customers/{CUSTOMER_ID}"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    insta::assert_json_snapshot!("customer_by_id", answer.json());
    assert_eq!(answer.json()["contractIds"].as_array().unwrap().len(), 3);
}

const FIELDS_INPUT: &str = r#"{"ticketId": 4711, "firstname": "Fatma", "lastname": "Roseneder",
    "meterNumber": "1EMH4511111111", "phone": null, "vertragskonto": "configured by the supplier"}"#;

#[tokio::test]
async fn fields_search_answers_one_contract_or_nothing() {
    let answer = call(app(), post("/v1/search/fields", FIELDS_INPUT)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    insta::assert_json_snapshot!("fields_match", answer.json());
    // A family name alone fits nobody confidently: `{}`.
    let answer =
        call(app(), post("/v1/search/fields", r#"{"ticketId": "1", "lastname": "Roseneder"}"#)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({}));
    let answer = call(app(), post("/v1/search/fields", r#"{"ticketId": "1"}"#)).await;
    assert_eq!(answer.json(), json!({}));
}

#[tokio::test]
async fn fields_search_explains_on_request() {
    let answer = call(app(), post("/v1/search/fields?explain=true", FIELDS_INPUT)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let mut body = answer.json();
    assert_eq!(body["contractId"], CONTRACT_ID);
    let candidates = body["explain"]["candidates"].as_array_mut().unwrap();
    assert!(!candidates.is_empty());
    // The best candidate only: the tail depends on tuning.
    candidates.truncate(1);
    insta::assert_json_snapshot!("fields_explain", body, {
        ".explain.candidates[].score" => "[score]",
        ".explain.candidates[].similarity" => "[similarity]",
        ".explain.candidates[].fields[].similarity" => "[similarity]",
    });
    let answer = call(app(), post("/v1/search/fields?explain=false", FIELDS_INPUT)).await;
    assert!(answer.json().get("explain").is_none());
}

#[tokio::test]
async fn free_text_by_post_and_get() {
    let answer = call(app(), post("/v1/search", r#"{"q": "30000000", "limit": 10, "offset": 0}"#)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    insta::assert_json_snapshot!("free_text", answer.json());
    let by_get = call(app(), get("/v1/search?q=30000000")).await;
    assert_eq!(by_get.json(), answer.json());
    // Names: the customer is among the answers; at most `limit` of them.
    let answer = call(app(), post("/v1/search", r#"{"q": "Fatma Roseneder"}"#)).await;
    assert!(answer.json().as_array().unwrap().iter().any(|hit| hit["id"] == CUSTOMER_ID), "{}", answer.text);
    let answer = call(app(), post("/v1/search", r#"{"q": "Berlin", "limit": 2}"#)).await;
    assert!(answer.json().as_array().unwrap().len() <= 2);
    let answer = call(app(), post("/v1/search", r#"{"q": "Berlin", "limit": 0}"#)).await;
    assert_eq!(answer.json(), json!([]));
    let answer = call(app(), post("/v1/search", r#"{"q": ""}"#)).await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn ranked_contracts() {
    let answer = call(app(), get("/v1/search/contracts?q=1EMH4511111111&limit=3")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    insta::assert_json_snapshot!("search_contracts", answer.json(), { "[].score" => "[score]" });
    let answer = call(app(), get("/v1/search/contracts?q=Roseneder")).await;
    let hits = answer.json();
    let hits = hits.as_array().unwrap();
    assert!(hits.len() >= 3 && hits.len() <= 10, "{}", answer.text);
    assert!(hits.iter().all(|hit| hit["matchedFields"].is_array() && hit["score"].is_number()));
}

#[tokio::test]
async fn bad_requests_are_named() {
    let malformed = call(app(), post("/v1/search", r#"{"q": "Müller"#)).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("invalid_json", malformed.json());
    let empty = call(app(), post("/v1/search/fields", "")).await;
    assert_eq!((empty.status, empty.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_json"));
    let cases = [
        post("/v1/search", r#"{"limit": 3}"#),
        post("/v1/search", r#"{"q": "x", "limit": 101}"#),
        post("/v1/search", r#"{"q": "x", "offset": 1001}"#),
        post("/v1/search", r#"{"q": "x", "offset": 18446744073709551615}"#),
        post("/v1/search", r#"{"q": "x", "limit": -1}"#),
        post("/v1/search/fields", r#"["not", "an", "object"]"#),
        post("/v1/search/fields?explain=maybe", FIELDS_INPUT),
        get("/v1/search?limit=3"),
        get("/v1/search?q=x&limit=abc"),
        get("/v1/search/contracts?q=x&limit=0"),
        get("/v1/search/contracts?q=x&limit=500"),
    ];
    for case in cases {
        let uri = case.uri().clone();
        let answer = call(app(), case).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {}", answer.text);
        assert_eq!(answer.code(), "invalid_request", "{uri}");
    }
    let answer = call(app(), post("/v1/search", r#"{"q": "x", "limit": 101}"#)).await;
    insta::assert_json_snapshot!("invalid_request", answer.json());
}

#[tokio::test]
async fn json_is_read_whatever_the_content_type() {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/search")
        .header(header::AUTHORIZATION, format!("Bearer {SEARCH_KEY}"))
        .body(Body::from(r#"{"q": "30000000"}"#))
        .unwrap();
    let answer = call(app(), request).await;
    assert_eq!(answer.json(), json!([{"id": CUSTOMER_ID}]));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let state =
        state_with(sample_store(), None, HttpSettings { max_body_bytes: 64, ..HttpSettings::default() });
    let big = format!(r#"{{"q": "{}"}}"#, "x".repeat(100));
    let answer = call(router(state.clone()), post("/v1/search", &big)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    insta::assert_json_snapshot!("body_too_large", answer.json());
    // Without a Content-Length (streamed), the limit holds all the same.
    let stream = chunked_body(big.into_bytes());
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/search/fields")
        .header(header::AUTHORIZATION, format!("Bearer {SEARCH_KEY}"))
        .body(stream)
        .unwrap();
    let answer = call(router(state.clone()), request).await;
    assert_eq!((answer.status, answer.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"));
    let answer = call(router(state), post("/v1/search", r#"{"q": "30000000"}"#)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

/// A body of unknown length, delivered in chunks.
fn chunked_body(bytes: Vec<u8>) -> Body {
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> =
        bytes.chunks(16).map(|chunk| Ok(axum::body::Bytes::copy_from_slice(chunk))).collect();
    Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn keys_and_scopes() {
    let uri = format!("/v1/contracts/{CONTRACT_ID}");
    let missing = call(app(), request(Method::GET, &uri, None, None)).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers[header::WWW_AUTHENTICATE], "Bearer");
    insta::assert_json_snapshot!("missing_api_key", missing.json());
    let wrong = call(app(), request(Method::GET, &uri, Some("search-key-0123456789abcdeX"), None)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    insta::assert_json_snapshot!("invalid_api_key", wrong.json());
    let basic = Request::builder()
        .uri(&uri)
        .header(header::AUTHORIZATION, format!("Basic {SEARCH_KEY}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app(), basic).await.code(), "invalid_api_key");
    let lowercase = Request::builder()
        .uri(&uri)
        .header(header::AUTHORIZATION, format!("bearer {SEARCH_KEY}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app(), lowercase).await.status, StatusCode::OK);
    let scope = call(app(), request(Method::GET, &uri, Some(IMPORT_KEY), None)).await;
    assert_eq!(scope.status, StatusCode::FORBIDDEN);
    insta::assert_json_snapshot!("insufficient_scope", scope.json());
    // admin may do everything; search may not administer.
    assert_eq!(call(app(), request(Method::GET, &uri, Some(ADMIN_KEY), None)).await.status, StatusCode::OK);
    let status = call(app(), request(Method::GET, "/v1/admin/status", Some(SEARCH_KEY), None)).await;
    assert_eq!((status.status, status.code().as_str()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let rebuild = call(app(), request(Method::POST, "/v1/admin/rebuild", Some(IMPORT_KEY), None)).await;
    assert_eq!(rebuild.code(), "insufficient_scope");
    // Metrics: any valid key; health and readiness: none.
    for key in [SEARCH_KEY, IMPORT_KEY, ADMIN_KEY] {
        assert_eq!(
            call(app(), request(Method::GET, "/metrics", Some(key), None)).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(call(app(), request(Method::GET, "/metrics", None, None)).await.code(), "missing_api_key");
    for open in ["/healthz", "/readyz"] {
        assert_eq!(
            call(app(), request(Method::GET, open, None, None)).await.status,
            StatusCode::OK,
            "{open}"
        );
    }
}

#[tokio::test]
async fn without_auth_everything_is_open() {
    let runner = Arc::new(RebuildRunner::new(None, None));
    let state = AppState::new(
        sample_store(),
        FieldsSettings::default(),
        Auth::Disabled,
        runner,
        HttpSettings::default(),
    );
    let answer = call(router(state), request(Method::GET, "/v1/admin/status", None, None)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let answer = call(app(), get("/v1/nothing-here")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!("route_not_found", answer.json());
    let answer = call(app(), request(Method::DELETE, "/v1/search", Some(SEARCH_KEY), None)).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    insta::assert_json_snapshot!("method_not_allowed", answer.json());
    let answer = call(app(), request(Method::POST, "/healthz", None, None)).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn slow_requests_time_out() {
    let state = state_with(
        sample_store(),
        None,
        HttpSettings {
            request_timeout: Duration::from_millis(50),
            max_concurrent_searches: 1,
            ..HttpSettings::default()
        },
    );
    // Every search slot taken: the request waits until the timeout.
    let _held = state.inner.searches.clone().acquire_many_owned(1).await.unwrap();
    let answer = call(router(state.clone()), get(&format!("/v1/contracts/{CONTRACT_ID}"))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    insta::assert_json_snapshot!("timeout", answer.json());
    // Routes without a search are not held up.
    assert_eq!(
        call(router(state), request(Method::GET, "/healthz", None, None)).await.status,
        StatusCode::OK
    );
}
