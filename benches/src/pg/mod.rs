//! The PostgreSQL peer: what an integrator would build instead of contract-search, for a fair
//! side-by-side benchmark. The same four enneo calls behind the same HTTP shape, answered by
//! PostgreSQL 15 with `pg_trgm`, so one load generator drives both.
//!
//! - [`cluster`]: a private, tuned PostgreSQL cluster (installed, initialised, started, stopped);
//! - [`schema`] and [`load`]: one row per contract with the product's own normalised keys and
//!   folded names, binary `COPY ... FREEZE`, B-tree and GIN trigram indexes, `VACUUM (ANALYZE)`;
//! - [`fields`] and [`free_text`]: the two searches as SQL (exact identifier look-ups, trigram
//!   similarity), scored and decided in Rust;
//! - [`server`]: the HTTP routes of contract-search (`/v1/contracts/{id}`, `/v1/customers/{id}`,
//!   `/v1/search/fields`, `/v1/search`) over a small connection pool with prepared statements;
//! - [`eval`]: search quality over HTTP on the generator's labelled queries, for either server.
//! - [`memory`]: peak memory of a server made of several processes (summed PSS);
//! - [`report`]: the side-by-side results of `bench-peer` (JSON per size, markdown tables).
//!
//! ```text
//! pg-peer cluster-start --dir /tmp/pg --port 55432
//! pg-peer load --database-url "host=127.0.0.1 port=55432 user=postgres dbname=contracts" --contracts DIR/contracts.ndjson
//! pg-peer serve --database-url "..." --listen 127.0.0.1:8091
//! pg-peer eval --url http://127.0.0.1:8091 --queries DIR/queries.ndjson
//! pg-peer cluster-stop --dir /tmp/pg
//! ```

pub mod cluster;
pub mod eval;
pub mod fields;
pub mod free_text;
pub mod load;
pub mod memory;
pub mod report;
pub mod schema;
pub mod server;

use anyhow::Context;

pub use cluster::Cluster;
pub use load::{LoadReport, contracts_from_ndjson, load};
pub use server::{ServeOptions, serve};

/// Opens one connection (no TLS: the cluster listens on loopback only) and drives it on a
/// task of its own.
pub async fn connect(database_url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL ({})", redact_password(database_url)))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "PostgreSQL connection closed with an error");
        }
    });
    Ok(client)
}

/// The connection string without a password (for error messages).
fn redact_password(database_url: &str) -> String {
    match database_url.parse::<tokio_postgres::Config>() {
        Ok(config) => {
            let hosts: Vec<String> = config
                .get_hosts()
                .iter()
                .map(|host| match host {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            format!(
                "host={} port={:?} user={} dbname={}",
                hosts.join(","),
                config.get_ports(),
                config.get_user().unwrap_or("-"),
                config.get_dbname().unwrap_or("-")
            )
        }
        Err(_) => "an unparsable connection string".to_owned(),
    }
}
