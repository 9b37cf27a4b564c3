//! What the journal holds: the [`Change`] kinds and the [`Entry`] that numbers one.

use contract_search_model::{Contract, Customer};
use serde::{Deserialize, Serialize};

/// The kind of ERP record a change event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordKind {
    /// A contract, by contract id.
    Contract,
    /// A customer, by customer id.
    Customer,
}

/// What changed: one journal entry's content. Written as a JSON object tagged by `op`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
// Changes live briefly in batches (a thousand at 616 bytes is 600 KB); boxing the records would
// cost an allocation per contract on the bulk-import path and gain nothing.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    /// An ERP said this record changed (webhook): refetch it from `source`, then upsert it, or
    /// delete it if the ERP no longer has it.
    Refetch {
        /// The source (connector) name, e.g. `powercloud`.
        source: String,
        /// Contract or customer.
        record: RecordKind,
        /// The record's id in that source.
        id: String,
    },
    /// Import: this contract as given, replacing any earlier version.
    UpsertContract {
        /// The whole contract.
        contract: Contract,
    },
    /// Import or ERP: this contract is gone.
    DeleteContract {
        /// The contract id.
        id: String,
    },
    /// Import: this customer record as given, replacing any earlier version.
    UpsertCustomer {
        /// The whole customer.
        customer: Customer,
    },
}

/// One journalled change with its place in the order.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Sequence number: from 1, consecutive, never given twice.
    pub seq: u64,
    /// When it was journalled, Unix milliseconds.
    pub at_ms: u64,
    /// What changed.
    pub change: Change,
}
