//! Fault injection at runtime: each fault happens on request and shows in `/_sim/stats`.

use std::time::{Duration, Instant};

use contract_search_sim::powercloud::RawContract;
use contract_search_sim::server::Faults;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use crate::support::{NUM_CONTRACTS, small_config, start};

fn contract_query() -> [(&'static str, String); 1] {
    [("id", "30000001".to_owned())]
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let (_sim, powercloud) = start(small_config()).await;
    powercloud.set_faults(&Faults { latency_ms: 300, ..Faults::default() }).await;
    let started = Instant::now();
    let (status, _) = powercloud.call("getContractById", &contract_query()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300), "took {:?}", started.elapsed());
    assert_eq!(powercloud.stats().await.faults.latency, 1);

    powercloud.set_faults(&Faults::default()).await;
    let started = Instant::now();
    powercloud.call("getContractById", &contract_query()).await;
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn error_rate_one_answers_only_server_errors() {
    let (_sim, powercloud) = start(small_config()).await;
    powercloud.set_faults(&Faults { error_rate: 1.0, ..Faults::default() }).await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = powercloud.get("getContracts", &[]).send().await.unwrap();
        statuses.push(response.status());
    }
    assert!(statuses.iter().all(|status| [500, 502, 503].contains(&status.as_u16())), "{statuses:?}");
    assert!(statuses.iter().any(|status| *status != statuses[0]), "a mix of 5xx kinds: {statuses:?}");
    let stats = powercloud.stats().await;
    assert_eq!(stats.faults.error, 20);
    assert_eq!(stats.requests, 20);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let (_sim, powercloud) = start(small_config()).await;
    powercloud.set_faults(&Faults { rate_limit_rate: 1.0, retry_after_secs: 7, ..Faults::default() }).await;
    let response = powercloud.get("getContractById", &contract_query()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "7");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(powercloud.stats().await.faults.rate_limit, 1);

    // Half the requests, not all, at a rate of one half.
    powercloud.set_faults(&Faults { rate_limit_rate: 0.5, ..Faults::default() }).await;
    let mut num_limited = 0;
    for _ in 0..40 {
        if powercloud.get("getContractById", &contract_query()).send().await.unwrap().status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            num_limited += 1;
        }
    }
    assert!((8..=32).contains(&num_limited), "{num_limited} of 40 limited");
}

#[tokio::test]
async fn hanging_requests_outlast_a_client_timeout() {
    let (_sim, powercloud) = start(small_config()).await;
    powercloud.set_faults(&Faults { hang_rate: 1.0, hang_secs: 5, ..Faults::default() }).await;
    let error = powercloud
        .get("getContractById", &contract_query())
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(powercloud.stats().await.faults.hang, 1);

    powercloud.set_faults(&Faults::default()).await;
    let response = powercloud
        .get("getContractById", &contract_query())
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn truncated_exports_end_early_with_fewer_records() {
    let (_sim, powercloud) = start(small_config()).await;
    powercloud.set_faults(&Faults { truncate_after: Some(700), ..Faults::default() }).await;
    let (records, total) = powercloud.all::<RawContract>("getContracts", 500).await;
    assert_eq!(records.len(), 700, "paging ends at the cut");
    assert_eq!(total, Some(NUM_CONTRACTS), "the total stays truthful, so a client can notice");
    let beyond = powercloud.page::<RawContract>("getContracts", 500, 1000).await;
    assert!(beyond.records.is_empty());
    assert_eq!(powercloud.stats().await.faults.truncate, 2);

    // Single records are not affected.
    let (status, _) = powercloud.call("getContractById", &[("id", "30001999".to_owned())]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn fault_settings_read_back_and_reject_nonsense() {
    let (sim, powercloud) = start(small_config()).await;
    let faults = Faults { latency_ms: 5, error_rate: 0.25, truncate_after: Some(10), ..Faults::default() };
    powercloud.set_faults(&faults).await;
    let response = powercloud
        .http
        .get(sim.sim_url("faults"))
        .basic_auth(&powercloud.user, Some(&powercloud.password))
        .send()
        .await
        .unwrap();
    let read_back: Faults = response.json().await.unwrap();
    assert_eq!(read_back, faults);
    assert_eq!(sim.state.faults(), faults);

    for body in [
        r#"{"error_rate": 2.0}"#,
        r#"{"error_rate": 0.7, "hang_rate": 0.7}"#,
        r#"{"latency": 5}"#,
        "not json",
    ] {
        let response = powercloud
            .http
            .put(sim.sim_url("faults"))
            .basic_auth(&powercloud.user, Some(&powercloud.password))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(sim.state.faults(), faults, "rejected settings change nothing");

    // Partial bodies take defaults for the rest.
    let response = powercloud
        .http
        .put(sim.sim_url("faults"))
        .basic_auth(&powercloud.user, Some(&powercloud.password))
        .json(&serde_json::json!({"latency_ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(sim.state.faults(), Faults { latency_ms: 1, ..Faults::default() });
}
