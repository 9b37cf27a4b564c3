//! The searches in-process, one at a time, without HTTP: what each call costs the server's CPU.
//! Uses the index `bench-latency` built (same size and seed) and the same request pool, runs
//! every request of the pool once per round, and prints per call the mean, median, p95 and p99
//! of the search itself (stored payloads decoded, enneo shapes built).
//!
//! ```text
//! cargo run --release -p contract-search-benches --bin bench-search -- --contracts 1500000
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use contract_search_benches::corpus::ensure_index;
use contract_search_benches::load::{Call, Mix, Request, request_pool};
use contract_search_benches::{median, write_result};
use contract_search_index::{GenerationStore, StoreOptions};
use contract_search_model::{FieldsQuery, FreeTextQuery};
use contract_search_query::{ContractSearch, FieldsSettings};
use contract_search_sim::generate::Generator;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Contracts in the index.
    #[arg(long, default_value_t = 1_500_000)]
    contracts: u64,
    /// Generator seed of the contracts.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seed of the labelled queries.
    #[arg(long, default_value_t = 7)]
    query_seed: u64,
    /// Requests in the pool.
    #[arg(long, default_value_t = 4_000)]
    pool: usize,
    /// Rounds over the pool (the first one warms the page cache and is not counted).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Data directory of the index (shared with bench-latency).
    #[arg(long, default_value = "target/bench-latency")]
    data_dir: PathBuf,
    /// Keeps the request pool in this file and reuses it (generating queries at 1.5M takes a
    /// while; a profiler should see the searches only).
    #[arg(long)]
    pool_file: Option<PathBuf>,
    /// Where the JSON result goes.
    #[arg(long, default_value = "benches/results/search.json")]
    result: PathBuf,
}

fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * quantile).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let generator = Generator::new(args.seed, args.contracts);
    ensure_index(&args.data_dir, &generator)?;
    let store = Arc::new(GenerationStore::open(&args.data_dir, StoreOptions::default())?);
    let search = ContractSearch::new(store, FieldsSettings::default());
    let cached = args.pool_file.as_ref().and_then(|path| std::fs::read(path).ok());
    let pool: Vec<Request> = match cached {
        Some(bytes) => serde_json::from_slice(&bytes)?,
        None => {
            let pool = request_pool(&generator, args.query_seed, args.pool, Mix::ENNEO);
            if let Some(path) = &args.pool_file {
                std::fs::write(path, serde_json::to_vec(&pool)?)?;
            }
            pool
        }
    };
    let mut micros: BTreeMap<Call, Vec<f64>> = BTreeMap::new();
    for round in 0..args.rounds.max(2) {
        for request in &pool {
            let started = Instant::now();
            match request.call {
                Call::ContractById => {
                    let id = request.path.rsplit('/').next().unwrap_or_default();
                    std::hint::black_box(search.contract_by_id(id)?);
                }
                Call::CustomerById => {
                    let id = request.path.rsplit('/').next().unwrap_or_default();
                    std::hint::black_box(search.customer_by_id(id)?);
                }
                Call::FreeText => {
                    let query: FreeTextQuery = serde_json::from_str(request.body.as_deref().unwrap_or("{}"))?;
                    std::hint::black_box(search.free_text(&query)?);
                }
                Call::Fields => {
                    let query: FieldsQuery = serde_json::from_str(request.body.as_deref().unwrap_or("{}"))?;
                    std::hint::black_box(search.fields(&query, false)?);
                }
            }
            if round > 0 {
                micros.entry(request.call).or_default().push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    println!(
        "| call | runs | mean µs | p50 µs | p95 µs | p99 µs | max µs |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    let mut rows = serde_json::Map::new();
    for (call, samples) in &mut micros {
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let p50 = median(samples);
        let (p95, p99, max) =
            (percentile(samples, 0.95), percentile(samples, 0.99), percentile(samples, 1.0));
        println!(
            "| {} | {} | {mean:.0} | {p50:.0} | {p95:.0} | {p99:.0} | {max:.0} |",
            call.as_str(),
            samples.len()
        );
        rows.insert(
            call.as_str().into(),
            json!({"runs": samples.len(), "meanMicros": mean, "p50Micros": p50, "p95Micros": p95, "p99Micros": p99, "maxMicros": max}),
        );
    }
    let weighted_mean: f64 =
        [(Call::ContractById, 0.2), (Call::CustomerById, 0.2), (Call::FreeText, 0.3), (Call::Fields, 0.3)]
            .iter()
            .filter_map(|(call, share)| {
                micros.get(call).map(|samples| share * samples.iter().sum::<f64>() / samples.len() as f64)
            })
            .sum();
    println!(
        "\nmix mean {weighted_mean:.0} µs per call → at most {:.0} calls/s per core",
        1e6 / weighted_mean
    );
    write_result(
        &args.result,
        &json!({"benchmark": "search", "contracts": args.contracts, "pool": args.pool, "calls": rows, "mixMeanMicros": weighted_mean}),
    )?;
    Ok(())
}
