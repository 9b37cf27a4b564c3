//! The index of contract-search: one tantivy document per contract, with exact keys for every
//! identifier people quote, German-folded text for names and addresses, edge n-grams for
//! search-as-you-type, reversed keys for "the last digits of my meter number", and the enneo
//! contract as a compact stored payload.
//!
//! Indexes live in **generations**: every full rebuild writes a new directory, which is
//! validated and then published by atomically replacing a small pointer file; readers switch
//! with an [`arc_swap::ArcSwap`], so a query always runs on exactly one complete generation.
//! Between rebuilds, the [`LiveWriter`] of the served generation applies single changes.

#![warn(missing_docs)]

pub mod analysis;
mod document;
mod error;
pub mod generation;
pub mod live;
pub mod schema;
pub mod store;
mod stored;
pub mod validate;

pub use document::{contract_document, keys, phone_keys};
pub use error::{Error, Result};
pub use generation::{Generation, GenerationBuilder, GenerationMeta};
pub use live::{CommitPayload, LiveWriter};
pub use schema::Fields;
pub use store::{GenerationStore, StoreOptions};
pub use stored::{decode_contract, encode_contract};
