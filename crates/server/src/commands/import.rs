//! `contract-search import`: pushes an NDJSON file of contracts to a running server's
//! `POST /v1/import`, in batches of lines, so that a broken connection costs one batch and the
//! import can be resumed where it stopped (`--skip-lines`).
//!
//! Each line is one contract in enneo's format, or `{"id": "…", "deleted": true}` to delete one.
//! Lines the server rejects are listed with their line numbers in the file; the good lines are
//! applied. The exit code is non-zero if any line was rejected or a batch failed.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Options of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// NDJSON file of contracts (`-` reads standard input).
    pub file: PathBuf,
    /// Base URL of the server.
    #[arg(long, env = "CONTRACT_SEARCH_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API key with the `import` scope (not needed if the server runs without auth).
    #[arg(long, env = "CONTRACT_SEARCH_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Lines per request.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_lines: u64,
    /// Skips this many lines first (to resume an interrupted import: the error says where).
    #[arg(long, default_value_t = 0)]
    pub skip_lines: u64,
    /// Waits until the last batch is searchable before exiting.
    #[arg(long)]
    pub wait: bool,
}

/// What the server answers for one batch (see `http::updates::ImportReport`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchReport {
    accepted: u64,
    deleted: u64,
    rejected: u64,
    errors: Vec<BatchLineError>,
    applied: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct BatchLineError {
    line: u64,
    reason: String,
}

/// Totals of an import.
#[derive(Debug, Default)]
struct Totals {
    accepted: u64,
    deleted: u64,
    rejected: u64,
    listed_errors: usize,
}

/// Most rejected lines printed.
const MAX_PRINTED_ERRORS: usize = 50;

/// Runs `import`.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?)
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(import(args, BufReader::with_capacity(1 << 20, input)))
}

async fn import(args: ImportArgs, mut input: impl BufRead) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("creating the HTTP client")?;
    let endpoint = format!("{}/v1/import", args.url.trim_end_matches('/'));
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut line_number: u64 = 0;
    let mut skipped = Vec::new();
    while line_number < args.skip_lines {
        skipped.clear();
        if input.read_until(b'\n', &mut skipped)? == 0 {
            bail!("the file has only {line_number} lines; nothing to import after line {}", args.skip_lines);
        }
        line_number += 1;
    }
    // Batches are read one ahead, so that the last one is known and only it waits (a wait per
    // batch would slow the import down).
    let mut batch = read_batch(&mut input, args.batch_lines)?;
    while batch.num_lines > 0 {
        let next = read_batch(&mut input, args.batch_lines)?;
        let first = line_number + 1;
        let wait = args.wait && next.num_lines == 0;
        let url = if wait { format!("{endpoint}?wait=true") } else { endpoint.clone() };
        let report = send(&client, &url, args.api_key.as_deref(), batch.bytes).await.with_context(|| {
            format!(
                "importing lines {first}–{}; the lines before were taken; resume with --skip-lines {}",
                first + batch.num_lines - 1,
                first - 1
            )
        })?;
        line_number += batch.num_lines;
        totals.accepted += report.accepted;
        totals.deleted += report.deleted;
        totals.rejected += report.rejected;
        for error in report.errors {
            if totals.listed_errors < MAX_PRINTED_ERRORS {
                eprintln!("line {}: {}", first - 1 + error.line, error.reason);
                totals.listed_errors += 1;
            }
        }
        eprintln!(
            "{} lines sent, {} accepted ({:.0} lines/s)",
            line_number - args.skip_lines,
            totals.accepted,
            (line_number - args.skip_lines) as f64 / started.elapsed().as_secs_f64()
        );
        if report.applied == Some(false) {
            eprintln!("the server had not applied the last batch within its wait limit (it will)");
        }
        batch = next;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} accepted ({} deletes), {} rejected, in {secs:.1} s ({:.0} contracts/s)",
        totals.accepted,
        totals.deleted,
        totals.rejected,
        totals.accepted as f64 / secs.max(1e-9)
    );
    if totals.rejected > 0 {
        bail!("{} lines were rejected (the first ones are listed above)", totals.rejected);
    }
    Ok(())
}

/// Lines of one request.
struct Batch {
    bytes: Vec<u8>,
    num_lines: u64,
}

/// Reads up to `max_lines` lines (each ends in a newline in the batch).
fn read_batch(input: &mut impl BufRead, max_lines: u64) -> std::io::Result<Batch> {
    let mut batch = Batch { bytes: Vec::new(), num_lines: 0 };
    while batch.num_lines < max_lines {
        if input.read_until(b'\n', &mut batch.bytes)? == 0 {
            break;
        }
        if batch.bytes.last() != Some(&b'\n') {
            batch.bytes.push(b'\n');
        }
        batch.num_lines += 1;
    }
    Ok(batch)
}

async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    api_key: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<BatchReport> {
    let mut request =
        client.post(endpoint).header(reqwest::header::CONTENT_TYPE, "application/x-ndjson").body(body);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.with_context(|| format!("sending to {endpoint}"))?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("the server answered {status}: {}", text.trim());
    }
    serde_json::from_str(&text).with_context(|| format!("unexpected answer: {}", text.trim()))
}
