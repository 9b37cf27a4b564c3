//! Counters of what the simulator did, so tests can assert that faults and changes happened.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) requests: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
    pub(crate) latency: AtomicU64,
    pub(crate) error: AtomicU64,
    pub(crate) rate_limit: AtomicU64,
    pub(crate) hang: AtomicU64,
    pub(crate) truncate: AtomicU64,
    pub(crate) changes_applied: AtomicU64,
    pub(crate) events_exported: AtomicU64,
    pub(crate) events_failed: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
}

/// A snapshot of the counters, as `GET /_sim/stats` answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// Requests to the `/rest:` routes, whatever their outcome.
    pub requests: u64,
    /// Requests refused for missing or wrong credentials (all routes).
    pub unauthorized: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// Changes applied (manual and background).
    pub changes_applied: u64,
    /// Change events the export target accepted.
    pub events_exported: u64,
    /// Change events given up after retries.
    pub events_failed: u64,
    /// Change events dropped because the export queue was full.
    pub events_dropped: u64,
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// Requests delayed by `latency_ms`.
    pub latency: u64,
    /// Requests answered 500, 502 or 503.
    pub error: u64,
    /// Requests answered 429.
    pub rate_limit: u64,
    /// Requests held for `hang_secs`.
    pub hang: u64,
    /// List pages cut short or emptied by `truncate_after`.
    pub truncate: u64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> SimStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SimStats {
            requests: read(&self.requests),
            unauthorized: read(&self.unauthorized),
            faults: FaultCounts {
                latency: read(&self.latency),
                error: read(&self.error),
                rate_limit: read(&self.rate_limit),
                hang: read(&self.hang),
                truncate: read(&self.truncate),
            },
            changes_applied: read(&self.changes_applied),
            events_exported: read(&self.events_exported),
            events_failed: read(&self.events_failed),
            events_dropped: read(&self.events_dropped),
        }
    }
}
