//! The routes for operators and orchestration: readiness, rebuild, status, metrics.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use contract_search_index::{GenerationStore, StoreOptions};
use contract_search_ingest::rebuild::RebuildReport;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::{
    ADMIN_KEY, CONTRACT_ID, FIELDS_INPUT, SEARCH_KEY, app, call, get, post, request, sample_state,
    sample_store, state_with,
};
use crate::http::{HttpSettings, router};
use crate::schedule::RebuildJob;

#[tokio::test]
async fn health_and_readiness() {
    let answer = call(app(), request(Method::GET, "/healthz", None, None)).await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!({"status": "ok"})));
    let answer = call(app(), request(Method::GET, "/readyz", None, None)).await;
    assert_eq!(answer.status, StatusCode::OK);
    insta::assert_json_snapshot!("readyz", answer.json(), { ".generation" => "[generation]" });
}

#[tokio::test]
async fn not_ready_before_the_first_generation() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(GenerationStore::open(dir.path(), StoreOptions::default()).unwrap());
    let state = state_with(store, None, HttpSettings::default());
    let answer = call(router(state.clone()), request(Method::GET, "/readyz", None, None)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers.contains_key(header::RETRY_AFTER));
    insta::assert_json_snapshot!("not_ready", answer.json());
    assert_eq!(
        call(router(state.clone()), request(Method::GET, "/healthz", None, None)).await.status,
        StatusCode::OK
    );
    for search in [get("/v1/contracts/1"), get("/v1/customers/1"), post("/v1/search", r#"{"q": "x"}"#)] {
        let answer = call(router(state.clone()), search).await;
        assert_eq!((answer.status, answer.code().as_str()), (StatusCode::SERVICE_UNAVAILABLE, "not_ready"));
    }
    let answer = call(router(state.clone()), post("/v1/search/fields", FIELDS_INPUT)).await;
    assert_eq!(answer.code(), "not_ready");
    let status =
        call(router(state.clone()), request(Method::GET, "/v1/admin/status", Some(ADMIN_KEY), None)).await;
    assert_eq!(status.json()["generation"], Value::Null);
    let metrics = call(router(state), request(Method::GET, "/metrics", Some(ADMIN_KEY), None)).await;
    assert!(metrics.text.contains("\ncontract_search_generation_loaded 0\n"), "{}", metrics.text);
}

fn fake_report() -> RebuildReport {
    RebuildReport {
        generation: "g000002".to_owned(),
        num_contracts: 2000,
        num_carried_over: 0,
        num_skipped: 0,
        elapsed: Duration::from_millis(12),
    }
}

#[tokio::test]
async fn admin_rebuild_runs_one_at_a_time() {
    let answer = call(app(), request(Method::POST, "/v1/admin/rebuild", Some(ADMIN_KEY), None)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    insta::assert_json_snapshot!("no_erp_configured", answer.json());

    let (release, released) = tokio::sync::watch::channel(false);
    let job: RebuildJob = Arc::new(move |allow_shrink| {
        let mut released = released.clone();
        Box::pin(async move {
            assert!(allow_shrink, "the query parameter reaches the job");
            released.wait_for(|go| *go).await.unwrap();
            Ok(fake_report())
        })
    });
    let state = state_with(sample_store(), Some(job), HttpSettings::default());
    let started = call(
        router(state.clone()),
        request(Method::POST, "/v1/admin/rebuild?allowShrink=true", Some(ADMIN_KEY), None),
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    insta::assert_json_snapshot!("rebuild_started", started.json());
    let again =
        call(router(state.clone()), request(Method::POST, "/v1/admin/rebuild", Some(ADMIN_KEY), None)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    insta::assert_json_snapshot!("rebuild_running", again.json());
    let running =
        call(router(state.clone()), request(Method::GET, "/v1/admin/status", Some(ADMIN_KEY), None)).await;
    assert_eq!(running.json()["rebuild"]["running"], true);
    release.send(true).unwrap();
    let mut status = Value::Null;
    for _ in 0..200 {
        status = call(router(state.clone()), request(Method::GET, "/v1/admin/status", Some(ADMIN_KEY), None))
            .await
            .json();
        if status["rebuild"]["last"].is_object() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    insta::assert_json_snapshot!("admin_status", status, {
        ".uptimeSecs" => "[uptime]",
        ".version" => "[version]",
        ".generation.id" => "[generation]",
        ".generation.createdAt" => "[time]",
        ".generation.buildSecs" => "[duration]",
        ".rebuild.last.startedAt" => "[time]",
        ".rebuild.last.finishedAt" => "[time]",
        ".rebuild.last.elapsedMs" => "[duration]",
    });
}

#[tokio::test]
async fn metrics_count_by_route_template() {
    let state = sample_state();
    for uri in [format!("/v1/contracts/{CONTRACT_ID}"), "/v1/contracts/99999999".to_owned()] {
        call(router(state.clone()), get(&uri)).await;
    }
    call(router(state.clone()), post("/v1/search", r#"{"q": "Roseneder"}"#)).await;
    call(router(state.clone()), get("/v1/unknown/30000000")).await;
    let answer = call(router(state), request(Method::GET, "/metrics", Some(SEARCH_KEY), None)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = &answer.text;
    for line in [
        r#"contract_search_http_requests_total{method="GET",route="/v1/contracts/{contractId}",status="200"} 1"#,
        r#"contract_search_http_requests_total{method="GET",route="/v1/contracts/{contractId}",status="404"} 1"#,
        r#"contract_search_http_requests_total{method="POST",route="/v1/search",status="200"} 1"#,
        r#"contract_search_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"contract_search_http_request_duration_seconds_count{method="GET",route="/v1/contracts/{contractId}"} 2"#,
        "contract_search_generation_loaded 1",
        "contract_search_generation_contracts 2000",
        "contract_search_rebuild_running 0",
        r#"contract_search_rebuilds_total{result="published"} 0"#,
    ] {
        assert!(text.lines().any(|candidate| candidate == line), "missing {line} in\n{text}");
    }
    // Labels are templates: no id and no search text.
    assert!(!text.contains("30000000") && !text.contains("Roseneder"), "{text}");
}
