//! Changes: applied on request or by the background stream, visible in the served records and
//! pushed as events to an export target.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use contract_search_sim::generate::{CONTRACT_ID_BASE, Generator};
use contract_search_sim::powercloud::{ChangeEvent, RawContract, RawCustomer};
use contract_search_sim::server::{ChangeKind, SimConfig};
use reqwest::StatusCode;

use crate::support::{NUM_CONTRACTS, Receiver, small_config, start};

fn events_of(body: serde_json::Value) -> Vec<ChangeEvent> {
    serde_json::from_value(body).expect("a list of change events")
}

#[tokio::test]
async fn deleted_contracts_disappear_from_lookups_and_lists() {
    let (sim, powercloud) = start(small_config()).await;
    let contract_id = CONTRACT_ID_BASE + 10;
    let (status, body) = powercloud.change(ChangeKind::Delete, Some(contract_id)).await;
    assert_eq!(status, StatusCode::OK);
    let events = events_of(body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "contract.deleted");
    assert_eq!(events[0].contract_id, Some(contract_id));

    let (status, body) = powercloud.call("getContractById", &[("id", contract_id.to_string())]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("contract_not_found")));
    let (records, total) = powercloud.all::<RawContract>("getContracts", 137).await;
    assert_eq!(total, Some(NUM_CONTRACTS - 1));
    assert_eq!(records.len() as u64, NUM_CONTRACTS - 1);
    assert!(records.iter().all(|record| record.id != contract_id));
    assert!(records.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(records.iter().map(|record| record.id).collect::<Vec<_>>(), sim.state.contract_ids());

    // Deleting it again finds nothing.
    let (status, _) = powercloud.change(ChangeKind::Delete, Some(contract_id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_customer_goes_with_their_last_contract() {
    let config = small_config();
    let generator = Generator::new(config.seed, config.num_contracts);
    let customer = generator.customer(3);
    let (_sim, powercloud) = start(config).await;
    for contract in &customer.contracts {
        let (status, _) = powercloud.change(ChangeKind::Delete, Some(contract.id)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = powercloud.call("getCustomerById", &[("id", customer.id.to_string())]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("customer_not_found")));
    let (records, total) = powercloud.all::<RawCustomer>("getCustomers", 500).await;
    assert_eq!(total, Some(generator.num_customers() as u64 - 1));
    assert!(records.iter().all(|record| record.id != customer.id));
}

#[tokio::test]
async fn new_contracts_are_served_and_listed() {
    let (sim, powercloud) = start(small_config()).await;
    let (holder, _) = Generator::new(42, NUM_CONTRACTS).contract(20);
    let (status, body) = powercloud.change(ChangeKind::NewContract, Some(CONTRACT_ID_BASE + 20)).await;
    assert_eq!(status, StatusCode::OK);
    let events = events_of(body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "contract.created");
    let new_id = events[0].contract_id.unwrap();
    assert_eq!(new_id, CONTRACT_ID_BASE + NUM_CONTRACTS, "ids continue after the generated range");
    assert_eq!(events[0].customer_id, Some(holder.id));

    let (status, body) = powercloud.call("getContractById", &[("id", new_id.to_string())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["data"]["customerId"], holder.id);
    assert_eq!(body["data"]["data"]["status"], "pending");
    let (records, total) = powercloud.all::<RawContract>("getContracts", 500).await;
    assert_eq!(total, Some(NUM_CONTRACTS + 1));
    assert_eq!(records.last().map(|record| record.id), Some(new_id));
    assert_eq!(records.last().map(|record| &record.data), sim.state.current_contract(new_id).as_ref());
    let (_, body) = powercloud.call("getCustomerById", &[("id", holder.id.to_string())]).await;
    let contracts: Vec<u64> = serde_json::from_value(body["data"]["data"]["contracts"].clone()).unwrap();
    assert!(contracts.contains(&new_id));
    assert_eq!(contracts.len(), holder.contracts.len() + 1);
}

#[tokio::test]
async fn terminations_moves_and_new_contact_data_show_in_the_records() {
    let config = small_config();
    let generator = Generator::new(config.seed, config.num_contracts);
    let (_sim, powercloud) = start(config).await;
    let fetch_contract = |id: u64| {
        let powercloud = powercloud.clone();
        async move {
            let (status, body) = powercloud.call("getContractById", &[("id", id.to_string())]).await;
            assert_eq!(status, StatusCode::OK);
            serde_json::from_value::<RawContract>(body["data"]["data"].clone()).unwrap()
        }
    };

    // Terminate: status and end date.
    let active = (0..NUM_CONTRACTS)
        .find(|&index| {
            let (customer, position) = generator.contract(index);
            customer.contracts[position].status.as_str() == "active"
        })
        .unwrap();
    let id = CONTRACT_ID_BASE + active;
    assert_eq!(fetch_contract(id).await.termination_date, None);
    let (status, body) = powercloud.change(ChangeKind::Terminate, Some(id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events_of(body)[0].event, "contract.updated");
    let terminated = fetch_contract(id).await;
    assert_eq!(terminated.status.as_deref(), Some("terminated"));
    assert!(terminated.termination_date.is_some());

    // Move: the customer and the contracts at the old home get the new address.
    let (customer, _) = generator.contract(100);
    let id = CONTRACT_ID_BASE + 100;
    let at_home: Vec<u64> =
        customer.contracts.iter().filter(|c| c.address == customer.address).map(|c| c.id).collect();
    let (status, body) = powercloud.change(ChangeKind::Move, Some(id)).await;
    assert_eq!(status, StatusCode::OK);
    let events = events_of(body);
    assert_eq!(events[0].event, "customer.updated");
    let updated: HashSet<u64> = events.iter().filter_map(|event| event.contract_id).collect();
    assert_eq!(updated, at_home.iter().copied().collect());
    let (_, body) = powercloud.call("getCustomerById", &[("id", customer.id.to_string())]).await;
    let moved: RawCustomer = serde_json::from_value(body["data"]["data"].clone()).unwrap();
    let old_address = (
        customer.address.street.clone(),
        customer.address.house_number.clone(),
        customer.address.postcode.clone(),
    );
    let new_address =
        (moved.street.clone().unwrap(), moved.house_number.clone().unwrap(), moved.zip.clone().unwrap());
    assert_ne!(new_address, old_address);
    for &contract_id in &at_home {
        let contract = fetch_contract(contract_id).await;
        assert_eq!(
            (contract.street, contract.zip, contract.city),
            (moved.street.clone(), moved.zip.clone(), moved.city.clone())
        );
    }

    // New email and new phone: on the customer and on every one of their contracts.
    let (customer, _) = generator.contract(300);
    let id = CONTRACT_ID_BASE + 300;
    let before = fetch_contract(id).await;
    let (status, body) = powercloud.change(ChangeKind::NewEmail, Some(id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events_of(body).len(), 1 + customer.contracts.len());
    let after_email = fetch_contract(id).await;
    let email = |contract: &RawContract| contract.email.clone().or(contract.email_business.clone());
    assert_ne!(email(&after_email), email(&before));
    assert!(email(&after_email).is_some_and(|email| email.contains('@')));
    for contract in &customer.contracts {
        assert_eq!(email(&fetch_contract(contract.id).await), email(&after_email));
    }
    let (status, _) = powercloud.change(ChangeKind::NewPhone, Some(id)).await;
    assert_eq!(status, StatusCode::OK);
    let after_phone = fetch_contract(id).await;
    assert_ne!(after_phone.phone_mobile, before.phone_mobile);
    assert!(after_phone.phone_mobile.is_some());
    assert_eq!(email(&after_phone), email(&after_email), "a new phone keeps the new email");
}

#[tokio::test]
async fn bad_change_requests_are_refused() {
    let (sim, powercloud) = start(small_config()).await;
    let (status, body) = powercloud.change(ChangeKind::Terminate, Some(12)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("contract_not_found")));
    let response = powercloud
        .http
        .post(sim.sim_url("changes"))
        .basic_auth(&powercloud.user, Some(&powercloud.password))
        .json(&serde_json::json!({"kind": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(powercloud.stats().await.changes_applied, 0);
    // Without a contract id, a random live contract changes.
    let (status, body) = powercloud.change(ChangeKind::Terminate, None).await;
    assert_eq!(status, StatusCode::OK);
    let events = events_of(body);
    let id = events[0].contract_id.unwrap();
    assert_eq!(sim.state.current_contract(id).unwrap().status.as_deref(), Some("terminated"));
}

#[tokio::test]
async fn the_background_stream_pushes_events_that_match_the_served_records() {
    let receiver = Receiver::start(0).await;
    let config = SimConfig {
        change_rate_per_sec: 50.0,
        export_target: Some(receiver.url.clone()),
        export_token: Some("token-123".to_owned()),
        ..small_config()
    };
    let generator = Generator::new(config.seed, config.num_contracts);
    let (sim, powercloud) = start(config).await;
    let started = std::time::Instant::now();

    let received = receiver.wait_for(30, Duration::from_secs(5)).await;
    assert!(received.len() >= 30, "only {} events in 5 s at 50/s", received.len());
    let events: Vec<ChangeEvent> = received
        .iter()
        .map(|received| serde_json::from_slice(&received.body).expect("a change event"))
        .collect();
    assert!(received.iter().all(|received| received.token.as_deref() == Some("token-123")));
    let ids: HashSet<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    assert!(
        events.iter().all(|event| event.event_id.starts_with("evt-") && event.occurred_at > 1_700_000_000)
    );

    // The last event of each contract says what the ERP serves now.
    let mut last_event: HashMap<u64, &str> = HashMap::new();
    for event in &events {
        assert!(
            ["contract.created", "contract.updated", "contract.deleted", "customer.updated"]
                .contains(&event.event.as_str())
        );
        if let Some(contract_id) = event.contract_id {
            last_event.insert(contract_id, event.event.as_str());
        }
    }
    let mut checked = 0;
    for (&contract_id, &event) in &last_event {
        let (status, body) = powercloud.call("getContractById", &[("id", contract_id.to_string())]).await;
        if event == "contract.deleted" {
            assert_eq!(status, StatusCode::NOT_FOUND, "deleted contract {contract_id}");
            continue;
        }
        if status == StatusCode::NOT_FOUND {
            // Deleted by a change whose event is still on its way.
            assert!(sim.state.current_contract(contract_id).is_none());
            continue;
        }
        assert_eq!(status, StatusCode::OK);
        let served: RawContract = serde_json::from_value(body["data"]["data"].clone()).unwrap();
        let index = contract_id - CONTRACT_ID_BASE;
        if index < NUM_CONTRACTS {
            let (customer, position) = generator.contract(index);
            assert_ne!(
                served,
                RawContract::render(&customer, &customer.contracts[position]),
                "contract {contract_id} changed"
            );
        } else {
            let created = |candidate: &ChangeEvent| {
                candidate.event == "contract.created" && candidate.contract_id == Some(contract_id)
            };
            assert!(events.iter().any(created), "new contract {contract_id} was announced");
        }
        checked += 1;
    }
    assert!(checked > 0);
    let stats = powercloud.stats().await;
    let most_changes = (50.0 * started.elapsed().as_secs_f64()).ceil() as u64 + 1;
    assert!((1..=most_changes).contains(&stats.changes_applied), "at most 50 changes a second: {stats:?}");
    assert!(stats.events_exported >= events.len() as u64, "{stats:?}");
    assert_eq!(stats.events_failed, 0);
}

#[tokio::test]
async fn manual_changes_are_exported_and_retried_through_failures() {
    let receiver = Receiver::start(2).await;
    let config = SimConfig { export_target: Some(receiver.url.clone()), ..small_config() };
    let (_sim, powercloud) = start(config).await;
    let contract_id = CONTRACT_ID_BASE + 42;
    let (status, _) = powercloud.change(ChangeKind::Delete, Some(contract_id)).await;
    assert_eq!(status, StatusCode::OK);
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1, "delivered after two refusals");
    assert_eq!(receiver.num_attempts(), 3);
    assert_eq!(received[0].token, None, "no token configured, none sent");
    let event: ChangeEvent = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!((event.event.as_str(), event.contract_id), ("contract.deleted", Some(contract_id)));
    assert_eq!(powercloud.stats().await.events_exported, 1);
}
