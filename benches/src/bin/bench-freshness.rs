//! `bench-freshness`: how fast changes become searchable, at the real size.
//!
//! 1. **Event to searchable**: the Powercloud simulator (in process, same seed as the index)
//!    changes a random customer's email `--events-per-sec` times a second; the benchmark posts
//!    each change's events to the server's webhook, as Powercloud would, while `--query-clients`
//!    closed-loop clients run enneo's query mix. A change counts as searchable when the server's
//!    committed journal position passes it (polled every few milliseconds); each one is then
//!    confirmed through `GET /v1/contracts/{id}` (the new email must be there), and confirmations
//!    that fail are counted. Reports p50/p95/p99/max from the change in the ERP to searchable.
//! 2. **Import**: the whole corpus written as an NDJSON file of enneo contracts (every contract,
//!    with a changed email), pushed with `contract-search import`; reports contracts/s until the
//!    command returned (journalled) and until the live index had applied everything.
//!
//! ```text
//! cargo build --release -p contract-search -p contract-search-benches
//! target/release/bench-freshness --contracts 1500000
//! ```

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use contract_search_benches::corpus::{contracts, ensure_index};
use contract_search_benches::load::{Mix, Mode, RunOptions, Target, markdown, request_pool, run};
use contract_search_benches::process::{ServerProcess, free_port};
use contract_search_benches::write_result;
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_sim::generate::Generator;
use contract_search_sim::server::{ChangeKind, ChangeRequest, SimConfig, spawn};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

const API_KEY: &str = "bench-freshness-key-0123456789abcdef";
const WEBHOOK_SECRET: &str = "bench-freshness-webhook-secret-0123456789";
const SIM_PASSWORD: &str = "bench-freshness-sim";

/// Options of the freshness benchmark.
#[derive(Debug, Parser)]
#[command(name = "bench-freshness")]
struct Args {
    /// Contracts in the corpus.
    #[arg(long, default_value_t = 1_500_000)]
    contracts: u64,
    /// Generator seed of the contracts (the simulator serves the same ones).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seed of the labelled queries of the query load.
    #[arg(long, default_value_t = 7)]
    query_seed: u64,
    /// ERP changes per second.
    #[arg(long, default_value_t = 200.0)]
    events_per_sec: f64,
    /// Seconds of changes.
    #[arg(long, default_value_t = 30.0)]
    duration_secs: f64,
    /// Closed-loop query clients running meanwhile (0: none).
    #[arg(long, default_value_t = 2)]
    query_clients: usize,
    /// Lines of the import file (default: every contract of the corpus; 0 skips the import).
    #[arg(long)]
    import_lines: Option<u64>,
    /// Lines per import request.
    #[arg(long, default_value_t = 10_000)]
    import_batch_lines: u64,
    /// Least time between two commits of the server's live writer.
    #[arg(long, default_value = "500ms")]
    commit_interval: String,
    /// The `contract-search` binary.
    #[arg(long, default_value = "target/release/contract-search")]
    binary: PathBuf,
    /// Data directory of the index (built on first use; the live changes go into it).
    #[arg(long, default_value = "target/bench-freshness")]
    data_dir: PathBuf,
    /// Where the JSON result goes (a `.md` summary is written beside it).
    #[arg(long, default_value = "benches/results/freshness.json")]
    result: PathBuf,
}

/// A change waiting to become searchable.
struct Pending {
    seq: u64,
    changed_at: Instant,
    contract_id: u64,
    email: Option<String>,
}

/// What the poller learned.
struct Tracker {
    pending: VecDeque<Pending>,
    /// ERP change to searchable, microseconds.
    latency: Histogram<u64>,
    confirmed: u64,
    not_there: u64,
}

fn percentiles(histogram: &Histogram<u64>) -> Value {
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    json!({
        "count": histogram.len(),
        "p50Ms": ms(0.5),
        "p95Ms": ms(0.95),
        "p99Ms": ms(0.99),
        "maxMs": histogram.max() as f64 / 1000.0,
    })
}

/// The server's status answer.
async fn status(http: &reqwest::Client, base_url: &str) -> anyhow::Result<Value> {
    let response = http.get(format!("{base_url}/v1/admin/status")).bearer_auth(API_KEY).send().await?;
    anyhow::ensure!(response.status().is_success(), "status answered {}", response.status());
    Ok(response.json().await?)
}

/// Every few milliseconds: which changes did the server commit? Each is then confirmed by id.
async fn poll_searchable(http: reqwest::Client, base_url: String, tracker: Arc<Mutex<Tracker>>) {
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let Ok(status) = status(&http, &base_url).await else { continue };
        let applied = status["updates"]["appliedSeq"].as_u64().unwrap_or(0);
        let now = Instant::now();
        let done: Vec<Pending> = {
            let mut tracker = tracker.lock().unwrap();
            let mut done = Vec::new();
            while tracker.pending.front().is_some_and(|pending| pending.seq <= applied) {
                let pending = tracker.pending.pop_front().expect("a front");
                let micros = now.duration_since(pending.changed_at).as_micros() as u64;
                tracker.latency.saturating_record(micros.max(1));
                done.push(pending);
            }
            done
        };
        for pending in done {
            let url = format!("{base_url}/v1/contracts/{}", pending.contract_id);
            let there = match http.get(url).bearer_auth(API_KEY).send().await {
                Ok(response) if response.status().is_success() => {
                    let contract: Value = response.json().await.unwrap_or_default();
                    let stored = contract["email"].as_str().map(str::to_lowercase);
                    stored == pending.email
                }
                _ => false,
            };
            let mut tracker = tracker.lock().unwrap();
            if there {
                tracker.confirmed += 1;
            } else {
                tracker.not_there += 1;
            }
        }
    }
}

/// Posts a change's events to the webhook, as Powercloud would; the journal position answered.
async fn post_events(
    http: &reqwest::Client,
    base_url: &str,
    events: &[contract_search_sim::powercloud::ChangeEvent],
) -> anyhow::Result<u64> {
    let response = http
        .post(format!("{base_url}/v1/webhooks/powercloud"))
        .header("X-Export-Token", WEBHOOK_SECRET)
        .json(events)
        .send()
        .await?;
    anyhow::ensure!(response.status().is_success(), "the webhook answered {}", response.status());
    let answer: Value = response.json().await?;
    answer["lastSeq"].as_u64().context("the webhook answer has no lastSeq")
}

/// Waits until the server applied everything journalled; the time it took.
async fn wait_applied(http: &reqwest::Client, base_url: &str, timeout: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let status = status(http, base_url).await?;
        let updates = &status["updates"];
        if updates["lag"] == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            bail!("the updater did not catch up within {timeout:?}: {updates}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.events_per_sec > 0.0, "--events-per-sec must be positive");
    anyhow::ensure!(
        args.binary.exists(),
        "{} is missing: build it with `cargo build --release -p contract-search`",
        args.binary.display()
    );
    let generator = Generator::new(args.seed, args.contracts);
    // A live-updated index is no longer the generator's: always start from a fresh build.
    let _ = std::fs::remove_dir_all(&args.data_dir);
    let corpus = ensure_index(&args.data_dir, &generator)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let sim = runtime.block_on(spawn(SimConfig {
        seed: args.seed,
        num_contracts: args.contracts,
        password: SIM_PASSWORD.to_owned(),
        ..SimConfig::default()
    }))?;
    let port = free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let child = Command::new(&args.binary)
        .arg("serve")
        .arg("--data-dir")
        .arg(&args.data_dir)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--rebuild-schedule", "off"])
        .args(["--powercloud-url", &sim.base_url, "--powercloud-hash", sim.state.application_hash()])
        .args(["--powercloud-user", "apiuser", "--commit-interval", &args.commit_interval])
        .env("CONTRACT_SEARCH_POWERCLOUD_SECRET", SIM_PASSWORD)
        .env("CONTRACT_SEARCH_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("CONTRACT_SEARCH_API_KEYS", format!("search={API_KEY},import={API_KEY},admin={API_KEY}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.binary.display()))?;
    let mut server = ServerProcess::from_child(child, base_url.clone());
    server.wait_ready("/readyz", Duration::from_secs(120))?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let mapping = MappingOptions { source: "powercloud".to_owned(), erp_url_template: None };

    // 1. Event to searchable, with queries running.
    eprintln!(
        "changes: {} per second for {} s, {} query clients",
        args.events_per_sec, args.duration_secs, args.query_clients
    );
    let target = Target {
        name: "queries during changes".into(),
        base_url: base_url.clone(),
        api_key: Some(API_KEY.into()),
    };
    let pool = Arc::new(request_pool(&generator, args.query_seed, 10_000, Mix::ENNEO));
    let tracker = Arc::new(Mutex::new(Tracker {
        pending: VecDeque::new(),
        latency: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        confirmed: 0,
        not_there: 0,
    }));
    let (num_changes, num_events, queries) = runtime.block_on(async {
        let queries = (args.query_clients > 0).then(|| {
            let options = RunOptions {
                mode: Mode::Closed { clients: args.query_clients },
                warmup: Duration::ZERO,
                duration: Duration::from_secs_f64(args.duration_secs),
            };
            let target = target.clone();
            let pool = pool.clone();
            tokio::spawn(async move { run(&target, pool, options).await })
        });
        let poller = tokio::spawn(poll_searchable(http.clone(), base_url.clone(), tracker.clone()));
        let ids = sim.state.contract_ids();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let started = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.events_per_sec));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let (mut num_changes, mut num_events) = (0u64, 0u64);
        let mut changed_customers = std::collections::HashSet::new();
        while started.elapsed().as_secs_f64() < args.duration_secs {
            ticker.tick().await;
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let contract_id = ids[(state % ids.len() as u64) as usize];
            let current = |id: u64| {
                sim.state
                    .current_contract(id)
                    .and_then(|raw| map_contract(&json!({"id": id, "data": raw}), &mapping).ok())
            };
            // Each customer changes once: a second change would make the first one's email
            // unconfirmable (the confirmation compares the email it set).
            let Some(before) = current(contract_id) else { continue };
            if !changed_customers.insert(before.customer_id) {
                continue;
            }
            let changed_at = Instant::now();
            let request = ChangeRequest { kind: ChangeKind::NewEmail, contract_id: Some(contract_id) };
            let Ok(events) = sim.state.apply_change(&request) else { continue };
            let email =
                current(contract_id).and_then(|contract| contract.email).map(|email| email.to_lowercase());
            let seq = post_events(&http, &base_url, &events).await?;
            num_changes += 1;
            num_events += events.len() as u64;
            tracker.lock().unwrap().pending.push_back(Pending { seq, changed_at, contract_id, email });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while !tracker.lock().unwrap().pending.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The last confirmations.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let checked = {
                let tracker = tracker.lock().unwrap();
                tracker.confirmed + tracker.not_there + tracker.pending.len() as u64
            };
            if checked >= num_changes || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        poller.abort();
        let queries = match queries {
            Some(handle) => Some(handle.await??),
            None => None,
        };
        anyhow::Ok((num_changes, num_events, queries))
    })?;
    let (latency, confirmed, not_there, unfinished) = {
        let tracker = tracker.lock().unwrap();
        (tracker.latency.clone(), tracker.confirmed, tracker.not_there, tracker.pending.len())
    };
    println!(
        "{num_changes} changes ({num_events} events) at {} per second: ERP change to searchable p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {confirmed} confirmed by id, {not_there} not there when committed, {unfinished} never searchable",
        args.events_per_sec,
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.95) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        latency.max() as f64 / 1000.0,
    );
    if let Some(queries) = &queries {
        println!("{}", markdown(std::slice::from_ref(queries)));
    }

    // 2. Import.
    let import_lines = args.import_lines.unwrap_or(corpus.num_indexed);
    let import = if import_lines > 0 {
        let path = args.data_dir.with_extension("import.ndjson");
        eprintln!("writing {import_lines} contracts to {} ...", path.display());
        let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        let mut bytes = 0u64;
        for mut contract in contracts(&generator).take(import_lines as usize) {
            contract.email = Some(format!("import.{}@example.org", contract.id));
            contract.source = None;
            let line = serde_json::to_string(&contract)?;
            bytes += line.len() as u64 + 1;
            writeln!(file, "{line}")?;
        }
        file.flush()?;
        drop(file);
        eprintln!("importing {:.0} MB with `contract-search import` ...", bytes as f64 / 1e6);
        let started = Instant::now();
        let output = Command::new(&args.binary)
            .arg("import")
            .arg(&path)
            .args(["--url", &base_url, "--batch-lines", &args.import_batch_lines.to_string()])
            .env("CONTRACT_SEARCH_API_KEY", API_KEY)
            .stderr(Stdio::null())
            .output()
            .context("running contract-search import")?;
        let journalled = started.elapsed();
        anyhow::ensure!(
            output.status.success(),
            "the import failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let caught_up = runtime.block_on(wait_applied(&http, &base_url, Duration::from_secs(3600)))?;
        let applied = started.elapsed();
        let _ = std::fs::remove_file(&path);
        let journalled_rate = import_lines as f64 / journalled.as_secs_f64();
        let applied_rate = import_lines as f64 / applied.as_secs_f64();
        println!(
            "import of {import_lines} contracts ({:.0} MB NDJSON): journalled in {:.1} s ({journalled_rate:.0} contracts/s), searchable after {:.1} s ({applied_rate:.0} contracts/s; {:.1} s after the command returned)",
            bytes as f64 / 1e6,
            journalled.as_secs_f64(),
            applied.as_secs_f64(),
            caught_up.as_secs_f64()
        );
        Some(json!({
            "lines": import_lines,
            "bytes": bytes,
            "journalledSecs": journalled.as_secs_f64(),
            "journalledPerSec": journalled_rate,
            "searchableSecs": applied.as_secs_f64(),
            "searchablePerSec": applied_rate,
            "output": String::from_utf8_lossy(&output.stdout).trim(),
        }))
    } else {
        None
    };
    let server_peak_rss = server.peak_rss_bytes();
    write_result(
        &args.result,
        &json!({
            "benchmark": "freshness",
            "contracts": corpus.num_indexed,
            "eventsPerSec": args.events_per_sec,
            "durationSecs": args.duration_secs,
            "commitInterval": args.commit_interval,
            "changes": num_changes,
            "events": num_events,
            "changeToSearchable": percentiles(&latency),
            "confirmedById": confirmed,
            "notThereWhenCommitted": not_there,
            "neverSearchable": unfinished,
            "queriesDuringChanges": queries,
            "import": import,
            "serverPeakRssBytes": server_peak_rss,
            "cores": std::thread::available_parallelism().map_or(0, |cores| cores.get()),
        }),
    )?;
    eprintln!("wrote {}", args.result.display());
    if not_there > 0 || unfinished > 0 {
        bail!("{not_there} changes were not there when committed, {unfinished} never became searchable");
    }
    Ok(())
}
