//! The checked-in sample under `data/sample` is exactly what the generator makes today, so tests
//! that read it test the current generator. After a deliberate generator change, regenerate it:
//! `cargo run -p contract-search -- generate --contracts 2000 --queries 600 --seed 42 --query-seed 7 --out data/sample`

use std::path::Path;

use contract_search_sim::export::{CONTRACTS_FILE, CUSTOMERS_FILE, QUERIES_FILE, write_dataset};
use contract_search_sim::generate::Generator;

fn sample_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/sample"))
}

#[test]
fn sample_matches_the_generator() {
    let scratch = tempfile::tempdir().unwrap();
    let generator = Generator::new(42, 2000);
    write_dataset(&generator, scratch.path(), 600, 7, &|_| {}).unwrap();
    for file in [CONTRACTS_FILE, CUSTOMERS_FILE, QUERIES_FILE] {
        let fresh = std::fs::read(scratch.path().join(file)).unwrap();
        let checked_in = std::fs::read(sample_dir().join(file)).unwrap();
        assert!(
            fresh == checked_in,
            "data/sample/{file} differs from what the generator makes now; regenerate it (see this file's doc)"
        );
    }
}

#[test]
fn sample_has_every_query_category() {
    use contract_search_sim::queries::{Category, LabelledQuery};
    let text = std::fs::read_to_string(sample_dir().join(QUERIES_FILE)).unwrap();
    let queries: Vec<LabelledQuery> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(queries.len(), 600);
    for category in Category::ALL {
        assert!(queries.iter().any(|query| query.category == *category), "no {} query", category.as_str());
    }
}
