//! The updater: the one thread that applies journalled changes to the served generation.
//!
//! ```text
//! journal (durable, ordered) → read after the served generation's position
//!   → refetch ERP records (concurrently, answers applied in journal order)
//!   → LiveWriter upserts / deletes → commit with the new position (at most every
//!     `commit_interval`, or when a batch is full) → readers reload
//! ```
//!
//! - **Position in the index.** Each commit records the last journal entry it holds (the tantivy
//!   commit payload). After a crash, or when a rebuild publishes a generation that started from
//!   an older position, the updater simply continues from the served generation's position:
//!   every change accepted since is applied again. Applying a change twice is harmless: an
//!   upsert replaces the whole contract, a delete of a missing contract does nothing, and a
//!   refetch reads the ERP's current record. Entries are applied in journal order, so the last
//!   change of a contract wins, whatever happened before.
//! - **Rebuild races.** A rebuild starts from the served position (see
//!   [`GenerationBuilder::start_from`](contract_search_index::GenerationBuilder::start_from));
//!   when its generation is published, the updater switches to it and replays everything
//!   journalled after that position: changes that arrived during the rebuild are not lost.
//! - **Failed refetches** (the ERP is down beyond the connector's retries) are not dropped: they
//!   are kept in the commit payload's retry list, retried every `retry_every`, and shown in the
//!   status. Later changes go on meanwhile.
//! - **Compaction.** After commits, journal segments that every generation that may still be
//!   served (no rebuild is running) already holds are deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contract_search_index::{CommitPayload, Generation, GenerationStore, LiveWriter};
use contract_search_model::{Contract, Customer};
use futures::StreamExt;
use serde::Serialize;
use tracing::{debug, info, warn};

use crate::journal::{Change, Entry, Journal, RecordKind};
use crate::{Connector, Error, Result};

/// Settings of the updater.
#[derive(Debug, Clone)]
pub struct UpdaterOptions {
    /// Least time between two commits (default 500 ms). A change that arrives after a quiet
    /// spell is committed at once; under a steady stream, commits come this often.
    pub commit_interval: Duration,
    /// Changes applied before a commit is forced (default 20,000).
    pub max_batch: usize,
    /// How often failed refetches are tried again (default 30 s).
    pub retry_every: Duration,
    /// Refetches in flight at once (default 8).
    pub refetch_concurrency: usize,
}

impl Default for UpdaterOptions {
    fn default() -> Self {
        UpdaterOptions {
            commit_interval: Duration::from_millis(500),
            max_batch: 20_000,
            retry_every: Duration::from_secs(30),
            refetch_concurrency: 8,
        }
    }
}

/// A change that could not be applied yet.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRetry {
    /// Its journal entry.
    pub seq: u64,
    /// The source to refetch from.
    pub source: String,
    /// Contract or customer.
    pub record: RecordKind,
    /// The record id.
    pub id: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The last error (no personal data: connector errors name calls and ids only).
    pub error: String,
}

/// Where the updater stands, for `/v1/admin/status` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdaterStatus {
    /// The generation written to.
    pub generation: Option<String>,
    /// The last journal entry committed into it (searchable).
    pub applied_seq: u64,
    /// The last journal entry accepted.
    pub journal_seq: u64,
    /// Changes applied since the start.
    pub num_applied: u64,
    /// Commits since the start.
    pub num_commits: u64,
    /// When the last commit happened, Unix milliseconds.
    pub last_commit_at_ms: Option<u64>,
    /// Refetches that failed and wait for their retry.
    pub retries: Vec<PendingRetry>,
    /// The last error that stopped the updater for a moment (opening a writer, committing).
    pub last_error: Option<String>,
}

struct Shared {
    status: Mutex<UpdaterStatus>,
    applied: Condvar,
    stop: AtomicBool,
}

/// Handle of the updater thread: status, waiting for a change to be searchable, stopping.
pub struct Updater {
    shared: Arc<Shared>,
    journal: Arc<Journal>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Updater {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Updater").field("status", &self.status()).finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl Updater {
    /// Starts the updater thread on `store`, reading `journal`, refetching from `connectors`.
    pub fn start(
        store: Arc<GenerationStore>,
        journal: Arc<Journal>,
        connectors: Vec<Arc<dyn Connector>>,
        options: UpdaterOptions,
    ) -> Result<Updater> {
        let shared = Arc::new(Shared {
            status: Mutex::new(UpdaterStatus { journal_seq: journal.last_seq(), ..UpdaterStatus::default() }),
            applied: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let connectors: BTreeMap<String, Arc<dyn Connector>> =
            connectors.into_iter().map(|connector| (connector.source().to_owned(), connector)).collect();
        let worker = Worker {
            store,
            journal: journal.clone(),
            connectors,
            options,
            shared: shared.clone(),
            live: None,
            last_commit: None,
        };
        let thread = std::thread::Builder::new()
            .name("updater".into())
            .spawn(move || worker.run())
            .map_err(|error| Error::Stage(format!("starting the updater thread: {error}")))?;
        Ok(Updater { shared, journal, thread: Mutex::new(Some(thread)) })
    }

    /// The journal it reads.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// Where it stands.
    pub fn status(&self) -> UpdaterStatus {
        let mut status = self.shared.status.lock().unwrap_or_else(PoisonError::into_inner).clone();
        status.journal_seq = self.journal.last_seq();
        status
    }

    /// Blocks until the journal entry `seq` is committed into the served generation (searchable),
    /// or `timeout` passes; returns whether it is. A refetch that failed counts as not applied.
    pub fn wait_applied(&self, seq: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut status = self.shared.status.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if status.applied_seq >= seq && !status.retries.iter().any(|retry| retry.seq == seq) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || self.shared.stop.load(Ordering::Relaxed) {
                return false;
            }
            status = self
                .shared
                .applied
                .wait_timeout(status, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Commits what was applied and stops the thread (also done on drop).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.applied.notify_all();
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Updater {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer of the served generation and what is applied to it.
struct Live {
    writer: LiveWriter,
    /// Last entry applied to the writer (committed or not).
    cursor: u64,
    /// Last entry committed.
    committed: u64,
    /// Entries whose refetch failed, by sequence number.
    retries: BTreeMap<u64, PendingRetry>,
    next_retry: Instant,
    num_uncommitted: usize,
}

struct Worker {
    store: Arc<GenerationStore>,
    journal: Arc<Journal>,
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    options: UpdaterOptions,
    shared: Arc<Shared>,
    live: Option<Live>,
    last_commit: Option<Instant>,
}

/// What a change turned into once its records were fetched.
enum Resolved {
    Upsert(Vec<Contract>),
    Delete(Vec<String>),
    Both { upserts: Vec<Contract>, deletes: Vec<String> },
    Failed { source: String, record: RecordKind, id: String, error: String },
}

impl Worker {
    fn run(mut self) {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                self.set_error(format!("starting the updater runtime: {error}"));
                return;
            }
        };
        info!("updater started");
        while !self.shared.stop.load(Ordering::Relaxed) {
            if let Err(error) = self.step(&runtime) {
                warn!(%error, "updater step failed; retrying in a second");
                self.set_error(error.to_string());
                // Whatever was applied but not committed is applied again from the journal.
                if let Some(live) = &mut self.live {
                    let _ = live.writer.rollback();
                    live.cursor = live.committed;
                    live.num_uncommitted = 0;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        if let Err(error) = self.commit() {
            warn!(%error, "could not commit the last changes on stopping; they are replayed at the next start");
        }
        info!("updater stopped");
    }

    fn set_error(&self, error: String) {
        self.shared.status.lock().unwrap_or_else(PoisonError::into_inner).last_error = Some(error);
    }

    /// One round: follow the served generation, apply what is new, commit when due.
    fn step(&mut self, runtime: &tokio::runtime::Runtime) -> Result<()> {
        let Some(served) = self.store.current() else {
            std::thread::sleep(Duration::from_millis(100));
            return Ok(());
        };
        if self.live.as_ref().is_none_or(|live| live.writer.generation().id() != served.id()) {
            self.switch_to(served)?;
        }
        self.retry_due(runtime)?;
        let (cursor, num_uncommitted) = {
            let live = self.live.as_ref().expect("a writer is open");
            (live.cursor, live.num_uncommitted)
        };
        let room = self.options.max_batch.saturating_sub(num_uncommitted).clamp(1, 2_000);
        let entries = self.journal.read_after(cursor, room)?;
        if entries.is_empty() {
            if self.commit_due() {
                self.commit()?;
            } else {
                let wait = if num_uncommitted > 0 {
                    self.options.commit_interval.saturating_sub(self.since_commit())
                } else {
                    Duration::from_millis(200)
                };
                self.journal.wait_after(cursor, wait.max(Duration::from_millis(1)));
            }
            return Ok(());
        }
        let resolved = runtime.block_on(self.resolve(&entries));
        self.apply(&entries, resolved)?;
        if self.commit_due() {
            self.commit()?;
        }
        Ok(())
    }

    fn since_commit(&self) -> Duration {
        self.last_commit.map_or(Duration::MAX, |at| at.elapsed())
    }

    fn commit_due(&self) -> bool {
        let Some(live) = &self.live else { return false };
        live.num_uncommitted > 0
            && (self.since_commit() >= self.options.commit_interval
                || live.num_uncommitted >= self.options.max_batch)
    }

    /// Journals a refetch of every ERP contract the old generation held and the new one lacks.
    /// A rebuild pages through the ERP's list while it changes: a deletion shifts the later
    /// records one place forward, and one of them is skipped at a page boundary. The events replayed
    /// after the switch only cover contracts that changed; this covers the ones that did not.
    /// (Contracts deleted in the ERP meanwhile come back as deletions: nothing is lost either way.)
    fn refetch_missed(&self, old: &Generation, new: &Generation) -> Result<()> {
        let started = Instant::now();
        let mut changes = Vec::new();
        for id in old.ids_not_in(new)? {
            let Some(contract) = old.contract_by_exact_id(&id)? else { continue };
            // Only ERP records are refetched: imported ones are carried over by the rebuild, and a
            // source no longer configured was dropped on purpose.
            if let Some(source) = contract.source.filter(|source| self.connectors.contains_key(source)) {
                changes.push(Change::Refetch { source, record: RecordKind::Contract, id });
            }
        }
        if !changes.is_empty() {
            let seqs = self.journal.append(&changes)?;
            warn!(
                generation = %new.id(),
                num_missed = changes.len(),
                first_seq = seqs.start(),
                "the rebuild missed contracts the previous generation held (the ERP list changed while it was fetched); refetching them"
            );
        }
        debug!(elapsed_ms = started.elapsed().as_millis() as u64, "compared the generations' ids");
        Ok(())
    }

    /// Opens the writer of a newly served generation and continues from its position.
    fn switch_to(&mut self, generation: Arc<Generation>) -> Result<()> {
        if let Some(mut old) = self.live.take() {
            // The old generation is no longer served: its uncommitted changes are replayed onto
            // the new one from the journal anyway.
            let _ = old.writer.rollback();
            self.refetch_missed(old.writer.generation(), &generation)?;
        }
        let payload = generation.commit_payload()?;
        let writer = LiveWriter::open(generation.clone())?;
        let mut retries = BTreeMap::new();
        for seq in &payload.retry {
            if let Some(entry) =
                self.journal.read_after(seq - 1, 1)?.into_iter().find(|entry| entry.seq == *seq)
                && let Change::Refetch { source, record, id } = entry.change
            {
                retries.insert(
                    *seq,
                    PendingRetry { seq: *seq, source, record, id, attempts: 0, error: String::new() },
                );
            }
        }
        info!(
            generation = %generation.id(),
            journal_seq = payload.journal_seq,
            behind = self.journal.last_seq().saturating_sub(payload.journal_seq),
            "updater follows the served generation"
        );
        self.live = Some(Live {
            writer,
            cursor: payload.journal_seq,
            committed: payload.journal_seq,
            retries,
            next_retry: Instant::now(),
            num_uncommitted: 0,
        });
        self.publish_status(|status| {
            status.generation = Some(generation.id().to_owned());
            status.applied_seq = payload.journal_seq;
        });
        Ok(())
    }

    /// Fetches what the refetch entries name; concurrently, answers in entry order.
    async fn resolve(&self, entries: &[Entry]) -> Vec<Option<Resolved>> {
        let generation = self.live.as_ref().map(|live| live.writer.generation().clone());
        futures::stream::iter(entries.iter().map(|entry| {
            let generation = generation.clone();
            async move {
                match &entry.change {
                    Change::Refetch { source, record, id } => {
                        Some(self.refetch(source, *record, id, generation.as_deref()).await)
                    }
                    _ => None,
                }
            }
        }))
        .buffered(self.options.refetch_concurrency.max(1))
        .collect()
        .await
    }

    async fn refetch(
        &self,
        source: &str,
        record: RecordKind,
        id: &str,
        generation: Option<&Generation>,
    ) -> Resolved {
        let failed =
            |error: String| Resolved::Failed { source: source.to_owned(), record, id: id.to_owned(), error };
        let Some(connector) = self.connectors.get(source) else {
            return failed(format!("no connector for source {source:?} is configured"));
        };
        match record {
            RecordKind::Contract => match connector.fetch_contract(id).await {
                Ok(Some(contract)) => Resolved::Upsert(vec![contract]),
                Ok(None) => Resolved::Delete(vec![id.to_owned()]),
                Err(error) => failed(error.to_string()),
            },
            RecordKind::Customer => {
                // The customer's fields live in each of its contracts: refetch them all, those
                // the ERP lists now and those the index holds (a contract may have moved away).
                let mut ids = BTreeSet::new();
                match connector.fetch_customer(id).await {
                    Ok(Some(customer)) => ids.extend(customer.contract_ids),
                    Ok(None) => {}
                    Err(error) => return failed(error.to_string()),
                }
                if let Some(generation) = generation {
                    match generation.contracts_of_customer(id) {
                        Ok(contracts) => ids.extend(contracts.into_iter().map(|contract| contract.id)),
                        Err(error) => return failed(error.to_string()),
                    }
                }
                let (mut upserts, mut deletes) = (Vec::new(), Vec::new());
                for contract_id in ids {
                    match connector.fetch_contract(&contract_id).await {
                        Ok(Some(contract)) => upserts.push(contract),
                        Ok(None) => deletes.push(contract_id),
                        Err(error) => return failed(error.to_string()),
                    }
                }
                Resolved::Both { upserts, deletes }
            }
        }
    }

    /// Applies entries in order to the writer.
    fn apply(&mut self, entries: &[Entry], resolved: Vec<Option<Resolved>>) -> Result<()> {
        let mut num_applied = 0u64;
        for (entry, resolved) in entries.iter().zip(resolved) {
            // A pushed customer applies to the contracts the index holds: commit what came
            // before, so contracts pushed just before it are among them.
            if matches!(entry.change, Change::UpsertCustomer { .. })
                && self.live.as_ref().is_some_and(|live| live.num_uncommitted > 0)
            {
                self.commit()?;
            }
            let live = self.live.as_mut().expect("a writer is open");
            match (&entry.change, resolved) {
                (Change::UpsertContract { contract }, _) => live.writer.upsert(contract)?,
                (Change::DeleteContract { id }, _) => live.writer.delete(id),
                (Change::UpsertCustomer { customer }, _) => {
                    for contract in live.writer.generation().contracts_of_customer(&customer.id)? {
                        live.writer.upsert(&with_customer_fields(contract, customer))?;
                    }
                }
                (Change::Refetch { .. }, Some(resolved)) => {
                    apply_resolved(live, entry.seq, resolved)?;
                }
                (Change::Refetch { .. }, None) => unreachable!("every refetch is resolved"),
            }
            live.cursor = entry.seq;
            live.num_uncommitted += 1;
            num_applied += 1;
        }
        debug!(num_applied, "changes applied");
        self.publish_status(|status| status.num_applied += num_applied);
        Ok(())
    }

    /// Tries the failed refetches again when due.
    fn retry_due(&mut self, runtime: &tokio::runtime::Runtime) -> Result<()> {
        let Some(live) = &self.live else { return Ok(()) };
        if live.retries.is_empty() || Instant::now() < live.next_retry {
            return Ok(());
        }
        let pending: Vec<PendingRetry> = live.retries.values().cloned().collect();
        let generation = live.writer.generation().clone();
        let outcomes: Vec<(PendingRetry, Resolved)> = runtime.block_on(async {
            let mut outcomes = Vec::with_capacity(pending.len());
            for retry in pending {
                let resolved = self.refetch(&retry.source, retry.record, &retry.id, Some(&generation)).await;
                outcomes.push((retry, resolved));
            }
            outcomes
        });
        let live = self.live.as_mut().expect("a writer is open");
        for (mut retry, resolved) in outcomes {
            live.retries.remove(&retry.seq);
            match resolved {
                Resolved::Failed { error, .. } => {
                    retry.attempts += 1;
                    retry.error = error;
                    live.retries.insert(retry.seq, retry);
                }
                // Only if no later entry changed the same record meanwhile would it be safe to
                // apply an old refetch out of order, but a refetch reads the ERP's *current*
                // record, so applying it now is right whatever came in between.
                resolved => apply_resolved(live, retry.seq, resolved)?,
            }
        }
        live.next_retry = Instant::now() + self.options.retry_every;
        // Commit so the changed retry list is recorded.
        live.num_uncommitted += 1;
        self.commit()
    }

    /// Commits what was applied since the last commit, if anything.
    fn commit(&mut self) -> Result<()> {
        let Some(live) = &mut self.live else { return Ok(()) };
        if live.num_uncommitted == 0 {
            return Ok(());
        }
        let payload =
            CommitPayload { journal_seq: live.cursor, retry: live.retries.keys().copied().collect() };
        live.writer.commit(&payload)?;
        live.committed = live.cursor;
        live.num_uncommitted = 0;
        self.last_commit = Some(Instant::now());
        let retries: Vec<PendingRetry> = live.retries.values().cloned().collect();
        self.publish_status(|status| {
            status.applied_seq = payload.journal_seq;
            status.num_commits += 1;
            status.last_commit_at_ms = Some(now_ms());
            status.retries = retries;
            status.last_error = None;
        });
        self.compact(&payload);
        Ok(())
    }

    /// Deletes journal segments that the served generation holds, unless a rebuild runs (its
    /// generation starts from an older position and needs the entries after it).
    fn compact(&self, payload: &CommitPayload) {
        let floor = payload
            .retry
            .iter()
            .map(|seq| seq - 1)
            .min()
            .unwrap_or(payload.journal_seq)
            .min(payload.journal_seq);
        if self.journal.first_seq().is_none_or(|first| first > floor) {
            return;
        }
        match self.store.build_running() {
            Ok(false) => match self.journal.compact(floor) {
                Ok(0) => {}
                Ok(removed) => debug!(removed, floor, "journal compacted"),
                Err(error) => warn!(%error, "journal compaction failed"),
            },
            Ok(true) => {}
            Err(error) => warn!(%error, "could not tell whether a rebuild runs; journal not compacted"),
        }
    }

    fn publish_status(&self, update: impl FnOnce(&mut UpdaterStatus)) {
        let mut status = self.shared.status.lock().unwrap_or_else(PoisonError::into_inner);
        update(&mut status);
        drop(status);
        self.shared.applied.notify_all();
    }
}

fn apply_resolved(live: &mut Live, seq: u64, resolved: Resolved) -> Result<()> {
    match resolved {
        Resolved::Upsert(contracts) => {
            for contract in &contracts {
                live.writer.upsert(contract)?;
            }
        }
        Resolved::Delete(ids) => ids.iter().for_each(|id| live.writer.delete(id)),
        Resolved::Both { upserts, deletes } => {
            for contract in &upserts {
                live.writer.upsert(contract)?;
            }
            deletes.iter().for_each(|id| live.writer.delete(id));
        }
        Resolved::Failed { source, record, id, error } => {
            warn!(seq, source = %source, record = ?record, %error, "refetch failed; kept for retry");
            let attempts = live.retries.get(&seq).map_or(1, |retry| retry.attempts + 1);
            live.retries.insert(seq, PendingRetry { seq, source, record, id, attempts, error });
        }
    }
    Ok(())
}

/// A contract with the customer-level fields of a pushed customer record.
pub fn with_customer_fields(mut contract: Contract, customer: &Customer) -> Contract {
    contract.business = customer.business;
    contract.firstname = customer.firstname.clone();
    contract.lastname = customer.lastname.clone();
    contract.company = customer.company.clone();
    contract.email = customer.email.clone();
    contract.phone = customer.phone.clone();
    if customer.billing_address.is_some() {
        contract.billing_address = customer.billing_address.clone();
    }
    contract
}
