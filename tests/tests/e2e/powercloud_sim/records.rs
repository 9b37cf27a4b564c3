//! Single records by id: the generator's record, or Powercloud's failures.

use contract_search_sim::generate::{CONTRACT_ID_BASE, CUSTOMER_ID_BASE, Generator};
use contract_search_sim::powercloud::{Envelope, RawContract, RawCustomer, Record};
use reqwest::StatusCode;

use crate::support::{NUM_CONTRACTS, small_config, start};

#[tokio::test]
async fn contracts_and_customers_by_id_are_the_generated_records() {
    let config = small_config();
    let generator = Generator::new(config.seed, config.num_contracts);
    let (_sim, powercloud) = start(config).await;

    for index in [0, 1, 2, 777, NUM_CONTRACTS - 1] {
        let (customer, position) = generator.contract(index);
        let id = CONTRACT_ID_BASE + index;
        let response = powercloud.get("getContractById", &[("id", id.to_string())]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let envelope: Envelope<Record<RawContract>> = response.json().await.unwrap();
        assert!(envelope.success);
        assert_eq!(envelope.data.id, id);
        assert_eq!(envelope.data.data, RawContract::render(&customer, &customer.contracts[position]));
        assert_eq!(envelope.data.data.customer_id, customer.id);
    }

    for index in [0, 5, generator.num_customers() - 1] {
        let customer = generator.customer(index);
        let id = CUSTOMER_ID_BASE + index as u64;
        let response = powercloud.get("getCustomerById", &[("id", id.to_string())]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let envelope: Envelope<Record<RawCustomer>> = response.json().await.unwrap();
        assert_eq!(envelope.data.id, id);
        assert_eq!(envelope.data.data, RawCustomer::render(&customer));
        assert!(!envelope.data.data.contracts.is_empty());
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids_fail_with_codes() {
    let config = small_config();
    let num_customers = Generator::new(config.seed, config.num_contracts).num_customers() as u64;
    let (sim, powercloud) = start(config).await;

    let cases = [
        (
            "getContractById",
            (CONTRACT_ID_BASE + NUM_CONTRACTS).to_string(),
            StatusCode::NOT_FOUND,
            "contract_not_found",
        ),
        ("getContractById", "1".to_owned(), StatusCode::NOT_FOUND, "contract_not_found"),
        (
            "getCustomerById",
            (CUSTOMER_ID_BASE + num_customers).to_string(),
            StatusCode::NOT_FOUND,
            "customer_not_found",
        ),
        ("getCustomerById", CONTRACT_ID_BASE.to_string(), StatusCode::NOT_FOUND, "customer_not_found"),
        ("getContractById", "abc".to_owned(), StatusCode::BAD_REQUEST, "invalid_parameter"),
        ("getContractById", "-5".to_owned(), StatusCode::BAD_REQUEST, "invalid_parameter"),
        ("getCustomerById", "".to_owned(), StatusCode::BAD_REQUEST, "invalid_parameter"),
    ];
    for (function, id, status, code) in cases {
        let (actual_status, body) = powercloud.call(function, &[("id", id.clone())]).await;
        assert_eq!(actual_status, status, "{function} {id:?}");
        assert_eq!(body["success"], false);
        assert_eq!(body["code"], code, "{function} {id:?}");
    }

    let (status, body) = powercloud.call("getContractById", &[]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("missing_parameter")));
    let (status, body) = powercloud.call("getTariffById", &[("id", "1".to_owned())]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_function")));

    let wrong_hash = format!("{}/rest:client/ffffffffffffffffffffffffffffffff/getContractById", sim.base_url);
    let response = powercloud
        .http
        .get(wrong_hash)
        .query(&[("id", CONTRACT_ID_BASE)])
        .basic_auth(&powercloud.user, Some(&powercloud.password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
}
