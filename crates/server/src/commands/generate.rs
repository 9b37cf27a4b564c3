//! `contract-search generate`: synthetic data set to NDJSON files.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use contract_search_sim::export::write_dataset;
use contract_search_sim::generate::Generator;
use tracing::info;

/// Options of `generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Number of contracts to generate.
    #[arg(long, env = "CONTRACT_SEARCH_GENERATE_CONTRACTS", default_value_t = 200_000)]
    pub contracts: u64,
    /// Seed: the same seed always gives the same data.
    #[arg(long, env = "CONTRACT_SEARCH_GENERATE_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Number of labelled queries to write (0 for none).
    #[arg(long, env = "CONTRACT_SEARCH_GENERATE_QUERIES", default_value_t = 10_000)]
    pub queries: u64,
    /// Seed of the query set.
    #[arg(long, default_value_t = 7)]
    pub query_seed: u64,
    /// Output directory (created if missing): contracts.ndjson, customers.ndjson, queries.ndjson.
    #[arg(long, short, default_value = "out/data")]
    pub out: PathBuf,
}

/// Runs `generate`.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.contracts > 0, "--contracts must be at least 1");
    let started = Instant::now();
    let generator = Generator::new(args.seed, args.contracts);
    let progress = |written: u64| {
        if written % 500_000 < 40_000 {
            info!(written, total = args.contracts, "generating contracts");
        }
    };
    let summary = write_dataset(&generator, &args.out, args.queries, args.query_seed, &progress)
        .with_context(|| format!("writing the data set to {}", args.out.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    info!(
        num_contracts = summary.num_contracts,
        num_customers = summary.num_customers,
        num_queries = summary.num_queries,
        elapsed_secs = format!("{elapsed:.1}"),
        contracts_per_sec = (summary.num_contracts as f64 / elapsed) as u64,
        "data set written"
    );
    for file in &summary.files {
        println!("{}", file.display());
    }
    Ok(())
}
