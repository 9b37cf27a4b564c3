//! The bulk load: contracts → rows (on a blocking thread) → binary `COPY ... FREEZE` into a
//! table created in the same transaction → indexes built on two connections at once →
//! `VACUUM (ANALYZE)` → sizes.
//!
//! This is the load a careful integrator writes for a nightly full refresh: `COPY` rather than
//! `INSERT`s, indexes after the data rather than maintained row by row, the table created in the
//! loading transaction so that with `wal_level = minimal` neither the `COPY` nor the index builds
//! write WAL, `FREEZE` so that the rows are written frozen with the visibility map set (no
//! later pass rewrites every page to set hint bits or freeze), index builds spread over both
//! cores (a GIN build is single-threaded in PostgreSQL 15), and `VACUUM (ANALYZE)` for the
//! planner's statistics.

use std::io::BufRead;
use std::path::Path;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use contract_search_ingest::powercloud::mapping::{MappingOptions, map_contract};
use contract_search_model::Contract;
use serde::Serialize;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tracing::info;

use super::connect;
use super::schema::{COLUMNS, CREATE_TABLE, ContractRow, INDEXES, TABLE};

/// Connections building indexes at once (one per core).
pub const INDEX_BUILDERS: usize = 2;
/// Rows buffered between the mapping thread and the `COPY`.
const ROW_CHANNEL_CAPACITY: usize = 4096;
/// A progress line every this many rows.
const PROGRESS_EVERY: u64 = 250_000;

/// What a load did and what it left on disk.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Contracts loaded.
    pub num_contracts: u64,
    /// Wall time of the whole load (mapping and `COPY`, indexes, vacuum and analyze).
    pub secs: f64,
    /// Wall time of mapping and `COPY`.
    pub copy_secs: f64,
    /// Wall time of the index builds.
    pub index_secs: f64,
    /// Wall time of `VACUUM (ANALYZE)`.
    pub vacuum_secs: f64,
    /// Heap, TOAST, free space and visibility maps (`pg_table_size`).
    pub table_bytes: u64,
    /// All indexes (`pg_indexes_size`).
    pub index_bytes: u64,
    /// Both (`pg_total_relation_size`).
    pub total_bytes: u64,
    /// Each index with its size in bytes and build time in seconds.
    pub indexes: Vec<IndexReport>,
}

/// One index of a [`LoadReport`].
#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    /// Index name.
    pub name: String,
    /// Size on disk.
    pub bytes: u64,
    /// Build time.
    pub secs: f64,
}

/// Reads raw Powercloud contract records (NDJSON, as `contract-search generate` writes them)
/// and maps each to enneo's [`Contract`] with the product's own mapping.
pub fn contracts_from_ndjson(
    path: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Contract>> + Send + 'static> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let options = MappingOptions { source: "powercloud".to_owned(), erp_url_template: None };
    let display = path.display().to_string();
    Ok(std::io::BufReader::new(file).lines().enumerate().map(move |(index, line)| {
        let line = line.with_context(|| format!("reading {display}"))?;
        let record: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("{display} line {}", index + 1))?;
        map_contract(&record, &options).with_context(|| format!("{display} line {}", index + 1))
    }))
}

/// Replaces the table in `database_url` with `contracts`, builds the indexes, vacuums and
/// analyses, and reports times and sizes. The contracts are mapped to rows on a blocking
/// thread while the `COPY` streams them.
pub async fn load<I>(database_url: &str, contracts: I) -> anyhow::Result<LoadReport>
where
    I: IntoIterator<Item = anyhow::Result<Contract>> + Send + 'static,
    I::IntoIter: Send,
{
    let started = Instant::now();
    let mut client = connect(database_url).await?;
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm").await.context("creating pg_trgm")?;

    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<anyhow::Result<ContractRow>>(ROW_CHANNEL_CAPACITY);
    let producer = tokio::task::spawn_blocking(move || {
        for contract in contracts {
            let row = contract.and_then(|contract| {
                ContractRow::from_contract(&contract)
                    .with_context(|| format!("building the row of contract {}", contract.id))
            });
            let failed = row.is_err();
            if sender.blocking_send(row).is_err() || failed {
                break;
            }
        }
    });

    let transaction = client.transaction().await?;
    transaction.batch_execute(CREATE_TABLE).await.context("creating the table")?;
    let column_names = COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
    let types: Vec<Type> = COLUMNS.iter().map(|(_, column_type)| column_type.clone()).collect();
    let sink = transaction
        .copy_in(&format!("COPY {TABLE} ({column_names}) FROM STDIN (FORMAT binary, FREEZE)"))
        .await
        .context("starting COPY")?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    let mut num_contracts = 0u64;
    while let Some(row) = receiver.recv().await {
        let row = row?;
        writer.as_mut().write(&row.values()).await.context("writing a row to COPY")?;
        num_contracts += 1;
        if num_contracts.is_multiple_of(PROGRESS_EVERY) {
            info!(num_contracts, elapsed_secs = started.elapsed().as_secs(), "copying");
        }
    }
    writer.as_mut().finish().await.context("finishing COPY")?;
    producer.await.context("the mapping thread failed")?;
    transaction.commit().await.context("committing the load")?;
    let copy_secs = started.elapsed().as_secs_f64();
    info!(num_contracts, copy_secs, "copied");

    let index_started = Instant::now();
    let build_times = build_indexes(database_url).await?;
    let index_secs = index_started.elapsed().as_secs_f64();
    info!(index_secs, "indexes built");

    let vacuum_started = Instant::now();
    client.batch_execute(&format!("VACUUM (ANALYZE) {TABLE}")).await.context("vacuuming")?;
    let vacuum_secs = vacuum_started.elapsed().as_secs_f64();

    let sizes = client
        .query_one(
            "SELECT pg_table_size($1::text::regclass), pg_indexes_size($1::text::regclass), \
             pg_total_relation_size($1::text::regclass)",
            &[&TABLE],
        )
        .await
        .context("reading sizes")?;
    let index_rows = client
        .query(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index \
             WHERE indrelid = $1::text::regclass ORDER BY 2 DESC",
            &[&TABLE],
        )
        .await
        .context("reading index sizes")?;
    let indexes = index_rows
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            let secs = build_times.iter().find(|(built, _)| *built == name).map_or(0.0, |(_, secs)| *secs);
            IndexReport { bytes: row.get::<_, i64>(1) as u64, name, secs }
        })
        .collect();
    Ok(LoadReport {
        num_contracts,
        secs: started.elapsed().as_secs_f64(),
        copy_secs,
        index_secs,
        vacuum_secs,
        table_bytes: sizes.get::<_, i64>(0) as u64,
        index_bytes: sizes.get::<_, i64>(1) as u64,
        total_bytes: sizes.get::<_, i64>(2) as u64,
        indexes,
    })
}

/// Builds [`INDEXES`] on [`INDEX_BUILDERS`] connections, each taking the next index when done;
/// returns each index's build time.
async fn build_indexes(database_url: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let queue = Arc::new(Mutex::new(INDEXES.iter()));
    let mut builders = Vec::with_capacity(INDEX_BUILDERS);
    for _ in 0..INDEX_BUILDERS {
        let client = connect(database_url).await?;
        let queue = queue.clone();
        builders.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let next = queue.lock().expect("the index queue is never poisoned").next();
                let Some((name, sql)) = next else { break };
                let started = Instant::now();
                client.batch_execute(sql).await.with_context(|| format!("building index {name}"))?;
                let secs = started.elapsed().as_secs_f64();
                info!(index = *name, secs, "index built");
                times.push(((*name).to_owned(), secs));
            }
            anyhow::Ok(times)
        }));
    }
    let mut times = Vec::new();
    for builder in builders {
        times.extend(builder.await.context("an index builder panicked")??);
    }
    Ok(times)
}
