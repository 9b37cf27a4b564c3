//! Generation throughput: writes N contracts (raw Powercloud NDJSON) and labelled queries to a
//! scratch directory, several runs, and prints and writes the median wall time, contracts/s and
//! peak RSS as JSON.
//!
//! `cargo run --release -p contract-search-benches --bin bench-generate -- --contracts 1500000`

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use contract_search_benches::{median, peak_rss_bytes, write_result};
use contract_search_sim::export::write_dataset;
use contract_search_sim::generate::Generator;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Contracts per run.
    #[arg(long, default_value_t = 1_500_000)]
    contracts: u64,
    /// Labelled queries per run.
    #[arg(long, default_value_t = 10_000)]
    queries: u64,
    /// Number of runs (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch directory for the NDJSON files (deleted afterwards).
    #[arg(long, default_value = "target/bench-generate")]
    scratch: PathBuf,
    /// Where the JSON result goes.
    #[arg(long, default_value = "benches/results/generate.json")]
    result: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut data_secs = Vec::new();
    let mut total_secs = Vec::new();
    let mut bytes_written = 0;
    for run in 0..args.runs {
        let started = Instant::now();
        let generator = Generator::new(42, args.contracts);
        let summary = write_dataset(&generator, &args.scratch, 0, 7, &|_| {})?;
        let data_elapsed = started.elapsed().as_secs_f64();
        contract_search_sim::export::write_queries(
            &generator,
            &args.scratch.join("queries.ndjson"),
            args.queries,
            7,
        )?;
        let total_elapsed = started.elapsed().as_secs_f64();
        bytes_written =
            summary.files.iter().filter_map(|file| std::fs::metadata(file).ok()).map(|m| m.len()).sum();
        println!(
            "run {run}: {} contracts in {data_elapsed:.1} s ({:.0}/s), with {} queries {total_elapsed:.1} s",
            summary.num_contracts,
            summary.num_contracts as f64 / data_elapsed,
            args.queries
        );
        data_secs.push(data_elapsed);
        total_secs.push(total_elapsed);
    }
    std::fs::remove_dir_all(&args.scratch).ok();
    let data_median = median(&mut data_secs);
    let total_median = median(&mut total_secs);
    let result = json!({
        "benchmark": "generate",
        "contracts": args.contracts,
        "queries": args.queries,
        "runs": args.runs,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "median_data_secs": data_median,
        "median_contracts_per_sec": args.contracts as f64 / data_median,
        "median_total_with_queries_secs": total_median,
        "ndjson_bytes": bytes_written,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    write_result(&args.result, &result)
}
