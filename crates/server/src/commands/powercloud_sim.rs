//! `contract-search powercloud-sim`: serve synthetic contracts over Powercloud's HTTP scheme,
//! with fault injection and a change stream posting events to an export target.

use std::net::SocketAddr;

use anyhow::Context;
use contract_search_sim::server::{Faults, SimConfig, serve};
use tracing::info;

/// Options of `powercloud-sim`.
#[derive(Debug, clap::Args)]
pub struct PowercloudSimArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, env = "CONTRACT_SEARCH_SIM_LISTEN", default_value = "127.0.0.1:8091")]
    pub listen: SocketAddr,
    /// Number of contracts served.
    #[arg(long, env = "CONTRACT_SEARCH_SIM_CONTRACTS", default_value_t = 200_000)]
    pub contracts: u64,
    /// Seed of the data (the same as `generate --seed` gives the same records).
    #[arg(long, env = "CONTRACT_SEARCH_SIM_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Application hash in the URL.
    #[arg(long, env = "CONTRACT_SEARCH_SIM_HASH", default_value = "0123456789abcdef0123456789abcdef")]
    pub application_hash: String,
    /// API user (clients send `client#<user>`).
    #[arg(long, env = "CONTRACT_SEARCH_SIM_USER", default_value = "apiuser")]
    pub user: String,
    /// API password.
    #[arg(long, env = "CONTRACT_SEARCH_SIM_PASSWORD", default_value = "secret", hide_env_values = true)]
    pub password: String,
    /// Changes per second made to the data (0: none).
    #[arg(long, env = "CONTRACT_SEARCH_SIM_CHANGE_RATE", default_value_t = 0.0)]
    pub change_rate: f64,
    /// URL the change events are POSTed to (Powercloud's export target).
    #[arg(long, env = "CONTRACT_SEARCH_SIM_EXPORT_TARGET")]
    pub export_target: Option<String>,
    /// Token sent with each event in the `X-Export-Token` header.
    #[arg(long, env = "CONTRACT_SEARCH_SIM_EXPORT_TOKEN", hide_env_values = true)]
    pub export_token: Option<String>,
    /// Added latency per request in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests answered with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fraction of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit_rate: f64,
    /// Fraction of requests that hang for --hang-secs before answering.
    #[arg(long, default_value_t = 0.0)]
    pub hang_rate: f64,
    /// Seconds a hanging request hangs.
    #[arg(long, default_value_t = 30)]
    pub hang_secs: u64,
    /// Cut the list functions short after this many records (a truncated export).
    #[arg(long)]
    pub truncate_after: Option<u64>,
    /// Leave `total` out of list pages, as older installations do.
    #[arg(long)]
    pub omit_total: bool,
}

/// Runs `powercloud-sim` until Ctrl-C or SIGTERM.
pub fn run(args: PowercloudSimArgs) -> anyhow::Result<()> {
    let faults = Faults {
        latency_ms: args.latency_ms,
        error_rate: args.error_rate,
        rate_limit_rate: args.rate_limit_rate,
        hang_rate: args.hang_rate,
        hang_secs: args.hang_secs,
        truncate_after: args.truncate_after,
        omit_total: args.omit_total,
        ..Faults::default()
    };
    faults.validate().map_err(|reason| anyhow::anyhow!("fault settings: {reason}"))?;
    let config = SimConfig {
        seed: args.seed,
        num_contracts: args.contracts,
        application_hash: args.application_hash,
        user: args.user,
        password: args.password,
        faults,
        change_rate_per_sec: args.change_rate,
        export_target: args.export_target,
        export_token: args.export_token,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        info!(
            listen = %args.listen,
            num_contracts = config.num_contracts,
            base_url = format!("http://{}/rest:client/{}/", args.listen, config.application_hash),
            "powercloud simulator listening"
        );
        serve(listener, config, crate::shutdown_signal()).await.context("serving the simulator")
    })
}
