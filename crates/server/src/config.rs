//! Configuration: one set of settings from three layers, **file < environment < flags**.
//!
//! Every setting has a flag and a `CONTRACT_SEARCH_*` environment variable (clap lets the flag
//! win over the variable); the optional TOML file given by `--config` fills what neither sets;
//! built-in defaults fill the rest. Unknown keys in the file are errors. Secrets (the Powercloud
//! password) come from the environment or the file and are never logged.
//!
//! ```toml
//! data_dir = "/var/lib/contract-search"
//!
//! [index]
//! retention = 2            # generations kept on disk
//! max_shrink = 0.10        # refuse a rebuild that shrinks more than this
//! writer_memory_mb = 1024
//! writer_threads = 2
//!
//! [powercloud]             # every key of the connector's configuration (see the README)
//! base_url = "https://app.powercloud.de"
//! application_hash = "0123456789abcdef0123456789abcdef"
//! user = "apiuser"
//! secret = "..."           # better: CONTRACT_SEARCH_POWERCLOUD_SECRET
//!
//! [server]                 # `serve` only; flags and variables in `commands::serve::ServerArgs`
//! listen = "127.0.0.1:8080"
//! rebuild_schedule = "0 2 * * *"   # cron, or "off"
//! time_zone = "Europe/Berlin"
//! request_timeout = "5s"
//! max_body_bytes = 1048576
//! api_keys = [             # better: CONTRACT_SEARCH_API_KEYS="search=...,admin=..."
//!   { scope = "search", key = "..." },
//!   { scope = "admin", key = "..." },
//! ]
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use contract_search_index::StoreOptions;
use contract_search_index::generation::BuildOptions;
use contract_search_index::validate::ValidationOptions;
use contract_search_ingest::PowercloudConfig;
use serde::Deserialize;

/// Settings shared by the commands that work on a data directory.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML configuration file (optional; flags and environment variables override it).
    #[arg(long, env = "CONTRACT_SEARCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory holding the index generations [default: ./contract-search-data].
    #[arg(long, env = "CONTRACT_SEARCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Powercloud base URL, e.g. https://app.powercloud.de (no ERP when unset).
    #[arg(long, env = "CONTRACT_SEARCH_POWERCLOUD_URL")]
    pub powercloud_url: Option<String>,
    /// Powercloud application hash (the 32 hex characters in the URL).
    #[arg(long, env = "CONTRACT_SEARCH_POWERCLOUD_HASH")]
    pub powercloud_hash: Option<String>,
    /// Powercloud API user (sent as client#<user>).
    #[arg(long, env = "CONTRACT_SEARCH_POWERCLOUD_USER")]
    pub powercloud_user: Option<String>,
    /// Powercloud API password; prefer the environment variable to the flag.
    #[arg(long, env = "CONTRACT_SEARCH_POWERCLOUD_SECRET", hide_env_values = true)]
    pub powercloud_secret: Option<String>,
    /// Generations kept on disk, the served one included [default: 2].
    #[arg(long, env = "CONTRACT_SEARCH_RETENTION")]
    pub retention: Option<usize>,
    /// Largest shrink of a rebuild against the served generation, as a fraction [default: 0.10].
    #[arg(long, env = "CONTRACT_SEARCH_MAX_SHRINK")]
    pub max_shrink: Option<f64>,
    /// Memory budget of the index writer in MiB [default: 1024].
    #[arg(long, env = "CONTRACT_SEARCH_WRITER_MEMORY_MB")]
    pub writer_memory_mb: Option<usize>,
    /// Indexing threads of the index writer [default: 2].
    #[arg(long, env = "CONTRACT_SEARCH_WRITER_THREADS")]
    pub writer_threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    index: IndexFileConfig,
    powercloud: Option<toml::Table>,
    #[serde(default)]
    server: ServerFileConfig,
}

/// The `[server]` table of the config file, as written; `commands::serve` resolves it with the
/// flags and environment variables of `serve`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFileConfig {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Cron expression of the built-in rebuild, or `off`.
    pub rebuild_schedule: Option<String>,
    /// IANA time zone of the schedule.
    pub time_zone: Option<String>,
    /// Request timeout with a unit, e.g. `"5s"`.
    pub request_timeout: Option<String>,
    /// Largest request body in bytes.
    pub max_body_bytes: Option<usize>,
    /// API keys with their scopes.
    pub api_keys: Option<Vec<ApiKeyEntry>>,
    /// Secret of the ERP webhooks (token or HMAC key).
    pub webhook_secret: Option<SecretString>,
    /// Whether every webhook call must carry an HMAC signature.
    pub webhook_require_signature: Option<bool>,
    /// Largest bulk import body in bytes.
    pub max_import_bytes: Option<u64>,
    /// Least time between two commits of live changes, with a unit (`"500ms"`).
    pub commit_interval: Option<String>,
}

/// A secret from the config file; `Debug` redacts it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl fmt::Debug for SecretString {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("\"<redacted>\"")
    }
}

/// One API key of the config file. `Debug` redacts the key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    /// `search`, `import` or `admin`.
    pub scope: String,
    /// The key, sent as `Authorization: Bearer <key>`.
    pub key: String,
}

impl fmt::Debug for ApiKeyEntry {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("ApiKeyEntry").field("scope", &self.scope).field("key", &"<redacted>").finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFileConfig {
    retention: Option<usize>,
    max_shrink: Option<f64>,
    writer_memory_mb: Option<usize>,
    writer_threads: Option<usize>,
}

/// The resolved settings.
#[derive(Debug)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Index store settings.
    pub store: StoreOptions,
    /// The Powercloud source, when one is configured.
    pub powercloud: Option<PowercloudConfig>,
    /// The `[server]` table of the file (resolved by `serve`).
    pub server: ServerFileConfig,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

impl CommonArgs {
    /// Resolves file, environment and flags into settings.
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir =
            self.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("contract-search-data"));
        let max_shrink = self.max_shrink.or(file.index.max_shrink).unwrap_or(0.10);
        if !(0.0..=1.0).contains(&max_shrink) {
            bail!("max_shrink must be a fraction between 0 and 1, not {max_shrink}");
        }
        let retention = self.retention.or(file.index.retention).unwrap_or(2);
        if retention == 0 {
            bail!("retention must keep at least the served generation (1 or more)");
        }
        let store = StoreOptions {
            retention,
            build: BuildOptions {
                num_threads: self.writer_threads.or(file.index.writer_threads).unwrap_or(2).max(1),
                memory_budget_bytes: self.writer_memory_mb.or(file.index.writer_memory_mb).unwrap_or(1024)
                    << 20,
            },
            validation: ValidationOptions { max_shrink, allow_shrink: false },
        };
        let powercloud = self.powercloud(file.powercloud)?;
        Ok(Settings { data_dir, store, powercloud, server: file.server })
    }

    fn powercloud(&self, file: Option<toml::Table>) -> anyhow::Result<Option<PowercloudConfig>> {
        let mut table = file.unwrap_or_default();
        let overrides = [
            ("base_url", &self.powercloud_url),
            ("application_hash", &self.powercloud_hash),
            ("user", &self.powercloud_user),
            ("secret", &self.powercloud_secret),
        ];
        for (key, value) in overrides {
            if let Some(value) = value {
                table.insert(key.to_owned(), toml::Value::String(value.clone()));
            }
        }
        if table.is_empty() {
            return Ok(None);
        }
        for (key, flag) in [
            ("base_url", "--powercloud-url"),
            ("application_hash", "--powercloud-hash"),
            ("user", "--powercloud-user"),
            ("secret", "CONTRACT_SEARCH_POWERCLOUD_SECRET"),
        ] {
            if !table.contains_key(key) {
                bail!("Powercloud is partly configured: `{key}` is missing (set {flag} or powercloud.{key})");
            }
        }
        let config: PowercloudConfig =
            toml::Value::Table(table).try_into().context("the [powercloud] configuration")?;
        config.validate().context("the [powercloud] configuration")?;
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn defaults_without_anything() {
        let settings = CommonArgs::default().resolve().unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("contract-search-data"));
        assert_eq!(settings.store.retention, 2);
        assert!(settings.powercloud.is_none());
    }

    #[test]
    fn flags_override_the_file() {
        let file = write(
            r#"
            data_dir = "/from/file"
            [index]
            retention = 5
            max_shrink = 0.2
            [powercloud]
            base_url = "http://127.0.0.1:1"
            application_hash = "0123456789abcdef0123456789abcdef"
            user = "fileuser"
            secret = "filesecret"
            page_size = 500
            "#,
        );
        let args = CommonArgs {
            config: Some(file.path().to_owned()),
            retention: Some(3),
            powercloud_user: Some("flaguser".into()),
            ..CommonArgs::default()
        };
        let settings = args.resolve().unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("/from/file"));
        assert_eq!(settings.store.retention, 3);
        assert_eq!(settings.store.validation.max_shrink, 0.2);
        let powercloud = settings.powercloud.unwrap();
        assert_eq!(powercloud.user, "flaguser");
        assert_eq!(powercloud.secret, "filesecret");
        assert_eq!(powercloud.page_size, 500);
    }

    #[test]
    fn server_table() {
        let file = write(
            r#"
            [server]
            listen = "0.0.0.0:9000"
            rebuild_schedule = "off"
            api_keys = [{ scope = "search", key = "k1" }, { scope = "admin", key = "k2" }]
            "#,
        );
        let args = CommonArgs { config: Some(file.path().to_owned()), ..CommonArgs::default() };
        let server = args.resolve().unwrap().server;
        assert_eq!(server.listen, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(server.rebuild_schedule.as_deref(), Some("off"));
        let keys = server.api_keys.unwrap();
        assert_eq!((keys[1].scope.as_str(), keys[1].key.as_str()), ("admin", "k2"));
        assert!(!format!("{keys:?}").contains("k2"));
        let file = write("[server]\nlisten_on = \"x\"\n");
        let args = CommonArgs { config: Some(file.path().to_owned()), ..CommonArgs::default() };
        assert!(format!("{:#}", args.resolve().unwrap_err()).contains("listen_on"));
    }

    #[test]
    fn unknown_keys_and_partial_powercloud_are_errors() {
        let file = write("data_dirr = \"x\"\n");
        let args = CommonArgs { config: Some(file.path().to_owned()), ..CommonArgs::default() };
        let error = format!("{:#}", args.resolve().unwrap_err());
        assert!(error.contains("data_dirr"), "{error}");
        let args = CommonArgs { powercloud_url: Some("http://127.0.0.1:1".into()), ..CommonArgs::default() };
        let error = format!("{:#}", args.resolve().unwrap_err());
        assert!(error.contains("application_hash"), "{error}");
    }
}
