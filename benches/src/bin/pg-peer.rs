//! `pg-peer`: the PostgreSQL peer of the benchmark (see `contract_search_benches::pg`).
//!
//! ```text
//! cargo run --release -p contract-search-benches --bin pg-peer -- cluster-start --dir /tmp/pg --port 55432
//! cargo run --release -p contract-search-benches --bin pg-peer -- load \
//!     --database-url "host=127.0.0.1 port=55432 user=postgres dbname=contracts" --contracts DIR/contracts.ndjson
//! cargo run --release -p contract-search-benches --bin pg-peer -- serve \
//!     --database-url "host=127.0.0.1 port=55432 user=postgres dbname=contracts" --listen 127.0.0.1:8091
//! cargo run --release -p contract-search-benches --bin pg-peer -- eval \
//!     --url http://127.0.0.1:8091 --queries DIR/queries.ndjson
//! cargo run --release -p contract-search-benches --bin pg-peer -- cluster-stop --dir /tmp/pg
//! ```

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use contract_search_benches::pg::{self, Cluster};
use contract_search_benches::write_result;
use tracing_subscriber::EnvFilter;

/// The PostgreSQL peer of contract-search: a private cluster, the bulk load, the four enneo
/// calls over HTTP, and search quality over HTTP.
#[derive(Debug, Parser)]
#[command(name = "pg-peer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a tuned private cluster (initialised on first use; installs PostgreSQL 15 from
    /// Debian's packages when missing) and leaves it running; prints the database URL.
    ClusterStart {
        /// Data directory (created; owned by the `postgres` user when run as root).
        #[arg(long)]
        dir: PathBuf,
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 55432)]
        port: u16,
    },
    /// Stops the cluster in a data directory (fast shutdown); nothing to do if none runs.
    ClusterStop {
        /// Data directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Replaces the table with raw Powercloud contract records (NDJSON from
    /// `contract-search generate`), builds the indexes, and reports time and sizes.
    Load {
        /// Connection string, e.g. "host=127.0.0.1 port=55432 user=postgres dbname=contracts".
        #[arg(long, env = "PG_PEER_DATABASE_URL")]
        database_url: String,
        /// `contracts.ndjson` as written by `contract-search generate`.
        #[arg(long)]
        contracts: PathBuf,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Serves the four enneo calls with contract-search's routes and shapes.
    Serve {
        /// Connection string.
        #[arg(long, env = "PG_PEER_DATABASE_URL")]
        database_url: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8091")]
        listen: String,
        /// Connections in the pool (default: two per core).
        #[arg(long)]
        pool_size: Option<usize>,
    },
    /// Search quality of a server (this one, or contract-search with `--api-key`) on labelled
    /// queries, over HTTP.
    Eval {
        /// Base URL of the server.
        #[arg(long)]
        url: String,
        /// `queries.ndjson` as written by `contract-search generate`.
        #[arg(long)]
        queries: PathBuf,
        /// Bearer key (contract-search needs one; the peer ignores it).
        #[arg(long, env = "PG_PEER_EVAL_API_KEY")]
        api_key: Option<String>,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the queries answered wrongly or not at all here (NDJSON).
        #[arg(long)]
        failures: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::ClusterStart { dir, port } => {
            let cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir, port)).await??;
            println!("{}", cluster.database_url());
            cluster.detach();
        }
        Command::ClusterStop { dir } => {
            tokio::task::spawn_blocking(move || pg::cluster::stop(&dir)).await??;
        }
        Command::Load { database_url, contracts, json } => {
            let records = pg::contracts_from_ndjson(&contracts)?;
            let report = pg::load(&database_url, records).await?;
            let value = serde_json::to_value(&report)?;
            println!("{}", serde_json::to_string_pretty(&value)?);
            if let Some(path) = json {
                write_result(&path, &value).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Command::Serve { database_url, listen, pool_size } => {
            let mut options = pg::ServeOptions::default();
            if let Some(pool_size) = pool_size {
                options.pool_size = pool_size;
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            tokio::select! {
                served = pg::serve(listener, &database_url, options) => served?,
                _ = shutdown_signal() => tracing::info!("shutting down"),
            }
        }
        Command::Eval { url, queries, api_key, json, failures } => {
            let queries = pg::eval::read_queries(&queries)?;
            let report = pg::eval::evaluate_http(&url, api_key.as_deref(), &queries).await?;
            print!("{}", report.markdown());
            if let Some(path) = failures {
                let lines: Vec<String> = report.failures.iter().map(|failure| failure.to_string()).collect();
                std::fs::write(&path, lines.join("\n") + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(path) = json {
                let value =
                    serde_json::json!({ "categories": report.categories, "summary": report.summary() });
                write_result(&path, &value).with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => return interrupt.await.unwrap_or(()),
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
