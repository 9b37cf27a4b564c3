//! Latency and throughput of enneo's calls over HTTP on loopback: the real `contract-search
//! serve` binary in its own process on an index of N generated contracts, driven by the load
//! generator (8 concurrent keep-alive connections by default, closed loop) with a pool of
//! prepared requests in enneo's mix: 40% by id (half contracts, half customers), 30% free
//! text, 30% fields, from the labelled query generator. The load generator shares the machine's
//! cores with the server.
//!
//! ```text
//! cargo build --release -p contract-search
//! cargo run --release -p contract-search-benches --bin bench-latency -- --contracts 1500000
//! ```
//!
//! The index is built once per size and seed in `--data-dir` and reused by later runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use contract_search_benches::corpus::ensure_index;
use contract_search_benches::load::{Call, Mix, Mode, RunOptions, Target, markdown, request_pool, run};
use contract_search_benches::process::ServerProcess;
use contract_search_benches::write_result;
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
    /// Prepared requests in the pool (cycled).
    #[arg(long, default_value_t = 20_000)]
    pool: usize,
    /// Concurrent connections of the closed loop.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Warm-up seconds before each measurement.
    #[arg(long, default_value_t = 5.0)]
    warmup_secs: f64,
    /// Measured seconds of each run.
    #[arg(long, default_value_t = 30.0)]
    duration_secs: f64,
    /// Also measure each call alone (closed loop, same clients), after the mix.
    #[arg(long)]
    per_call_runs: bool,
    /// The `contract-search` binary to serve with.
    #[arg(long, default_value = "target/release/contract-search")]
    binary: PathBuf,
    /// Data directory of the index (reused when it holds the same size and seed).
    #[arg(long, default_value = "target/bench-latency")]
    data_dir: PathBuf,
    /// Where the JSON result goes (a `.md` table is written beside it).
    #[arg(long, default_value = "benches/results/latency.json")]
    result: PathBuf,
}

const API_KEY: &str = "bench-latency-key-0123456789abcdef";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let generator = Generator::new(args.seed, args.contracts);
    let corpus = ensure_index(&args.data_dir, &generator)?;
    let mut server = ServerProcess::contract_search(&args.binary, &args.data_dir, API_KEY)?;
    server.wait_ready("/readyz", Duration::from_secs(60))?;
    let target = Target {
        name: "contract-search".into(),
        base_url: server.base_url.clone(),
        api_key: Some(API_KEY.into()),
    };
    let options = RunOptions {
        mode: Mode::Closed { clients: args.clients },
        warmup: Duration::from_secs_f64(args.warmup_secs),
        duration: Duration::from_secs_f64(args.duration_secs),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    eprintln!("preparing {} requests ...", args.pool);
    let mix_pool = Arc::new(request_pool(&generator, args.query_seed, args.pool, Mix::ENNEO));
    eprintln!(
        "measuring the mix: {} clients, {:.0} s warm-up, {:.0} s",
        args.clients, args.warmup_secs, args.duration_secs
    );
    let mut reports = vec![runtime.block_on(run(&target, mix_pool, options))?];
    reports[0].target = "contract-search (mix)".into();
    if args.per_call_runs {
        for call in Call::ALL {
            eprintln!("measuring {} alone ...", call.as_str());
            let pool = Arc::new(request_pool(&generator, args.query_seed, args.pool / 2, Mix::only(call)));
            let mut report = runtime.block_on(run(&target, pool, options))?;
            report.target = format!("contract-search ({} alone)", call.as_str());
            reports.push(report);
        }
    }
    let table = markdown(&reports);
    println!("{table}");
    let server_peak_rss = server.peak_rss_bytes();
    println!(
        "{} contracts; server peak RSS {:.0} MB",
        corpus.num_indexed,
        server_peak_rss.unwrap_or(0) as f64 / 1e6
    );
    write_result(
        &args.result,
        &json!({
            "benchmark": "latency",
            "contracts": corpus.num_indexed,
            "seed": args.seed,
            "querySeed": args.query_seed,
            "clients": args.clients,
            "warmupSecs": args.warmup_secs,
            "durationSecs": args.duration_secs,
            "serverPeakRssBytes": server_peak_rss,
            "cores": std::thread::available_parallelism().map_or(0, |cores| cores.get()),
            "runs": reports,
        }),
    )?;
    std::fs::write(args.result.with_extension("md"), table)?;
    eprintln!("wrote {}", args.result.display());
    Ok(())
}
