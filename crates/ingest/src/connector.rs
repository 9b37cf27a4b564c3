//! The trait every ERP source implements, and the pages it returns.
//!
//! The nightly rebuild pages through a source's whole contract list (see
//! [`paging`](crate::paging)); the change-event worker refetches single contracts and customers
//! by id. A connector maps raw records to enneo's model types itself, so everything after it is
//! source-agnostic, and it sets `source` on every record so that records of different sources
//! can share one index. The trait is dyn-compatible (boxed futures), so a rebuild can hold a
//! `Vec<Arc<dyn Connector>>`.

use contract_search_model::{Contract, Customer};

use crate::{MappingError, Result};

pub use futures::future::BoxFuture;

/// One page of a source's contract list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractPage {
    /// The mapped contracts, in list order; each carries `source`.
    pub contracts: Vec<Contract>,
    /// The number of contracts in the whole list, when the source says.
    pub total: Option<u64>,
    /// Records the page held, mapped or not: a page with fewer than `limit` records ends the
    /// list, whatever the mapping made of them.
    pub num_records: usize,
    /// Records of the page that could not be mapped (they are left out of `contracts`).
    pub skipped: Vec<MappingError>,
}

/// One page of a source's customer list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerPage {
    /// The mapped customers, in list order; each carries `source` and its `contract_ids`.
    pub customers: Vec<Customer>,
    /// The number of customers in the whole list, when the source says.
    pub total: Option<u64>,
    /// Records the page held, mapped or not.
    pub num_records: usize,
    /// Records of the page that could not be mapped.
    pub skipped: Vec<MappingError>,
}

/// How a source wants to be paged: its page size and how many pages may be in flight at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingOptions {
    /// Records per page (the `limit` of each list call).
    pub page_size: usize,
    /// Pages requested at the same time.
    pub concurrency: usize,
}

impl Default for PagingOptions {
    fn default() -> PagingOptions {
        PagingOptions { page_size: 1000, concurrency: 4 }
    }
}

/// An ERP source of contracts and customers.
///
/// Implementations retry transient failures themselves; an error returned is final for that
/// call. "Not found" is not an error: it means the record was deleted.
pub trait Connector: Send + Sync {
    /// The source's name, written into every record's `source` ("powercloud").
    fn source(&self) -> &str;

    /// How this source should be paged (configured per source).
    fn paging(&self) -> PagingOptions {
        PagingOptions::default()
    }

    /// Up to `limit` contracts of the list, starting at rank `offset`.
    fn fetch_contract_page(&self, offset: u64, limit: usize) -> BoxFuture<'_, Result<ContractPage>>;

    /// Up to `limit` customers of the list, starting at rank `offset`.
    fn fetch_customer_page(&self, offset: u64, limit: usize) -> BoxFuture<'_, Result<CustomerPage>>;

    /// One contract; `None` when the source does not know it (deleted).
    fn fetch_contract<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Contract>>>;

    /// One customer with the ids of its contracts; `None` when the source does not know it.
    fn fetch_customer<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Customer>>>;
}
