//! Contract by id and customer by id: exact, also for the id variants people type.
//!
//! The exact id wins; otherwise the variants (`VN-0012345`, `0012345`, `12345`) must lead to a
//! single contract (or a single customer): an id that fits several is not guessed.

use std::collections::BTreeSet;

use contract_search_index::Generation;
use contract_search_model::normalize::id_variants;
use contract_search_model::{Contract, Customer};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Query};
use tantivy::{DocAddress, Searcher};

use crate::customer::customer_from_contracts;
use crate::terms::key;
use crate::{ContractSearch, Result};

/// Most contracts a customer may hold for the by-id answer (a safety bound, far above reality).
const MAX_CONTRACTS_PER_CUSTOMER: usize = 10_000;

fn load_all(
    generation: &Generation,
    searcher: &Searcher,
    addresses: impl IntoIterator<Item = DocAddress>,
) -> Result<Vec<Contract>> {
    addresses.into_iter().map(|address| Ok(generation.load(searcher, address)?)).collect()
}

fn any_of(field: tantivy::schema::Field, values: &[String]) -> BooleanQuery {
    BooleanQuery::union(values.iter().map(|value| key(field, value, 1.0)).collect::<Vec<Box<dyn Query>>>())
}

impl ContractSearch {
    /// The contract with this id, or `None`.
    pub fn contract_by_id(&self, id: &str) -> Result<Option<Contract>> {
        let generation = self.generation()?;
        if let Some(contract) = generation.contract_by_exact_id(id.trim())? {
            return Ok(Some(contract));
        }
        let variants = id_variants(id);
        if variants.is_empty() {
            return Ok(None);
        }
        let searcher = generation.searcher();
        let hits = searcher.search(
            &any_of(generation.fields().contract_key, &variants),
            &TopDocs::with_limit(2).order_by_score(),
        )?;
        match hits.as_slice() {
            [(_, address)] => Ok(Some(generation.load(&searcher, *address)?)),
            _ => Ok(None),
        }
    }

    /// The customer with this id and all its contracts, or `None`.
    pub fn customer_by_id(&self, id: &str) -> Result<Option<Customer>> {
        let generation = self.generation()?;
        let searcher = generation.searcher();
        let fields = generation.fields();
        let exact = searcher.search(&key(fields.customer_id, id.trim(), 1.0), &DocSetCollector)?;
        let contracts = if exact.is_empty() {
            let variants = id_variants(id);
            if variants.is_empty() {
                return Ok(None);
            }
            let found = searcher.search(
                &any_of(fields.customer_key, &variants),
                &TopDocs::with_limit(MAX_CONTRACTS_PER_CUSTOMER).order_by_score(),
            )?;
            let contracts = load_all(&generation, &searcher, found.into_iter().map(|(_, address)| address))?;
            let customers: BTreeSet<&str> =
                contracts.iter().map(|contract| contract.customer_id.as_str()).collect();
            if customers.len() != 1 {
                return Ok(None);
            }
            contracts
        } else {
            load_all(&generation, &searcher, exact)?
        };
        Ok(customer_from_contracts(contracts))
    }
}
