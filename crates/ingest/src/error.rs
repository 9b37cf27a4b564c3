//! The ingest crate's error type, split into what is worth retrying and what is not.
//!
//! Retryable: timeouts, connection failures, HTTP 429 and 5xx — the ERP or the network is having
//! a moment, and the connector retries these itself with backoff. Permanent: rejected
//! credentials, a function the ERP does not know, an answer that does not parse, a record that
//! cannot be mapped — retrying would only repeat them, so they surface at once. Every message
//! names the call (function and offset or id) and the HTTP status where there is one; none
//! carries the password, the URL or record contents (personal data ends up in logs otherwise).

use std::fmt;
use std::time::Duration;

/// The ERP call an error is about: a page of a list function or one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `function?limit=&offset=`.
    Page {
        /// The list function, e.g. `getContracts`.
        function: String,
        /// The page's offset.
        offset: u64,
    },
    /// `function?id=`.
    Record {
        /// The single-record function, e.g. `getContractById`.
        function: String,
        /// The requested id.
        id: String,
    },
}

impl fmt::Display for Call {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Page { function, offset } => write!(formatter, "page at offset {offset} of {function}"),
            Call::Record { function, id } => write!(formatter, "{function} for id {id}"),
        }
    }
}

/// A raw ERP record that cannot become a contract or customer: a required field is missing or
/// unusable. Names the field and the record id (never the record's contents).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} record {}: field `{field}` {reason}", kind, record_id.as_deref().unwrap_or("without id"))]
pub struct MappingError {
    /// "contract" or "customer".
    pub kind: &'static str,
    /// The record's id, when it has one.
    pub record_id: Option<String>,
    /// The ERP's name of the offending field (`id`, `customerId`, ...).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Errors of the ingest crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connector configuration is unusable (checked when the connector is built).
    #[error("invalid connector configuration: {0}")]
    Config(String),
    /// The request did not complete within the per-request timeout. Retryable.
    #[error("{call} timed out after {} ms", timeout.as_millis())]
    Timeout {
        /// The call.
        call: Call,
        /// The per-request timeout that ran out.
        timeout: Duration,
    },
    /// The ERP could not be reached, or the connection broke mid-answer. Retryable.
    #[error("{call} could not reach the ERP: {reason}")]
    Transport {
        /// The call.
        call: Call,
        /// The transport's explanation, without the URL.
        reason: String,
    },
    /// HTTP 429. Retryable, after `retry_after` when the ERP said so.
    #[error("{call} was rate limited by the ERP (HTTP 429)")]
    RateLimited {
        /// The call.
        call: Call,
        /// The ERP's `Retry-After`, if it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx. Retryable.
    #[error("{call} failed on the ERP's side (HTTP {status})")]
    Server {
        /// The call.
        call: Call,
        /// The HTTP status.
        status: u16,
        /// The ERP's `Retry-After` on a 503, if it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// HTTP 401 or 403. Permanent.
    #[error("{call}: credentials rejected (HTTP {status}); check the Powercloud user and secret")]
    CredentialsRejected {
        /// The call.
        call: Call,
        /// The HTTP status.
        status: u16,
    },
    /// HTTP 404 on a list function, or a 404 that is not the ERP's "record not found" answer:
    /// the installation (application hash) or the function name is wrong. Permanent.
    #[error(
        "{call}: HTTP 404, the ERP does not know this function; check the base URL, the application \
         hash and the function name"
    )]
    FunctionNotFound {
        /// The call.
        call: Call,
    },
    /// Any other HTTP status the connector does not expect (3xx, other 4xx). Permanent.
    #[error("{call}: unexpected HTTP {status}")]
    UnexpectedStatus {
        /// The call.
        call: Call,
        /// The HTTP status.
        status: u16,
    },
    /// The answer is not the expected JSON envelope. Permanent.
    #[error("{call} did not parse: {reason}")]
    Unparseable {
        /// The call.
        call: Call,
        /// What is wrong, without the answer's contents.
        reason: String,
    },
    /// The ERP answered `{"success": false, "code": ...}` where a result was expected. Permanent.
    #[error("{call}: the ERP reported failure `{code}`{}", if message.is_empty() { String::new() } else { format!(" ({message})") })]
    Refused {
        /// The call.
        call: Call,
        /// The ERP's machine-readable code.
        code: String,
        /// The ERP's text, shortened.
        message: String,
    },
    /// A retryable error persisted through the whole retry budget.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made, the first one included.
        attempts: u32,
        /// The last attempt's error.
        last: Box<Error>,
    },
    /// A list ended before the total it announced: a cut-short export. Permanent; publishing
    /// an index from it would silently lose contracts.
    #[error(
        "the {source_name} {list} list ended early: the page at offset {offset} holds {num_records} \
         records, but the list announces {total}"
    )]
    Incomplete {
        /// The connector's source name.
        source_name: String,
        /// "contract" or "customer".
        list: &'static str,
        /// Offset of the short page.
        offset: u64,
        /// Records on the short page.
        num_records: usize,
        /// The total the page announced.
        total: u64,
    },
    /// A single record (fetched by id) cannot be mapped. Permanent.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Building, validating or publishing the index failed (the served generation stays).
    #[error(transparent)]
    Index(#[from] contract_search_index::Error),
    /// The change journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// A rebuild stage stopped unexpectedly (a panic in a worker thread).
    #[error("rebuild stage failed: {0}")]
    Stage(String),
}

impl Error {
    /// Whether trying the same call again may succeed: timeouts, connection failures,
    /// HTTP 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. }
                | Error::Transport { .. }
                | Error::RateLimited { .. }
                | Error::Server { .. }
        )
    }

    /// The wait the ERP asked for (`Retry-After` on 429 or 503), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status behind this error, if there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::RateLimited { .. } => Some(429),
            Error::Server { status, .. }
            | Error::CredentialsRejected { status, .. }
            | Error::UnexpectedStatus { status, .. } => Some(*status),
            Error::FunctionNotFound { .. } => Some(404),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    fn page(offset: u64) -> Call {
        Call::Page { function: "getContracts".into(), offset }
    }

    #[test]
    fn messages_name_the_call_and_status() {
        let error =
            Error::Unparseable { call: page(1000), reason: "expected value at line 1 column 1".into() };
        assert_eq!(
            error.to_string(),
            "page at offset 1000 of getContracts did not parse: expected value at line 1 column 1"
        );
        let error = Error::CredentialsRejected {
            call: Call::Record { function: "getContractById".into(), id: "30000001".into() },
            status: 401,
        };
        assert_eq!(
            error.to_string(),
            "getContractById for id 30000001: credentials rejected (HTTP 401); check the Powercloud user and secret"
        );
        let error = Error::RetriesExhausted {
            attempts: 9,
            last: Box::new(Error::Server { call: page(0), status: 503, retry_after: None }),
        };
        assert_eq!(
            error.to_string(),
            "gave up after 9 attempts: page at offset 0 of getContracts failed on the ERP's side (HTTP 503)"
        );
        assert_eq!(error.status(), Some(503));
        assert!(!error.is_retryable());
    }

    #[test]
    fn retryable_and_permanent_are_apart() {
        assert!(Error::Timeout { call: page(0), timeout: Duration::from_secs(1) }.is_retryable());
        assert!(Error::RateLimited { call: page(0), retry_after: None }.is_retryable());
        assert!(Error::Server { call: page(0), status: 502, retry_after: None }.is_retryable());
        assert!(!Error::CredentialsRejected { call: page(0), status: 403 }.is_retryable());
        assert!(!Error::FunctionNotFound { call: page(0) }.is_retryable());
        assert!(!Error::Unparseable { call: page(0), reason: String::new() }.is_retryable());
    }

    #[test]
    fn mapping_errors_name_field_and_record() {
        let error = MappingError {
            kind: "contract",
            record_id: Some("30000007".into()),
            field: "customerId",
            reason: "is missing or empty",
        };
        assert_eq!(error.to_string(), "contract record 30000007: field `customerId` is missing or empty");
        let error = MappingError { record_id: None, field: "id", ..error };
        assert_eq!(error.to_string(), "contract record without id: field `id` is missing or empty");
    }
}
