//! The list functions: offset paging over every record, ordered by id, equal to the truth.

use contract_search_sim::generate::Generator;
use contract_search_sim::powercloud::{MAX_PAGE_SIZE, RawContract, RawCustomer, Record};
use reqwest::StatusCode;

use crate::support::{NUM_CONTRACTS, small_config, start};

fn generated_contracts(generator: &Generator) -> Vec<Record<RawContract>> {
    (0..generator.num_customers())
        .flat_map(|index| {
            let customer = generator.customer(index);
            customer
                .contracts
                .iter()
                .map(|contract| Record { id: contract.id, data: RawContract::render(&customer, contract) })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn paging_returns_every_contract_once_in_id_order() {
    let config = small_config();
    let generator = Generator::new(config.seed, config.num_contracts);
    let expected = generated_contracts(&generator);
    let (sim, powercloud) = start(config).await;

    for limit in [500, 137] {
        let (records, total) = powercloud.all::<RawContract>("getContracts", limit).await;
        assert_eq!(total, Some(NUM_CONTRACTS));
        assert_eq!(records.len() as u64, NUM_CONTRACTS, "limit {limit}");
        assert!(records.windows(2).all(|pair| pair[0].id < pair[1].id), "ids ascend, each once");
        assert_eq!(records.len(), expected.len());
        for (record, expected) in records.iter().zip(&expected) {
            assert_eq!(record.id, expected.id);
            assert_eq!(record.data, expected.data, "contract {}", record.id);
        }
        let ids: Vec<u64> = records.iter().map(|record| record.id).collect();
        assert_eq!(ids, sim.state.contract_ids());
    }
}

#[tokio::test]
async fn paging_returns_every_customer_with_its_contracts() {
    let config = small_config();
    let generator = Generator::new(config.seed, config.num_contracts);
    let (_sim, powercloud) = start(config).await;

    let (records, total) = powercloud.all::<RawCustomer>("getCustomers", 500).await;
    assert_eq!(total, Some(generator.num_customers() as u64));
    assert_eq!(records.len(), generator.num_customers());
    let mut num_contracts = 0;
    for (index, record) in records.iter().enumerate() {
        let customer = generator.customer(index);
        assert_eq!(record.id, customer.id);
        assert_eq!(record.data, RawCustomer::render(&customer));
        let contract_ids: Vec<u64> = customer.contracts.iter().map(|contract| contract.id).collect();
        assert_eq!(record.data.contracts, contract_ids);
        num_contracts += contract_ids.len() as u64;
    }
    assert_eq!(num_contracts, NUM_CONTRACTS);
}

#[tokio::test]
async fn page_sizes_are_checked_and_default_to_one_hundred() {
    let (_sim, powercloud) = start(small_config()).await;

    let response = powercloud.get("getContracts", &[]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["records"].as_array().map(Vec::len), Some(100));
    assert_eq!(body["data"]["total"], NUM_CONTRACTS);

    for limit in [0, MAX_PAGE_SIZE + 1] {
        let (status, body) = powercloud.call("getContracts", &[("limit", limit.to_string())]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit {limit}");
        assert_eq!(body["code"], "invalid_parameter");
    }
    let (status, _) = powercloud.call("getCustomers", &[("offset", "x".to_owned())]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let full = powercloud.page::<RawContract>("getContracts", MAX_PAGE_SIZE, 0).await;
    assert_eq!(full.records.len() as u64, NUM_CONTRACTS);
    let beyond = powercloud.page::<RawContract>("getContracts", 10, NUM_CONTRACTS).await;
    assert!(beyond.records.is_empty());
}
