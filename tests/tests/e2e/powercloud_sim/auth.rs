//! HTTP Basic auth with the `client#<user>` form, on the Powercloud and the control routes.

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;

use crate::support::{small_config, start};

#[tokio::test]
async fn only_the_client_user_with_the_right_password_gets_in() {
    let (sim, powercloud) = start(small_config()).await;
    let url = sim.rest_url("getContractById");
    let id = [("id", "30000000")];

    let response = powercloud
        .http
        .get(&url)
        .query(&id)
        .basic_auth("client#apiuser", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let attempts = [
        powercloud.http.get(&url).query(&id).basic_auth("client#apiuser", Some("wrong")),
        powercloud.http.get(&url).query(&id),
        powercloud.http.get(&url).query(&id).basic_auth("apiuser", Some("secret")),
        powercloud.http.get(&url).query(&id).basic_auth("client#apiuser", None::<&str>),
        powercloud.http.get(&url).query(&id).bearer_auth("secret"),
    ];
    let num_attempts = attempts.len() as u64;
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Basic realm=\"powercloud\"");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert_eq!(body["code"], "unauthorized");
    }

    let stats = powercloud.stats().await;
    assert_eq!(stats.unauthorized, num_attempts);
    assert_eq!(stats.requests, num_attempts + 1);
}

#[tokio::test]
async fn control_routes_need_the_same_credentials() {
    let (sim, powercloud) = start(small_config()).await;
    for route in ["stats", "faults"] {
        let response = powercloud.http.get(sim.sim_url(route)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{route}");
        let response = powercloud
            .http
            .get(sim.sim_url(route))
            .basic_auth("client#apiuser", Some("nope"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{route}");
    }
    let response = powercloud
        .http
        .post(sim.sim_url("changes"))
        .json(&serde_json::json!({"kind": "delete"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        sim.state.num_contracts(),
        crate::support::NUM_CONTRACTS,
        "an unauthenticated change must not apply"
    );
}
