//! Request counts and latencies per route template, the access log, and the Prometheus text
//! exposition of both (hand-written: a few counters and one histogram do not need a library).
//!
//! Requests are labelled with the route *template* (`/v1/contracts/{contractId}`), never the
//! path or the query string: those carry ids and search text, which are personal data. The
//! access log lines (target `access`, so `RUST_LOG=info,access=warn` silences them) carry the
//! same: method, route template, status, latency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Non-cumulative counts per bucket; the last one is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum_secs: f64,
    count: u64,
}

/// The request metrics of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Keyed by (method, route template).
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    /// Changes journalled, by origin (`webhook`, `import`).
    changes: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts changes accepted into the journal.
    pub fn count_changes(&self, origin: &'static str, count: u64) {
        let mut changes = self.changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *changes.entry(origin).or_default() += count;
    }

    /// Changes accepted so far, by origin.
    pub fn changes(&self) -> BTreeMap<&'static str, u64> {
        self.changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Counts one answered request.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed_secs: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stats = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        let bucket = BUCKETS.iter().position(|&bound| elapsed_secs <= bound).unwrap_or(BUCKETS.len());
        stats.buckets[bucket] += 1;
        stats.sum_secs += elapsed_secs;
        stats.count += 1;
    }

    /// The request metrics in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        out.push_str("# HELP contract_search_http_requests_total HTTP requests answered, by route template and status.\n");
        out.push_str("# TYPE contract_search_http_requests_total counter\n");
        for ((method, route), stats) in routes.iter() {
            for (status, count) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "contract_search_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP contract_search_http_request_duration_seconds Time from request to response head, by route template.\n");
        out.push_str("# TYPE contract_search_http_request_duration_seconds histogram\n");
        for ((method, route), stats) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "contract_search_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "contract_search_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "contract_search_http_request_duration_seconds_sum{{{labels}}} {}",
                stats.sum_secs
            );
            let _ = writeln!(
                out,
                "contract_search_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
    }
}

/// A label value in Prometheus text format.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: times the request, counts it under its route template and writes the access log.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().record(&method, &route, status, elapsed.as_secs_f64());
    tracing::info!(
        target: "access",
        method,
        route,
        status,
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_labelled_by_template() {
        let metrics = Metrics::default();
        metrics.record("GET", "/v1/contracts/{contractId}", 200, 0.0007);
        metrics.record("GET", "/v1/contracts/{contractId}", 404, 0.02);
        metrics.record("GET", "/v1/contracts/{contractId}", 200, 30.0);
        let mut text = String::new();
        metrics.render(&mut text);
        let route = r#"method="GET",route="/v1/contracts/{contractId}""#;
        for line in [
            format!("contract_search_http_requests_total{{{route},status=\"200\"}} 2"),
            format!("contract_search_http_requests_total{{{route},status=\"404\"}} 1"),
            format!("contract_search_http_request_duration_seconds_bucket{{{route},le=\"0.0005\"}} 0"),
            format!("contract_search_http_request_duration_seconds_bucket{{{route},le=\"0.001\"}} 1"),
            format!("contract_search_http_request_duration_seconds_bucket{{{route},le=\"0.025\"}} 2"),
            format!("contract_search_http_request_duration_seconds_bucket{{{route},le=\"10\"}} 2"),
            format!("contract_search_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}} 3"),
            format!("contract_search_http_request_duration_seconds_count{{{route}}} 3"),
        ] {
            assert!(text.lines().any(|candidate| candidate == line), "missing {line} in\n{text}");
        }
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
