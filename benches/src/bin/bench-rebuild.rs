//! The full rebuild at scale: the Powercloud simulator (the real `contract-search powercloud-sim`
//! binary, in its own process) serves N contracts over HTTP on loopback; this process runs the
//! rebuild (fetch with bounded concurrency → map → documents → writer → commit → merge →
//! validate → publish) and prints and writes wall time, contracts/s, index size (total, per
//! contract, per field), peak RSS of the indexer, and payload decode time.
//!
//! ```text
//! cargo build --release -p contract-search
//! cargo run --release -p contract-search-benches --bin bench-rebuild -- --contracts 1500000
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use contract_search_benches::{median, peak_rss_bytes, write_result};
use contract_search_index::generation::BuildOptions;
use contract_search_index::{GenerationStore, StoreOptions, decode_contract};
use contract_search_ingest::rebuild::{RebuildOptions, rebuild};
use contract_search_ingest::{Connector, PowercloudConfig, PowercloudConnector};
use serde_json::json;
use tantivy::collector::DocSetCollector;
use tantivy::query::AllQuery;
use tantivy::schema::Value;

#[derive(Debug, Parser)]
struct Args {
    /// Contracts served by the simulator.
    #[arg(long, default_value_t = 1_500_000)]
    contracts: u64,
    /// The `contract-search` binary that runs the simulator.
    #[arg(long, default_value = "target/release/contract-search")]
    binary: PathBuf,
    /// Data directory for the index (deleted first).
    #[arg(long, default_value = "target/bench-rebuild")]
    data_dir: PathBuf,
    /// Writer memory budget in MiB.
    #[arg(long, default_value_t = 1024)]
    writer_memory_mb: usize,
    /// Writer threads.
    #[arg(long, default_value_t = 2)]
    writer_threads: usize,
    /// Records per list call.
    #[arg(long, default_value_t = 2000)]
    page_size: usize,
    /// Pages in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Where the JSON result goes.
    #[arg(long, default_value = "benches/results/rebuild.json")]
    result: PathBuf,
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn wait_for_sim(address: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the simulator did not come up at {address}")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.binary.exists() {
        bail!("{} not found: run `cargo build --release -p contract-search` first", args.binary.display());
    }
    let port = free_port()?;
    let base = format!("127.0.0.1:{port}");
    let _sim = KillOnDrop(
        Command::new(&args.binary)
            .args(["powercloud-sim", "--listen", &base, "--contracts", &args.contracts.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the simulator")?,
    );
    let _ = std::fs::remove_dir_all(&args.data_dir);
    let options = StoreOptions {
        build: BuildOptions {
            num_threads: args.writer_threads,
            memory_budget_bytes: args.writer_memory_mb << 20,
        },
        ..StoreOptions::default()
    };
    let store = Arc::new(GenerationStore::open(&args.data_dir, options)?);
    let mut config = PowercloudConfig::new(
        format!("http://{base}"),
        "0123456789abcdef0123456789abcdef".to_owned(),
        "apiuser".to_owned(),
        "secret".to_owned(),
    );
    config.page_size = args.page_size;
    config.concurrency = args.concurrency;
    let connector: Arc<dyn Connector> = Arc::new(PowercloudConnector::new(config)?);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(wait_for_sim(&base))?;
    let rss_before = peak_rss_bytes();
    let started = Instant::now();
    let report = runtime.block_on(rebuild(
        store.clone(),
        vec![connector],
        RebuildOptions::default(),
        Arc::new(|_| {}),
    ))?;
    let wall = started.elapsed().as_secs_f64();
    let peak_rss = peak_rss_bytes();
    let generation = store.current().context("a generation was published")?;
    let index_bytes = dir_size(generation.dir());

    // Space per field, summed over segments (after the merge there is one).
    let searcher = generation.searcher();
    let usage = searcher.space_usage()?;
    let mut per_field: BTreeMap<String, u64> = BTreeMap::new();
    let mut store_bytes = 0;
    for segment in usage.segments() {
        store_bytes += segment.store().total().get_bytes();
        for part in [
            segment.termdict(),
            segment.postings(),
            segment.positions(),
            segment.fieldnorms(),
            segment.fast_fields(),
        ] {
            for field in part.fields() {
                *per_field.entry(field.field_name().to_owned()).or_default() += field.total().get_bytes();
            }
        }
    }

    // Payload decode: stored document fetch plus postcard decode, and decode alone.
    let addresses = searcher.search(&AllQuery, &DocSetCollector)?;
    let sample: Vec<_> =
        addresses.into_iter().step_by((report.num_contracts as usize / 20_000).max(1)).collect();
    let fields = generation.fields().clone();
    let mut fetch_and_decode = Vec::new();
    let mut decode_only = Vec::new();
    for address in &sample {
        let started = Instant::now();
        let document: tantivy::TantivyDocument = searcher.doc(*address)?;
        let bytes = document
            .get_first(fields.payload)
            .and_then(|value| value.as_bytes())
            .context("payload")?
            .to_vec();
        let _ = decode_contract(&bytes)?;
        fetch_and_decode.push(started.elapsed().as_secs_f64() * 1e6);
        let started = Instant::now();
        let contract = decode_contract(&bytes)?;
        decode_only.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(contract);
    }

    let result = json!({
        "benchmark": "rebuild",
        "contracts": report.num_contracts,
        "wall_secs": wall,
        "contracts_per_sec": report.num_contracts as f64 / wall,
        "index_bytes": index_bytes,
        "index_bytes_per_contract": index_bytes as f64 / report.num_contracts as f64,
        "doc_store_bytes_per_contract": store_bytes as f64 / report.num_contracts as f64,
        "field_bytes_per_contract": per_field.iter().map(|(name, bytes)| (name.clone(), json!((*bytes as f64 / report.num_contracts as f64 * 10.0).round() / 10.0))).collect::<serde_json::Map<_, _>>(),
        "indexer_peak_rss_bytes": peak_rss,
        "rss_before_bytes": rss_before,
        "payload_fetch_and_decode_median_us": median(&mut fetch_and_decode),
        "payload_decode_median_us": median(&mut decode_only),
        "writer_memory_mb": args.writer_memory_mb,
        "writer_threads": args.writer_threads,
        "page_size": args.page_size,
        "concurrency": args.concurrency,
        "machine_threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    write_result(&args.result, &result)
}
