//! The Powercloud connector over real HTTP against the simulator: full paging compared record for
//! record with mapping the simulator's own records, credentials, faults (errors, rate limits,
//! hangs, a cut-short export) and deleted records.
//!
//! Backoff settings are tiny so the whole file stays within seconds; the retry budget is large
//! because fault draws are random and a page must survive many in a row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contract_search_ingest::paging::{contract_pages, customer_pages};
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract, map_customer};
use contract_search_ingest::{Connector, Error, PowercloudConfig, PowercloudConnector};
use contract_search_model::{Contract, Customer};
use contract_search_sim::server::{
    ChangeKind, ChangeRequest, Faults, RunningSim, SimConfig, SimStats, spawn,
};
use futures::TryStreamExt;
use serde_json::json;

const PASSWORD: &str = "sim-password-9f2c";

async fn simulator(num_contracts: u64) -> RunningSim {
    let config = SimConfig { seed: 7, num_contracts, password: PASSWORD.to_owned(), ..SimConfig::default() };
    spawn(config).await.unwrap()
}

fn config(sim: &RunningSim) -> PowercloudConfig {
    PowercloudConfig {
        page_size: 250,
        concurrency: 4,
        request_timeout: Duration::from_secs(5),
        max_retries: 30,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(40),
        erp_url_template: Some("https://app.powercloud.de/contract/{id}".to_owned()),
        ..PowercloudConfig::new(&sim.base_url, sim.state.application_hash(), "apiuser", PASSWORD)
    }
}

fn connector(config: PowercloudConfig) -> Arc<PowercloudConnector> {
    Arc::new(PowercloudConnector::new(config).unwrap())
}

/// The simulator's current contracts, mapped exactly as the connector maps what it fetches.
fn expected_contracts(sim: &RunningSim, options: &MappingOptions) -> Vec<Contract> {
    let state = &sim.state;
    state
        .contract_ids()
        .into_iter()
        .map(|id| {
            let raw = state.current_contract(id).unwrap();
            map_contract(&json!({"id": id, "data": raw}), options).unwrap()
        })
        .collect()
}

fn expected_customers(sim: &RunningSim, options: &MappingOptions) -> Vec<Customer> {
    let state = &sim.state;
    state
        .customer_ids()
        .into_iter()
        .map(|id| {
            let raw = state.current_customer(id).unwrap();
            map_customer(&json!({"id": id, "data": raw}), options).unwrap()
        })
        .collect()
}

async fn fetch_all(connector: Arc<PowercloudConnector>) -> Result<Vec<Contract>, Error> {
    let pages: Vec<_> = contract_pages(connector).try_collect().await?;
    assert!(pages.iter().all(|page| page.skipped.is_empty()));
    Ok(pages.into_iter().flat_map(|page| page.contracts).collect())
}

fn control(sim: &RunningSim, method: reqwest::Method, route: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, sim.sim_url(route)).basic_auth("client#apiuser", Some(PASSWORD))
}

async fn put_faults(sim: &RunningSim, faults: &Faults) {
    let response = control(sim, reqwest::Method::PUT, "faults").json(faults).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

async fn stats(sim: &RunningSim) -> SimStats {
    control(sim, reqwest::Method::GET, "stats").send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn pages_through_every_contract_and_customer() {
    let sim = simulator(3000).await;
    let connector = connector(config(&sim));
    let fetched = fetch_all(connector.clone()).await.unwrap();
    let expected = expected_contracts(&sim, connector.mapping_options());
    assert_eq!(fetched.len(), 3000);
    for (fetched, expected) in fetched.iter().zip(&expected) {
        assert_eq!(fetched, expected);
    }
    assert_eq!(fetched, expected);
    // With the total announced on the first page, exactly one request per page.
    assert_eq!(sim.state.stats().requests, 3000 / 250);

    for contract in &fetched {
        contract.validate().unwrap();
        assert_eq!(contract.source.as_deref(), Some("powercloud"));
        assert_eq!(contract.erp_urls[0].url, format!("https://app.powercloud.de/contract/{}", contract.id));
        // Every phone style the simulator writes normalises to E.164.
        if let Some(phone) = &contract.phone {
            assert!(phone.starts_with("+49") && phone[1..].bytes().all(|b| b.is_ascii_digit()), "{phone}");
        }
        assert!(
            contract.delivery_address.is_some() && contract.zip.is_some() && contract.start_date.is_some()
        );
    }
    assert!(fetched.iter().any(|contract| contract.business));
    assert!(fetched.iter().any(|contract| contract.billing_address.is_some()));

    let customers: Vec<Customer> =
        customer_pages(connector.clone()).map_ok(|page| page.customers).try_concat().await.unwrap();
    assert_eq!(customers, expected_customers(&sim, connector.mapping_options()));
    let num_contract_ids: usize = customers.iter().map(|customer| customer.contract_ids.len()).sum();
    assert_eq!(num_contract_ids, 3000);
}

#[tokio::test]
async fn single_records_and_deleted_ones() {
    let sim = simulator(200).await;
    let connector = connector(config(&sim));
    let ids = sim.state.contract_ids();
    let expected = expected_contracts(&sim, connector.mapping_options());
    let contract = connector.fetch_contract(&ids[5].to_string()).await.unwrap().unwrap();
    assert_eq!(contract, expected[5]);
    let customer = connector.fetch_customer(&contract.customer_id).await.unwrap().unwrap();
    assert!(customer.contract_ids.contains(&contract.id));
    assert_eq!(customer.source.as_deref(), Some("powercloud"));

    // Delete every contract of that customer: the contracts and the customer are gone.
    for contract_id in &customer.contract_ids {
        let request =
            ChangeRequest { kind: ChangeKind::Delete, contract_id: Some(contract_id.parse().unwrap()) };
        sim.state.apply_change(&request).unwrap();
        assert_eq!(connector.fetch_contract(contract_id).await.unwrap(), None);
    }
    assert_eq!(connector.fetch_customer(&customer.id).await.unwrap(), None);
    assert_eq!(connector.fetch_contract("99999999").await.unwrap(), None);
}

#[tokio::test]
async fn wrong_password_is_permanent_and_not_retried() {
    let sim = simulator(100).await;
    let wrong_secret = "definitely-not-the-password";
    let connector = connector(PowercloudConfig { secret: wrong_secret.to_owned(), ..config(&sim) });
    let started = Instant::now();
    let error = connector.fetch_contract_page(0, 10).await.unwrap_err();
    assert!(matches!(error, Error::CredentialsRejected { status: 401, .. }), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "page at offset 0 of getContracts: credentials rejected (HTTP 401); check the Powercloud user and secret"
    );
    assert!(!format!("{error} {error:?}").contains(wrong_secret));
    assert!(started.elapsed() < Duration::from_secs(2));
    let error = connector.fetch_contract("30000001").await.unwrap_err();
    assert!(matches!(error, Error::CredentialsRejected { .. }));
    // One request each: nothing was retried.
    assert_eq!(sim.state.stats().unauthorized, 2);
    assert_eq!(sim.state.stats().requests, 2);
}

#[tokio::test]
async fn a_wrong_installation_is_not_mistaken_for_deleted_records() {
    let sim = simulator(100).await;
    let connector = connector(PowercloudConfig { application_hash: "f".repeat(32), ..config(&sim) });
    let error = connector.fetch_contract("30000001").await.unwrap_err();
    assert!(matches!(error, Error::FunctionNotFound { .. }), "{error}");
    let error = connector.fetch_contract_page(0, 10).await.unwrap_err();
    assert!(matches!(error, Error::FunctionNotFound { .. }), "{error}");
    let connector =
        self::connector(PowercloudConfig { list_contracts_function: "listContracts".into(), ..config(&sim) });
    let error = connector.fetch_contract_page(1000, 10).await.unwrap_err();
    assert!(error.to_string().starts_with("page at offset 1000 of listContracts: HTTP 404"), "{error}");
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_until_every_page_arrives() {
    let sim = simulator(3000).await;
    let connector = connector(config(&sim));
    let expected = expected_contracts(&sim, connector.mapping_options());
    let faults = Faults {
        error_rate: 0.3,
        rate_limit_rate: 0.2,
        retry_after_secs: 1,
        latency_ms: 3,
        ..Faults::default()
    };
    put_faults(&sim, &faults).await;
    let fetched = fetch_all(connector.clone()).await.unwrap();
    assert_eq!(fetched, expected);
    let stats = stats(&sim).await;
    assert!(stats.faults.error > 0, "{stats:?}");
    assert!(stats.faults.rate_limit > 0, "{stats:?}");
    assert!(stats.faults.latency > 0, "{stats:?}");
    assert_eq!(stats.requests, 3000 / 250 + stats.faults.error + stats.faults.rate_limit);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sim = simulator(100).await;
    // A cap above Retry-After: 1 s, a base far below it.
    let connector = connector(PowercloudConfig { backoff_cap: Duration::from_secs(5), ..config(&sim) });
    sim.state.set_faults(Faults { rate_limit_rate: 1.0, retry_after_secs: 1, ..Faults::default() });
    let started = Instant::now();
    let fetch = tokio::spawn(async move { connector.fetch_contract("30000003").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sim.state.set_faults(Faults::default());
    let contract = fetch.await.unwrap().unwrap().unwrap();
    assert_eq!(contract.id, "30000003");
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    // The first answer was the 429; the retry waited the full second and found the fault gone.
    assert_eq!(sim.state.stats().faults.rate_limit, 1);
}

#[tokio::test]
async fn hanging_requests_time_out_and_are_retried() {
    let sim = simulator(1000).await;
    let config = PowercloudConfig { request_timeout: Duration::from_millis(200), ..config(&sim) };
    let connector = connector(config.clone());

    // Every request hangs until the hang is switched off; then the retry succeeds.
    sim.state.set_faults(Faults { hang_rate: 1.0, hang_secs: 30, ..Faults::default() });
    let single = connector.clone();
    let fetch = tokio::spawn(async move { single.fetch_contract("30000010").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    sim.state.set_faults(Faults::default());
    assert_eq!(fetch.await.unwrap().unwrap().unwrap().id, "30000010");

    // A third of all requests hang: the paging still completes, identical.
    sim.state.set_faults(Faults { hang_rate: 0.3, hang_secs: 30, ..Faults::default() });
    let fetched = fetch_all(connector.clone()).await.unwrap();
    assert_eq!(fetched, expected_contracts(&sim, connector.mapping_options()));
    assert!(sim.state.stats().faults.hang >= 2, "{:?}", sim.state.stats());
}

#[tokio::test]
async fn an_exhausted_retry_budget_says_how_often_it_tried() {
    let sim = simulator(100).await;
    let connector = connector(PowercloudConfig { max_retries: 3, ..config(&sim) });
    sim.state.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let error = connector.fetch_contract_page(0, 50).await.unwrap_err();
    assert!(matches!(error, Error::RetriesExhausted { attempts: 4, .. }), "{error}");
    assert!(
        error.to_string().starts_with("gave up after 4 attempts: page at offset 0 of getContracts failed"),
        "{error}"
    );
    assert_eq!(sim.state.stats().requests, 4);
}

#[tokio::test]
async fn a_cut_short_export_is_an_error_not_a_smaller_list() {
    let sim = simulator(3000).await;
    let connector = connector(config(&sim));
    sim.state.set_faults(Faults { truncate_after: Some(1100), ..Faults::default() });
    let error = fetch_all(connector).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the powercloud contract list ended early: the page at offset 1000 holds 100 records, but the list announces 3000"
    );
}

#[tokio::test]
async fn an_unreachable_erp_is_retried_and_reported_without_the_url() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let hash = "0123456789abcdef0123456789abcdef";
    let config = PowercloudConfig {
        max_retries: 2,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_millis(5),
        ..PowercloudConfig::new(format!("http://{address}"), hash, "apiuser", PASSWORD)
    };
    let error = connector(config).fetch_contract("30000001").await.unwrap_err();
    let Error::RetriesExhausted { attempts: 3, last } = &error else { panic!("{error}") };
    assert!(matches!(**last, Error::Transport { .. }), "{last}");
    let text = format!("{error} {error:?}");
    assert!(
        text.starts_with("gave up after 3 attempts: getContractById for id 30000001 could not reach the ERP"),
        "{text}"
    );
    assert!(!text.contains(hash) && !text.contains(PASSWORD), "{text}");
}
