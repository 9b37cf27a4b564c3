//! Getting contracts out of the ERPs: connectors behind one trait, and the paging that streams a
//! whole contract list out of any of them.
//!
//! - [`Connector`]: what every source (Powercloud today, LynqTech later) offers the nightly
//!   rebuild and the change-event worker: a page of contracts, one contract, one customer. It is
//!   dyn-compatible, so several sources can feed one index.
//! - [`paging`]: streams every page of a source's list with bounded concurrency, in order, and
//!   notices a list that ends before its announced total.
//! - [`powercloud`]: the Powercloud connector: configuration, the HTTP client with retries and
//!   backoff, and the one documented mapping from raw Powercloud records to enneo's
//!   [`Contract`](contract_search_model::Contract).
//! - [`journal`]: the durable change journal: every accepted change event and import, appended
//!   and fsynced (with group commit) before the server answers, read in order by the worker.
//!
//! - [`updater`]: the one thread that applies journalled changes (refetched from the ERP, or
//!   imported as they are) to the served generation, in order, committed in batches.
//!
//! Errors say whether they are worth retrying ([`Error::is_retryable`]); the connectors retry
//! those themselves, so an error that reaches the caller is final for that call.

#![warn(missing_docs)]

mod connector;
mod error;
pub mod journal;
pub mod paging;
pub mod powercloud;
pub mod rebuild;
pub mod updater;

pub use connector::{BoxFuture, Connector, ContractPage, CustomerPage, PagingOptions};
pub use error::{Call, Error, MappingError, Result};
pub use powercloud::{PowercloudConfig, PowercloudConnector};
