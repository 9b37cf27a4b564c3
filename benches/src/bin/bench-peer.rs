//! contract-search side by side with the PostgreSQL peer (`contract_search_benches::pg`), for
//! one or more corpus sizes, in one run on one machine:
//!
//! 1. the corpus: `--seed`'s generated contracts, the same for both systems;
//! 2. contract-search: its index built in-process (reused from an earlier run of the same size
//!    and seed unless `--fresh`), `contract-search serve` started on it;
//! 3. PostgreSQL: its own private, tuned cluster (installed from Debian's packages when missing,
//!    started once for the whole run and stopped at the end, also on errors and Ctrl-C), the
//!    contracts loaded with their indexes, the peer's HTTP server started in a process of its own;
//! 4. for each system in turn: the same pools of requests (each call alone, then enneo's mix),
//!    closed loop with `--clients` connections, then the same labelled queries for quality;
//! 5. `peer-<size>.json` per size, and over every size in the results directory `peer.md`
//!    (tables) and `peer-p99.svg` (p99 latency against corpus size).
//!
//! The PostgreSQL part of a size that exceeds `--pg-time-bound-mins` is recorded as not
//! finished, and the cluster is restarted for the next size.
//!
//! ```text
//! cargo build --release -p contract-search && \
//!   cargo run --release -p contract-search-benches --bin bench-peer -- --sizes 1.5m
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use contract_search_benches::chart::{Series, write_log_log_svg};
use contract_search_benches::corpus::{self, CorpusMarker, ensure_index};
use contract_search_benches::load::{
    Call, Mix, Mode, Request, RunOptions, RunReport, Target, request_pool, run,
};
use contract_search_benches::pg::memory::MemorySampler;
use contract_search_benches::pg::report::{
    self, CONTRACT_SEARCH, Latency, MIX, Machine, POSTGRESQL, PeerRun, Quality, Status, SystemRun,
};
use contract_search_benches::pg::{self, Cluster};
use contract_search_benches::process::{ServerProcess, free_port};
use contract_search_benches::write_result;
use contract_search_sim::generate::Generator;
use contract_search_sim::queries::{LabelledQuery, QueryGenerator};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "bench-peer", args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    internal: Option<Internal>,
    /// Corpus sizes, comma-separated (`100k,1.5m,5m,10m`).
    #[arg(long, default_value = "1.5m")]
    sizes: String,
    /// Generator seed of the contracts.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seed of the labelled queries (load pools and quality eval).
    #[arg(long, default_value_t = 7)]
    query_seed: u64,
    /// Prepared requests in enneo's mix; each call's own pool is its share of it.
    #[arg(long, default_value_t = 20_000)]
    pool: usize,
    /// Concurrent connections of the closed loop.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Warm-up seconds before each measured run.
    #[arg(long, default_value_t = 5.0)]
    warmup_secs: f64,
    /// Measured seconds of each run (four calls alone and the mix, per system).
    #[arg(long, default_value_t = 30.0)]
    duration_secs: f64,
    /// Labelled queries of the quality eval (sent one at a time).
    #[arg(long, default_value_t = 5000)]
    eval_queries: u64,
    /// Time bound of the PostgreSQL part of one size (load, runs, eval), in minutes.
    #[arg(long, default_value_t = 180.0)]
    pg_time_bound_mins: f64,
    /// Connections in the PostgreSQL peer's pool (default: two per core).
    #[arg(long)]
    pg_pool_size: Option<usize>,
    /// The `contract-search` binary to serve with.
    #[arg(long, default_value = "target/release/contract-search")]
    binary: PathBuf,
    /// Where the contract-search indexes go (one per size, reused by later runs).
    #[arg(long, default_value = "target/bench-peer")]
    work_dir: PathBuf,
    /// Rebuild the contract-search index even when one of the same size and seed exists.
    #[arg(long)]
    fresh: bool,
    /// PostgreSQL data directory (default: /var/tmp/contract-search-bench-peer-pg-PORT, which the
    /// `postgres` user can reach when this runs as root). Deleted at the end unless
    /// `--keep-pg-data`.
    #[arg(long)]
    pg_dir: Option<PathBuf>,
    /// Keep the PostgreSQL data directory after the run.
    #[arg(long)]
    keep_pg_data: bool,
    /// Where `peer-<size>.json`, `peer.md` and `peer-p99.svg` go.
    #[arg(long, default_value = "benches/results")]
    results_dir: PathBuf,
    /// Fail unless both systems finished every size (for the CI smoke; by default a
    /// PostgreSQL part over the time bound is recorded, not an error).
    #[arg(long)]
    require_finished: bool,
    /// Only rewrite `peer.md` and `peer-p99.svg` from the JSON files in the results directory.
    #[arg(long)]
    summary_only: bool,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// The PostgreSQL peer's HTTP server (started by bench-peer itself, in its own process).
    #[command(hide = true)]
    ServePgPeer {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        listen: String,
        #[arg(long)]
        pool_size: Option<usize>,
    },
}

const API_KEY: &str = "bench-peer-key-0123456789abcdef0123";
/// How often the servers' memory is sampled.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_millis(200);

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,contract_search_benches=info,bench_peer=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Some(Internal::ServePgPeer { database_url, listen, pool_size }) = &args.internal {
        return runtime.block_on(serve_pg_peer(database_url, listen, *pool_size));
    }
    runtime.block_on(async {
        tokio::select! {
            result = run_all(&args) => result,
            signal = shutdown_signal() => anyhow::bail!("interrupted by {signal}; servers and PostgreSQL stopped"),
        }
    })
}

async fn serve_pg_peer(database_url: &str, listen: &str, pool_size: Option<usize>) -> anyhow::Result<()> {
    let mut options = pg::ServeOptions::default();
    if let Some(pool_size) = pool_size {
        options.pool_size = pool_size;
    }
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tokio::select! {
        served = pg::serve(listener, database_url, options) => served,
        _ = shutdown_signal() => Ok(()),
    }
}

/// Ctrl-C or SIGTERM; the signal's name.
async fn shutdown_signal() -> &'static str {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = interrupt.await;
            return "Ctrl-C";
        }
    };
    tokio::select! {
        _ = interrupt => "Ctrl-C",
        _ = terminate.recv() => "SIGTERM",
    }
}

/// The private cluster of the run: stopped (and its data deleted unless kept) when dropped.
struct ClusterGuard {
    cluster: Option<Cluster>,
    dir: PathBuf,
    port: u16,
    keep_data: bool,
}

impl ClusterGuard {
    async fn start(dir: PathBuf, port: u16, keep_data: bool) -> anyhow::Result<ClusterGuard> {
        let mut guard = ClusterGuard { cluster: None, dir, port, keep_data };
        guard.restart().await?;
        Ok(guard)
    }

    /// Stops the cluster if one runs on the directory (also one left by an earlier run) and
    /// starts it again.
    async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(cluster) = self.cluster.take() {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        let (dir, port) = (self.dir.clone(), self.port);
        let cluster = tokio::task::spawn_blocking(move || {
            pg::cluster::stop(&dir)?;
            Cluster::start(&dir, port)
        })
        .await??;
        self.cluster = Some(cluster);
        Ok(())
    }

    fn cluster(&self) -> anyhow::Result<&Cluster> {
        self.cluster.as_ref().context("the PostgreSQL cluster is not running")
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        if let Some(cluster) = self.cluster.take()
            && let Err(error) = cluster.stop()
        {
            eprintln!("stopping PostgreSQL failed: {error:#}");
        }
        if !self.keep_data
            && self.dir.exists()
            && let Err(error) = std::fs::remove_dir_all(&self.dir)
        {
            eprintln!("removing {} failed: {error}", self.dir.display());
        }
    }
}

async fn run_all(args: &Args) -> anyhow::Result<()> {
    if args.summary_only {
        return write_summary(&args.results_dir);
    }
    let mut sizes = report::parse_sizes(&args.sizes)?;
    sizes.dedup();
    anyhow::ensure!(!sizes.is_empty(), "no corpus size given");
    anyhow::ensure!(
        args.binary.exists(),
        "{} is missing: build it first with `cargo build --release -p contract-search`",
        args.binary.display()
    );
    std::fs::create_dir_all(&args.results_dir)
        .with_context(|| format!("creating {}", args.results_dir.display()))?;
    let port = free_port()?;
    let pg_dir = args
        .pg_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/var/tmp/contract-search-bench-peer-pg-{port}")));
    eprintln!("starting PostgreSQL in {} on 127.0.0.1:{port} ...", pg_dir.display());
    let mut cluster = ClusterGuard::start(pg_dir, port, args.keep_pg_data).await?;
    let mut failures = Vec::new();
    for size in sizes {
        let run = measure_size(args, size, &mut cluster).await?;
        for system in &run.systems {
            match &system.status {
                Status::Failed { error } => {
                    failures.push(format!("{} at {}: {error}", system.system, run.label))
                }
                Status::NotFinished { phase, .. } if args.require_finished => {
                    failures.push(format!("{} at {}: not finished ({phase})", system.system, run.label))
                }
                _ => {}
            }
        }
        let path = args.results_dir.join(format!("peer-{}.json", run.label));
        write_result(&path, &serde_json::to_value(&run)?)?;
        eprintln!("wrote {}", path.display());
        write_summary(&args.results_dir)?;
    }
    drop(cluster);
    anyhow::ensure!(failures.is_empty(), "some parts failed:\n{}", failures.join("\n"));
    Ok(())
}

/// Rewrites `peer.md` and `peer-p99.svg` from every `peer-*.json` in `dir`.
fn write_summary(dir: &Path) -> anyhow::Result<()> {
    let runs = report::read_runs(dir)?;
    let table = report::markdown(&runs);
    println!("{table}");
    let text = format!(
        "# contract-search against PostgreSQL + pg_trgm\n\nWritten by `bench-peer` from the `peer-*.json` files \
         beside this one (see the README for the command and PostgreSQL's settings). \
         Chart: [p99 latency against corpus size](peer-p99.svg).\n\n{table}"
    );
    std::fs::write(dir.join("peer.md"), text).with_context(|| format!("writing {}", dir.display()))?;
    let lines = [
        ("free text", "free_text", (31, 119, 180)),
        ("fields", "fields", (214, 39, 40)),
        ("mix", MIX, (44, 160, 44)),
    ];
    let mut series = Vec::new();
    for (system, title, dashed) in
        [(CONTRACT_SEARCH, "contract-search", false), (POSTGRESQL, "PostgreSQL", true)]
    {
        for (name, run_name, color) in lines {
            series.push(Series {
                name: format!("{title} {name}"),
                color,
                dashed,
                points: runs
                    .iter()
                    .filter_map(|run| run.p99(system, run_name).map(|p99| (run.contracts as f64, p99)))
                    .collect(),
            });
        }
    }
    write_log_log_svg(
        &dir.join("peer-p99.svg"),
        "p99 latency against corpus size (closed loop, each call alone; mix)",
        "contracts",
        "p99 latency (ms)",
        &series,
    )
}

/// Everything both systems need for one size.
struct Workload {
    generator: Generator,
    label: String,
    pools: Vec<(String, Arc<Vec<Request>>)>,
    queries: Arc<Vec<LabelledQuery>>,
    options: RunOptions,
}

async fn measure_size(args: &Args, size: u64, cluster: &mut ClusterGuard) -> anyhow::Result<PeerRun> {
    let label = report::size_label(size);
    let started_unix_secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    eprintln!(
        "== {label} contracts: preparing {} requests and {} labelled queries ...",
        args.pool, args.eval_queries
    );
    let generator = Generator::new(args.seed, size);
    let (mix_pool, queries) = {
        let (generator, query_seed, pool, eval_queries) =
            (generator.clone(), args.query_seed, args.pool, args.eval_queries);
        tokio::task::spawn_blocking(move || {
            let mix_pool = request_pool(&generator, query_seed, pool, Mix::ENNEO);
            let labelled = QueryGenerator::new(&generator, query_seed);
            let queries: Vec<LabelledQuery> = (0..eval_queries).map(|index| labelled.query(index)).collect();
            (mix_pool, queries)
        })
        .await?
    };
    // Each call's pool is its share of the mix, so both kinds of run send the same requests.
    let mut pools: Vec<(String, Arc<Vec<Request>>)> = Call::ALL
        .iter()
        .map(|&call| {
            let pool: Vec<Request> =
                mix_pool.iter().filter(|request| request.call == call).cloned().collect();
            (call.as_str().to_owned(), Arc::new(pool))
        })
        .filter(|(_, pool)| !pool.is_empty())
        .collect();
    pools.push((MIX.to_owned(), Arc::new(mix_pool)));
    let workload = Workload {
        generator,
        label: label.clone(),
        pools,
        queries: Arc::new(queries),
        options: RunOptions {
            mode: Mode::Closed { clients: args.clients },
            warmup: Duration::from_secs_f64(args.warmup_secs),
            duration: Duration::from_secs_f64(args.duration_secs),
        },
    };

    let mut contract_search = SystemRun::new(CONTRACT_SEARCH);
    contract_search.status = match measure_contract_search(args, &workload, &mut contract_search).await {
        Ok(()) => Status::Finished,
        Err(error) => {
            eprintln!("contract-search at {label} failed: {error:#}");
            Status::Failed { error: format!("{error:#}") }
        }
    };

    let mut postgresql = SystemRun::new(POSTGRESQL);
    let phase = Arc::new(Mutex::new("starting".to_owned()));
    let bound = Duration::from_secs_f64(args.pg_time_bound_mins * 60.0);
    let database_url = cluster.cluster()?.database_url();
    let data_dir = cluster.cluster()?.data_dir().to_path_buf();
    let measured = tokio::time::timeout(
        bound,
        measure_postgresql(args, &workload, &database_url, &data_dir, &mut postgresql, &phase),
    )
    .await;
    postgresql.status = match measured {
        Ok(Ok(())) => Status::Finished,
        Ok(Err(error)) => {
            eprintln!("PostgreSQL at {label} failed: {error:#}");
            Status::Failed { error: format!("{error:#}") }
        }
        Err(_) => {
            let phase = phase.lock().expect("the phase lock is never poisoned").clone();
            eprintln!(
                "PostgreSQL at {label} did not finish within {} min ({phase}); restarting it",
                args.pg_time_bound_mins
            );
            cluster.restart().await?;
            Status::NotFinished { bound_mins: args.pg_time_bound_mins, phase }
        }
    };

    Ok(PeerRun {
        contracts: size,
        label,
        seed: args.seed,
        query_seed: args.query_seed,
        clients: args.clients,
        warmup_secs: args.warmup_secs,
        duration_secs: args.duration_secs,
        eval_queries: args.eval_queries,
        machine: Machine::this(),
        started_unix_secs,
        systems: vec![contract_search, postgresql],
    })
}

/// Runs every pool against `target` (each call alone, then the mix).
async fn measure_runs(
    target: &Target,
    workload: &Workload,
    phase: Option<&Mutex<String>>,
) -> anyhow::Result<Vec<(String, RunReport)>> {
    let mut reports = Vec::new();
    for (name, pool) in &workload.pools {
        eprintln!("  {}: {name} ({} s) ...", target.name, workload.options.duration.as_secs_f64());
        if let Some(phase) = phase {
            *phase.lock().expect("the phase lock is never poisoned") = format!("load run {name}");
        }
        let mut report = run(target, pool.clone(), workload.options).await?;
        report.target = format!("{} ({name})", target.name);
        reports.push((name.clone(), report));
    }
    Ok(reports)
}

/// Fills `result` with the runs and the eval.
async fn measure_serving(
    target: &Target,
    workload: &Workload,
    result: &mut SystemRun,
    phase: Option<&Mutex<String>>,
) -> anyhow::Result<()> {
    let reports = measure_runs(target, workload, phase).await?;
    result.latency = reports.iter().map(|(name, report)| Latency::of(name, report)).collect();
    result.runs = serde_json::to_value(reports.iter().map(|(_, report)| report).collect::<Vec<_>>())?;
    if let Some(phase) = phase {
        *phase.lock().expect("the phase lock is never poisoned") = "quality eval".to_owned();
    }
    eprintln!("  {}: quality over {} labelled queries ...", target.name, workload.queries.len());
    let eval =
        pg::eval::evaluate_http(&target.base_url, target.api_key.as_deref(), &workload.queries).await?;
    result.quality = Some(Quality::from(&eval.summary()));
    result.quality_categories = serde_json::to_value(&eval.categories)?;
    Ok(())
}

async fn measure_contract_search(
    args: &Args,
    workload: &Workload,
    result: &mut SystemRun,
) -> anyhow::Result<()> {
    let data_dir = args.work_dir.join(format!("contract-search-{}", workload.label));
    if args.fresh && data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).with_context(|| format!("removing {}", data_dir.display()))?;
    }
    let marker_path = data_dir.join("BENCH-CORPUS.json");
    let marker_before: Option<CorpusMarker> =
        std::fs::read_to_string(&marker_path).ok().and_then(|text| serde_json::from_str(&text).ok());
    let marker = {
        let (data_dir, generator) = (data_dir.clone(), workload.generator.clone());
        tokio::task::spawn_blocking(move || ensure_index(&data_dir, &generator)).await??
    };
    result.build_reused = marker_before.as_ref() == Some(&marker);
    result.build_secs = Some(marker.build_secs);
    result.disk_bytes = Some(dir_size(&data_dir)?.saturating_sub(std::fs::metadata(&marker_path)?.len()));
    result.build_details = serde_json::to_value(&marker)?;
    let server = {
        let (binary, data_dir) = (args.binary.clone(), data_dir.clone());
        tokio::task::spawn_blocking(move || ServerProcess::contract_search(&binary, &data_dir, API_KEY))
            .await??
    };
    let sampler = MemorySampler::start(vec![server.pid()], MEMORY_SAMPLE_INTERVAL);
    let target = Target {
        name: CONTRACT_SEARCH.to_owned(),
        base_url: server.base_url.clone(),
        api_key: Some(API_KEY.to_owned()),
    };
    let served = measure_serving(&target, workload, result, None).await;
    result.peak_memory_bytes = Some(sampler.stop());
    drop(server);
    served
}

async fn measure_postgresql(
    args: &Args,
    workload: &Workload,
    database_url: &str,
    data_dir: &Path,
    result: &mut SystemRun,
    phase: &Mutex<String>,
) -> anyhow::Result<()> {
    let set_phase = |text: &str| *phase.lock().expect("the phase lock is never poisoned") = text.to_owned();
    set_phase("load");
    eprintln!("  postgresql: loading {} contracts ...", workload.generator.num_contracts());
    // The generator's contracts, mapped as the connector maps them, handed over by a thread of
    // their own (the load wants an owned iterator).
    let (sender, receiver) = std::sync::mpsc::sync_channel(4096);
    let generator = workload.generator.clone();
    std::thread::spawn(move || {
        for contract in corpus::contracts(&generator) {
            if sender.send(contract).is_err() {
                break;
            }
        }
    });
    let load = pg::load(database_url, receiver.into_iter().map(Ok)).await?;
    anyhow::ensure!(
        load.num_contracts == workload.generator.num_contracts(),
        "loaded {} of {} contracts",
        load.num_contracts,
        workload.generator.num_contracts()
    );
    result.build_secs = Some(load.secs);
    result.disk_bytes = Some(load.total_bytes);
    result.build_details = serde_json::to_value(&load)?;

    set_phase("starting the peer");
    let port = free_port()?;
    let mut command =
        std::process::Command::new(std::env::current_exe().context("finding bench-peer itself")?);
    command
        .args(["serve-pg-peer", "--database-url", database_url, "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    if let Some(pool_size) = args.pg_pool_size {
        command.args(["--pool-size", &pool_size.to_string()]);
    }
    let child = command.spawn().context("starting the PostgreSQL peer")?;
    let server = ServerProcess::from_child(child, format!("http://127.0.0.1:{port}"));
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.wait_ready("/readyz", Duration::from_secs(60)).map(|()| server)
    })
    .await??;
    let postmaster = postmaster_pid(data_dir)?;
    let sampler = MemorySampler::start(vec![postmaster, server.pid()], MEMORY_SAMPLE_INTERVAL);
    let target = Target { name: POSTGRESQL.to_owned(), base_url: server.base_url.clone(), api_key: None };
    let started = Instant::now();
    let served = measure_serving(&target, workload, result, Some(phase)).await;
    result.peak_memory_bytes = Some(sampler.stop());
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "PostgreSQL measured");
    drop(server);
    served
}

/// The postmaster's pid (first line of `postmaster.pid`).
fn postmaster_pid(data_dir: &Path) -> anyhow::Result<u32> {
    let path = data_dir.join("postmaster.pid");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .with_context(|| format!("no pid in {}", path.display()))
}

/// Bytes of the files under `dir`.
fn dir_size(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() { dir_size(&entry.path())? } else { metadata.len() };
    }
    Ok(total)
}
