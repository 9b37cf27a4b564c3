//! Fault injection on the Powercloud routes: latency, server errors, rate limiting, hangs,
//! cut-short list exports and list pages without `"total"`, each a runtime setting.
//!
//! Every `/rest:` request draws one number from a seeded generator; the settings split `[0, 1)`
//! into error, rate-limit and hang shares (in that order), so the shares are exact fractions and a
//! run with the same seed and request order injects the same faults. The injector sits in front
//! of authentication, as a load balancer or gateway would. Server errors come in the shapes
//! gateways produce: 500 as a JSON failure, 502 as an HTML page, 503 as plain text, so clients
//! must not assume a JSON body on 5xx.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::rng::{Rng, mix};

use super::{SimState, failure};

/// Stream id of the fault draws.
const STREAM_FAULTS: u64 = 0x00FA_0175;

/// The fault settings; all zero (the default) means a healthy ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Extra delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Fraction of requests answered 500, 502 or 503.
    pub error_rate: f64,
    /// Fraction of requests answered 429 with `Retry-After`.
    pub rate_limit_rate: f64,
    /// The `Retry-After` value of a 429, in seconds.
    pub retry_after_secs: u64,
    /// Fraction of requests that wait `hang_secs` before answering (past a client timeout).
    pub hang_rate: f64,
    /// How long a hanging request waits, in seconds.
    pub hang_secs: u64,
    /// List functions serve no record at or beyond this offset, as a cut-short export would;
    /// pages there come back short or empty (the `total` stays truthful).
    pub truncate_after: Option<u64>,
    /// List pages leave out `"total"`, as older Powercloud installations do: a client then
    /// learns where the list ends only from a short page, so together with `truncate_after` it
    /// cannot tell a cut-short export from a complete one (only a shrink guard can).
    pub omit_total: bool,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after_secs: 1,
            hang_rate: 0.0,
            hang_secs: 30,
            truncate_after: None,
            omit_total: false,
        }
    }
}

impl Faults {
    /// Checks that the rates are fractions and leave room for each other.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("hang_rate", self.hang_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if self.error_rate + self.rate_limit_rate + self.hang_rate > 1.0 + f64::EPSILON {
            return Err("error_rate + rate_limit_rate + hang_rate must not exceed 1".to_owned());
        }
        Ok(())
    }
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draw {
    Pass,
    Error(StatusCode),
    RateLimit,
    Hang,
}

/// The current settings and the seeded generator the draws come from.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    settings: Mutex<Faults>,
    rng: Mutex<Rng>,
}

impl FaultInjector {
    pub(crate) fn new(seed: u64, faults: Faults) -> FaultInjector {
        FaultInjector { settings: Mutex::new(faults), rng: Mutex::new(Rng::new(mix(seed, STREAM_FAULTS, 0))) }
    }

    pub(crate) fn get(&self) -> Faults {
        self.settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub(crate) fn set(&self, faults: Faults) {
        *self.settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = faults;
    }

    fn draw(&self, faults: &Faults) -> Draw {
        let mut rng = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = rng.unit();
        let kind = rng.below(3);
        if value < faults.error_rate {
            let status = match kind {
                0 => StatusCode::INTERNAL_SERVER_ERROR,
                1 => StatusCode::BAD_GATEWAY,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            Draw::Error(status)
        } else if value < faults.error_rate + faults.rate_limit_rate {
            Draw::RateLimit
        } else if value < faults.error_rate + faults.rate_limit_rate + faults.hang_rate {
            Draw::Hang
        } else {
            Draw::Pass
        }
    }
}

/// Middleware on the `/rest:` routes: counts the request and injects the drawn fault.
pub(crate) async fn inject(State(state): State<SimState>, request: Request, next: Next) -> Response {
    let stats = &state.inner.stats;
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let faults = state.inner.faults.get();
    let draw = state.inner.faults.draw(&faults);
    if faults.latency_ms > 0 {
        stats.latency.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    match draw {
        Draw::Pass => next.run(request).await,
        Draw::Hang => {
            stats.hang.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(hang_secs = faults.hang_secs, "injecting a hang");
            tokio::time::sleep(Duration::from_secs(faults.hang_secs)).await;
            next.run(request).await
        }
        Draw::RateLimit => {
            stats.rate_limit.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(retry_after_secs = faults.retry_after_secs, "injecting a rate limit");
            let mut response = failure(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(faults.retry_after_secs));
            response
        }
        Draw::Error(status) => {
            stats.error.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(status = status.as_u16(), "injecting a server error");
            server_error(status)
        }
    }
}

fn server_error(status: StatusCode) -> Response {
    match status {
        StatusCode::BAD_GATEWAY => (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        StatusCode::SERVICE_UNAVAILABLE => (status, "Service Temporarily Unavailable").into_response(),
        _ => failure(status, "internal_error", "internal server error"),
    }
}

/// The part of a list request that a truncated export still serves: the limit to use, or
/// `None` when the page lies wholly beyond the cut. Also counts the cut pages.
pub(crate) fn truncated_limit(state: &SimState, faults: &Faults, offset: u64, limit: usize) -> Option<usize> {
    let Some(cut) = faults.truncate_after else {
        return Some(limit);
    };
    let remaining = cut.saturating_sub(offset);
    if remaining < limit as u64 {
        state.inner.stats.truncate.fetch_add(1, Ordering::Relaxed);
    }
    match remaining {
        0 => None,
        remaining => Some(limit.min(remaining as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_fractions_of_the_draws() {
        let injector = FaultInjector::new(1, Faults::default());
        let faults = Faults { error_rate: 0.2, rate_limit_rate: 0.3, hang_rate: 0.1, ..Faults::default() };
        let draws: Vec<Draw> = (0..10_000).map(|_| injector.draw(&faults)).collect();
        let share =
            |wanted: fn(&Draw) -> bool| draws.iter().filter(|draw| wanted(draw)).count() as f64 / 10_000.0;
        assert!((share(|draw| matches!(draw, Draw::Error(_))) - 0.2).abs() < 0.02);
        assert!((share(|draw| matches!(draw, Draw::RateLimit)) - 0.3).abs() < 0.02);
        assert!((share(|draw| matches!(draw, Draw::Hang)) - 0.1).abs() < 0.02);
    }

    #[test]
    fn same_seed_same_faults() {
        let faults = Faults { error_rate: 0.5, ..Faults::default() };
        let first = FaultInjector::new(5, faults.clone());
        let second = FaultInjector::new(5, faults.clone());
        for _ in 0..100 {
            assert_eq!(first.draw(&faults), second.draw(&faults));
        }
    }

    #[test]
    fn omit_total_defaults_to_off_and_reads_from_json() {
        assert!(!Faults::default().omit_total);
        let partial: Faults = serde_json::from_str(r#"{"truncate_after": 3000}"#).unwrap();
        assert!(!partial.omit_total, "absent means the total is announced");
        let set: Faults = serde_json::from_str(r#"{"omit_total": true}"#).unwrap();
        assert_eq!(set, Faults { omit_total: true, ..Faults::default() });
        assert!(set.validate().is_ok());
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(json["omit_total"], true);
    }

    #[test]
    fn rates_are_validated() {
        assert!(Faults::default().validate().is_ok());
        assert!(Faults { error_rate: 1.5, ..Faults::default() }.validate().is_err());
        assert!(Faults { error_rate: 0.6, hang_rate: 0.6, ..Faults::default() }.validate().is_err());
    }
}
