//! Routes for operators and orchestration: rebuild, status, health, readiness, metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::ApiQuery;
use crate::schedule::{LastRebuild, StartError, Trigger};

/// Query parameters of `POST /v1/admin/rebuild`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RebuildParams {
    /// Publish even if the result shrank beyond the allowed fraction.
    #[serde(default)]
    allow_shrink: bool,
}

/// `POST /v1/admin/rebuild`: starts a full rebuild in the background (202).
pub async fn rebuild(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<RebuildParams>,
) -> Result<impl IntoResponse, ApiError> {
    match state.rebuilds().try_start(Trigger::Admin, params.allow_shrink) {
        Ok(_) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "status": "started", "allowShrink": params.allow_shrink })),
        )),
        Err(StartError::AlreadyRunning) => Err(ApiError::RebuildRunning),
        Err(StartError::NotConfigured) => Err(ApiError::NoErpConfigured),
    }
}

/// The served generation in the status answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationStatus {
    /// Directory name, e.g. `g000003`.
    id: String,
    /// Contracts it holds now (live updates included).
    num_contracts: u64,
    /// Contracts per source when it was built.
    sources: BTreeMap<String, u64>,
    /// When its build finished, Unix seconds.
    created_at: u64,
    /// Wall time of its build.
    build_secs: f64,
}

/// The schedule in the status answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleStatus {
    cron: String,
    time_zone: String,
    next_run_at: Option<String>,
}

/// Rebuilds in the status answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RebuildStatus {
    erp_configured: bool,
    running: bool,
    schedule: Option<ScheduleStatus>,
    last: Option<LastRebuild>,
    num_published: u64,
    num_failed: u64,
}

/// `GET /v1/admin/status`.
pub async fn status(State(state): State<AppState>) -> Json<Value> {
    let generation = state.store().current().map(|generation| {
        let meta = generation.meta();
        GenerationStatus {
            id: meta.id.clone(),
            num_contracts: generation.num_contracts(),
            sources: meta.sources.clone(),
            created_at: meta.created_at,
            build_secs: meta.build_secs,
        }
    });
    let runner = state.rebuilds();
    let (num_published, num_failed) = runner.counts();
    let schedule = runner.schedule().map(|schedule| ScheduleStatus {
        cron: schedule.pattern().to_owned(),
        time_zone: schedule.time_zone().name().to_owned(),
        next_run_at: runner
            .is_configured()
            .then(|| schedule.next_after(Utc::now()))
            .flatten()
            .map(|next| next.to_rfc3339()),
    });
    let rebuild = RebuildStatus {
        erp_configured: runner.is_configured(),
        running: runner.is_running(),
        schedule,
        last: runner.last(),
        num_published,
        num_failed,
    };
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSecs": state.inner.started.elapsed().as_secs(),
        "generation": generation,
        "rebuild": rebuild,
        "updates": state.updater_status().map(|status| json!({
            "generation": status.generation,
            "appliedSeq": status.applied_seq,
            "journalSeq": status.journal_seq,
            "lag": status.journal_seq.saturating_sub(status.applied_seq),
            "numApplied": status.num_applied,
            "numCommits": status.num_commits,
            "lastCommitAtMs": status.last_commit_at_ms,
            "retries": status.retries,
            "lastError": status.last_error,
            "accepted": state.metrics().changes(),
        })),
    }))
}

/// `GET /healthz`: the process runs and answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: ready once a generation is loaded.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let generation = state.store().current().ok_or(ApiError::NotReady)?;
    Ok(Json(json!({ "status": "ready", "generation": generation.id() })))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    state.metrics().render(&mut out);
    let generation = state.store().current();
    let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: u64| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
    };
    gauge(
        &mut out,
        "contract_search_generation_loaded",
        "1 while an index generation is served.",
        "gauge",
        u64::from(generation.is_some()),
    );
    gauge(
        &mut out,
        "contract_search_generation_contracts",
        "Contracts in the served generation.",
        "gauge",
        generation.map_or(0, |generation| generation.num_contracts()),
    );
    if let Some(status) = state.updater_status() {
        gauge(
            &mut out,
            "contract_search_journal_lag",
            "Journalled changes not yet searchable.",
            "gauge",
            status.journal_seq.saturating_sub(status.applied_seq),
        );
        gauge(
            &mut out,
            "contract_search_changes_applied_total",
            "Changes applied to the served generation since the start.",
            "counter",
            status.num_applied,
        );
        gauge(
            &mut out,
            "contract_search_refetch_retries",
            "Changes whose ERP refetch failed and waits for a retry.",
            "gauge",
            status.retries.len() as u64,
        );
        out.push_str(
            "# HELP contract_search_changes_accepted_total Changes journalled since the start, by origin.\n",
        );
        out.push_str("# TYPE contract_search_changes_accepted_total counter\n");
        for (origin, count) in state.metrics().changes() {
            let _ = writeln!(out, "contract_search_changes_accepted_total{{origin=\"{origin}\"}} {count}");
        }
    }
    let runner = state.rebuilds();
    gauge(
        &mut out,
        "contract_search_rebuild_running",
        "1 while a rebuild runs in this process.",
        "gauge",
        u64::from(runner.is_running()),
    );
    let (num_published, num_failed) = runner.counts();
    out.push_str("# HELP contract_search_rebuilds_total Finished rebuilds since the start, by result.\n");
    out.push_str("# TYPE contract_search_rebuilds_total counter\n");
    let _ = writeln!(out, "contract_search_rebuilds_total{{result=\"published\"}} {num_published}");
    let _ = writeln!(out, "contract_search_rebuilds_total{{result=\"failed\"}} {num_failed}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}
