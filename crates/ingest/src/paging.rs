//! Streams a source's whole contract or customer list, page by page, with bounded concurrency.
//!
//! The first page is fetched alone to learn the list's `total`; after it, up to
//! [`PagingOptions::concurrency`] pages are in flight, and pages come out in list order (so a
//! consumer sees the same sequence whatever the timing). The list ends at the first page shorter
//! than the page size, or at a page that reaches the announced total. Without a total, pages are
//! requested speculatively `concurrency` at a time, and the few requested beyond the end come back
//! empty and are dropped. A short page *before* the announced total means the export was cut
//! short: the stream ends with [`Error::Incomplete`] instead of pretending the list is complete.
//!
//! An error ends the stream (the connector has already retried what was worth retrying); pages
//! still in flight are cancelled.

use std::sync::Arc;

use futures::stream::{self, FuturesOrdered, Stream, StreamExt};

use crate::{BoxFuture, Connector, ContractPage, CustomerPage, Error, PagingOptions, Result};

/// What paging needs to know of a page.
pub trait ListPage: Send + 'static {
    /// Records the page held (mapped or not).
    fn num_records(&self) -> usize;
    /// The list's total as announced on this page.
    fn total(&self) -> Option<u64>;
}

impl ListPage for ContractPage {
    fn num_records(&self) -> usize {
        self.num_records
    }

    fn total(&self) -> Option<u64> {
        self.total
    }
}

impl ListPage for CustomerPage {
    fn num_records(&self) -> usize {
        self.num_records
    }

    fn total(&self) -> Option<u64> {
        self.total
    }
}

/// Every page of `connector`'s contract list, paged as the connector asks ([`Connector::paging`]).
pub fn contract_pages(connector: Arc<dyn Connector>) -> impl Stream<Item = Result<ContractPage>> + Send {
    let options = connector.paging();
    contract_pages_with(connector, options)
}

/// Every page of `connector`'s contract list, paged with `options`.
pub fn contract_pages_with(
    connector: Arc<dyn Connector>,
    options: PagingOptions,
) -> impl Stream<Item = Result<ContractPage>> + Send {
    fn fetch(
        connector: Arc<dyn Connector>,
        offset: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<ContractPage>> {
        Box::pin(async move { connector.fetch_contract_page(offset, limit).await })
    }
    pages(connector, options, "contract", fetch)
}

/// Every page of `connector`'s customer list, paged as the connector asks.
pub fn customer_pages(connector: Arc<dyn Connector>) -> impl Stream<Item = Result<CustomerPage>> + Send {
    let options = connector.paging();
    customer_pages_with(connector, options)
}

/// Every page of `connector`'s customer list, paged with `options`.
pub fn customer_pages_with(
    connector: Arc<dyn Connector>,
    options: PagingOptions,
) -> impl Stream<Item = Result<CustomerPage>> + Send {
    fn fetch(
        connector: Arc<dyn Connector>,
        offset: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<CustomerPage>> {
        Box::pin(async move { connector.fetch_customer_page(offset, limit).await })
    }
    pages(connector, options, "customer", fetch)
}

type FetchPage<P> = fn(Arc<dyn Connector>, u64, usize) -> BoxFuture<'static, Result<P>>;

struct Pager<P> {
    connector: Arc<dyn Connector>,
    fetch: FetchPage<P>,
    list: &'static str,
    page_size: usize,
    concurrency: usize,
    next_offset: u64,
    known_total: Option<u64>,
    num_pages_done: u64,
    in_flight: FuturesOrdered<BoxFuture<'static, (u64, Result<P>)>>,
    finished: bool,
}

impl<P: ListPage> Pager<P> {
    /// Requests pages until `concurrency` are in flight, or the known total is covered. Until the
    /// first page is back, only it is in flight.
    fn fill(&mut self) {
        while self.in_flight.len() < self.concurrency {
            let first_pending = self.num_pages_done == 0 && !self.in_flight.is_empty();
            let beyond_total = self.known_total.is_some_and(|total| self.next_offset >= total);
            if first_pending || (beyond_total && !self.in_flight.is_empty()) {
                break;
            }
            let offset = self.next_offset;
            let request = (self.fetch)(Arc::clone(&self.connector), offset, self.page_size);
            self.in_flight.push_back(Box::pin(async move { (offset, request.await) }));
            self.next_offset += self.page_size as u64;
        }
    }

    async fn next_page(&mut self) -> Option<Result<P>> {
        if self.finished {
            return None;
        }
        self.fill();
        let (offset, result) = self.in_flight.next().await?;
        self.num_pages_done += 1;
        let page = match result {
            Ok(page) => page,
            Err(error) => {
                self.finish();
                return Some(Err(error));
            }
        };
        let num_records = page.num_records();
        let end = offset + num_records as u64;
        if let Some(total) = page.total() {
            self.known_total = Some(total);
        }
        tracing::debug!(
            source = self.connector.source(),
            list = self.list,
            offset,
            num_records,
            "page fetched"
        );
        let short = num_records < self.page_size;
        let reached_total = page.total().is_some_and(|total| end >= total);
        if short || reached_total {
            self.finish();
            if let Some(total) = page.total().filter(|&total| short && end < total) {
                return Some(Err(Error::Incomplete {
                    source_name: self.connector.source().to_owned(),
                    list: self.list,
                    offset,
                    num_records,
                    total,
                }));
            }
            if num_records == 0 {
                return None;
            }
        }
        Some(Ok(page))
    }

    fn finish(&mut self) {
        self.finished = true;
        self.in_flight = FuturesOrdered::new();
    }
}

fn pages<P: ListPage>(
    connector: Arc<dyn Connector>,
    options: PagingOptions,
    list: &'static str,
    fetch: FetchPage<P>,
) -> impl Stream<Item = Result<P>> + Send {
    let pager = Pager {
        connector,
        fetch,
        list,
        page_size: options.page_size.max(1),
        concurrency: options.concurrency.max(1),
        next_offset: 0,
        known_total: None,
        num_pages_done: 0,
        in_flight: FuturesOrdered::new(),
        finished: false,
    };
    stream::unfold(pager, |mut pager| async move {
        let item = pager.next_page().await?;
        Some((item, pager))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use contract_search_model::Contract;
    use futures::TryStreamExt;

    use super::*;
    use crate::Call;

    /// A source of `num_contracts` contracts whose list is cut at `served` records and which
    /// may or may not announce its total; it records every offset requested.
    struct FakeSource {
        num_contracts: u64,
        served: u64,
        announce_total: bool,
        fail_at: Option<u64>,
        requested: Mutex<Vec<u64>>,
    }

    impl FakeSource {
        fn new(num_contracts: u64) -> FakeSource {
            FakeSource {
                num_contracts,
                served: num_contracts,
                announce_total: true,
                fail_at: None,
                requested: Mutex::default(),
            }
        }
    }

    impl Connector for FakeSource {
        fn source(&self) -> &str {
            "fake"
        }

        fn fetch_contract_page(&self, offset: u64, limit: usize) -> BoxFuture<'_, Result<ContractPage>> {
            self.requested.lock().unwrap().push(offset);
            Box::pin(async move {
                if self.fail_at == Some(offset) {
                    return Err(Error::CredentialsRejected {
                        call: Call::Page { function: "list".into(), offset },
                        status: 401,
                    });
                }
                let end = (offset + limit as u64).min(self.served);
                let contracts: Vec<Contract> = (offset..end.max(offset))
                    .map(|id| Contract { id: id.to_string(), ..Contract::default() })
                    .collect();
                Ok(ContractPage {
                    num_records: contracts.len(),
                    contracts,
                    total: self.announce_total.then_some(self.num_contracts),
                    skipped: Vec::new(),
                })
            })
        }

        fn fetch_customer_page(&self, _offset: u64, _limit: usize) -> BoxFuture<'_, Result<CustomerPage>> {
            Box::pin(async { Ok(CustomerPage::default()) })
        }

        fn fetch_contract<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<Option<Contract>>> {
            Box::pin(async { Ok(None) })
        }

        fn fetch_customer<'a>(
            &'a self,
            _id: &'a str,
        ) -> BoxFuture<'a, Result<Option<contract_search_model::Customer>>> {
            Box::pin(async { Ok(None) })
        }
    }

    fn collect(source: &Arc<FakeSource>, page_size: usize, concurrency: usize) -> Result<Vec<String>> {
        let connector: Arc<dyn Connector> = source.clone();
        let stream = contract_pages_with(connector, PagingOptions { page_size, concurrency });
        let pages: Vec<ContractPage> = futures::executor::block_on(stream.try_collect())?;
        Ok(pages.into_iter().flat_map(|page| page.contracts).map(|contract| contract.id).collect())
    }

    fn ids(range: std::ops::Range<u64>) -> Vec<String> {
        range.map(|id| id.to_string()).collect()
    }

    #[test]
    fn every_record_once_in_order() {
        for (num_contracts, page_size, concurrency) in
            [(0, 10, 3), (1, 10, 3), (30, 10, 3), (35, 10, 1), (35, 7, 8)]
        {
            let source = Arc::new(FakeSource::new(num_contracts));
            assert_eq!(collect(&source, page_size, concurrency).unwrap(), ids(0..num_contracts));
        }
    }

    #[test]
    fn a_known_total_stops_requests_at_the_end() {
        let source = Arc::new(FakeSource::new(30));
        collect(&source, 10, 8).unwrap();
        let mut requested = source.requested.lock().unwrap().clone();
        requested.sort_unstable();
        assert_eq!(requested, [0, 10, 20]);
    }

    #[test]
    fn without_a_total_the_short_page_ends_the_list() {
        let source = Arc::new(FakeSource { announce_total: false, ..FakeSource::new(35) });
        assert_eq!(collect(&source, 10, 3).unwrap(), ids(0..35));
        let source = Arc::new(FakeSource { announce_total: false, ..FakeSource::new(30) });
        assert_eq!(collect(&source, 10, 3).unwrap(), ids(0..30));
    }

    #[test]
    fn a_cut_short_list_is_an_error() {
        let source = Arc::new(FakeSource { served: 25, ..FakeSource::new(40) });
        let error = collect(&source, 10, 2).unwrap_err();
        assert!(matches!(error, Error::Incomplete { offset: 20, num_records: 5, total: 40, .. }), "{error}");
        assert_eq!(
            error.to_string(),
            "the fake contract list ended early: the page at offset 20 holds 5 records, but the list announces 40"
        );
    }

    #[test]
    fn an_error_ends_the_stream() {
        let source = Arc::new(FakeSource { fail_at: Some(20), ..FakeSource::new(100) });
        let error = collect(&source, 10, 2).unwrap_err();
        assert!(matches!(error, Error::CredentialsRejected { .. }));
    }
}
