//! The single writer of the served generation: upserts and deletes of single contracts between
//! rebuilds (change events, imports), committed in batches.
//!
//! Every commit carries the journal sequence number it covers as the tantivy commit payload, so
//! the index itself says which journalled changes it holds: after a crash, the updater replays
//! the journal from exactly there (see [`Generation::journal_seq`]). A commit is atomic (tantivy
//! replaces `meta.json` in one step), so the index never holds half a batch.
//!
//! Only one `LiveWriter` may exist per generation (tantivy holds a lock file); the updater owns
//! it and opens a new one on the next generation when a rebuild publishes.

use std::sync::Arc;
use std::time::Instant;

use contract_search_model::Contract;
use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{IndexWriter, TantivyDocument, Term};
use tracing::debug;

use crate::document::contract_document;
use crate::generation::Generation;
use crate::{Error, Result};

/// Memory budget of the live writer (one indexing thread): small batches need little.
const LIVE_WRITER_MEMORY: usize = 64 << 20;

/// What a commit of the live writer records in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitPayload {
    /// Every journal entry up to this sequence number is in the index (except `retry`).
    pub journal_seq: u64,
    /// Entries at or below `journal_seq` that could not be applied yet (a refetch failed) and
    /// must be retried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<u64>,
}

impl CommitPayload {
    /// Parses a commit payload; `None` for an index committed without one.
    pub fn parse(text: Option<&str>) -> Result<Option<CommitPayload>> {
        text.map(|text| {
            serde_json::from_str(text)
                .map_err(|error| Error::Payload(format!("commit payload {text:?}: {error}")))
        })
        .transpose()
    }
}

/// The writer of one served generation.
pub struct LiveWriter {
    generation: Arc<Generation>,
    writer: IndexWriter,
    num_pending: usize,
}

impl std::fmt::Debug for LiveWriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LiveWriter")
            .field("generation", &self.generation.id())
            .field("num_pending", &self.num_pending)
            .finish()
    }
}

impl LiveWriter {
    /// Opens the writer of `generation`.
    pub fn open(generation: Arc<Generation>) -> Result<LiveWriter> {
        let writer = generation.index().writer_with_num_threads(1, LIVE_WRITER_MEMORY)?;
        Ok(LiveWriter { generation, writer, num_pending: 0 })
    }

    /// The generation written to.
    pub fn generation(&self) -> &Arc<Generation> {
        &self.generation
    }

    /// Changes since the last commit.
    pub fn num_pending(&self) -> usize {
        self.num_pending
    }

    fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.generation.fields().id, id)
    }

    /// Replaces the contract with the same id, or adds it.
    pub fn upsert(&mut self, contract: &Contract) -> Result<()> {
        let document: TantivyDocument = contract_document(self.generation.fields(), contract);
        self.writer.delete_term(self.id_term(&contract.id));
        self.writer.add_document(document)?;
        self.num_pending += 1;
        Ok(())
    }

    /// Removes the contract with this id (nothing happens when there is none).
    pub fn delete(&mut self, id: &str) {
        self.writer.delete_term(self.id_term(id));
        self.num_pending += 1;
    }

    /// Commits the pending changes with `payload`, then reloads the readers so searches see
    /// them.
    pub fn commit(&mut self, payload: &CommitPayload) -> Result<()> {
        let started = Instant::now();
        let text = serde_json::to_string(payload).expect("payload serialises");
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&text);
        prepared.commit()?;
        self.generation.reader().reload()?;
        debug!(
            generation = %self.generation.id(),
            num_changes = self.num_pending,
            journal_seq = payload.journal_seq,
            commit_ms = started.elapsed().as_millis() as u64,
            "live changes committed"
        );
        self.num_pending = 0;
        Ok(())
    }

    /// Drops uncommitted changes.
    pub fn rollback(&mut self) -> Result<()> {
        self.writer.rollback()?;
        self.num_pending = 0;
        Ok(())
    }
}

impl Generation {
    /// The commit payload of the latest commit: which journal entries the index holds.
    /// A freshly built generation holds what its build started from (see
    /// [`GenerationMeta::journal_seq`](crate::GenerationMeta::journal_seq)).
    pub fn commit_payload(&self) -> Result<CommitPayload> {
        let metas = self.index().load_metas()?;
        Ok(CommitPayload::parse(metas.payload.as_deref())?
            .unwrap_or(CommitPayload { journal_seq: self.meta().journal_seq, retry: Vec::new() }))
    }

    /// Contracts of a customer (exact customer id) in the latest committed state.
    pub fn contracts_of_customer(&self, customer_id: &str) -> Result<Vec<Contract>> {
        let searcher = self.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields().customer_id, customer_id),
            IndexRecordOption::Basic,
        );
        let mut contracts = Vec::new();
        for address in searcher.search(&query, &DocSetCollector)? {
            contracts.push(self.load(&searcher, address)?);
        }
        contracts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(contracts)
    }
}
