//! `contract-search`: a search sidecar that caches an energy supplier's whole ERP contract list
//! and answers enneo's contract-search calls.
//!
//! Subcommands so far: `demo` (everything on built-in defaults), `serve` (the search server),
//! `generate` (synthetic data and labelled queries), `powercloud-sim` (a Powercloud simulator
//! serving that data), `rebuild` (a full rebuild of the index from the ERP), `eval`, `search`,
//! and `import` (an NDJSON file pushed to a running server). Only `main` picks exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod config;
mod eval;
mod http;
mod logging;
mod progress;
mod schedule;
#[cfg(test)]
mod test_support;

/// A search sidecar for enneo over large ERP contract lists.
#[derive(Debug, Parser)]
#[command(name = "contract-search", version, about)]
struct Cli {
    /// Log format: `human` (default on a terminal) or `json`.
    #[arg(long, global = true, env = "CONTRACT_SEARCH_LOG_FORMAT", default_value = "human")]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Try it out: synthetic contracts in a built-in Powercloud simulator, a full rebuild, and the
    /// search server on 127.0.0.1:8080 with ready-to-run curl examples.
    Demo(commands::demo::DemoArgs),
    /// Run the search server: the HTTP API on the index, with the built-in nightly rebuild.
    Serve(commands::serve::ServeArgs),
    /// Write synthetic German energy contracts (raw Powercloud records) and labelled queries as NDJSON.
    Generate(commands::generate::GenerateArgs),
    /// Serve synthetic contracts over Powercloud's HTTP scheme, with fault injection and a change stream.
    PowercloudSim(commands::powercloud_sim::PowercloudSimArgs),
    /// Rebuild the index from the ERP into a new generation and publish it (for cron or a first load).
    Rebuild(commands::rebuild::RebuildArgs),
    /// Measure search quality on labelled queries (from `generate`), per category.
    Eval(commands::eval::EvalArgs),
    /// Push an NDJSON file of contracts to a running server (`POST /v1/import`), in batches.
    Import(commands::import::ImportArgs),
    /// Run one free-text or fields search on the served index and print the answer as JSON.
    Search(commands::search::SearchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::PowercloudSim(args) => commands::powercloud_sim::run(args),
        Command::Rebuild(args) => commands::rebuild::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Search(args) => commands::search::run(args),
        Command::Import(args) => commands::import::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM: the signals that ask a server to stop gracefully.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
