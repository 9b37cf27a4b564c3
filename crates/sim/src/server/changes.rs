//! The change stream: moves, new contracts, terminations, deletions and new contact data,
//! applied to the dataset one at a time, on request (`POST /_sim/changes`) or at a steady rate
//! in the background, each producing the [`ChangeEvent`]s Powercloud would push.
//!
//! Events name what changed (`contract.created`, `contract.updated`, `contract.deleted`,
//! `customer.updated`) and carry ids only; a receiver refetches the records. A customer-level
//! change (move, new email, new phone) also updates every contract, because contract records
//! embed the customer's fields. A deleted customer's last contract removes the customer too; no
//! separate event says so (the assumed payload has no `customer.deleted`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use contract_search_model::normalize::malo_check_digit;

use crate::generate::{
    CONTRACT_ID_BASE, Phone, SimContract, Status, TODAY, email_local_part, random_address,
};
use crate::powercloud::ChangeEvent;
use crate::rng::{Rng, permute};
use crate::vocab::{self, Energy};

use super::SimState;
use super::dataset::Dataset;

/// Event name: a contract was created.
pub const CONTRACT_CREATED: &str = "contract.created";
/// Event name: a contract's fields changed.
pub const CONTRACT_UPDATED: &str = "contract.updated";
/// Event name: a contract was deleted.
pub const CONTRACT_DELETED: &str = "contract.deleted";
/// Event name: a customer's fields changed.
pub const CUSTOMER_UPDATED: &str = "customer.updated";

/// The kinds of change the simulator can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The customer moves: a new home address, carried to the contracts at the old one.
    Move,
    /// The customer signs another contract (pending, at their home address).
    NewContract,
    /// The contract is terminated as of the synthetic today.
    Terminate,
    /// The contract is deleted; so is the customer when it was their last.
    Delete,
    /// The customer has a new email address.
    NewEmail,
    /// The customer has a new mobile number.
    NewPhone,
}

impl ChangeKind {
    /// Every kind, with its weight in the background stream's mix.
    pub const MIX: [(ChangeKind, u32); 6] = [
        (ChangeKind::Move, 15),
        (ChangeKind::NewContract, 15),
        (ChangeKind::Terminate, 20),
        (ChangeKind::Delete, 10),
        (ChangeKind::NewEmail, 20),
        (ChangeKind::NewPhone, 20),
    ];

    fn random(rng: &mut Rng) -> ChangeKind {
        let cumulative = vocab::cumulative(&ChangeKind::MIX, |item| item.1);
        ChangeKind::MIX[rng.weighted_index(&cumulative)].0
    }
}

/// The body of `POST /_sim/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequest {
    /// What to change.
    pub kind: ChangeKind,
    /// The contract concerned (for customer-level kinds, its customer); a random live contract
    /// when absent.
    #[serde(default)]
    pub contract_id: Option<u64>,
}

/// Why a change could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The given contract does not exist (or no longer).
    #[error("contract {0} not found")]
    ContractNotFound(u64),
    /// Every contract has been deleted.
    #[error("no live contract left")]
    NoLiveContract,
}

/// One record a change touched, before it becomes a [`ChangeEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Touched {
    pub(crate) event: &'static str,
    pub(crate) contract_id: Option<u64>,
    pub(crate) customer_id: u64,
}

/// Applies a change of a random kind to a random live contract.
pub(crate) fn apply_random(dataset: &mut Dataset) -> Result<(ChangeKind, Vec<Touched>), ChangeError> {
    let kind = ChangeKind::random(&mut dataset.change_rng);
    let touched = apply(dataset, &ChangeRequest { kind, contract_id: None })?;
    Ok((kind, touched))
}

/// Applies one change and says which records it touched.
pub(crate) fn apply(dataset: &mut Dataset, request: &ChangeRequest) -> Result<Vec<Touched>, ChangeError> {
    let contract_id = match request.contract_id {
        Some(contract_id) => contract_id,
        None => {
            let num_live = dataset.contract_ids().len();
            if num_live == 0 {
                return Err(ChangeError::NoLiveContract);
            }
            let offset = dataset.change_rng.below(num_live);
            dataset.nth_contract(offset).ok_or(ChangeError::NoLiveContract)?
        }
    };
    let not_found = ChangeError::ContractNotFound(contract_id);
    let customer_id = dataset.owner_of(contract_id).ok_or(not_found.clone())?;
    dataset.num_changes += 1;
    let serial = dataset.num_changes;
    let contract_updated =
        |contract_id| Touched { event: CONTRACT_UPDATED, contract_id: Some(contract_id), customer_id };
    let customer_updated = Touched { event: CUSTOMER_UPDATED, contract_id: None, customer_id };
    let touched = match request.kind {
        ChangeKind::Move => {
            let address = random_address(&mut dataset.change_rng);
            let customer = dataset.customer_mut(customer_id).ok_or(not_found)?;
            let old_address = std::mem::replace(&mut customer.address, address.clone());
            let mut touched = vec![customer_updated];
            for contract in customer.contracts.iter_mut().filter(|contract| contract.address == old_address) {
                contract.address = address.clone();
                touched.push(contract_updated(contract.id));
            }
            touched
        }
        ChangeKind::NewContract => {
            let contract = new_contract(dataset, customer_id).ok_or(not_found)?;
            let contract_id = contract.id;
            dataset.add_contract(contract);
            vec![Touched { event: CONTRACT_CREATED, contract_id: Some(contract_id), customer_id }]
        }
        ChangeKind::Terminate => {
            let customer = dataset.customer_mut(customer_id).ok_or(not_found.clone())?;
            let contract =
                customer.contracts.iter_mut().find(|contract| contract.id == contract_id).ok_or(not_found)?;
            contract.status = Status::Terminated;
            contract.end_date = Some(TODAY.max(contract.start_date));
            vec![contract_updated(contract_id)]
        }
        ChangeKind::Delete => {
            dataset.delete_contract(contract_id).ok_or(not_found)?;
            vec![Touched { event: CONTRACT_DELETED, contract_id: Some(contract_id), customer_id }]
        }
        ChangeKind::NewEmail => {
            let domain = dataset.change_rng.pick(vocab::EMAIL_DOMAINS).0;
            let customer = dataset.customer_mut(customer_id).ok_or(not_found)?;
            // A dot before the serial: the generator never writes one, so the address is new.
            let local = match (&customer.firstname, &customer.lastname) {
                (Some(first), Some(last)) => {
                    format!(
                        "{}.{}.{serial}",
                        email_local_part(first),
                        email_local_part(last).replace('-', "")
                    )
                }
                _ => format!("kontakt.{serial}"),
            };
            customer.email = Some(format!("{local}@{domain}"));
            std::iter::once(customer_updated)
                .chain(customer.contracts.iter().map(|c| contract_updated(c.id)))
                .collect()
        }
        ChangeKind::NewPhone => {
            // Eight-digit subscriber numbers: the generator's mobiles have seven, so no clash.
            let area_code = (*dataset.change_rng.pick(&["0151", "0152", "0157", "0176"])).to_owned();
            let number = format!("{}", 10_000_000 + permute(serial, 7_919, 0, 90_000_000));
            let customer = dataset.customer_mut(customer_id).ok_or(not_found)?;
            customer.mobile = Some(Phone { area_code, number });
            std::iter::once(customer_updated)
                .chain(customer.contracts.iter().map(|c| contract_updated(c.id)))
                .collect()
        }
    };
    Ok(touched)
}

/// A new pending contract for a live customer: gas if they have electricity at home, else
/// electricity. Its identifiers are unique by construction: the MaLo continues the generator's
/// bijection past its range, and the meter number uses the manufacturer code `SIM`, which the
/// generator never uses.
fn new_contract(dataset: &mut Dataset, customer_id: u64) -> Option<SimContract> {
    let customer = dataset.customer(customer_id)?;
    let has_home_electricity = customer
        .contracts
        .iter()
        .any(|contract| contract.energy == Energy::Electricity && contract.address == customer.address);
    let energy = if has_home_electricity { Energy::Gas } else { Energy::Electricity };
    let (address, business) = (customer.address.clone(), customer.business);
    drop(customer);
    let id = dataset.allocate_contract_id();
    let index = id - CONTRACT_ID_BASE;
    let rng = &mut dataset.change_rng;
    let products: Vec<usize> =
        (0..vocab::PRODUCTS.len()).filter(|&product| vocab::PRODUCTS[product].2 == energy).collect();
    let product = *rng.pick(&products);
    let (consumption, price_cents, medium) = match energy {
        Energy::Electricity => (1200 + rng.below(if business { 30_000 } else { 5000 }) as u32, 32, '1'),
        Energy::Gas => (6000 + rng.below(if business { 80_000 } else { 20_000 }) as u32, 11, '7'),
    };
    let start_date = TODAY + 14 + rng.below(45) as i32;
    Some(SimContract {
        id,
        customer_id,
        energy,
        meter_number: format!("{medium}SIM{:010}", index % 10_000_000_000),
        malo_id: malo_for(index),
        melo_id: format!("DE000000{}{index:020}", address.postcode),
        address,
        status: Status::Pending,
        product,
        monthly_deposit: ((consumption * price_cents) as f64 / 1200.0).round().max(5.0) as u32,
        consumption,
        signup_date: TODAY,
        start_date,
        end_date: None,
    })
}

/// The generator's MaLo bijection (see `generate::malo_for`), continued for indexes past the
/// generated range so that new MaLo-IDs never repeat a generated one.
fn malo_for(contract_index: u64) -> String {
    let body =
        (1_000_000_000 + permute(contract_index, 3_037_000_493, 987_654_321, 9_000_000_000)).to_string();
    match malo_check_digit(&body) {
        Some(check) => format!("{body}{check}"),
        None => body,
    }
}

/// The background stream: applies a random change every `1 / rate` seconds and hands its events
/// to the exporter (waiting when the export queue is full, so a slow receiver slows the stream
/// instead of growing memory).
pub(crate) async fn run_stream(state: SimState, rate_per_sec: f64) {
    let period = Duration::from_secs_f64(1.0 / rate_per_sec.clamp(0.001, 10_000.0));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tracing::info!(rate_per_sec, "change stream started");
    loop {
        ticker.tick().await;
        match state.apply_random_change() {
            Ok(events) => state.export_waiting(events).await,
            Err(error) => tracing::debug!(%error, "change stream skipped a change"),
        }
    }
}

/// Wraps what a change touched into events with unique ids.
pub(crate) fn events(state: &SimState, touched: Vec<Touched>) -> Vec<ChangeEvent> {
    let occurred_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default();
    touched
        .into_iter()
        .map(|touched| ChangeEvent {
            event_id: format!("evt-{}", state.next_event_number()),
            event: touched.event.to_owned(),
            contract_id: touched.contract_id,
            customer_id: Some(touched.customer_id),
            occurred_at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::generate::{CUSTOMER_ID_BASE, Generator};

    use super::*;

    fn request(kind: ChangeKind, contract_id: u64) -> ChangeRequest {
        ChangeRequest { kind, contract_id: Some(contract_id) }
    }

    #[test]
    fn new_contracts_get_fresh_identifiers() {
        let mut dataset = Dataset::new(11, 500);
        let generator = Generator::new(11, 500);
        let mut malos = HashSet::new();
        let mut meters = HashSet::new();
        for index in 0..generator.num_customers() {
            for contract in generator.customer(index).contracts {
                malos.insert(contract.malo_id);
                meters.insert(contract.meter_number);
            }
        }
        for round in 0..50 {
            let touched =
                apply(&mut dataset, &request(ChangeKind::NewContract, CONTRACT_ID_BASE + round)).unwrap();
            let new_id = touched[0].contract_id.unwrap();
            assert_eq!(new_id, CONTRACT_ID_BASE + 500 + round);
            let raw = dataset.raw_contract(new_id).unwrap();
            assert!(malos.insert(raw.market_location_id.clone().unwrap()));
            assert!(meters.insert(raw.counter_number.clone().unwrap()));
            assert_eq!(raw.status.as_deref(), Some("pending"));
            assert_eq!(raw.market_location_id.unwrap().len(), 11);
        }
        assert_eq!(dataset.contract_ids().len(), 550);
    }

    #[test]
    fn move_carries_home_contracts_only() {
        let mut dataset = Dataset::new(2, 400);
        let before = dataset.customer(CUSTOMER_ID_BASE + 3).unwrap().into_owned();
        let first = before.contracts[0].id;
        let touched = apply(&mut dataset, &request(ChangeKind::Move, first)).unwrap();
        let after = dataset.customer(before.id).unwrap().into_owned();
        assert_ne!(after.address, before.address);
        let at_home = before.contracts.iter().filter(|contract| contract.address == before.address).count();
        assert_eq!(touched.len(), 1 + at_home);
        assert_eq!(touched[0].event, CUSTOMER_UPDATED);
        for (old, new) in before.contracts.iter().zip(&after.contracts) {
            if old.address == before.address {
                assert_eq!(new.address, after.address);
            } else {
                assert_eq!(new.address, old.address);
            }
        }
    }

    #[test]
    fn random_changes_repeat_under_the_same_seed() {
        let run = || {
            let mut dataset = Dataset::new(4, 300);
            (0..100).map(|_| apply_random(&mut dataset)).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn unknown_contracts_are_refused() {
        let mut dataset = Dataset::new(4, 10);
        let error = apply(&mut dataset, &request(ChangeKind::Terminate, 1)).unwrap_err();
        assert_eq!(error, ChangeError::ContractNotFound(1));
        assert_eq!(dataset.num_changes, 0);
    }
}
