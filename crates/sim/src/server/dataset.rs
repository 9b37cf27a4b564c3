//! The simulator's data: the deterministic generator plus a small overlay of changes.
//!
//! Records are regenerated from `(seed, index)` whenever they are served, so memory stays small
//! at millions of contracts. What the change stream did lives in an overlay: every customer a
//! change touched is held in full (with its current contracts), contracts created by changes
//! remember their owner, and two [`LiveIds`] sets say which contract and customer ids exist now,
//! so that offset paging stays correct after deletions and additions.
//!
//! Decisions the connector may rely on:
//! - a contract never changes its customer;
//! - a customer whose last contract is deleted disappears: `getCustomerById` answers 404 and
//!   `getCustomers` no longer lists it;
//! - contracts created by changes get ids after the generator's range, in creation order, so
//!   they come last in `getContracts`.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::generate::{CONTRACT_ID_BASE, CUSTOMER_ID_BASE, Generator, SimContract, SimCustomer};
use crate::powercloud::{RawContract, RawCustomer, Record};
use crate::rng::{Rng, mix};

use super::live_ids::LiveIds;

/// Stream id for the change generator's randomness, apart from the generator's own streams.
const STREAM_CHANGES: u64 = 0x0C4A_16E5;

/// The generator and the overlay of everything changed since start.
#[derive(Debug)]
pub struct Dataset {
    generator: Generator,
    /// Every customer a change touched, in its current state (live contracts only).
    changed_customers: HashMap<u64, SimCustomer>,
    /// Owner (customer id) of every contract created by a change.
    added_contract_owners: HashMap<u64, u64>,
    contract_ids: LiveIds,
    customer_ids: LiveIds,
    next_contract_id: u64,
    /// Randomness of the change stream, seeded from the dataset seed so runs repeat.
    pub(crate) change_rng: Rng,
    /// Number of changes applied, also a source of unique values (emails, phone numbers).
    pub(crate) num_changes: u64,
}

impl Dataset {
    /// The generated world of `num_contracts` contracts under `seed`, unchanged.
    pub fn new(seed: u64, num_contracts: u64) -> Dataset {
        let generator = Generator::new(seed, num_contracts);
        let num_customers = generator.num_customers() as u64;
        Dataset {
            contract_ids: LiveIds::new(CONTRACT_ID_BASE, generator.num_contracts()),
            customer_ids: LiveIds::new(CUSTOMER_ID_BASE, num_customers),
            next_contract_id: CONTRACT_ID_BASE + generator.num_contracts(),
            change_rng: Rng::new(mix(seed, STREAM_CHANGES, 0)),
            num_changes: 0,
            changed_customers: HashMap::new(),
            added_contract_owners: HashMap::new(),
            generator,
        }
    }

    /// The live contract ids.
    pub fn contract_ids(&self) -> &LiveIds {
        &self.contract_ids
    }

    /// The live customer ids.
    pub fn customer_ids(&self) -> &LiveIds {
        &self.customer_ids
    }

    /// Number of customers changed since start (the overlay's size).
    pub fn num_changed_customers(&self) -> usize {
        self.changed_customers.len()
    }

    /// The customer id owning a live contract.
    pub fn owner_of(&self, contract_id: u64) -> Option<u64> {
        if !self.contract_ids.contains(contract_id) {
            return None;
        }
        self.owner_of_any(contract_id)
    }

    /// The owner of a contract id that exists or existed.
    fn owner_of_any(&self, contract_id: u64) -> Option<u64> {
        let index = contract_id.checked_sub(CONTRACT_ID_BASE)?;
        if index < self.generator.num_contracts() {
            Some(CUSTOMER_ID_BASE + self.generator.customer_of_contract(index) as u64)
        } else {
            self.added_contract_owners.get(&contract_id).copied()
        }
    }

    /// A live customer in its current state: from the overlay, or regenerated.
    pub fn customer(&self, customer_id: u64) -> Option<Cow<'_, SimCustomer>> {
        if !self.customer_ids.contains(customer_id) {
            return None;
        }
        if let Some(customer) = self.changed_customers.get(&customer_id) {
            return Some(Cow::Borrowed(customer));
        }
        let index = customer_id.checked_sub(CUSTOMER_ID_BASE)?;
        Some(Cow::Owned(self.generator.customer(usize::try_from(index).ok()?)))
    }

    /// The raw record of a live contract.
    pub fn raw_contract(&self, contract_id: u64) -> Option<RawContract> {
        let customer = self.customer(self.owner_of(contract_id)?)?;
        let contract = customer.contracts.iter().find(|contract| contract.id == contract_id)?;
        Some(RawContract::render(&customer, contract))
    }

    /// The raw record of a live customer.
    pub fn raw_customer(&self, customer_id: u64) -> Option<RawCustomer> {
        self.customer(customer_id).map(|customer| RawCustomer::render(&customer))
    }

    /// Up to `limit` contracts from rank `offset`, ordered by id. Each customer is generated
    /// once per page, not once per contract.
    pub fn contract_page(&self, offset: u64, limit: usize) -> Vec<Record<RawContract>> {
        let ids = self.contract_ids.page(offset, limit);
        let mut records = Vec::with_capacity(ids.len());
        let mut current: Option<Cow<'_, SimCustomer>> = None;
        for contract_id in ids {
            let Some(owner) = self.owner_of_any(contract_id) else {
                continue;
            };
            if current.as_ref().is_none_or(|customer| customer.id != owner) {
                current = self.customer(owner);
            }
            let Some(customer) = current.as_deref() else {
                continue;
            };
            if let Some(contract) = customer.contracts.iter().find(|contract| contract.id == contract_id) {
                records.push(Record { id: contract_id, data: RawContract::render(customer, contract) });
            }
        }
        records
    }

    /// Up to `limit` customers from rank `offset`, ordered by id.
    pub fn customer_page(&self, offset: u64, limit: usize) -> Vec<Record<RawCustomer>> {
        self.customer_ids
            .page(offset, limit)
            .into_iter()
            .filter_map(|customer_id| {
                let raw = self.raw_customer(customer_id)?;
                Some(Record { id: customer_id, data: raw })
            })
            .collect()
    }

    /// The live contract at rank `offset`.
    pub fn nth_contract(&self, offset: u64) -> Option<u64> {
        self.contract_ids.nth(offset)
    }

    /// A live customer for modification: copied into the overlay on first touch.
    pub fn customer_mut(&mut self, customer_id: u64) -> Option<&mut SimCustomer> {
        if !self.customer_ids.contains(customer_id) {
            return None;
        }
        if !self.changed_customers.contains_key(&customer_id) {
            let index = usize::try_from(customer_id.checked_sub(CUSTOMER_ID_BASE)?).ok()?;
            let customer = self.generator.customer(index);
            self.changed_customers.insert(customer_id, customer);
        }
        self.changed_customers.get_mut(&customer_id)
    }

    /// A fresh contract id after every id used so far.
    pub fn allocate_contract_id(&mut self) -> u64 {
        let id = self.next_contract_id;
        self.next_contract_id += 1;
        id
    }

    /// Adds a new contract (its id from [`Dataset::allocate_contract_id`]) to its live customer.
    /// Returns false, changing nothing, if the customer is not live.
    pub fn add_contract(&mut self, contract: SimContract) -> bool {
        let (contract_id, customer_id) = (contract.id, contract.customer_id);
        let Some(customer) = self.customer_mut(customer_id) else {
            return false;
        };
        customer.contracts.push(contract);
        self.added_contract_owners.insert(contract_id, customer_id);
        self.contract_ids.insert_added(contract_id);
        true
    }

    /// Deletes a live contract; the customer goes too when it was their last. Returns the
    /// customer id and whether the customer was removed.
    pub fn delete_contract(&mut self, contract_id: u64) -> Option<(u64, bool)> {
        let customer_id = self.owner_of(contract_id)?;
        let customer = self.customer_mut(customer_id)?;
        customer.contracts.retain(|contract| contract.id != contract_id);
        let customer_removed = customer.contracts.is_empty();
        self.contract_ids.remove(contract_id);
        if customer_removed {
            self.customer_ids.remove(customer_id);
            // Nothing can reach it any more; keep the overlay small.
            self.changed_customers.remove(&customer_id);
        }
        Some((customer_id, customer_removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_equal_the_generator_when_unchanged() {
        let dataset = Dataset::new(9, 300);
        let generator = Generator::new(9, 300);
        let page = dataset.contract_page(0, 300);
        assert_eq!(page.len(), 300);
        let mut position = 0;
        for index in 0..generator.num_customers() {
            let customer = generator.customer(index);
            for contract in &customer.contracts {
                assert_eq!(page[position].id, contract.id);
                assert_eq!(page[position].data, RawContract::render(&customer, contract));
                position += 1;
            }
        }
        let customers = dataset.customer_page(0, 10_000);
        assert_eq!(customers.len(), generator.num_customers());
    }

    #[test]
    fn deleting_the_last_contract_removes_the_customer() {
        let mut dataset = Dataset::new(3, 100);
        let customer = dataset.customer(CUSTOMER_ID_BASE + 4).unwrap().into_owned();
        let ids: Vec<u64> = customer.contracts.iter().map(|contract| contract.id).collect();
        for (position, &id) in ids.iter().enumerate() {
            let (owner, removed) = dataset.delete_contract(id).unwrap();
            assert_eq!(owner, customer.id);
            assert_eq!(removed, position + 1 == ids.len());
            assert!(dataset.raw_contract(id).is_none());
        }
        assert!(dataset.raw_customer(customer.id).is_none());
        assert_eq!(dataset.contract_ids().len(), 100 - ids.len() as u64);
        assert!(dataset.delete_contract(ids[0]).is_none());
        let listed: Vec<u64> = dataset.customer_page(0, 1000).iter().map(|record| record.id).collect();
        assert!(!listed.contains(&customer.id));
    }
}
