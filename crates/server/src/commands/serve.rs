//! `contract-search serve`: the long-running search server. Answers the HTTP API (see
//! [`crate::http`]) on the served generation of the data directory, and rebuilds it from the
//! configured ERP on the built-in schedule (see [`crate::schedule`]) and on
//! `POST /v1/admin/rebuild`.
//!
//! On a data directory without a generation:
//! - with an ERP configured, the first rebuild starts at once, and `/readyz` answers 503 until it
//!   is published (the searches answer 503 `not_ready`);
//! - without one (import-only use), an **empty generation** is published, so the server is ready
//!   at once and the import API can fill it.
//!
//! It refuses to start without an API key unless `--insecure-no-auth` is given. It stops
//! gracefully on Ctrl-C or SIGTERM: open requests finish, a running rebuild is abandoned (the
//! served generation stays; the partial build is removed at the next start).

use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use contract_search_index::GenerationStore;
use contract_search_ingest::Connector;
use contract_search_ingest::journal::{Journal, JournalOptions};
use contract_search_ingest::updater::{Updater, UpdaterOptions};
use contract_search_query::FieldsSettings;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::commands::rebuild::{connectors, run_rebuild};
use crate::config::{CommonArgs, ServerFileConfig, Settings};
use crate::http::updates::{Updates, WebhookAuth};
use crate::http::{self, ApiKeys, AppState, Auth, HttpSettings, Scope};
use crate::schedule::{DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, RebuildJob, RebuildRunner, Schedule, Trigger};

/// The default listen address: loopback, so nothing is exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Options of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Settings of the HTTP server; each one also in the `[server]` table of the config file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CONTRACT_SEARCH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// API keys as comma-separated scope=key pairs, e.g. `search=K1,admin=K2` (scopes: search,
    /// import, admin; admin may do everything). Replaces `[server] api_keys` of the file.
    /// Prefer the environment variable to the flag.
    #[arg(long, env = "CONTRACT_SEARCH_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// Serve without API keys: anyone who reaches the port may search and rebuild.
    #[arg(long, env = "CONTRACT_SEARCH_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Cron expression of the built-in rebuild (minute hour day month weekday), or `off`
    /// [default: `0 2 * * *`, nightly at 02:00].
    #[arg(long, env = "CONTRACT_SEARCH_REBUILD_SCHEDULE")]
    pub rebuild_schedule: Option<String>,
    /// IANA time zone of the rebuild schedule [default: Europe/Berlin].
    #[arg(long, env = "CONTRACT_SEARCH_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// Longest time one request may take, with a unit: `5s`, `800ms` [default: 5s].
    #[arg(long, env = "CONTRACT_SEARCH_REQUEST_TIMEOUT")]
    pub request_timeout: Option<String>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "CONTRACT_SEARCH_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Secret of the ERP webhooks (`POST /v1/webhooks/powercloud`): sent by the ERP as the
    /// `X-Export-Token` header or `?token=`, or used as the key of an HMAC-SHA256 body
    /// signature. Without one, the webhooks are disabled. Prefer the environment variable.
    #[arg(long, env = "CONTRACT_SEARCH_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Accept webhook calls only with a valid HMAC-SHA256 signature of the body
    /// (`X-Signature: sha256=<hex>`), not with the bare token.
    #[arg(long, env = "CONTRACT_SEARCH_WEBHOOK_REQUIRE_SIGNATURE")]
    pub webhook_require_signature: bool,
    /// Largest body of one bulk import (`POST /v1/import`) in bytes [default: 17179869184].
    #[arg(long, env = "CONTRACT_SEARCH_MAX_IMPORT_BYTES")]
    pub max_import_bytes: Option<u64>,
    /// Least time between two commits of live changes (webhooks, imports), with a unit
    /// [default: 500ms]. Changes become searchable at the next commit.
    #[arg(long, env = "CONTRACT_SEARCH_COMMIT_INTERVAL")]
    pub commit_interval: Option<String>,
}

/// The resolved server settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Who may call.
    pub auth: Auth,
    /// The built-in rebuild schedule, unless `off`.
    pub schedule: Option<Schedule>,
    /// Timeouts and limits.
    pub http: HttpSettings,
    /// How the ERP webhooks authenticate.
    pub webhook: WebhookAuth,
    /// How live changes are applied.
    pub updater: UpdaterOptions,
}

impl ServerSettings {
    /// Settings on `listen` with `auth`, no schedule, no webhook secret, and default limits.
    pub fn new(listen: SocketAddr, auth: Auth) -> ServerSettings {
        ServerSettings {
            listen,
            auth,
            schedule: None,
            http: HttpSettings::default(),
            webhook: WebhookAuth::default(),
            updater: UpdaterOptions::default(),
        }
    }
}

/// `5s`, `800ms`, `2m` → a duration.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" | "min" => number.checked_mul(60_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

impl ServerArgs {
    /// Resolves flags and environment (already merged by clap) over the file's `[server]`.
    pub fn resolve(&self, file: &ServerFileConfig) -> anyhow::Result<ServerSettings> {
        let listen = match self.listen.or(file.listen) {
            Some(listen) => listen,
            None => SocketAddr::from_str(DEFAULT_LISTEN).context("the default listen address")?,
        };
        let keys = match (&self.api_keys, &file.api_keys) {
            (Some(list), _) => {
                ApiKeys::parse_list(list).map_err(anyhow::Error::msg).context("CONTRACT_SEARCH_API_KEYS")?
            }
            (None, Some(entries)) => {
                let mut pairs = Vec::with_capacity(entries.len());
                for entry in entries {
                    let scope: Scope =
                        entry.scope.parse().map_err(anyhow::Error::msg).context("[server] api_keys")?;
                    pairs.push((scope, entry.key.clone()));
                }
                ApiKeys::new(pairs).map_err(anyhow::Error::msg).context("[server] api_keys")?
            }
            (None, None) => ApiKeys::default(),
        };
        let auth = match (keys.is_empty(), self.insecure_no_auth) {
            (false, insecure) => {
                if insecure {
                    warn!("--insecure-no-auth is ignored: API keys are configured");
                }
                if keys.has_short_keys() {
                    warn!(
                        min_len = http::RECOMMENDED_MIN_KEY_LEN,
                        "an API key is shorter than recommended; use long random keys"
                    );
                }
                Auth::Keys(keys)
            }
            (true, true) => Auth::Disabled,
            (true, false) => bail!(
                "no API key is configured: set CONTRACT_SEARCH_API_KEYS (e.g. search=<key>,admin=<key>) or \
                 [server] api_keys in the config file, or start with --insecure-no-auth to serve without keys"
            ),
        };
        let schedule_text = self.rebuild_schedule.clone().or(file.rebuild_schedule.clone());
        let time_zone = self.time_zone.clone().or(file.time_zone.clone());
        let schedule = Schedule::parse(
            schedule_text.as_deref().unwrap_or(DEFAULT_SCHEDULE),
            time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE),
        )?;
        let mut http = HttpSettings::default();
        if let Some(text) = self.request_timeout.as_deref().or(file.request_timeout.as_deref()) {
            http.request_timeout =
                parse_duration(text).filter(|timeout| !timeout.is_zero()).with_context(|| {
                    format!("request timeout {text:?}: write a number with a unit, e.g. 5s or 800ms")
                })?;
        }
        if let Some(limit) = self.max_body_bytes.or(file.max_body_bytes) {
            if limit == 0 {
                bail!("max_body_bytes must be positive");
            }
            http.max_body_bytes = limit;
        }
        if let Some(limit) = self.max_import_bytes.or(file.max_import_bytes) {
            if limit == 0 {
                bail!("max_import_bytes must be positive");
            }
            http.max_import_bytes = limit;
        }
        let webhook = WebhookAuth {
            secret: self
                .webhook_secret
                .clone()
                .or(file.webhook_secret.as_ref().map(|secret| secret.0.clone()))
                .filter(|secret| !secret.is_empty()),
            require_signature: self.webhook_require_signature
                || file.webhook_require_signature.unwrap_or(false),
        };
        if webhook.require_signature && webhook.secret.is_none() {
            bail!("webhook_require_signature needs a webhook secret (CONTRACT_SEARCH_WEBHOOK_SECRET)");
        }
        let mut updater = UpdaterOptions::default();
        if let Some(text) = self.commit_interval.as_deref().or(file.commit_interval.as_deref()) {
            updater.commit_interval = parse_duration(text).with_context(|| {
                format!("commit interval {text:?}: write a number with a unit, e.g. 500ms or 1s")
            })?;
        }
        Ok(ServerSettings { listen, auth, schedule, http, webhook, updater })
    }
}

/// The rebuild job of `settings` (the same `run_rebuild` as the `rebuild` command), or `None`
/// when no ERP is configured.
pub fn rebuild_job(
    settings: Arc<Settings>,
    store: Arc<GenerationStore>,
) -> anyhow::Result<Option<RebuildJob>> {
    if connectors(&settings)?.is_empty() {
        return Ok(None);
    }
    let job: RebuildJob = Arc::new(move |allow_shrink| {
        let settings = settings.clone();
        let store = store.clone();
        Box::pin(async move { run_rebuild(&settings, store, allow_shrink).await })
    });
    Ok(Some(job))
}

/// The directory of the change journal inside a data directory.
pub const JOURNAL_DIR: &str = "journal";

/// Serves the API on `listener` until `shutdown` completes: the rebuild schedule, (on an
/// empty data directory) the first rebuild, and the updater (journalled changes from
/// `connectors`' webhooks and the import API) run alongside.
pub async fn serve_on(
    listener: TcpListener,
    store: Arc<GenerationStore>,
    job: Option<RebuildJob>,
    connectors: Vec<Arc<dyn Connector>>,
    server: ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let journal_dir = store.root().join(JOURNAL_DIR);
    let journal = {
        let dir = journal_dir.clone();
        tokio::task::spawn_blocking(move || Journal::open(&dir, JournalOptions::default()))
            .await
            .context("opening the change journal")?
            .with_context(|| format!("opening the change journal in {}", journal_dir.display()))?
    };
    let erp_sources: Vec<String> = connectors.iter().map(|connector| connector.source().to_owned()).collect();
    let updater = Arc::new(
        Updater::start(store.clone(), Arc::new(journal), connectors, server.updater.clone())
            .context("starting the updater")?,
    );
    let updates = Updates { updater: updater.clone(), erp_sources, webhook: server.webhook.clone() };
    let runner = Arc::new(RebuildRunner::new(job, server.schedule.clone()));
    if store.current().is_none() {
        if runner.is_configured() {
            info!(
                "no index generation yet: the first rebuild starts now; /readyz answers 503 until it is published"
            );
            let _ = runner.try_start(Trigger::Startup, false);
        } else {
            warn!(
                "no ERP is configured and no index exists: serving an empty generation (fill it through the import API)"
            );
            let empty_store = store.clone();
            // The index refuses an empty generation unless told so: here it is the intent.
            let created = tokio::task::spawn_blocking(move || {
                contract_search_ingest::rebuild::rebuild_from_contracts(&empty_store, Vec::new(), true)
            })
            .await
            .context("creating the empty generation")?;
            match created {
                Ok(_) => {}
                // Another process builds this data directory: its generation is picked up by
                // the refresh below once it is published.
                Err(contract_search_ingest::Error::Index(contract_search_index::Error::BuildRunning)) => {
                    warn!("another process is building this data directory; serving once it has published")
                }
                Err(error) => return Err(error).context("creating the empty generation"),
            }
        }
    }
    let schedule = tokio::spawn(crate::schedule::run_schedule(runner.clone()));
    let refresher = tokio::spawn(refresh_generations(store.clone()));
    if let Auth::Disabled = server.auth {
        warn!(listen = %server.listen, "serving WITHOUT API keys (--insecure-no-auth): anyone who reaches this port may search and rebuild");
    }
    let state = AppState::new(store, FieldsSettings::default(), server.auth, runner, server.http)
        .with_updates(updates);
    let address = listener.local_addr().context("reading the bound address")?;
    info!(%address, "contract-search serving");
    let served = axum::serve(listener, http::router(state)).with_graceful_shutdown(shutdown).await;
    schedule.abort();
    refresher.abort();
    // Commits what was applied; the rest is replayed from the journal at the next start.
    let _ = tokio::task::spawn_blocking(move || updater.stop()).await;
    info!(%address, "contract-search stopped");
    served.context("serving HTTP")
}

/// How often `serve` looks for a generation published by another process.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Switches to generations that another process (a `rebuild` run from cron on the same data
/// directory) publishes.
async fn refresh_generations(store: Arc<GenerationStore>) {
    let mut ticks = tokio::time::interval(REFRESH_EVERY);
    loop {
        ticks.tick().await;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.refresh()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => warn!(%error, "could not load the generation named by CURRENT"),
            Err(error) => warn!(%error, "generation refresh task failed"),
        }
    }
}

/// Runs `serve` until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.common.resolve()?;
    let server = args.server.resolve(&settings.server)?;
    let store = Arc::new(
        GenerationStore::open(&settings.data_dir, settings.store.clone())
            .with_context(|| format!("opening the data directory {}", settings.data_dir.display()))?,
    );
    info!(
        data_dir = %settings.data_dir.display(),
        erp_configured = settings.powercloud.is_some(),
        rebuild_schedule = server.schedule.as_ref().map_or("off", Schedule::pattern),
        time_zone = server.schedule.as_ref().map(|schedule| schedule.time_zone().name()),
        "starting"
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let served = runtime.block_on(async move {
        let listener =
            TcpListener::bind(server.listen).await.with_context(|| format!("binding {}", server.listen))?;
        let connectors = connectors(&settings)?;
        let job = rebuild_job(Arc::new(settings), store.clone())?;
        serve_on(listener, store, job, connectors, server, crate::shutdown_signal()).await
    });
    // A rebuild still running holds blocking threads (indexing, merging): do not wait for it.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    served
}

/// How long the stop waits for blocking work (a running rebuild) once the server has stopped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiKeyEntry;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration(" 800ms "), Some(Duration::from_millis(800)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5h"), None);
    }

    #[test]
    fn defaults_need_a_key_or_the_explicit_insecure_flag() {
        let error = format!("{:#}", ServerArgs::default().resolve(&ServerFileConfig::default()).unwrap_err());
        assert!(error.contains("--insecure-no-auth"), "{error}");
        let args = ServerArgs { insecure_no_auth: true, ..ServerArgs::default() };
        let settings = args.resolve(&ServerFileConfig::default()).unwrap();
        assert!(matches!(settings.auth, Auth::Disabled));
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        let schedule = settings.schedule.unwrap();
        assert_eq!((schedule.pattern(), schedule.time_zone().name()), (DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE));
        assert_eq!(settings.http.request_timeout, Duration::from_secs(5));
        assert_eq!(settings.http.max_body_bytes, 1 << 20);
    }

    #[test]
    fn flags_and_environment_override_the_file() {
        let file = ServerFileConfig {
            listen: Some("0.0.0.0:9000".parse().unwrap()),
            rebuild_schedule: Some("0 3 * * *".into()),
            time_zone: Some("UTC".into()),
            request_timeout: Some("2s".into()),
            max_body_bytes: Some(1000),
            api_keys: Some(vec![ApiKeyEntry { scope: "search".into(), key: "from-file".into() }]),
            ..ServerFileConfig::default()
        };
        let from_file = ServerArgs::default().resolve(&file).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.http.request_timeout, Duration::from_secs(2));
        assert_eq!(from_file.http.max_body_bytes, 1000);
        let Auth::Keys(keys) = &from_file.auth else { panic!("keys expected") };
        assert!(keys.check(b"from-file", http::Requirement::Scope(Scope::Search)).is_ok());

        let args = ServerArgs {
            listen: Some("127.0.0.1:7000".parse().unwrap()),
            api_keys: Some("admin=from-env".into()),
            rebuild_schedule: Some("off".into()),
            request_timeout: Some("250ms".into()),
            ..ServerArgs::default()
        };
        let settings = args.resolve(&file).unwrap();
        assert_eq!(settings.listen.port(), 7000);
        assert!(settings.schedule.is_none());
        assert_eq!(settings.http.request_timeout, Duration::from_millis(250));
        let Auth::Keys(keys) = &settings.auth else { panic!("keys expected") };
        assert!(
            keys.check(b"from-file", http::Requirement::AnyKey).is_err(),
            "the variable replaces the file's keys"
        );
        assert!(keys.check(b"from-env", http::Requirement::Scope(Scope::Admin)).is_ok());
    }

    #[test]
    fn bad_values_are_named() {
        let args = ServerArgs { api_keys: Some("reader=x".into()), ..ServerArgs::default() };
        assert!(format!("{:#}", args.resolve(&ServerFileConfig::default()).unwrap_err()).contains("reader"));
        let args = ServerArgs {
            insecure_no_auth: true,
            time_zone: Some("Mars/Olympus".into()),
            ..ServerArgs::default()
        };
        assert!(
            format!("{:#}", args.resolve(&ServerFileConfig::default()).unwrap_err()).contains("Mars/Olympus")
        );
        let args = ServerArgs {
            insecure_no_auth: true,
            request_timeout: Some("soon".into()),
            ..ServerArgs::default()
        };
        assert!(format!("{:#}", args.resolve(&ServerFileConfig::default()).unwrap_err()).contains("soon"));
    }
}
