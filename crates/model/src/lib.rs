//! enneo's data model for contract search, and the normalisers that turn the many spellings of a
//! German phone number, IBAN, meter number, name or address into one comparable key.
//!
//! This crate is pure: no I/O, no tantivy, no HTTP. Every other crate speaks these types:
//! the ERP connectors map raw records into [`Contract`]s, the index stores them, the searches
//! answer with them, and the server serialises them exactly as enneo's executors expect.

#![warn(missing_docs)]

mod contract;
mod error;
mod executor;
mod lenient;
pub mod normalize;

pub use contract::{AgentPreviewItem, Contract, Customer, ErpUrl};
pub use error::{Error, Result, ValidationError};
pub use executor::{CustomerRef, FieldsMatch, FieldsQuery, FreeTextQuery};

/// The longest id enneo accepts for contracts and customers.
pub const MAX_ID_LEN: usize = 50;
