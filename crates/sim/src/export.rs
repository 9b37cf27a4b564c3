//! Writes a generated data set as NDJSON files: raw Powercloud contract and customer records
//! (exactly what the simulator serves) and labelled queries.
//!
//! Customers are generated and serialised in parallel chunks and written in order, so memory
//! stays flat at any size and the output is identical for a seed whatever the thread count.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::generate::Generator;
use crate::powercloud::{RawContract, RawCustomer, Record};
use crate::queries::QueryGenerator;

/// Customers per parallel chunk.
const CHUNK: usize = 4096;

/// File names inside the output directory.
pub const CONTRACTS_FILE: &str = "contracts.ndjson";
/// Raw customer records.
pub const CUSTOMERS_FILE: &str = "customers.ndjson";
/// Labelled queries.
pub const QUERIES_FILE: &str = "queries.ndjson";

/// What was written.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// Contracts written.
    pub num_contracts: u64,
    /// Customers written.
    pub num_customers: u64,
    /// Queries written.
    pub num_queries: u64,
    /// Files written.
    pub files: Vec<PathBuf>,
}

fn create(path: &Path) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 20, File::create(path)?))
}

/// Writes `contracts.ndjson` and `customers.ndjson` of `generator` into `dir`, then
/// `num_queries` labelled queries (seeded by `query_seed`) into `queries.ndjson` if non-zero.
/// `progress` is called with the number of contracts written so far.
pub fn write_dataset(
    generator: &Generator,
    dir: &Path,
    num_queries: u64,
    query_seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> io::Result<ExportSummary> {
    std::fs::create_dir_all(dir)?;
    let contracts_path = dir.join(CONTRACTS_FILE);
    let customers_path = dir.join(CUSTOMERS_FILE);
    let mut contracts_out = create(&contracts_path)?;
    let mut customers_out = create(&customers_path)?;
    let num_customers = generator.num_customers();
    let mut written = 0u64;
    let chunk_starts: Vec<usize> = (0..num_customers).step_by(CHUNK * rayon::current_num_threads()).collect();
    for batch_start in chunk_starts {
        let batch_end = (batch_start + CHUNK * rayon::current_num_threads()).min(num_customers);
        let chunks: Vec<(Vec<u8>, Vec<u8>, u64)> = (batch_start..batch_end)
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| serialise_chunk(generator, start, (start + CHUNK).min(batch_end)))
            .collect::<serde_json::Result<_>>()?;
        for (contracts, customers, count) in chunks {
            contracts_out.write_all(&contracts)?;
            customers_out.write_all(&customers)?;
            written += count;
        }
        progress(written);
    }
    contracts_out.flush()?;
    customers_out.flush()?;
    let mut files = vec![contracts_path, customers_path];
    if num_queries > 0 {
        let path = dir.join(QUERIES_FILE);
        write_queries(generator, &path, num_queries, query_seed)?;
        files.push(path);
    }
    Ok(ExportSummary { num_contracts: written, num_customers: num_customers as u64, num_queries, files })
}

fn serialise_chunk(
    generator: &Generator,
    start: usize,
    end: usize,
) -> serde_json::Result<(Vec<u8>, Vec<u8>, u64)> {
    let mut contracts = Vec::with_capacity((end - start) * 1400);
    let mut customers = Vec::with_capacity((end - start) * 600);
    let mut count = 0;
    for index in start..end {
        let customer = generator.customer(index);
        for contract in &customer.contracts {
            serde_json::to_writer(
                &mut contracts,
                &Record { id: contract.id, data: RawContract::render(&customer, contract) },
            )?;
            contracts.push(b'\n');
            count += 1;
        }
        serde_json::to_writer(
            &mut customers,
            &Record { id: customer.id, data: RawCustomer::render(&customer) },
        )?;
        customers.push(b'\n');
    }
    Ok((contracts, customers, count))
}

/// Writes `num_queries` labelled queries for the data of `generator`.
pub fn write_queries(generator: &Generator, path: &Path, num_queries: u64, seed: u64) -> io::Result<()> {
    let queries = QueryGenerator::new(generator, seed);
    let lines: Vec<Vec<u8>> = (0..num_queries)
        .into_par_iter()
        .map(|index| serde_json::to_vec(&queries.query(index)))
        .collect::<serde_json::Result<_>>()?;
    let mut out = create(path)?;
    for line in lines {
        out.write_all(&line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
