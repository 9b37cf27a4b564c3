//! The searches enneo calls, on the served index generation:
//!
//! - [`ContractSearch::contract_by_id`] and [`ContractSearch::customer_by_id`]: exact, also for
//!   the id variants people type;
//! - [`ContractSearch::fields`]: one confident, unambiguous match from AI-extracted fields, or
//!   none (a wrong match shows one customer's data to another);
//! - [`ContractSearch::free_text`]: customers for what an agent types, ranked.
//!
//! User text never reaches a query parser: every query is built from terms, normalised exactly as
//! the index normalised the documents. All calls are blocking (tantivy is synchronous): servers
//! run them off their async runtime.

#![warn(missing_docs)]

mod by_id;
mod customer;
mod error;
pub mod fields;
pub mod free_text;
mod terms;

use std::sync::Arc;

use contract_search_index::{Generation, GenerationStore};

pub use customer::customer_from_contracts;
pub use error::{Error, Result};
pub use fields::{FieldsOutcome, FieldsSettings};
pub use free_text::ContractHit;

/// The searches, on whatever generation the store serves at the moment of each call.
#[derive(Clone)]
pub struct ContractSearch {
    store: Arc<GenerationStore>,
    fields_settings: FieldsSettings,
}

impl ContractSearch {
    /// Searches on `store` with the given fields-search thresholds.
    pub fn new(store: Arc<GenerationStore>, fields_settings: FieldsSettings) -> ContractSearch {
        ContractSearch { store, fields_settings }
    }

    /// The generation a call starts on; it finishes on it even if a new one is published.
    fn generation(&self) -> Result<Arc<Generation>> {
        self.store.current().ok_or(Error::NoGeneration)
    }

    /// The fields-search settings.
    pub fn fields_settings(&self) -> &FieldsSettings {
        &self.fields_settings
    }
}
