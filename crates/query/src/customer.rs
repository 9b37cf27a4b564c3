//! A customer derived from its contracts, and the rule that picks one contract of a customer.
//!
//! The ERP's contract records carry the customer's person and contact fields, so a customer is
//! the union of its contracts: the person fields come from its *primary* contract, the
//! `contractIds` from all of them.
//!
//! **Primary contract rule** (also used by the fields search when several contracts of the one
//! identified customer fit equally): active before pending before ended, then the newest start
//! date, then the highest contract id.

use std::cmp::Ordering;

use contract_search_model::{Contract, Customer};

fn status_rank(contract: &Contract) -> u8 {
    match contract.status.as_deref() {
        Some("active") => 0,
        Some("pending") => 1,
        None => 2,
        Some(_) => 3,
    }
}

/// Orders contracts by the primary contract rule, best first.
pub fn primary_first(left: &Contract, right: &Contract) -> Ordering {
    status_rank(left)
        .cmp(&status_rank(right))
        .then_with(|| right.start_date.unwrap_or(i64::MIN).cmp(&left.start_date.unwrap_or(i64::MIN)))
        .then_with(|| right.id.len().cmp(&left.id.len()))
        .then_with(|| right.id.cmp(&left.id))
}

/// The customer of `contracts` (all of one customer id; at least one), or `None` if empty.
pub fn customer_from_contracts(mut contracts: Vec<Contract>) -> Option<Customer> {
    contracts.sort_by(primary_first);
    let primary = contracts.first()?.clone();
    let mut extra = std::collections::BTreeMap::new();
    let salutation = primary.extra.get("salutation").and_then(|value| value.as_str()).map(str::to_owned);
    for key in ["dateOfBirth", "customerNumber"] {
        if let Some(value) = primary.extra.get(key) {
            extra.insert(key.to_owned(), value.clone());
        }
    }
    Some(Customer {
        id: primary.customer_id,
        business: primary.business,
        salutation,
        firstname: primary.firstname,
        lastname: primary.lastname,
        company: primary.company,
        email: primary.email,
        phone: primary.phone,
        delivery_address: primary.delivery_address,
        billing_address: primary.billing_address,
        contract_ids: contracts.into_iter().map(|contract| contract.id).collect(),
        source: primary.source,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(id: &str, status: &str, start: i64) -> Contract {
        Contract {
            id: id.into(),
            customer_id: "7".into(),
            lastname: Some(format!("Name{id}")),
            status: Some(status.into()),
            start_date: Some(start),
            ..Contract::default()
        }
    }

    #[test]
    fn active_before_ended_then_newest() {
        let customer = customer_from_contracts(vec![
            contract("1", "terminated", 300),
            contract("2", "active", 100),
            contract("3", "active", 200),
            contract("4", "pending", 400),
        ])
        .unwrap();
        assert_eq!(customer.contract_ids, ["3", "2", "4", "1"]);
        assert_eq!(customer.lastname.as_deref(), Some("Name3"));
        assert!(customer.validate().is_ok());
        assert!(customer_from_contracts(Vec::new()).is_none());
    }
}
