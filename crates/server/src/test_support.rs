//! Shared test fixtures: the checked-in sample (2,000 contracts) as one generation.

use std::sync::{Arc, LazyLock};

use contract_search_index::{GenerationStore, StoreOptions};
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_ingest::rebuild::rebuild_from_contracts;
use contract_search_model::Contract;
use tempfile::TempDir;

/// A file of the checked-in sample.
pub fn sample_path(file: &str) -> String {
    format!("{}/../../data/sample/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// The sample contracts, mapped as the Powercloud connector maps them.
pub fn sample_contracts() -> Vec<Contract> {
    let text = std::fs::read_to_string(sample_path("contracts.ndjson")).unwrap();
    let options = MappingOptions { source: "powercloud".to_owned(), erp_url_template: None };
    text.lines().map(|line| map_contract(&serde_json::from_str(line).unwrap(), &options).unwrap()).collect()
}

/// The sample contracts in one generation, built once per test run.
static SAMPLE_STORE: LazyLock<(TempDir, Arc<GenerationStore>)> = LazyLock::new(|| {
    let dir = TempDir::new().unwrap();
    let store = GenerationStore::open(dir.path(), StoreOptions::default()).unwrap();
    rebuild_from_contracts(&store, sample_contracts(), false).unwrap();
    (dir, Arc::new(store))
});

/// The shared sample store.
pub fn sample_store() -> Arc<GenerationStore> {
    SAMPLE_STORE.1.clone()
}
