//! The import API and the webhook's authentication, in memory, on a fresh index of sample
//! contracts with a real journal and updater (the refetch path runs against the simulator in
//! the end-to-end tests).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use contract_search_index::{GenerationStore, StoreOptions};
use contract_search_ingest::journal::{Journal, JournalOptions};
use contract_search_ingest::rebuild::rebuild_from_contracts;
use contract_search_ingest::updater::{Updater, UpdaterOptions};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tempfile::TempDir;

use super::{ADMIN_KEY, IMPORT_KEY, SEARCH_KEY, call, get, post, request, state_with};
use crate::http::updates::{Updates, WebhookAuth};
use crate::http::{HttpSettings, router};
use crate::test_support::sample_contracts;

const SECRET: &str = "webhook-secret-0123456789";

struct Fixture {
    app: Router,
    _dir: TempDir,
}

fn fixture_with(webhook: WebhookAuth, http: HttpSettings) -> Fixture {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(GenerationStore::open(dir.path().join("data"), StoreOptions::default()).unwrap());
    rebuild_from_contracts(&store, sample_contracts().into_iter().take(300), false).unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("journal"), JournalOptions::default()).unwrap());
    let options = UpdaterOptions { commit_interval: Duration::from_millis(20), ..UpdaterOptions::default() };
    let updater = Arc::new(Updater::start(store.clone(), journal, Vec::new(), options).unwrap());
    let state =
        state_with(store, None, http).with_updates(Updates { updater, erp_sources: Vec::new(), webhook });
    Fixture { app: router(state), _dir: dir }
}

fn fixture() -> Fixture {
    fixture_with(
        WebhookAuth { secret: Some(SECRET.into()), require_signature: false },
        HttpSettings::default(),
    )
}

fn import(method: Method, uri: &str, body: Option<&str>) -> Request<Body> {
    request(method, uri, Some(IMPORT_KEY), body)
}

fn new_contract(id: &str) -> Value {
    json!({
        "id": id,
        "customerId": "K-900001",
        "business": false,
        "firstname": "Xaver",
        "lastname": "Quirinbauer",
        "email": "x.quirinbauer@example.org",
        "deliveryAddress": "Zollernstraße 12, 72488 Sigmaringen",
        "zip": "72488",
        "status": "active"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_contract_is_searchable_and_a_delete_removes_it() {
    let fixture = fixture();
    let body = new_contract("CRM-1").to_string();
    let answer =
        call(fixture.app.clone(), import(Method::PUT, "/v1/contracts/CRM-1?wait=true", Some(&body))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["applied"], true);

    let found = call(fixture.app.clone(), get("/v1/contracts/CRM-1")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(
        (found.json()["lastname"].clone(), found.json()["source"].clone()),
        (json!("Quirinbauer"), json!("import"))
    );
    let customer = call(fixture.app.clone(), get("/v1/customers/K-900001")).await;
    assert_eq!(customer.json()["contractIds"], json!(["CRM-1"]));
    let text = call(fixture.app.clone(), post("/v1/search", r#"{"q": "Quirinbauer Sigmaringen"}"#)).await;
    assert_eq!(text.json(), json!([{"id": "K-900001"}]));

    let deleted =
        call(fixture.app.clone(), import(Method::DELETE, "/v1/contracts/CRM-1?wait=true", None)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(call(fixture.app.clone(), get("/v1/contracts/CRM-1")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(fixture.app.clone(), get("/v1/customers/K-900001")).await.status, StatusCode::NOT_FOUND);
    let text = call(fixture.app.clone(), post("/v1/search", r#"{"q": "Quirinbauer Sigmaringen"}"#)).await;
    assert_eq!(text.json(), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_imports_are_refused_with_the_reason() {
    let fixture = fixture();
    let app = || fixture.app.clone();
    let body = new_contract("CRM-2").to_string();
    // Scopes: a search key may not write, an admin key may.
    let answer =
        call(app(), request(Method::PUT, "/v1/contracts/CRM-2", Some(SEARCH_KEY), Some(&body))).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::FORBIDDEN, "insufficient_scope".into()));
    let answer = call(app(), request(Method::PUT, "/v1/contracts/CRM-2", Some(ADMIN_KEY), Some(&body))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    // The path and the body disagree.
    let answer = call(app(), import(Method::PUT, "/v1/contracts/CRM-3", Some(&body))).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request".into()));
    assert!(answer.text.contains("CRM-3"), "{}", answer.text);
    // Not JSON.
    let answer = call(app(), import(Method::PUT, "/v1/contracts/CRM-2", Some("{\"id\": "))).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::BAD_REQUEST, "invalid_json".into()));
    // enneo's rules: a private customer needs a last name.
    let mut nameless = new_contract("CRM-4");
    nameless["lastname"] = Value::Null;
    let answer = call(app(), import(Method::PUT, "/v1/contracts/CRM-4", Some(&nameless.to_string()))).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.text.contains("lastname"), "{}", answer.text);
    let answer = call(
        app(),
        import(
            Method::PUT,
            "/v1/customers/K-1",
            Some(r#"{"id": "K-1", "business": false, "lastname": "X"}"#),
        ),
    )
    .await;
    assert!(answer.text.contains("contractIds"), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_applies_good_lines_and_reports_bad_ones() {
    let fixture = fixture();
    let lines = [
        new_contract("CRM-10").to_string(),
        "{\"id\": \"CRM-11\", \"customerId\"".to_owned(),
        new_contract("CRM-12").to_string(),
        json!({"id": "CRM-13", "customerId": "K-1", "business": false}).to_string(),
        String::new(),
        json!({"id": "CRM-10", "deleted": true}).to_string(),
    ];
    let body = lines.join("\n");
    let answer = call(fixture.app.clone(), import(Method::POST, "/v1/import?wait=true", Some(&body))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let report = answer.json();
    assert_eq!((report["accepted"].clone(), report["deleted"].clone()), (json!(3), json!(1)));
    assert_eq!(report["rejected"], 2);
    assert_eq!(report["errors"][0]["line"], 2);
    assert_eq!(report["errors"][1]["line"], 4);
    assert!(report["errors"][1]["reason"].as_str().unwrap().contains("lastname"), "{report}");
    assert_eq!(report["applied"], true);
    assert_eq!(call(fixture.app.clone(), get("/v1/contracts/CRM-10")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(fixture.app.clone(), get("/v1/contracts/CRM-12")).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_beyond_the_limit_is_413_and_keeps_what_came_before() {
    let line = new_contract("CRM-20").to_string();
    let http = HttpSettings { max_import_bytes: (line.len() as u64 + 1) * 3, ..HttpSettings::default() };
    let fixture = fixture_with(WebhookAuth::default(), http);
    let body: String =
        (0..3000).map(|number| new_contract(&format!("CRM-{number}")).to_string() + "\n").collect();
    let answer = call(fixture.app.clone(), import(Method::POST, "/v1/import", Some(&body))).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_customer_updates_its_contracts() {
    let fixture = fixture();
    let body = new_contract("CRM-30").to_string();
    call(fixture.app.clone(), import(Method::PUT, "/v1/contracts/CRM-30", Some(&body))).await;
    let customer = json!({
        "id": "K-900001", "business": false, "lastname": "Quirinbauer-Lenz", "firstname": "Xaver",
        "email": "xaver@example.org", "contractIds": ["CRM-30"]
    });
    let answer = call(
        fixture.app.clone(),
        import(Method::PUT, "/v1/customers/K-900001?wait=true", Some(&customer.to_string())),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let found = call(fixture.app.clone(), get("/v1/customers/K-900001")).await.json();
    assert_eq!(
        (found["email"].clone(), found["lastname"].clone()),
        (json!("xaver@example.org"), json!("Quirinbauer-Lenz"))
    );
}

fn webhook(uri: &str, headers: &[(&str, String)], body: &str) -> Request<Body> {
    let mut builder =
        Request::builder().method(Method::POST).uri(uri).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_need_their_secret_or_signature() {
    let fixture = fixture();
    let app = || fixture.app.clone();
    let event = r#"{"event": "contract.updated", "contractId": 30000001}"#;
    let uri = "/v1/webhooks/powercloud";
    let answer = call(app(), webhook(uri, &[], event)).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::UNAUTHORIZED, "invalid_webhook_auth".into()));
    let answer = call(app(), webhook(uri, &[("x-export-token", "wrong".into())], event)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // API keys are not webhook secrets.
    let answer = call(app(), webhook(uri, &[("authorization", format!("Bearer {ADMIN_KEY}"))], event)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // The right token passes authentication; this server has no ERP to refetch from.
    let answer = call(app(), webhook(uri, &[("x-export-token", SECRET.into())], event)).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::CONFLICT, "no_erp_configured".into()));
    let answer = call(app(), webhook(&format!("{uri}?token={SECRET}"), &[], event)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    // A signature of the body with the secret passes; a signature of another body does not.
    let sign = |body: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let bytes = mac.finalize().into_bytes();
        format!("sha256={}", bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
    };
    let answer = call(app(), webhook(uri, &[("x-signature", sign(event))], event)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    let answer = call(app(), webhook(uri, &[("x-signature", sign("{}"))], event)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // Without a configured secret the webhooks are off.
    let off = fixture_with(WebhookAuth::default(), HttpSettings::default());
    let answer = call(off.app.clone(), webhook(uri, &[("x-export-token", SECRET.into())], event)).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::FORBIDDEN, "webhook_disabled".into()));
}
