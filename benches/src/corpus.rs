//! The benchmark corpus: generated contracts mapped exactly as the Powercloud connector maps them,
//! indexed into a data directory once and reused by later runs of the same size and seed.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use contract_search_index::{GenerationStore, StoreOptions};
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_ingest::rebuild::rebuild_from_contracts;
use contract_search_model::Contract;
use contract_search_sim::generate::Generator;
use contract_search_sim::powercloud::{RawContract, Record};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Customers mapped per parallel chunk.
const CHUNK: usize = 8192;

/// The contracts of customers `start..end`, as the connector maps them.
fn mapped_chunk(generator: &Generator, options: &MappingOptions, start: usize, end: usize) -> Vec<Contract> {
    let mut contracts = Vec::with_capacity((end - start) * 2);
    for index in start..end {
        let customer = generator.customer(index);
        for contract in &customer.contracts {
            let record = Record { id: contract.id, data: RawContract::render(&customer, contract) };
            let value = serde_json::to_value(&record).expect("raw records serialise");
            contracts.push(map_contract(&value, options).expect("generated records map"));
        }
    }
    contracts
}

/// Every contract of `generator`, mapped in parallel chunks and handed out in order (memory
/// stays at a few chunks).
pub fn contracts(generator: &Generator) -> impl Iterator<Item = Contract> + '_ {
    let options = MappingOptions { source: "powercloud".to_owned(), erp_url_template: None };
    let step = CHUNK * rayon::current_num_threads().max(1);
    (0..generator.num_customers()).step_by(step).flat_map(move |batch_start| {
        let batch_end = (batch_start + step).min(generator.num_customers());
        let starts: Vec<usize> = (batch_start..batch_end).step_by(CHUNK).collect();
        let chunks: Vec<Vec<Contract>> = starts
            .into_par_iter()
            .map(|start| mapped_chunk(generator, &options, start, (start + CHUNK).min(batch_end)))
            .collect();
        chunks.into_iter().flatten()
    })
}

/// What a corpus data directory holds, written beside the generations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorpusMarker {
    /// Contracts asked for.
    pub contracts: u64,
    /// Generator seed.
    pub seed: u64,
    /// Contracts in the generation.
    pub num_indexed: u64,
    /// Seconds the indexing took when it was built.
    pub build_secs: f64,
}

const MARKER_FILE: &str = "BENCH-CORPUS.json";

/// Makes sure `data_dir` serves an index of `generator`'s contracts: reuses one built earlier for
/// the same size and seed, otherwise deletes the directory and builds it.
pub fn ensure_index(data_dir: &Path, generator: &Generator) -> anyhow::Result<CorpusMarker> {
    let marker_path = data_dir.join(MARKER_FILE);
    if let Ok(text) = std::fs::read_to_string(&marker_path)
        && let Ok(marker) = serde_json::from_str::<CorpusMarker>(&text)
        && marker.contracts == generator.num_contracts()
        && marker.seed == generator.seed()
    {
        let store = GenerationStore::open(data_dir, StoreOptions::default())?;
        if store.current().is_some_and(|generation| generation.num_contracts() == marker.num_indexed) {
            eprintln!("reusing the index in {} ({} contracts)", data_dir.display(), marker.num_indexed);
            return Ok(marker);
        }
    }
    let _ = std::fs::remove_dir_all(data_dir);
    let store = GenerationStore::open(data_dir, StoreOptions::default())
        .with_context(|| format!("opening {}", data_dir.display()))?;
    eprintln!("indexing {} contracts into {} ...", generator.num_contracts(), data_dir.display());
    let started = Instant::now();
    let report = rebuild_from_contracts(&store, contracts(generator), true)?;
    let marker = CorpusMarker {
        contracts: generator.num_contracts(),
        seed: generator.seed(),
        num_indexed: report.num_contracts,
        build_secs: started.elapsed().as_secs_f64(),
    };
    eprintln!("indexed {} contracts in {:.1} s", marker.num_indexed, marker.build_secs);
    std::fs::write(&marker_path, serde_json::to_string_pretty(&marker)?)?;
    Ok(marker)
}
