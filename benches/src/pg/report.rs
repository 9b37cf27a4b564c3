//! The side-by-side results of `bench-peer`: one [`PeerRun`] per corpus size (written as
//! `peer-<size>.json`), and the markdown tables over every size measured so far.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::eval::EvalSummary;
use crate::load::{CallSummary, RunReport};

/// The system names used in results.
pub const CONTRACT_SEARCH: &str = "contract-search";
/// The PostgreSQL peer.
pub const POSTGRESQL: &str = "postgresql";
/// The name of the mixed run in [`SystemRun::latency`].
pub const MIX: &str = "mix";

/// One corpus size, both systems.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PeerRun {
    /// Contracts in the corpus.
    pub contracts: u64,
    /// The size as given (`100k`, `1.5m`).
    pub label: String,
    /// Generator seed of the contracts.
    pub seed: u64,
    /// Seed of the labelled queries.
    pub query_seed: u64,
    /// Concurrent connections of the closed-loop runs.
    pub clients: usize,
    /// Warm-up before each run.
    pub warmup_secs: f64,
    /// Measured time of each run.
    pub duration_secs: f64,
    /// Labelled queries of the quality eval.
    pub eval_queries: u64,
    /// Where it ran.
    pub machine: Machine,
    /// When it started (Unix seconds).
    pub started_unix_secs: u64,
    /// contract-search, then PostgreSQL.
    pub systems: Vec<SystemRun>,
}

/// The machine a run measured on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// Cores available.
    pub cores: usize,
    /// RAM.
    pub memory_bytes: u64,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |cores| cores.get()),
            memory_bytes: super::cluster::machine_memory_bytes(),
        }
    }
}

/// How far a system got.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Status {
    /// Built, measured and evaluated.
    Finished,
    /// Stopped at the time bound.
    NotFinished {
        /// The bound, in minutes.
        bound_mins: f64,
        /// What it was doing.
        phase: String,
    },
    /// Failed with an error.
    Failed {
        /// The error chain.
        error: String,
    },
}

impl Status {
    fn describe(&self) -> String {
        match self {
            Status::Finished => "finished".to_owned(),
            Status::NotFinished { bound_mins, phase } => {
                format!("not finished in {bound_mins} min ({phase})")
            }
            Status::Failed { error } => format!("failed: {}", error.replace('|', "/")),
        }
    }
}

/// Latency of one closed-loop run (one call alone, or the mix).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// The call's name (`contract_by_id`, ...) or [`MIX`].
    pub run: String,
    /// Answers measured.
    pub count: u64,
    /// Answers other than 200.
    pub errors: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Answers per second (the most this system sustains with the clients given).
    pub queries_per_sec: f64,
}

impl Latency {
    /// The figures of a run (all calls together).
    pub fn of(run: &str, report: &RunReport) -> Latency {
        Latency::from_summary(run, &report.total, report.queries_per_sec)
    }

    fn from_summary(run: &str, summary: &CallSummary, queries_per_sec: f64) -> Latency {
        Latency {
            run: run.to_owned(),
            count: summary.count,
            errors: summary.errors,
            p50_ms: summary.p50_ms,
            p95_ms: summary.p95_ms,
            p99_ms: summary.p99_ms,
            queries_per_sec,
        }
    }
}

/// Quality rates (fractions; `None` where no query of the kind ran).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Quality {
    /// Findable fields queries answered with the right customer and contract.
    pub fields_correct: Option<f64>,
    /// Findable fields queries answered with someone else.
    pub fields_wrong: Option<f64>,
    /// Absent people matched to someone.
    pub absent_false_match: Option<f64>,
    /// Ambiguous or conflicting queries answered.
    pub ambiguous_answered: Option<f64>,
    /// Free text: the right customer first.
    pub text_rank1: Option<f64>,
    /// Free text: the right customer in the first ten.
    pub text_top10: Option<f64>,
}

impl From<&EvalSummary> for Quality {
    fn from(summary: &EvalSummary) -> Quality {
        let known = |value: f64| (!value.is_nan()).then_some(value);
        Quality {
            fields_correct: known(summary.fields_correct),
            fields_wrong: known(summary.fields_wrong),
            absent_false_match: known(summary.absent_false_match),
            ambiguous_answered: known(summary.ambiguous_answered),
            text_rank1: known(summary.text_rank1),
            text_top10: known(summary.text_top10),
        }
    }
}

/// One system at one size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SystemRun {
    /// [`CONTRACT_SEARCH`] or [`POSTGRESQL`].
    pub system: String,
    /// How far it got.
    pub status: Status,
    /// Wall time of the build (index, or load with indexes and `VACUUM (ANALYZE)`).
    pub build_secs: Option<f64>,
    /// Whether the contract-search index was reused from an earlier run of the same size and
    /// seed (the build time is that run's).
    #[serde(default)]
    pub build_reused: bool,
    /// Index directory, or table with its indexes.
    pub disk_bytes: Option<u64>,
    /// Peak of the summed proportional set size (PSS) of the serving processes, sampled during
    /// the load runs and the eval.
    pub peak_memory_bytes: Option<u64>,
    /// Per call alone, then the mix.
    #[serde(default)]
    pub latency: Vec<Latency>,
    /// The eval's rates.
    pub quality: Option<Quality>,
    /// The eval per category.
    #[serde(default)]
    pub quality_categories: serde_json::Value,
    /// The build's own report (PostgreSQL: times and sizes per index).
    #[serde(default)]
    pub build_details: serde_json::Value,
    /// The full load-generator reports.
    #[serde(default)]
    pub runs: serde_json::Value,
}

impl SystemRun {
    /// A run of `system` that has not started.
    pub fn new(system: &str) -> SystemRun {
        SystemRun {
            system: system.to_owned(),
            status: Status::Failed { error: "not run".to_owned() },
            build_secs: None,
            build_reused: false,
            disk_bytes: None,
            peak_memory_bytes: None,
            latency: Vec::new(),
            quality: None,
            quality_categories: serde_json::Value::Null,
            build_details: serde_json::Value::Null,
            runs: serde_json::Value::Null,
        }
    }

    fn latency_of(&self, run: &str) -> Option<&Latency> {
        self.latency.iter().find(|latency| latency.run == run)
    }
}

impl PeerRun {
    /// The run of `system`, if any.
    pub fn system(&self, system: &str) -> Option<&SystemRun> {
        self.systems.iter().find(|run| run.system == system)
    }

    /// The p99 (ms) of `run` for `system`, when measured (a system that failed later, in its
    /// quality eval say, keeps the latency it measured; the status says what happened).
    pub fn p99(&self, system: &str, run: &str) -> Option<f64> {
        let system = self.system(system)?;
        system.latency_of(run).map(|latency| latency.p99_ms)
    }
}

/// A size as people write it: `2000`, `100k`, `1.5m`, `10M`.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim().to_ascii_lowercase();
    let (number, factor) = match text.char_indices().last() {
        Some((index, 'k')) => (&text[..index], 1e3),
        Some((index, 'm')) => (&text[..index], 1e6),
        _ => (text.as_str(), 1.0),
    };
    let value: f64 = number.parse().with_context(|| format!("`{text}` is not a size like 100k or 1.5m"))?;
    let contracts = value * factor;
    anyhow::ensure!(
        contracts >= 1.0 && contracts.fract() == 0.0 && contracts <= 1e9,
        "`{text}` is not a whole number of contracts between 1 and 1e9"
    );
    Ok(contracts as u64)
}

/// Parses a comma-separated list of sizes.
pub fn parse_sizes(text: &str) -> anyhow::Result<Vec<u64>> {
    text.split(',').filter(|part| !part.trim().is_empty()).map(parse_size).collect()
}

/// The short name of a size: `2k`, `100k`, `1.5m`, `10m`, `1234`.
pub fn size_label(contracts: u64) -> String {
    let scaled = |value: f64, unit: &str| {
        let text = format!("{value:.3}");
        format!("{}{unit}", text.trim_end_matches('0').trim_end_matches('.'))
    };
    if contracts >= 1_000_000 && contracts.is_multiple_of(1000) {
        scaled(contracts as f64 / 1e6, "m")
    } else if contracts >= 1000 && contracts.is_multiple_of(1000) {
        scaled(contracts as f64 / 1e3, "k")
    } else {
        contracts.to_string()
    }
}

/// Reads every `peer-*.json` in `dir`, smallest corpus first (later files of the same size
/// replace earlier ones; unreadable files are skipped with a warning).
pub fn read_runs(dir: &Path) -> anyhow::Result<Vec<PeerRun>> {
    let mut runs: BTreeMap<u64, PeerRun> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut paths: Vec<_> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if !(name.starts_with("peer-") && name.ends_with(".json")) {
            continue;
        }
        let parsed = std::fs::read_to_string(&path)
            .map_err(anyhow::Error::from)
            .and_then(|text| Ok(serde_json::from_str::<PeerRun>(&text)?));
        match parsed {
            Ok(run) => {
                runs.insert(run.contracts, run);
            }
            Err(error) => eprintln!("skipping {}: {error:#}", path.display()),
        }
    }
    Ok(runs.into_values().collect())
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or("–".to_owned(), |bytes| format!("{:.0} MB", bytes as f64 / 1e6))
}

fn percent(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |value| format!("{:.2}%", value * 100.0))
}

fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The markdown report over `runs` (sorted by size): build and footprint, latency per call and
/// of the mix side by side, and quality.
pub fn markdown(runs: &[PeerRun]) -> String {
    let mut out = String::new();
    let Some(first) = runs.first() else {
        return "No runs yet.\n".to_owned();
    };
    let machine = &first.machine;
    // Sizes may have been run by hand with different run lengths.
    let shortest = runs.iter().map(|run| run.duration_secs).fold(f64::INFINITY, f64::min);
    let longest = runs.iter().map(|run| run.duration_secs).fold(0.0, f64::max);
    let measured = if shortest == longest { format!("{longest}") } else { format!("{shortest}–{longest}") };
    let _ = writeln!(
        out,
        "Machine: {}, {} cores, {:.0} GiB RAM. Both servers on loopback, each in its own process, \
         driven one after the other by the same load generator: closed loop with {} connections, \
         {} s warm-up and {} s measured per run (each size's JSON has its settings); quality over \
         {} labelled queries (seed {}), one at a time.\n",
        machine.cpu,
        machine.cores,
        machine.memory_bytes as f64 / (1u64 << 30) as f64,
        first.clients,
        first.warmup_secs,
        measured,
        first.eval_queries,
        first.query_seed,
    );
    out.push_str(
        "| contracts | system | status | build | on disk | peak memory (serving) |\n|---:|---|---|---:|---:|---:|\n",
    );
    for run in runs {
        for system in &run.systems {
            let build = system.build_secs.map_or("–".to_owned(), |secs| {
                format!("{secs:.1} s{}", if system.build_reused { " (reused)" } else { "" })
            });
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                thousands(run.contracts),
                system.system,
                system.status.describe(),
                build,
                mb(system.disk_bytes),
                mb(system.peak_memory_bytes)
            );
        }
    }
    out.push_str(
        "\nLatency in ms (p50 / p95 / p99) and answers per second, each call alone, then enneo's mix \
         (40% by id, 30% free text, 30% fields):\n\n\
         | contracts | call | contract-search | PostgreSQL | p99 PostgreSQL ÷ contract-search | contract-search q/s | PostgreSQL q/s |\n\
         |---:|---|---:|---:|---:|---:|---:|\n",
    );
    let calls = ["contract_by_id", "customer_by_id", "free_text", "fields", MIX];
    for run in runs {
        let figures =
            |system: &str, call: &str| run.system(system).and_then(|system| system.latency_of(call));
        for call in calls {
            let cs = figures(CONTRACT_SEARCH, call);
            let pg = figures(POSTGRESQL, call);
            if cs.is_none() && pg.is_none() {
                continue;
            }
            let cell = |latency: Option<&Latency>| {
                latency.map_or("–".to_owned(), |latency| {
                    let errors = if latency.errors > 0 {
                        format!(" ({} errors)", latency.errors)
                    } else {
                        String::new()
                    };
                    format!("{:.2} / {:.2} / {:.2}{errors}", latency.p50_ms, latency.p95_ms, latency.p99_ms)
                })
            };
            let qps = |latency: Option<&Latency>| {
                latency.map_or("–".to_owned(), |latency| format!("{:.0}", latency.queries_per_sec))
            };
            let ratio = match (cs, pg) {
                (Some(cs), Some(pg)) if cs.p99_ms > 0.0 => format!("{:.1}×", pg.p99_ms / cs.p99_ms),
                _ => "–".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                thousands(run.contracts),
                call,
                cell(cs),
                cell(pg),
                ratio,
                qps(cs),
                qps(pg)
            );
        }
    }
    out.push_str(
        "\nQuality (the same labelled queries over HTTP, judged as `contract-search eval` judges them):\n\n\
         | contracts | system | fields correct | fields wrong | absent falsely matched | ambiguous answered | free text rank 1 | free text top 10 |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in runs {
        for system in &run.systems {
            let Some(quality) = &system.quality else { continue };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                thousands(run.contracts),
                system.system,
                percent(quality.fields_correct),
                percent(quality.fields_wrong),
                percent(quality.absent_false_match),
                percent(quality.ambiguous_answered),
                percent(quality.text_rank1),
                percent(quality.text_top10)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(
            parse_sizes("100k,1.5m, 5M,10m,2000").unwrap(),
            [100_000, 1_500_000, 5_000_000, 10_000_000, 2000]
        );
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("abc").is_err());
        assert!(parse_size("0").is_err());
        assert_eq!(size_label(2000), "2k");
        assert_eq!(size_label(100_000), "100k");
        assert_eq!(size_label(1_500_000), "1.5m");
        assert_eq!(size_label(10_000_000), "10m");
        assert_eq!(size_label(1234), "1234");
        assert_eq!(parse_size(&size_label(1_250_000)).unwrap(), 1_250_000);
    }

    fn latency(run: &str, p99_ms: f64) -> Latency {
        Latency {
            run: run.into(),
            count: 100,
            errors: 0,
            p50_ms: 1.0,
            p95_ms: 2.0,
            p99_ms,
            queries_per_sec: 500.0,
        }
    }

    fn sample() -> PeerRun {
        let mut cs = SystemRun::new(CONTRACT_SEARCH);
        cs.status = Status::Finished;
        cs.build_secs = Some(12.5);
        cs.disk_bytes = Some(35_000_000);
        cs.peak_memory_bytes = Some(120_000_000);
        cs.latency = vec![latency("free_text", 2.0), latency(MIX, 1.5)];
        cs.quality =
            Some(Quality { fields_correct: Some(0.99), text_top10: Some(1.0), ..Quality::default() });
        let mut pg = SystemRun::new(POSTGRESQL);
        pg.status = Status::NotFinished { bound_mins: 5.0, phase: "load".into() };
        pg.latency = vec![latency("free_text", 80.0)];
        PeerRun {
            contracts: 100_000,
            label: "100k".into(),
            seed: 42,
            query_seed: 7,
            clients: 8,
            warmup_secs: 5.0,
            duration_secs: 30.0,
            eval_queries: 5000,
            machine: Machine { cpu: "Test CPU".into(), cores: 2, memory_bytes: 24 << 30 },
            started_unix_secs: 0,
            systems: vec![cs, pg],
        }
    }

    #[test]
    fn the_table_shows_both_systems_and_what_did_not_finish() {
        let mut run = sample();
        let table = markdown(std::slice::from_ref(&run));
        assert!(table.contains("Test CPU, 2 cores, 24 GiB RAM"), "{table}");
        assert!(
            table.contains("| 100,000 | contract-search | finished | 12.5 s | 35 MB | 120 MB |"),
            "{table}"
        );
        assert!(
            table.contains("| 100,000 | postgresql | not finished in 5 min (load) | – | – | – |"),
            "{table}"
        );
        // Latency an unfinished system measured is shown (its status says what did not finish).
        assert!(
            table
                .contains("| 100,000 | free_text | 1.00 / 2.00 / 2.00 | 1.00 / 2.00 / 80.00 | 40.0× | 500 |"),
            "{table}"
        );
        assert!(table.contains("| 100,000 | mix | 1.00 / 2.00 / 1.50 | – | – | 500 | – |"), "{table}");
        assert!(
            table.contains("| 100,000 | contract-search | 99.00% | – | – | – | – | 100.00% |"),
            "{table}"
        );
        assert!(!table.contains("| 100,000 | postgresql | –"), "no quality row without an eval: {table}");
        run.systems[1].status = Status::Finished;
        let table = markdown(&[run.clone()]);
        assert!(
            table.contains("| 100,000 | free_text | 1.00 / 2.00 / 2.00 | 1.00 / 2.00 / 80.00 | 40.0× |"),
            "{table}"
        );
        assert_eq!(run.p99(POSTGRESQL, "free_text"), Some(80.0));
        assert_eq!(run.p99(POSTGRESQL, MIX), None);
        assert_eq!(thousands(10_000_000), "10,000,000");
    }

    #[test]
    fn runs_round_trip_through_json_files() {
        let dir = std::env::temp_dir().join(format!("peer-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = sample();
        let mut large = sample();
        large.contracts = 1_500_000;
        std::fs::write(dir.join("peer-1.5m.json"), serde_json::to_string(&large).unwrap()).unwrap();
        std::fs::write(dir.join("peer-100k.json"), serde_json::to_string(&small).unwrap()).unwrap();
        std::fs::write(dir.join("peer-broken.json"), "{").unwrap();
        std::fs::write(dir.join("other.json"), "{}").unwrap();
        let runs = read_runs(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(runs.iter().map(|run| run.contracts).collect::<Vec<_>>(), [100_000, 1_500_000]);
        assert_eq!(runs[0], small);
    }
}
