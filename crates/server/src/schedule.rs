//! When full rebuilds run: the built-in schedule (a cron expression in an IANA time zone,
//! nightly at 02:00 Europe/Berlin by default), and the single-flight [`RebuildRunner`] that the
//! schedule, `POST /v1/admin/rebuild` and the first start of `serve` share.
//!
//! At most one rebuild runs at a time: the runner keeps an in-process flag (shown by
//! `GET /v1/admin/status`), and the store's build lock refuses a second build across processes
//! (a `contract-search rebuild` from cron on the same data directory).
//!
//! Cron times are wall-clock times of the configured zone. On the spring DST change a time that
//! does not exist (02:30 on the last Sunday of March in Berlin) fires at the first instant after
//! the gap (03:00); on the autumn change a time that exists twice fires once, at the first.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use contract_search_ingest::rebuild::RebuildReport;
use croner::Cron;
use serde::Serialize;
use tracing::{error, info, warn};

/// The default schedule: nightly at 02:00.
pub const DEFAULT_SCHEDULE: &str = "0 2 * * *";
/// The default time zone of the schedule.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Berlin";
/// The longest single sleep of the schedule loop: it re-reads the wall clock at least this
/// often, so a suspended machine or a clock step does not delay a rebuild for long.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// A cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    pattern: String,
    time_zone: Tz,
}

impl Schedule {
    /// Parses a five-field cron expression (minute hour day-of-month month day-of-week) and an
    /// IANA zone name; `off` (or an empty expression) means no schedule.
    pub fn parse(pattern: &str, time_zone: &str) -> anyhow::Result<Option<Schedule>> {
        let pattern = pattern.trim();
        let time_zone = Tz::from_str(time_zone.trim()).map_err(|_| {
            anyhow!("unknown time zone {time_zone:?}: use an IANA name such as Europe/Berlin")
        })?;
        if pattern.is_empty() || pattern.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let cron = Cron::from_str(pattern).with_context(|| {
            format!("the rebuild schedule {pattern:?} is not a cron expression (or `off`)")
        })?;
        Ok(Some(Schedule { cron, pattern: pattern.to_owned(), time_zone }))
    }

    /// The cron expression as configured.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The time zone.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The first fire time strictly after `after`, in the schedule's zone.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(&after.with_timezone(&self.time_zone), false).ok()
    }
}

/// A boxed future, as the rebuild job returns it.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// One full rebuild (`allow_shrink` as argument): in `serve`, `commands::rebuild::run_rebuild`.
pub type RebuildJob = Arc<dyn Fn(bool) -> BoxFuture<anyhow::Result<RebuildReport>> + Send + Sync>;

/// Who started a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The first start of `serve` on a data directory without a generation.
    Startup,
    /// The built-in schedule.
    Schedule,
    /// `POST /v1/admin/rebuild`.
    Admin,
}

/// The outcome of the last finished rebuild.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRebuild {
    /// Who started it.
    pub trigger: Trigger,
    /// Whether it published a generation.
    pub ok: bool,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it ended (RFC 3339, UTC).
    pub finished_at: String,
    /// Wall time.
    pub elapsed_ms: u64,
    /// The published generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// Contracts in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_contracts: Option<u64>,
    /// Records the ERP sent that could not be mapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_skipped: Option<u64>,
    /// Why it failed (for operators: names stages and counts, no contract data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a rebuild was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// No ERP is configured.
    NotConfigured,
    /// One is running.
    AlreadyRunning,
}

/// Starts rebuilds one at a time and remembers how the last one went.
pub struct RebuildRunner {
    job: Option<RebuildJob>,
    schedule: Option<Schedule>,
    running: AtomicBool,
    last: Mutex<Option<LastRebuild>>,
    num_succeeded: AtomicU64,
    num_failed: AtomicU64,
}

/// Clears the running flag when a rebuild task ends, also when it is aborted or panics.
struct RunningGuard(Arc<RebuildRunner>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Whether a rebuild failed because another build holds the data directory's build lock.
fn is_build_running(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(cause.downcast_ref(), Some(contract_search_index::Error::BuildRunning))
            || matches!(
                cause.downcast_ref(),
                Some(contract_search_ingest::Error::Index(contract_search_index::Error::BuildRunning))
            )
    })
}

impl RebuildRunner {
    /// A runner for `job` (`None`: no ERP configured, nothing to rebuild from), shown with its
    /// `schedule`.
    pub fn new(job: Option<RebuildJob>, schedule: Option<Schedule>) -> RebuildRunner {
        RebuildRunner {
            job,
            schedule,
            running: AtomicBool::new(false),
            last: Mutex::new(None),
            num_succeeded: AtomicU64::new(0),
            num_failed: AtomicU64::new(0),
        }
    }

    /// Whether an ERP is configured.
    pub fn is_configured(&self) -> bool {
        self.job.is_some()
    }

    /// Whether a rebuild runs in this process now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The schedule, if any.
    pub fn schedule(&self) -> Option<&Schedule> {
        self.schedule.as_ref()
    }

    /// The last finished rebuild.
    pub fn last(&self) -> Option<LastRebuild> {
        self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Finished rebuilds since the start: (published, failed).
    pub fn counts(&self) -> (u64, u64) {
        (self.num_succeeded.load(Ordering::Relaxed), self.num_failed.load(Ordering::Relaxed))
    }

    /// Starts a rebuild in the background unless one is running.
    pub fn try_start(
        self: &Arc<Self>,
        trigger: Trigger,
        allow_shrink: bool,
    ) -> Result<tokio::task::JoinHandle<()>, StartError> {
        let job = self.job.clone().ok_or(StartError::NotConfigured)?;
        if self.running.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return Err(StartError::AlreadyRunning);
        }
        let guard = RunningGuard(self.clone());
        info!(?trigger, allow_shrink, "rebuild starting");
        Ok(tokio::spawn(async move {
            let started_at = Utc::now();
            let started = Instant::now();
            let result = job(allow_shrink).await;
            let runner = &guard.0;
            let mut last = LastRebuild {
                trigger,
                ok: result.is_ok(),
                started_at: rfc3339(started_at),
                finished_at: rfc3339(Utc::now()),
                elapsed_ms: started.elapsed().as_millis() as u64,
                generation: None,
                num_contracts: None,
                num_skipped: None,
                error: None,
            };
            match result {
                Ok(report) => {
                    runner.num_succeeded.fetch_add(1, Ordering::Relaxed);
                    last.generation = Some(report.generation);
                    last.num_contracts = Some(report.num_contracts);
                    last.num_skipped = Some(report.num_skipped);
                }
                Err(failure) => {
                    runner.num_failed.fetch_add(1, Ordering::Relaxed);
                    if is_build_running(&failure) {
                        warn!(
                            ?trigger,
                            "rebuild not started: another process is rebuilding this data directory"
                        );
                    } else {
                        error!(
                            ?trigger,
                            error = format!("{failure:#}"),
                            "rebuild failed; the served generation stays"
                        );
                    }
                    last.error = Some(format!("{failure:#}"));
                }
            }
            *runner.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(last);
            drop(guard);
        }))
    }
}

/// Runs the schedule until the task is dropped: sleeps until each fire time, then starts a
/// rebuild (skipped, with a log line, while one is running).
pub async fn run_schedule(runner: Arc<RebuildRunner>) {
    let Some(schedule) = runner.schedule().cloned() else {
        return;
    };
    if !runner.is_configured() {
        info!("no ERP is configured: the rebuild schedule stays idle");
        return;
    }
    loop {
        let Some(next) = schedule.next_after(Utc::now()) else {
            warn!(schedule = schedule.pattern(), "the rebuild schedule has no next fire time; it stops");
            return;
        };
        info!(next_rebuild = %next.to_rfc3339(), "next scheduled rebuild");
        loop {
            let remaining = (next.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if remaining.is_zero() {
                break;
            }
            tokio::time::sleep(remaining.min(MAX_SLEEP)).await;
        }
        match runner.try_start(Trigger::Schedule, false) {
            Ok(_) => {}
            Err(StartError::AlreadyRunning) => info!("scheduled rebuild skipped: one is running"),
            Err(StartError::NotConfigured) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn next(pattern: &str, zone: &str, after: &str) -> String {
        let schedule = Schedule::parse(pattern, zone).unwrap().unwrap();
        schedule.next_after(utc(after)).unwrap().to_rfc3339()
    }

    #[test]
    fn nightly_at_two_in_berlin() {
        // Winter (CET, +01:00): 02:00 local is 01:00 UTC.
        assert_eq!(
            next(DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, "2026-01-15T12:00:00Z"),
            "2026-01-16T02:00:00+01:00"
        );
        // Summer (CEST, +02:00), and strictly after: at 02:00 itself the next is tomorrow's.
        assert_eq!(
            next(DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, "2026-07-01T00:00:00Z"),
            "2026-07-02T02:00:00+02:00"
        );
        assert_eq!(
            next(DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, "2026-06-30T23:59:00Z"),
            "2026-07-01T02:00:00+02:00"
        );
    }

    #[test]
    fn spring_forward_runs_after_the_gap() {
        // 29 March 2026: Berlin jumps from 02:00 CET to 03:00 CEST; 02:00 and 02:30 do not exist.
        assert_eq!(
            next(DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, "2026-03-28T12:00:00Z"),
            "2026-03-29T03:00:00+02:00"
        );
        assert_eq!(
            next("30 2 * * *", DEFAULT_TIME_ZONE, "2026-03-28T12:00:00Z"),
            "2026-03-29T03:00:00+02:00"
        );
        // The day after is back to normal.
        assert_eq!(
            next(DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, "2026-03-29T12:00:00Z"),
            "2026-03-30T02:00:00+02:00"
        );
    }

    #[test]
    fn fall_back_runs_once() {
        // 25 October 2026: Berlin goes from 03:00 CEST back to 02:00 CET; 02:30 exists twice.
        let schedule = Schedule::parse("30 2 * * *", DEFAULT_TIME_ZONE).unwrap().unwrap();
        let first = schedule.next_after(utc("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(first.to_rfc3339(), "2026-10-25T02:30:00+02:00");
        let second = schedule.next_after(first.with_timezone(&Utc)).unwrap();
        assert_eq!(second.to_rfc3339(), "2026-10-26T02:30:00+01:00");
    }

    #[test]
    fn zones_and_off() {
        assert_eq!(
            next("15 4 * * 1", "America/New_York", "2026-01-15T12:00:00Z"),
            "2026-01-19T04:15:00-05:00"
        );
        assert_eq!(next("0 */6 * * *", "UTC", "2026-01-15T12:00:00Z"), "2026-01-15T18:00:00+00:00");
        assert!(Schedule::parse("off", DEFAULT_TIME_ZONE).unwrap().is_none());
        assert!(Schedule::parse("OFF", DEFAULT_TIME_ZONE).unwrap().is_none());
        let bad_zone = format!("{:#}", Schedule::parse(DEFAULT_SCHEDULE, "Europe/Bxl").unwrap_err());
        assert!(bad_zone.contains("Europe/Bxl"), "{bad_zone}");
        let bad_cron = format!("{:#}", Schedule::parse("0 25 * * *", DEFAULT_TIME_ZONE).unwrap_err());
        assert!(bad_cron.contains("0 25 * * *"), "{bad_cron}");
        let schedule = Schedule::parse(" 0 2 * * * ", "Europe/Berlin").unwrap().unwrap();
        assert_eq!((schedule.pattern(), schedule.time_zone()), ("0 2 * * *", chrono_tz::Europe::Berlin));
    }

    fn report(generation: &str) -> RebuildReport {
        RebuildReport {
            generation: generation.to_owned(),
            num_contracts: 3,
            num_carried_over: 0,
            num_skipped: 1,
            elapsed: Duration::from_millis(5),
        }
    }

    #[tokio::test]
    async fn one_rebuild_at_a_time() {
        let (release, released) = tokio::sync::watch::channel(false);
        let job: RebuildJob = Arc::new(move |_allow_shrink| {
            let mut released = released.clone();
            Box::pin(async move {
                released.wait_for(|go| *go).await.unwrap();
                Ok(report("g000002"))
            })
        });
        let runner = Arc::new(RebuildRunner::new(Some(job), None));
        let task = runner.try_start(Trigger::Admin, false).unwrap();
        assert!(runner.is_running());
        assert_eq!(runner.try_start(Trigger::Schedule, false).unwrap_err(), StartError::AlreadyRunning);
        release.send(true).unwrap();
        task.await.unwrap();
        assert!(!runner.is_running());
        let last = runner.last().unwrap();
        assert!(last.ok);
        assert_eq!(last.trigger, Trigger::Admin);
        assert_eq!(last.generation.as_deref(), Some("g000002"));
        assert_eq!(runner.counts(), (1, 0));
        // Free again.
        runner.try_start(Trigger::Admin, false).unwrap().await.unwrap();
        assert_eq!(runner.counts(), (2, 0));
    }

    #[tokio::test]
    async fn failures_are_recorded_and_the_flag_cleared() {
        let job: RebuildJob = Arc::new(|_| {
            Box::pin(async { Err(anyhow::Error::from(contract_search_index::Error::BuildRunning)) })
        });
        let runner = Arc::new(RebuildRunner::new(Some(job), None));
        runner.try_start(Trigger::Schedule, false).unwrap().await.unwrap();
        let last = runner.last().unwrap();
        assert!(!last.ok);
        assert!(last.error.unwrap().contains("already running"));
        assert!(!runner.is_running());
        assert_eq!(runner.counts(), (0, 1));
        let unconfigured = Arc::new(RebuildRunner::new(None, None));
        assert_eq!(unconfigured.try_start(Trigger::Admin, false).unwrap_err(), StartError::NotConfigured);
    }
}
