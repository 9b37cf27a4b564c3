//! The load generator: drives any server with contract-search's HTTP shape (contract-search
//! itself, or a peer behind the same routes) with a pool of prepared requests, and records the
//! latency of each call in HDR histograms.
//!
//! - **Closed loop** ([`Mode::Closed`]): `clients` connections, each sending its next request as
//!   soon as the previous answer is read. Measures the throughput the server sustains and the
//!   latency at that load.
//! - **Open loop** ([`Mode::Open`]): requests start on a fixed schedule whatever the answers do;
//!   latency counts from the *scheduled* start, so a stalled server cannot hide its queue
//!   (no coordinated omission).
//!
//! Answers are read whole. Anything but 200 counts as an error (the pools only ask for ids that
//! exist). Samples taken during the warm-up are dropped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use contract_search_sim::generate::Generator;
use contract_search_sim::queries::{QueryGenerator, QueryKind};
use contract_search_sim::rng::Rng;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Mutex;

/// The calls a benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// `GET /v1/contracts/{id}`.
    ContractById,
    /// `GET /v1/customers/{id}`.
    CustomerById,
    /// `POST /v1/search` (enneo's free-text executor).
    FreeText,
    /// `POST /v1/search/fields` (enneo's fields executor).
    Fields,
}

impl Call {
    /// Every call, in report order.
    pub const ALL: [Call; 4] = [Call::ContractById, Call::CustomerById, Call::FreeText, Call::Fields];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::ContractById => "contract_by_id",
            Call::CustomerById => "customer_by_id",
            Call::FreeText => "free_text",
            Call::Fields => "fields",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One prepared request.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Request {
    /// What it measures.
    pub call: Call,
    /// Path and query, e.g. `/v1/contracts/30000001`.
    pub path: String,
    /// JSON body for POST requests; `None` means GET.
    pub body: Option<String>,
}

/// Shares of the calls in a pool, in any unit (they are normalised).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Mix {
    /// Contract by id.
    pub contract_by_id: u32,
    /// Customer by id.
    pub customer_by_id: u32,
    /// Free text.
    pub free_text: u32,
    /// Fields.
    pub fields: u32,
}

impl Mix {
    /// enneo's traffic as the latency goals assume it: 40% by id (half contracts, half
    /// customers), 30% free text, 30% fields.
    pub const ENNEO: Mix = Mix { contract_by_id: 20, customer_by_id: 20, free_text: 30, fields: 30 };

    /// Only one call.
    pub fn only(call: Call) -> Mix {
        let mut mix = Mix { contract_by_id: 0, customer_by_id: 0, free_text: 0, fields: 0 };
        *mix.share_mut(call) = 1;
        mix
    }

    fn share_mut(&mut self, call: Call) -> &mut u32 {
        match call {
            Call::ContractById => &mut self.contract_by_id,
            Call::CustomerById => &mut self.customer_by_id,
            Call::FreeText => &mut self.free_text,
            Call::Fields => &mut self.fields,
        }
    }

    fn share(mut self, call: Call) -> u32 {
        *self.share_mut(call)
    }
}

/// A shuffled pool of `size` requests in the shares of `mix`: ids of random existing contracts
/// and customers of `generator`, and the labelled free-text and fields queries of the query
/// generator (seeded by `query_seed`), exactly as enneo would send them.
pub fn request_pool(generator: &Generator, query_seed: u64, size: usize, mix: Mix) -> Vec<Request> {
    let total: u32 = Call::ALL.iter().map(|&call| mix.share(call)).sum();
    assert!(total > 0, "a mix needs at least one call");
    let wanted = |call: Call| (size as u64 * u64::from(mix.share(call))).div_ceil(u64::from(total)) as usize;
    let mut rng = Rng::new(query_seed ^ 0x10AD);
    let mut pool = Vec::with_capacity(size + 4);
    for _ in 0..wanted(Call::ContractById) {
        let (customer, index) = generator.contract(rng.below(generator.num_contracts()));
        let id = customer.contracts[index].id;
        pool.push(Request { call: Call::ContractById, path: format!("/v1/contracts/{id}"), body: None });
    }
    for _ in 0..wanted(Call::CustomerById) {
        let customer = generator.customer(rng.below(generator.num_customers() as u64) as usize);
        pool.push(Request {
            call: Call::CustomerById,
            path: format!("/v1/customers/{}", customer.id),
            body: None,
        });
    }
    let (want_text, want_fields) = (wanted(Call::FreeText), wanted(Call::Fields));
    if want_text + want_fields > 0 {
        let queries = QueryGenerator::new(generator, query_seed);
        let (mut num_text, mut num_fields) = (0, 0);
        let mut index = 0;
        while num_text < want_text || num_fields < want_fields {
            let query = queries.query(index);
            index += 1;
            let body = query.input.to_string();
            match query.kind {
                QueryKind::FreeText if num_text < want_text => {
                    num_text += 1;
                    pool.push(Request { call: Call::FreeText, path: "/v1/search".into(), body: Some(body) });
                }
                QueryKind::Fields if num_fields < want_fields => {
                    num_fields += 1;
                    pool.push(Request {
                        call: Call::Fields,
                        path: "/v1/search/fields".into(),
                        body: Some(body),
                    });
                }
                _ => {}
            }
        }
    }
    // Fisher–Yates, deterministic for the seed.
    for position in (1..pool.len()).rev() {
        let other = rng.below(position as u64 + 1) as usize;
        pool.swap(position, other);
    }
    pool
}

/// A server to drive.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name in reports ("contract-search", "postgresql").
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` when set.
    pub api_key: Option<String>,
}

/// How load is offered.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Mode {
    /// `clients` connections, each sending as soon as its previous answer arrived.
    Closed {
        /// Concurrent connections.
        clients: usize,
    },
    /// `rate` requests per second on a fixed schedule, at most `max_in_flight` open at once
    /// (beyond that, starts are late and the lateness counts as latency).
    Open {
        /// Requests per second.
        rate: f64,
        /// Cap on open requests.
        max_in_flight: usize,
    },
}

/// One measurement run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// How load is offered.
    pub mode: Mode,
    /// Load before measuring (samples dropped).
    pub warmup: Duration,
    /// Measured time after the warm-up.
    pub duration: Duration,
}

/// Latency figures of one call (milliseconds).
#[derive(Debug, Clone, Serialize)]
pub struct CallSummary {
    /// Answers measured.
    pub count: u64,
    /// Answers other than 200, and failed connections.
    pub errors: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl CallSummary {
    fn of(histogram: &Histogram<u64>, errors: u64) -> CallSummary {
        let ms = |micros: u64| micros as f64 / 1000.0;
        CallSummary {
            count: histogram.len(),
            errors,
            mean_ms: histogram.mean() / 1000.0,
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p95_ms: ms(histogram.value_at_quantile(0.95)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The target's name.
    pub target: String,
    /// How load was offered.
    pub mode: Mode,
    /// Measured seconds (after the warm-up).
    pub measured_secs: f64,
    /// Answers per second over the measured time, all calls together.
    pub queries_per_sec: f64,
    /// All calls together.
    pub total: CallSummary,
    /// Per call (only calls that occurred).
    pub calls: BTreeMap<Call, CallSummary>,
}

/// Histograms in microseconds, one per call, plus error counts.
struct Recorder {
    histograms: Vec<Histogram<u64>>,
    errors: [u64; 4],
}

impl Recorder {
    fn new() -> Recorder {
        let histogram = || Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
        Recorder { histograms: (0..4).map(|_| histogram()).collect(), errors: [0; 4] }
    }

    fn record(&mut self, call: Call, latency: Duration, ok: bool) {
        let micros = (latency.as_micros() as u64).clamp(1, 60_000_000);
        self.histograms[call.slot()].saturating_record(micros);
        if !ok {
            self.errors[call.slot()] += 1;
        }
    }

    fn merge(&mut self, other: &Recorder) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            mine.add(theirs).expect("histograms of equal bounds merge");
        }
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
    }

    fn report(&self, target: &Target, mode: Mode, measured: Duration) -> RunReport {
        let mut total = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
        let mut calls = BTreeMap::new();
        for call in Call::ALL {
            let histogram = &self.histograms[call.slot()];
            if histogram.is_empty() {
                continue;
            }
            total.add(histogram).expect("histograms of equal bounds merge");
            calls.insert(call, CallSummary::of(histogram, self.errors[call.slot()]));
        }
        let secs = measured.as_secs_f64();
        RunReport {
            target: target.name.clone(),
            mode,
            measured_secs: secs,
            queries_per_sec: total.len() as f64 / secs.max(1e-9),
            total: CallSummary::of(&total, self.errors.iter().sum()),
            calls,
        }
    }
}

/// An HTTP client for `connections` keep-alive connections to one host.
pub fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections.max(1))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")
}

/// Sends one request and reads the answer whole; true when it was a 200.
async fn send(client: &reqwest::Client, target: &Target, request: &Request) -> bool {
    let url = format!("{}{}", target.base_url, request.path);
    let mut builder = match &request.body {
        Some(body) => client.post(url).header("content-type", "application/json").body(body.clone()),
        None => client.get(url),
    };
    if let Some(key) = &target.api_key {
        builder = builder.bearer_auth(key);
    }
    match builder.send().await {
        Ok(response) => {
            let ok = response.status() == reqwest::StatusCode::OK;
            response.bytes().await.is_ok() && ok
        }
        Err(_) => false,
    }
}

/// Drives `target` with the requests of `pool` (cycled in order) as `options` say.
pub async fn run(target: &Target, pool: Arc<Vec<Request>>, options: RunOptions) -> anyhow::Result<RunReport> {
    anyhow::ensure!(!pool.is_empty(), "the request pool is empty");
    let started = Instant::now();
    let measure_from = started + options.warmup;
    let deadline = measure_from + options.duration;
    let recorder = match options.mode {
        Mode::Closed { clients } => closed_loop(target, pool, clients.max(1), measure_from, deadline).await?,
        Mode::Open { rate, max_in_flight } => {
            anyhow::ensure!(rate > 0.0, "the open-loop rate must be positive");
            open_loop(target, pool, rate, max_in_flight.max(1), started, measure_from, deadline).await?
        }
    };
    Ok(recorder.report(target, options.mode, options.duration))
}

async fn closed_loop(
    target: &Target,
    pool: Arc<Vec<Request>>,
    clients: usize,
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<Recorder> {
    let http = client(clients)?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, target, pool, next) = (http.clone(), target.clone(), pool.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut recorder = Recorder::new();
            loop {
                let request = &pool[next.fetch_add(1, Ordering::Relaxed) % pool.len()];
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let ok = send(&http, &target, request).await;
                let done = Instant::now();
                if sent >= measure_from && done <= deadline {
                    recorder.record(request.call, done - sent, ok);
                }
            }
            recorder
        }));
    }
    let mut merged = Recorder::new();
    for task in tasks {
        merged.merge(&task.await.context("a load client panicked")?);
    }
    Ok(merged)
}

async fn open_loop(
    target: &Target,
    pool: Arc<Vec<Request>>,
    rate: f64,
    max_in_flight: usize,
    started: Instant,
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<Recorder> {
    let http = client(max_in_flight.min(64))?;
    let recorder = Arc::new(Mutex::new(Recorder::new()));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut tasks = tokio::task::JoinSet::new();
    for number in 0u64.. {
        let scheduled = started + interval.mul_f64(number as f64);
        if scheduled >= deadline {
            break;
        }
        tokio::time::sleep_until(scheduled.into()).await;
        let permit = in_flight.clone().acquire_owned().await.context("the in-flight limit closed")?;
        let request = pool[number as usize % pool.len()].clone();
        let (http, target, recorder) = (http.clone(), target.clone(), recorder.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let ok = send(&http, &target, &request).await;
            let done = Instant::now();
            if scheduled >= measure_from && done <= deadline + Duration::from_secs(30) {
                recorder.lock().await.record(request.call, done - scheduled, ok);
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let recorder =
        Arc::try_unwrap(recorder).map_err(|_| anyhow::anyhow!("a request task outlived the run"))?;
    Ok(recorder.into_inner())
}

/// A markdown table of runs: one row per target and call.
pub fn markdown(reports: &[RunReport]) -> String {
    let mut text = String::from(
        "| target | call | answers | errors | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | q/s |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for report in reports {
        let mut row = |name: &str, summary: &CallSummary, qps: String| {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {} |\n",
                report.target,
                name,
                summary.count,
                summary.errors,
                summary.p50_ms,
                summary.p95_ms,
                summary.p99_ms,
                summary.p999_ms,
                summary.max_ms,
                qps
            ));
        };
        for (call, summary) in &report.calls {
            row(call.as_str(), summary, String::new());
        }
        row("all", &report.total, format!("{:.0}", report.queries_per_sec));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_follow_the_mix() {
        let generator = Generator::new(42, 2000);
        let pool = request_pool(&generator, 7, 1000, Mix::ENNEO);
        let count = |call| pool.iter().filter(|request| request.call == call).count();
        assert_eq!(
            [
                count(Call::ContractById),
                count(Call::CustomerById),
                count(Call::FreeText),
                count(Call::Fields)
            ],
            [200, 200, 300, 300]
        );
        assert!(
            pool.iter().filter(|request| request.call == Call::Fields).all(|request| request.body.is_some())
        );
        assert!(pool.iter().take(10).any(|request| request.call != pool[0].call), "shuffled");
        let only = request_pool(&generator, 7, 50, Mix::only(Call::FreeText));
        assert!(only.len() == 50 && only.iter().all(|request| request.call == Call::FreeText));
    }

    #[test]
    fn percentiles_come_from_the_samples() {
        let mut recorder = Recorder::new();
        for millis in 1..=100 {
            recorder.record(Call::FreeText, Duration::from_millis(millis), millis != 100);
        }
        let target = Target { name: "t".into(), base_url: String::new(), api_key: None };
        let report = recorder.report(&target, Mode::Closed { clients: 1 }, Duration::from_secs(10));
        let summary = &report.calls[&Call::FreeText];
        assert_eq!((summary.count, summary.errors), (100, 1));
        assert!((summary.p50_ms - 50.0).abs() < 0.1, "{}", summary.p50_ms);
        assert!((summary.p99_ms - 99.0).abs() < 0.1, "{}", summary.p99_ms);
        assert!((report.queries_per_sec - 10.0).abs() < 1e-9);
        assert!(markdown(&[report]).contains("| t | free_text | 100 | 1 |"));
    }
}
