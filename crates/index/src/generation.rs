//! One generation: a complete tantivy index in its own directory, built once by a
//! [`GenerationBuilder`] and then served read-only (live updates come later through the single
//! writer of the served generation).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use contract_search_model::Contract;
use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::indexer::NoMergePolicy;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use tracing::{debug, info};

use crate::analysis::register_tokenizers;
use crate::document::contract_document;
use crate::live::CommitPayload;
use crate::schema::Fields;
use crate::stored::decode_contract;
use crate::{Error, Result};

/// Name of the metadata file inside a generation directory.
pub const META_FILE: &str = "GENERATION.json";

/// What is known about a generation, written beside its index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerationMeta {
    /// Directory name, e.g. `g000003`.
    pub id: String,
    /// When the build finished, Unix seconds.
    pub created_at: u64,
    /// Contracts in the generation when it was built.
    pub num_contracts: u64,
    /// Contracts per source.
    pub sources: BTreeMap<String, u64>,
    /// Wall time of the build (documents, commit, merge).
    pub build_secs: f64,
    /// The journal entries the build started from: every change journalled up to here was in
    /// the served generation when the build began, and later ones are replayed onto this one
    /// once it is published. Live commits record their own position in the commit payload.
    #[serde(default)]
    pub journal_seq: u64,
}

/// Settings of a build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Indexing threads of the tantivy writer.
    pub num_threads: usize,
    /// Writer memory budget for all threads together (a flush trigger, not a cap).
    pub memory_budget_bytes: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { num_threads: 2, memory_budget_bytes: 1 << 30 }
    }
}

/// Opens an index directory with our tokenizers registered.
fn open_index(dir: &Path) -> Result<(Index, Fields)> {
    let index = Index::open_in_dir(dir)?;
    register_tokenizers(&index);
    let fields = Fields::from_schema(&index.schema())?;
    Ok((index, fields))
}

/// Bytes of a doc store block before compression.
const DOC_STORE_BLOCK_BYTES: usize = 4096;

/// A served generation.
pub struct Generation {
    meta: GenerationMeta,
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Generation").field("meta", &self.meta).field("dir", &self.dir).finish()
    }
}

impl Generation {
    /// Opens a finished generation directory.
    pub fn open(dir: &Path) -> Result<Generation> {
        let meta_path = dir.join(META_FILE);
        let meta_text = std::fs::read_to_string(&meta_path).map_err(Error::io("reading", &meta_path))?;
        let meta: GenerationMeta = serde_json::from_str(&meta_text)
            .map_err(|error| Error::DataDir { path: meta_path.clone(), reason: error.to_string() })?;
        let (index, fields) = open_index(dir)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Generation { meta, dir: dir.to_owned(), index, reader, fields })
    }

    /// Metadata written at build time.
    pub fn meta(&self) -> &GenerationMeta {
        &self.meta
    }

    /// The generation id (`g000003`).
    pub fn id(&self) -> &str {
        &self.meta.id
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tantivy index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The reader (reloaded by the live writer after each commit).
    pub fn reader(&self) -> &IndexReader {
        &self.reader
    }

    /// Field handles.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// A searcher on the latest committed state; take one per request.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Live contracts now (changes after the build included).
    pub fn num_contracts(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Decodes the stored contract of a document.
    pub fn load(&self, searcher: &Searcher, address: DocAddress) -> Result<Contract> {
        let document: TantivyDocument = searcher.doc(address)?;
        load_payload(&self.fields, &document)
    }

    /// The customer ids of documents, in order, read from the fast column without decoding the
    /// stored contracts (which a generation built before the column existed still needs).
    pub fn customer_ids(&self, searcher: &Searcher, addresses: &[DocAddress]) -> Result<Vec<String>> {
        let mut columns = Vec::with_capacity(searcher.segment_readers().len());
        for segment in searcher.segment_readers() {
            columns.push(segment.fast_fields().str(crate::schema::CUSTOMER_ID)?);
        }
        let mut ids = Vec::with_capacity(addresses.len());
        for &address in addresses {
            let column = columns.get(address.segment_ord as usize).and_then(Option::as_ref);
            let mut id = String::new();
            let found = match column
                .and_then(|column| column.term_ords(address.doc_id).next().map(|o| (column, o)))
            {
                Some((column, ord)) => {
                    column.ord_to_str(ord, &mut id).map_err(tantivy::TantivyError::from)?
                }
                None => false,
            };
            if !found {
                id = self.load(searcher, address)?.customer_id;
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// The sources that have contracts in this generation.
    pub fn sources(&self) -> Result<BTreeSet<String>> {
        let searcher = self.searcher();
        let mut sources = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.source)?;
            let mut terms = inverted.terms().stream().map_err(tantivy::TantivyError::from)?;
            while terms.advance() {
                sources.insert(String::from_utf8_lossy(terms.key()).into_owned());
            }
        }
        Ok(sources)
    }

    /// Every live contract whose source is not in `excluded` (records a rebuild of the excluded
    /// sources must carry over).
    pub fn contracts_not_from(&self, excluded: &BTreeSet<String>) -> Result<Vec<Contract>> {
        let searcher = self.searcher();
        let mut contracts = Vec::new();
        for source in self.sources()?.difference(excluded) {
            let query =
                TermQuery::new(Term::from_field_text(self.fields.source, source), IndexRecordOption::Basic);
            for address in searcher.search(&query, &DocSetCollector)? {
                contracts.push(self.load(&searcher, address)?);
            }
        }
        Ok(contracts)
    }

    /// Ids in this generation's dictionary that `newer` does not hold: contracts a rebuild missed,
    /// e.g. when deletions in the ERP shifted the pages of its list while they were fetched.
    /// Compares term dictionaries only, so ids deleted here since the build may be listed too
    /// (callers look each one up).
    pub fn ids_not_in(&self, newer: &Generation) -> Result<Vec<String>> {
        let newer_searcher = newer.searcher();
        let mut newer_ids = Vec::new();
        for segment in newer_searcher.segment_readers() {
            newer_ids.push(segment.inverted_index(newer.fields.id)?);
        }
        let searcher = self.searcher();
        let mut missing = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.id)?;
            let mut terms = inverted.terms().stream().map_err(tantivy::TantivyError::from)?;
            while terms.advance() {
                let key = terms.key();
                let mut found = false;
                for ids in &newer_ids {
                    if ids.terms().term_ord(key).map_err(tantivy::TantivyError::from)?.is_some() {
                        found = true;
                        break;
                    }
                }
                if !found {
                    missing.insert(String::from_utf8_lossy(key).into_owned());
                }
            }
        }
        Ok(missing.into_iter().collect())
    }

    /// The contract with exactly this id, if any.
    pub fn contract_by_exact_id(&self, id: &str) -> Result<Option<Contract>> {
        let searcher = self.searcher();
        let query = TermQuery::new(Term::from_field_text(self.fields.id, id), IndexRecordOption::Basic);
        let hits = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        hits.first().map(|&(_, address)| self.load(&searcher, address)).transpose()
    }
}

/// Decodes the payload field of a stored document.
pub fn load_payload(fields: &Fields, document: &TantivyDocument) -> Result<Contract> {
    use tantivy::schema::Value;
    let bytes = document
        .get_first(fields.payload)
        .and_then(|value| value.as_bytes())
        .ok_or_else(|| Error::Payload("document without payload".into()))?;
    decode_contract(bytes)
}

/// Writes a new generation into a scratch directory.
pub struct GenerationBuilder {
    id: String,
    dir: PathBuf,
    index: Index,
    writer: IndexWriter,
    fields: Fields,
    started: Instant,
    num_added: u64,
    /// Ids added so far: a record listed twice (the ERP's list shifted while it was paged)
    /// replaces its earlier copy instead of becoming a second document.
    ids: std::collections::HashSet<String>,
    num_duplicates: u64,
    sources: BTreeMap<String, u64>,
    samples: Vec<Contract>,
    sample_state: u64,
    start_payload: CommitPayload,
}

/// Contracts kept (reservoir sample) for the look-up check before publishing.
pub const NUM_SAMPLES: usize = 64;

/// A finished, committed, merged generation that is not yet published.
#[derive(Debug)]
pub struct BuiltGeneration {
    /// Metadata (also written to the directory).
    pub meta: GenerationMeta,
    /// The scratch directory holding it.
    pub dir: PathBuf,
    /// Contracts sampled during the build, for validation.
    pub samples: Vec<Contract>,
}

impl GenerationBuilder {
    /// Creates an empty index in `dir` (which must not exist yet).
    pub fn create(id: String, dir: PathBuf, options: &BuildOptions) -> Result<GenerationBuilder> {
        std::fs::create_dir_all(&dir).map_err(Error::io("creating", &dir))?;
        let (schema, fields) = Fields::build();
        // Small doc store blocks: a search decodes a few dozen random contracts, and each costs
        // the decompression of its whole block (tantivy's default is 16 KiB).
        let settings =
            IndexSettings { docstore_blocksize: DOC_STORE_BLOCK_BYTES, ..IndexSettings::default() };
        let index = Index::builder().schema(schema).settings(settings).create_in_dir(&dir)?;
        register_tokenizers(&index);
        let num_threads = options.num_threads.max(1);
        let per_thread = (options.memory_budget_bytes / num_threads).clamp(15 << 20, (4 << 30) - (1 << 20));
        let writer: IndexWriter = index.writer_with_num_threads(num_threads, per_thread * num_threads)?;
        // No merges while building: `finish` merges everything into one segment, and a background
        // merge racing with that one fails it (seen at 10M contracts: "the segments that were
        // merged could not be found").
        writer.set_merge_policy(Box::new(NoMergePolicy));
        debug!(generation = %id, num_threads, per_thread, "generation build started");
        Ok(GenerationBuilder {
            id,
            dir,
            index,
            writer,
            fields,
            started: Instant::now(),
            num_added: 0,
            ids: std::collections::HashSet::new(),
            num_duplicates: 0,
            sources: BTreeMap::new(),
            samples: Vec::with_capacity(NUM_SAMPLES),
            sample_state: 0x2545_F491_4F6C_DD1D,
            start_payload: CommitPayload::default(),
        })
    }

    /// Records which journal entries this build starts from (those of the served generation
    /// when the build began); the updater replays everything after them once it is published.
    pub fn start_from(&mut self, payload: CommitPayload) {
        self.start_payload = payload;
    }

    /// The generation id this build will publish as.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The scratch directory of this build.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Field handles, for building documents elsewhere (in parallel).
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Distinct contracts added so far.
    pub fn num_added(&self) -> u64 {
        self.num_added
    }

    /// Records added again under an id already added (each replaced the earlier copy).
    pub fn num_duplicates(&self) -> u64 {
        self.num_duplicates
    }

    /// Adds a contract whose document was built with [`contract_document`].
    pub fn add_document(&mut self, contract: &Contract, document: TantivyDocument) -> Result<()> {
        if !self.ids.insert(contract.id.clone()) {
            // The later copy wins: it was fetched later. Deletes apply to documents added before.
            self.writer.delete_term(Term::from_field_text(self.fields.id, &contract.id));
            self.writer.add_document(document)?;
            self.num_duplicates += 1;
            for sample in self.samples.iter_mut().filter(|sample| sample.id == contract.id) {
                *sample = contract.clone();
            }
            return Ok(());
        }
        self.writer.add_document(document)?;
        self.num_added += 1;
        *self.sources.entry(contract.source.clone().unwrap_or_else(|| "unknown".into())).or_default() += 1;
        // Reservoir sampling (algorithm R) with a tiny xorshift generator.
        self.sample_state ^= self.sample_state << 13;
        self.sample_state ^= self.sample_state >> 7;
        self.sample_state ^= self.sample_state << 17;
        if self.samples.len() < NUM_SAMPLES {
            self.samples.push(contract.clone());
        } else {
            let slot = (self.sample_state % self.num_added) as usize;
            if slot < NUM_SAMPLES {
                self.samples[slot] = contract.clone();
            }
        }
        Ok(())
    }

    /// Builds and adds the document of a contract.
    pub fn add(&mut self, contract: &Contract) -> Result<()> {
        let document = contract_document(&self.fields, contract);
        self.add_document(contract, document)
    }

    /// Commits, merges everything into one segment, and writes the metadata.
    pub fn finish(self) -> Result<BuiltGeneration> {
        let GenerationBuilder {
            id,
            dir,
            index,
            mut writer,
            started,
            num_added,
            num_duplicates,
            sources,
            samples,
            start_payload,
            ..
        } = self;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&start_payload).expect("payload serialises"));
        prepared.commit()?;
        let committed = Instant::now();
        let segments = index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
        writer.wait_merging_threads()?;
        let meta = GenerationMeta {
            id,
            created_at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            num_contracts: num_added,
            sources,
            build_secs: started.elapsed().as_secs_f64(),
            journal_seq: start_payload.journal_seq,
        };
        info!(
            generation = %meta.id,
            num_contracts = meta.num_contracts,
            num_duplicates,
            num_segments_before_merge = segments.len(),
            merge_secs = format!("{:.1}", committed.elapsed().as_secs_f64()),
            "generation built"
        );
        let meta_path = dir.join(META_FILE);
        let text = serde_json::to_string_pretty(&meta).expect("metadata serialises");
        write_synced(&meta_path, text.as_bytes())?;
        Ok(BuiltGeneration { meta, dir, samples })
    }
}

/// Writes a file and flushes it to disk.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(Error::io("creating", path))?;
    file.write_all(bytes).map_err(Error::io("writing", path))?;
    file.sync_all().map_err(Error::io("syncing", path))
}
