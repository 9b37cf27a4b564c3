//! `contract-search rebuild`: one full rebuild from the configured ERP, for cron or a first
//! load. The same code runs on the built-in schedule of the long-running server.

use std::sync::Arc;

use anyhow::{Context, bail};
use contract_search_index::GenerationStore;
use contract_search_ingest::rebuild::{RebuildOptions, RebuildReport, rebuild};
use contract_search_ingest::{Connector, PowercloudConnector};

use crate::config::{CommonArgs, Settings};
use crate::progress::rebuild_progress;

/// Options of `rebuild`.
#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Publish even if the new generation shrank beyond the allowed fraction (after checking
    /// that the ERP really lost those contracts).
    #[arg(long)]
    pub allow_shrink: bool,
}

/// The configured sources.
pub fn connectors(settings: &Settings) -> anyhow::Result<Vec<Arc<dyn Connector>>> {
    let mut sources: Vec<Arc<dyn Connector>> = Vec::new();
    if let Some(config) = &settings.powercloud {
        sources.push(Arc::new(PowercloudConnector::new(config.clone()).context("the Powercloud connector")?));
    }
    Ok(sources)
}

/// Opens the store and runs one rebuild.
pub async fn run_rebuild(
    settings: &Settings,
    store: Arc<GenerationStore>,
    allow_shrink: bool,
) -> anyhow::Result<RebuildReport> {
    let sources = connectors(settings)?;
    if sources.is_empty() {
        bail!("no ERP is configured: set --powercloud-url (and hash, user, secret) or a [powercloud] table");
    }
    let (progress, bar) = rebuild_progress();
    let result = rebuild(store, sources, RebuildOptions { allow_shrink }, progress).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

/// Runs `rebuild`.
pub fn run(args: RebuildArgs) -> anyhow::Result<()> {
    let settings = args.common.resolve()?;
    let store = GenerationStore::open(&settings.data_dir, settings.store.clone())
        .with_context(|| format!("opening the data directory {}", settings.data_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(run_rebuild(&settings, Arc::new(store), args.allow_shrink))?;
    println!(
        "published generation {} with {} contracts ({} carried over, {} records skipped) in {:.1} s ({:.0} contracts/s)",
        report.generation,
        report.num_contracts,
        report.num_carried_over,
        report.num_skipped,
        report.elapsed.as_secs_f64(),
        report.num_contracts as f64 / report.elapsed.as_secs_f64().max(1e-3)
    );
    Ok(())
}
