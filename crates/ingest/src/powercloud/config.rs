//! The Powercloud connector's settings: where the installation is, how to authenticate, and how
//! hard to page and retry.
//!
//! It deserialises from the server's config file with unknown keys rejected; durations are
//! written with a unit (`"30s"`, `"200ms"`, `"2m"`). The list function names and the ERP deep
//! link are configurable because Powercloud publishes neither (see the module documentation of
//! [`powercloud`](super)). `Debug` redacts the secret, so the config can be logged as it is.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::{Error, Result};

/// Settings of one Powercloud installation.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowercloudConfig {
    /// Scheme and host, e.g. `https://app.powercloud.de` (or `http://127.0.0.1:PORT` for the
    /// simulator); requests go to `<base_url>/rest:client/<application_hash>/<function>`.
    pub base_url: String,
    /// The installation's application key (the `<hash>` in the URL).
    pub application_hash: String,
    /// API user, sent as `client#<user>` in HTTP Basic auth.
    pub user: String,
    /// The API user's password. Never logged.
    pub secret: String,
    /// The `source` written into every record, so that several installations can share an index.
    #[serde(default = "defaults::source")]
    pub source: String,
    /// Records per list call (`limit`).
    #[serde(default = "defaults::page_size")]
    pub page_size: usize,
    /// List pages in flight at once, and the most requests this connector has open at any time.
    #[serde(default = "defaults::concurrency")]
    pub concurrency: usize,
    /// Timeout of one HTTP request, answer body included.
    #[serde(default = "defaults::request_timeout", with = "duration")]
    pub request_timeout: Duration,
    /// Retries of one call after its first attempt (timeouts, connection errors, 429, 5xx).
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; it doubles with each further retry.
    #[serde(default = "defaults::backoff_base", with = "duration")]
    pub backoff_base: Duration,
    /// Upper bound of every wait between attempts, `Retry-After` included.
    #[serde(default = "defaults::backoff_cap", with = "duration")]
    pub backoff_cap: Duration,
    /// The list function for contracts (not public; assumed `getContracts`).
    #[serde(default = "defaults::list_contracts_function")]
    pub list_contracts_function: String,
    /// The list function for customers (not public; assumed `getCustomers`).
    #[serde(default = "defaults::list_customers_function")]
    pub list_customers_function: String,
    /// Deep link into the ERP for enneo's `erpUrls`, with `{id}` standing for the contract id
    /// (and `{customerId}` for its customer), e.g. `https://app.powercloud.de/contract/{id}`.
    #[serde(default)]
    pub erp_url_template: Option<String>,
}

mod defaults {
    use std::time::Duration;

    pub(super) fn source() -> String {
        "powercloud".to_owned()
    }
    pub(super) fn page_size() -> usize {
        1000
    }
    pub(super) fn concurrency() -> usize {
        4
    }
    pub(super) fn request_timeout() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn max_retries() -> u32 {
        8
    }
    pub(super) fn backoff_base() -> Duration {
        Duration::from_millis(200)
    }
    pub(super) fn backoff_cap() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn list_contracts_function() -> String {
        "getContracts".to_owned()
    }
    pub(super) fn list_customers_function() -> String {
        "getCustomers".to_owned()
    }
}

/// Largest page we ask for; bigger pages only make each retry more expensive.
const MAX_PAGE_SIZE: usize = 10_000;
/// Most requests in flight against one installation.
const MAX_CONCURRENCY: usize = 64;

impl PowercloudConfig {
    /// A config with the given installation and credentials and every other setting at its
    /// default.
    pub fn new(
        base_url: impl Into<String>,
        application_hash: impl Into<String>,
        user: impl Into<String>,
        secret: impl Into<String>,
    ) -> PowercloudConfig {
        PowercloudConfig {
            base_url: base_url.into(),
            application_hash: application_hash.into(),
            user: user.into(),
            secret: secret.into(),
            source: defaults::source(),
            page_size: defaults::page_size(),
            concurrency: defaults::concurrency(),
            request_timeout: defaults::request_timeout(),
            max_retries: defaults::max_retries(),
            backoff_base: defaults::backoff_base(),
            backoff_cap: defaults::backoff_cap(),
            list_contracts_function: defaults::list_contracts_function(),
            list_customers_function: defaults::list_customers_function(),
            erp_url_template: None,
        }
    }

    /// Checks every setting; the message names the offending one (never the secret's value).
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::Config(message));
        let base_url = self.base_url.trim();
        let Some(rest) = base_url.strip_prefix("https://").or_else(|| base_url.strip_prefix("http://"))
        else {
            return invalid("`base_url` must start with https:// or http://".to_owned());
        };
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return invalid("`base_url` has no host".to_owned());
        }
        if host.contains('@') {
            return invalid("`base_url` must not carry credentials; set `user` and `secret`".to_owned());
        }
        if rest.contains(['?', '#']) {
            return invalid("`base_url` must not carry a query or fragment".to_owned());
        }
        if !is_path_segment(&self.application_hash) {
            return invalid(
                "`application_hash` must be a non-empty run of letters, digits, `-` and `_`".to_owned(),
            );
        }
        if self.user.trim().is_empty() || self.user.contains(':') {
            return invalid("`user` must be non-empty and must not contain `:`".to_owned());
        }
        if self.secret.is_empty() {
            return invalid("`secret` must not be empty".to_owned());
        }
        if self.source.trim().is_empty() {
            return invalid("`source` must not be empty".to_owned());
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return invalid(format!(
                "`page_size` must be between 1 and {MAX_PAGE_SIZE}, is {}",
                self.page_size
            ));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return invalid(format!(
                "`concurrency` must be between 1 and {MAX_CONCURRENCY}, is {}",
                self.concurrency
            ));
        }
        if self.request_timeout.is_zero() {
            return invalid("`request_timeout` must be positive".to_owned());
        }
        if self.backoff_base > self.backoff_cap {
            return invalid("`backoff_base` must not exceed `backoff_cap`".to_owned());
        }
        for (name, function) in [
            ("list_contracts_function", &self.list_contracts_function),
            ("list_customers_function", &self.list_customers_function),
        ] {
            if !is_path_segment(function) {
                return invalid(format!("`{name}` must be a non-empty run of letters, digits, `-` and `_`"));
            }
        }
        if let Some(template) = &self.erp_url_template
            && !template.contains("{id}")
        {
            return invalid("`erp_url_template` must contain `{id}`".to_owned());
        }
        Ok(())
    }
}

fn is_path_segment(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

impl fmt::Debug for PowercloudConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PowercloudConfig")
            .field("base_url", &self.base_url)
            .field("application_hash", &self.application_hash)
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .field("source", &self.source)
            .field("page_size", &self.page_size)
            .field("concurrency", &self.concurrency)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("list_contracts_function", &self.list_contracts_function)
            .field("list_customers_function", &self.list_customers_function)
            .field("erp_url_template", &self.erp_url_template)
            .finish()
    }
}

/// Durations written with a unit: `"250ms"`, `"30s"`, `"2m"`, `"1h"`.
mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid duration {text:?}: write a number with a unit, e.g. \"30s\" or \"200ms\""
            ))
        })
    }

    pub(super) fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().ok()?;
        let millis_per_unit = match unit.trim() {
            "ms" => 1,
            "s" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        number.checked_mul(millis_per_unit).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PowercloudConfig {
        PowercloudConfig::new(
            "https://app.powercloud.de",
            "0123456789abcdef0123456789abcdef",
            "apiuser",
            "hunter2",
        )
    }

    #[test]
    fn defaults_and_durations_deserialise() {
        let json = serde_json::json!({
            "base_url": "http://127.0.0.1:8080", "application_hash": "abc", "user": "apiuser",
            "secret": "hunter2", "request_timeout": "5s", "backoff_base": "50ms", "backoff_cap": "2m",
        });
        let config: PowercloudConfig = serde_json::from_value(json).unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(5));
        assert_eq!(config.backoff_base, Duration::from_millis(50));
        assert_eq!(config.backoff_cap, Duration::from_secs(120));
        assert_eq!((config.page_size, config.concurrency, config.max_retries), (1000, 4, 8));
        assert_eq!(config.list_contracts_function, "getContracts");
        assert_eq!(config.source, "powercloud");
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_unitless_durations_are_rejected() {
        let base =
            serde_json::json!({"base_url": "https://x", "application_hash": "a", "user": "u", "secret": "s"});
        let mut unknown = base.clone();
        unknown["page_sise"] = 10.into();
        assert!(serde_json::from_value::<PowercloudConfig>(unknown).is_err());
        let mut unitless = base;
        unitless["request_timeout"] = "30".into();
        let error = serde_json::from_value::<PowercloudConfig>(unitless).unwrap_err();
        assert!(error.to_string().contains("with a unit"), "{error}");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let text = format!("{:?}", config());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn validation_names_the_setting() {
        config().validate().unwrap();
        let cases = [
            (PowercloudConfig { base_url: "app.powercloud.de".into(), ..config() }, "base_url"),
            (PowercloudConfig { base_url: "https://u:p@host".into(), ..config() }, "base_url"),
            (PowercloudConfig { application_hash: "a/b".into(), ..config() }, "application_hash"),
            (PowercloudConfig { user: "a:b".into(), ..config() }, "user"),
            (PowercloudConfig { page_size: 0, ..config() }, "page_size"),
            (PowercloudConfig { concurrency: 0, ..config() }, "concurrency"),
            (PowercloudConfig { backoff_base: Duration::from_secs(60), ..config() }, "backoff_base"),
            (
                PowercloudConfig { erp_url_template: Some("https://x/contract".into()), ..config() },
                "erp_url_template",
            ),
        ];
        for (config, setting) in cases {
            let message = config.validate().unwrap_err().to_string();
            assert!(message.contains(setting), "{message}");
            assert!(!message.contains("hunter2"));
        }
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(duration::parse("200ms"), Some(Duration::from_millis(200)));
        assert_eq!(duration::parse("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(duration::parse("10 s"), Some(Duration::from_secs(10)));
        assert_eq!(duration::parse("10"), None);
        assert_eq!(duration::parse("s"), None);
        assert_eq!(duration::parse("1.5s"), None);
    }
}
