//! The full rebuild: every contract of every source into a new generation, published only when
//! complete and valid.
//!
//! ```text
//! connector pages (async, bounded concurrency, retries)
//!   → bounded channel of pages (backpressure: memory stays flat at any list size)
//!   → indexing thread: documents built in parallel (rayon) → tantivy writer (memory budget)
//!   → commit → merge to one segment → validate (shrink guard, sample look-ups) → publish
//! ```
//!
//! Records of sources that are not being rebuilt (contracts pushed through the import API) are
//! carried over from the served generation, so a nightly Powercloud rebuild never drops them.
//! Until the switch the old generation serves, whatever happens to the rebuild.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use contract_search_index::generation::{BuiltGeneration, GenerationBuilder};
use contract_search_index::{Generation, GenerationStore, contract_document};
use contract_search_model::Contract;
use futures::StreamExt;
use rayon::prelude::*;
use tracing::{info, warn};

use crate::paging::contract_pages;
use crate::{Connector, Error, Result};

/// Pages buffered between fetching and indexing.
const CHANNEL_PAGES: usize = 8;

/// Settings of one rebuild.
#[derive(Debug, Clone, Default)]
pub struct RebuildOptions {
    /// Publish even if the result shrank beyond the configured fraction (operator override).
    pub allow_shrink: bool,
}

/// Where a running rebuild stands, for progress bars and log lines.
#[derive(Debug, Clone, Copy)]
pub struct RebuildProgress {
    /// Contracts indexed so far.
    pub num_indexed: u64,
    /// Contracts expected in all, when the sources announce totals.
    pub num_expected: Option<u64>,
    /// Time since the rebuild started.
    pub elapsed: Duration,
}

impl RebuildProgress {
    /// Contracts per second so far.
    pub fn rate(&self) -> f64 {
        self.num_indexed as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    /// Estimated time left, when the total is known.
    pub fn eta(&self) -> Option<Duration> {
        let remaining = self.num_expected?.saturating_sub(self.num_indexed);
        let rate = self.rate();
        (rate > 0.0).then(|| Duration::from_secs_f64(remaining as f64 / rate))
    }
}

/// What a finished rebuild did.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    /// The published generation.
    pub generation: String,
    /// Contracts in it.
    pub num_contracts: u64,
    /// Contracts carried over from sources that were not rebuilt.
    pub num_carried_over: u64,
    /// Records the sources sent that could not be mapped (left out).
    pub num_skipped: u64,
    /// Wall time, fetch to publish.
    pub elapsed: Duration,
}

/// Receives progress updates (called from the indexing thread, about once a page).
pub type ProgressFn = Arc<dyn Fn(RebuildProgress) + Send + Sync>;

/// Rebuilds the index from `sources` into a new generation of `store` and publishes it.
pub async fn rebuild(
    store: Arc<GenerationStore>,
    sources: Vec<Arc<dyn Connector>>,
    options: RebuildOptions,
    progress: ProgressFn,
) -> Result<RebuildReport> {
    let started = Instant::now();
    let (builder, lock) = {
        let store = store.clone();
        run_blocking(move || store.begin_build().map_err(Error::from)).await?
    };
    let partial_dir = builder.dir().to_owned();
    info!(generation = %builder.id(), num_sources = sources.len(), "rebuild started");

    let (sender, receiver) = sync_channel::<Batch>(CHANNEL_PAGES);
    let rebuilt_sources: BTreeSet<String> = sources.iter().map(|source| source.source().to_owned()).collect();
    let carry_from = store.current();
    let indexer = std::thread::Builder::new()
        .name("rebuild-indexer".into())
        .spawn(move || index_pages(builder, receiver, carry_from, rebuilt_sources, started, progress))
        .map_err(|error| Error::Stage(format!("starting the indexing thread: {error}")))?;

    let fetched = fetch_all(&sources, &sender).await;
    if fetched.is_ok() {
        // Only a complete fetch lets the indexer commit; otherwise it stops without the
        // (minutes-long, at millions of contracts) commit and merge.
        let _ = sender.send(Batch::Complete);
    }
    drop(sender);
    let indexed = tokio::task::spawn_blocking(move || indexer.join())
        .await
        .map_err(|error| Error::Stage(error.to_string()))?
        .map_err(|_| Error::Stage("the indexing thread panicked".into()))?;

    let outcome = match (fetched, indexed) {
        (Ok(num_skipped), Ok((built, num_carried_over))) => Ok((built, num_skipped, num_carried_over)),
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    let (built, num_skipped, num_carried_over) = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            store.discard(&partial_dir);
            warn!(%error, "rebuild failed; the served generation stays");
            return Err(error);
        }
    };
    let num_contracts = built.meta.num_contracts;
    let generation = {
        let store = store.clone();
        run_blocking(move || store.publish(built, options.allow_shrink).map_err(Error::from)).await?
    };
    drop(lock);
    let report = RebuildReport {
        generation: generation.id().to_owned(),
        num_contracts,
        num_carried_over,
        num_skipped,
        elapsed: started.elapsed(),
    };
    info!(
        generation = %report.generation,
        num_contracts,
        num_carried_over,
        num_skipped,
        elapsed_secs = format!("{:.1}", report.elapsed.as_secs_f64()),
        "rebuild finished"
    );
    Ok(report)
}

/// Builds and publishes a generation from contracts at hand (a file, a test), without a
/// connector: the same indexing, validation and publishing as [`rebuild`], but nothing is
/// carried over: the contracts given replace the whole index. Blocking.
pub fn rebuild_from_contracts(
    store: &GenerationStore,
    contracts: impl IntoIterator<Item = Contract>,
    allow_shrink: bool,
) -> Result<RebuildReport> {
    let started = Instant::now();
    let (builder, lock) = store.begin_build()?;
    let partial_dir = builder.dir().to_owned();
    let (sender, receiver) = sync_channel::<Batch>(CHANNEL_PAGES);
    let outcome = std::thread::scope(|scope| {
        let indexer = scope
            .spawn(move || index_pages(builder, receiver, None, BTreeSet::new(), started, Arc::new(|_| {})));
        let mut page = Vec::with_capacity(1000);
        let mut sent_all = true;
        for contract in contracts {
            page.push(contract);
            if page.len() == 1000 && sender.send(Batch::Page(std::mem::take(&mut page), None)).is_err() {
                sent_all = false;
                break;
            }
        }
        if sent_all && (page.is_empty() || sender.send(Batch::Page(page, None)).is_ok()) {
            let _ = sender.send(Batch::Complete);
        }
        drop(sender);
        indexer.join().map_err(|_| Error::Stage("the indexing thread panicked".into()))?
    });
    let (built, num_carried_over) = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            store.discard(&partial_dir);
            return Err(error);
        }
    };
    let num_contracts = built.meta.num_contracts;
    let generation = store.publish(built, allow_shrink)?;
    drop(lock);
    Ok(RebuildReport {
        generation: generation.id().to_owned(),
        num_contracts,
        num_carried_over,
        num_skipped: 0,
        elapsed: started.elapsed(),
    })
}

async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| Error::Stage(error.to_string()))?
}

/// What flows from fetching to indexing.
enum Batch {
    /// A page of contracts, with the total the source announced (for the time-left estimate).
    Page(Vec<Contract>, Option<u64>),
    /// Every page arrived: the build may be committed.
    Complete,
}

/// Streams every page of every source into the channel; returns the number of skipped records.
async fn fetch_all(sources: &[Arc<dyn Connector>], sender: &SyncSender<Batch>) -> Result<u64> {
    let mut num_skipped = 0u64;
    for source in sources {
        let mut pages = Box::pin(contract_pages(source.clone()));
        while let Some(page) = pages.next().await {
            let page = page?;
            num_skipped += page.skipped.len() as u64;
            if !page.skipped.is_empty() {
                warn!(source = source.source(), num_skipped = page.skipped.len(), first = %page.skipped[0], "records left out");
            }
            let sender = sender.clone();
            let batch = Batch::Page(page.contracts, page.total);
            // A full channel blocks: that is the backpressure, so wait for it off the runtime.
            let sent = tokio::task::spawn_blocking(move || sender.send(batch)).await;
            if !matches!(sent, Ok(Ok(()))) {
                return Err(Error::Stage("the indexing thread stopped early".into()));
            }
        }
    }
    Ok(num_skipped)
}

/// The indexing thread: documents in parallel, then the writer; carries over other sources'
/// records; commits and merges.
fn index_pages(
    mut builder: GenerationBuilder,
    receiver: Receiver<Batch>,
    carry_from: Option<Arc<Generation>>,
    rebuilt_sources: BTreeSet<String>,
    started: Instant,
    progress: ProgressFn,
) -> Result<(BuiltGeneration, u64)> {
    let fields = builder.fields().clone();
    let mut num_expected = None;
    let mut complete = false;
    for batch in receiver {
        let (contracts, total) = match batch {
            Batch::Page(contracts, total) => (contracts, total),
            Batch::Complete => {
                complete = true;
                break;
            }
        };
        num_expected = total.or(num_expected);
        let documents: Vec<_> =
            contracts.par_iter().map(|contract| contract_document(&fields, contract)).collect();
        for (contract, document) in contracts.iter().zip(documents) {
            builder.add_document(contract, document)?;
        }
        progress(RebuildProgress {
            num_indexed: builder.num_added(),
            num_expected,
            elapsed: started.elapsed(),
        });
    }
    if !complete {
        return Err(Error::Stage("the fetch did not complete; nothing was committed".into()));
    }
    let mut num_carried_over = 0;
    if let Some(generation) = carry_from {
        for contract in generation.contracts_not_from(&rebuilt_sources)? {
            builder.add(&contract)?;
            num_carried_over += 1;
        }
    }
    Ok((builder.finish()?, num_carried_over))
}
