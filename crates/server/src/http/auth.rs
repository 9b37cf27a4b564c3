//! API keys and their scopes.
//!
//! Every route but `/healthz` and `/readyz` needs `Authorization: Bearer <key>`. A key holds one
//! or more scopes:
//!
//! | scope | may call |
//! |---|---|
//! | `search` | the searches: contract and customer by id, fields, free text, `search/contracts` |
//! | `import` | the import API (contract and customer pushes) |
//! | `admin` | everything: the admin routes, and every route of the other scopes |
//!
//! `admin` implies all scopes; `search` and `import` imply nothing else (an import job's key
//! cannot read contracts, a search key cannot write them). A key that should do both is
//! configured twice, once per scope. `/metrics` takes a key of any scope, so a Prometheus
//! scraper can use a search key.
//!
//! The presented key is compared with every configured key in constant time (`subtle`), and
//! all of them are always compared, so the answer time tells nothing about how much of a key
//! was right or which key matched. Key lengths are not secret.

use std::fmt;
use std::str::FromStr;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The searches.
    Search,
    /// The import API.
    Import,
    /// Everything.
    Admin,
}

impl Scope {
    fn bit(self) -> u8 {
        match self {
            Scope::Search => 1,
            Scope::Import => 2,
            Scope::Admin => 4,
        }
    }

    /// The scope's name in configuration and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Search => "search",
            Scope::Import => "import",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Scope, String> {
        match text.trim() {
            "search" => Ok(Scope::Search),
            "import" => Ok(Scope::Import),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown API key scope {other:?} (expected search, import or admin)")),
        }
    }
}

/// What a route asks of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A key with this scope (or `admin`).
    Scope(Scope),
    /// A valid key of any scope.
    AnyKey,
}

/// The configured keys. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct ApiKeys {
    entries: Vec<(Scope, Box<[u8]>)>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scopes: Vec<Scope> = self.entries.iter().map(|(scope, _)| *scope).collect();
        formatter.debug_struct("ApiKeys").field("scopes", &scopes).finish_non_exhaustive()
    }
}

/// Shortest key accepted without a warning.
pub const RECOMMENDED_MIN_KEY_LEN: usize = 16;

impl ApiKeys {
    /// Keys from `(scope, key)` pairs; empty keys are refused.
    pub fn new(entries: impl IntoIterator<Item = (Scope, String)>) -> Result<ApiKeys, String> {
        let mut keys = ApiKeys::default();
        for (scope, key) in entries {
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("an API key of scope {scope} is empty"));
            }
            keys.entries.push((scope, key.as_bytes().into()));
        }
        Ok(keys)
    }

    /// Parses `scope=key` pairs separated by commas, e.g. `search=abc,admin=xyz`.
    pub fn parse_list(text: &str) -> Result<ApiKeys, String> {
        let mut entries = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let Some((scope, key)) = pair.split_once('=') else {
                return Err("API keys must be written as scope=key pairs separated by commas".to_owned());
            };
            entries.push((scope.parse()?, key.to_owned()));
        }
        ApiKeys::new(entries)
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any key is shorter than [`RECOMMENDED_MIN_KEY_LEN`].
    pub fn has_short_keys(&self) -> bool {
        self.entries.iter().any(|(_, key)| key.len() < RECOMMENDED_MIN_KEY_LEN)
    }

    /// The scopes of a presented key as bits; 0 if it is not a configured key. Compares with
    /// every key, each in constant time.
    fn scope_bits(&self, presented: &[u8]) -> u8 {
        let mut bits = 0u8;
        for (scope, key) in &self.entries {
            bits |= presented.ct_eq(key).unwrap_u8() * scope.bit();
        }
        bits
    }

    /// Checks a presented key against a requirement.
    pub fn check(&self, presented: &[u8], requirement: Requirement) -> Result<(), ApiError> {
        let bits = self.scope_bits(presented);
        if bits == 0 {
            return Err(ApiError::InvalidApiKey);
        }
        match requirement {
            Requirement::AnyKey => Ok(()),
            Requirement::Scope(scope) if bits & (scope.bit() | Scope::Admin.bit()) != 0 => Ok(()),
            Requirement::Scope(scope) => Err(ApiError::InsufficientScope(scope)),
        }
    }
}

/// Who may call: keys, or anyone (only with `--insecure-no-auth`).
#[derive(Debug, Clone)]
pub enum Auth {
    /// Requests need a configured key.
    Keys(ApiKeys),
    /// Every request passes (explicitly insecure).
    Disabled,
}

impl Auth {
    /// Whether every request passes (`--insecure-no-auth`).
    pub fn is_disabled(&self) -> bool {
        matches!(self, Auth::Disabled)
    }
}

/// The bearer token of a request: `Ok(None)` without an `Authorization` header.
fn bearer_token(request: &Request) -> Result<Option<&[u8]>, ApiError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.as_bytes();
    let (scheme, token) = match value.iter().position(|&byte| byte == b' ') {
        Some(space) => (&value[..space], value[space + 1..].trim_ascii()),
        None => return Err(ApiError::InvalidApiKey),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") || token.is_empty() {
        return Err(ApiError::InvalidApiKey);
    }
    Ok(Some(token))
}

/// Middleware: lets the request through only with a key that meets `requirement`.
pub async fn require(
    State((state, requirement)): State<(AppState, Requirement)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match state.auth() {
        Auth::Disabled => {}
        Auth::Keys(keys) => {
            let token = bearer_token(&request)?.ok_or(ApiError::MissingApiKey)?;
            keys.check(token, requirement)?;
        }
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), ApiError>) -> &'static str {
        match result {
            Ok(()) => "ok",
            Err(error) => error.status_and_code().1,
        }
    }

    #[test]
    fn admin_implies_all_others_only_their_own() {
        let keys = ApiKeys::parse_list(" search=s-key , import=i-key,admin=a-key").unwrap();
        let search = Requirement::Scope(Scope::Search);
        let import = Requirement::Scope(Scope::Import);
        let admin = Requirement::Scope(Scope::Admin);
        assert_eq!(code(keys.check(b"s-key", search)), "ok");
        assert_eq!(code(keys.check(b"s-key", import)), "insufficient_scope");
        assert_eq!(code(keys.check(b"s-key", admin)), "insufficient_scope");
        assert_eq!(code(keys.check(b"i-key", import)), "ok");
        assert_eq!(code(keys.check(b"i-key", search)), "insufficient_scope");
        for requirement in [search, import, admin, Requirement::AnyKey] {
            assert_eq!(code(keys.check(b"a-key", requirement)), "ok");
        }
        assert_eq!(code(keys.check(b"s-key", Requirement::AnyKey)), "ok");
        assert_eq!(code(keys.check(b"s-ke", search)), "invalid_api_key");
        assert_eq!(code(keys.check(b"s-keyy", search)), "invalid_api_key");
        assert_eq!(code(keys.check(b"", search)), "invalid_api_key");
    }

    #[test]
    fn one_key_may_hold_several_scopes() {
        let keys = ApiKeys::parse_list("search=both,import=both").unwrap();
        assert_eq!(code(keys.check(b"both", Requirement::Scope(Scope::Search))), "ok");
        assert_eq!(code(keys.check(b"both", Requirement::Scope(Scope::Import))), "ok");
        assert_eq!(code(keys.check(b"both", Requirement::Scope(Scope::Admin))), "insufficient_scope");
    }

    #[test]
    fn malformed_lists_are_refused() {
        assert!(ApiKeys::parse_list("search").unwrap_err().contains("scope=key"));
        assert!(ApiKeys::parse_list("reader=abc").unwrap_err().contains("reader"));
        assert!(ApiKeys::parse_list("search=").unwrap_err().contains("empty"));
        assert!(ApiKeys::parse_list("").unwrap().is_empty());
        let keys = ApiKeys::parse_list("admin=a-secret-key-of-some-length").unwrap();
        assert!(!format!("{keys:?}").contains("a-secret"));
        assert!(!keys.has_short_keys());
        assert!(ApiKeys::parse_list("admin=short").unwrap().has_short_keys());
    }
}
