//! Ground truth for labelling: how many customers share each identifying combination.
//!
//! A query is labelled findable only when the clean information it was made from identifies
//! exactly one customer; ambiguous when it fits two or more; absent when it fits none. Counting
//! needs one pass over all customers; keys are 64-bit hashes of folded values, so the maps stay
//! small (about 20 bytes a key) at millions of customers.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use contract_search_model::normalize::{fold_name, fold_street};
use rayon::prelude::*;

use crate::generate::{Address, Generator, SimCustomer};

/// The identifying combinations that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Email address.
    Email,
    /// Phone in E.164.
    Phone,
    /// Last name, first name, city.
    NameCity,
    /// Last name, first name, postcode.
    NameZip,
    /// Last name, first name, street, house number, postcode.
    NameStreet,
    /// Last name, street, house number, postcode.
    LastStreet,
    /// Last name, street, house number, city.
    LastStreetCity,
    /// Company, postcode.
    CompanyZip,
    /// Company, city.
    CompanyCity,
}

/// Hash of a key made of parts.
pub fn key(kind: KeyKind, parts: &[&str]) -> u64 {
    let mut hasher = DefaultHasher::new();
    kind.hash(&mut hasher);
    for part in parts {
        part.hash(&mut hasher);
    }
    hasher.finish()
}

/// Keys of a customer with a name at an address: name and city, name and postcode, name and
/// street address, surname and street address with postcode, surname and street address with city.
pub fn name_keys(lastname: &str, firstname: &str, address: &Address) -> [u64; 5] {
    let last = fold_name(lastname);
    let first = fold_name(firstname);
    let city = fold_name(&address.city);
    let street = fold_street(&address.street);
    let house = address.house_number.to_lowercase();
    [
        key(KeyKind::NameCity, &[&last, &first, &city]),
        key(KeyKind::NameZip, &[&last, &first, &address.postcode]),
        key(KeyKind::NameStreet, &[&last, &first, &street, &house, &address.postcode]),
        key(KeyKind::LastStreet, &[&last, &street, &house, &address.postcode]),
        key(KeyKind::LastStreetCity, &[&last, &street, &house, &city]),
    ]
}

/// Keys of a company at an address.
pub fn company_keys(company: &str, address: &Address) -> [u64; 2] {
    let company = fold_name(company);
    [
        key(KeyKind::CompanyZip, &[&company, &address.postcode]),
        key(KeyKind::CompanyCity, &[&company, &fold_name(&address.city)]),
    ]
}

/// Every key of one customer, without repeats.
pub fn customer_keys(customer: &SimCustomer) -> HashSet<u64> {
    let mut keys = HashSet::new();
    if let Some(email) = &customer.email {
        keys.insert(key(KeyKind::Email, &[&email.to_lowercase()]));
    }
    for phone in [&customer.mobile, &customer.landline].into_iter().flatten() {
        keys.insert(key(KeyKind::Phone, &[&phone.e164()]));
    }
    let addresses = std::iter::once(&customer.address).chain(customer.contracts.iter().map(|c| &c.address));
    for address in addresses {
        if let (Some(last), Some(first)) = (&customer.lastname, &customer.firstname) {
            keys.extend(name_keys(last, first, address));
        }
        if let Some(company) = &customer.company {
            keys.extend(company_keys(company, address));
        }
    }
    keys
}

/// Number of customers per key.
#[derive(Debug, Default)]
pub struct TruthCounts {
    counts: HashMap<u64, u32>,
}

impl TruthCounts {
    /// Counts every key of every customer of `generator` (in parallel).
    pub fn build(generator: &Generator) -> TruthCounts {
        let counts = (0..generator.num_customers())
            .into_par_iter()
            .fold(HashMap::new, |mut counts: HashMap<u64, u32>, index| {
                for key in customer_keys(&generator.customer(index)) {
                    *counts.entry(key).or_default() += 1;
                }
                counts
            })
            .reduce(HashMap::new, |mut left, right| {
                let (mut big, small) = if left.len() >= right.len() {
                    (left, right)
                } else {
                    left.shrink_to_fit();
                    (right, left)
                };
                for (key, count) in small {
                    *big.entry(key).or_default() += count;
                }
                big
            });
        TruthCounts { counts }
    }

    /// Customers holding `key`.
    pub fn count(&self, key: u64) -> u32 {
        self.counts.get(&key).copied().unwrap_or(0)
    }
}
