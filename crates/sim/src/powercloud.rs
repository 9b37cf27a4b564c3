//! The Powercloud wire format, as far as it is public, and the assumptions where it is not.
//!
//! **Public** (seen in third-party code): URLs `/rest:<context>/<hash>/<function>`, HTTP Basic
//! auth with the user written `<context>#<user>`, `getContractById?id=`, `getCustomerById?id=`,
//! the envelope `{"success": true, "data": ...}`, a single record as `{"id": .., "data": {..}}`,
//! lists as `{"success": true, "data": {"records": [...]}}` paged by `limit` and `offset`, and the
//! field names used below.
//!
//! **Assumed** (not public; the connector and this simulator share exactly these, and they are
//! listed in the README):
//! - list functions [`LIST_CONTRACTS`] and [`LIST_CUSTOMERS`], paged by `limit`/`offset`, ordered
//!   by id, the list envelope also carrying `"total"`; a page shorter than `limit` ends the list;
//! - an unknown id answers HTTP 404 with `{"success": false, "code": "contract_not_found"}`
//!   (or `customer_not_found`);
//! - a contract record embeds its customer's person, contact and bank fields (as enneo's
//!   Powercloud integration reads names straight from the contract);
//! - change events are POSTed as [`ChangeEvent`] JSON to the configured export target.

use serde::{Deserialize, Serialize};

use crate::calendar::format_day;
use crate::generate::{Address, Phone, SimContract, SimCustomer};

/// Assumed list function for contracts: `GET /rest:client/<hash>/getContracts?limit=&offset=`.
pub const LIST_CONTRACTS: &str = "getContracts";
/// Assumed list function for customers: `GET /rest:client/<hash>/getCustomers?limit=&offset=`.
pub const LIST_CUSTOMERS: &str = "getCustomers";
/// Single contract: `GET /rest:client/<hash>/getContractById?id=`.
pub const GET_CONTRACT: &str = "getContractById";
/// Single customer: `GET /rest:client/<hash>/getCustomerById?id=`.
pub const GET_CUSTOMER: &str = "getCustomerById";
/// Largest page the simulator serves.
pub const MAX_PAGE_SIZE: usize = 5000;

/// `{"success": true, "data": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Whether the call succeeded.
    pub success: bool,
    /// The payload.
    pub data: T,
}

/// A failed call: `{"success": false, "code": "...", "message": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// Always false.
    pub success: bool,
    /// Machine-readable code, e.g. `contract_not_found`.
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
}

/// One page of a list function.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    /// The records of this page.
    pub records: Vec<Record<T>>,
    /// Number of records in the whole list (assumed; absent in older installations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// A single record: `{"id": 1000088, "data": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record<T> {
    /// The record's id.
    pub id: u64,
    /// Its fields.
    pub data: T,
}

/// A contract as Powercloud sends it (field names as seen in real payloads).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawContract {
    /// The customer's id.
    pub customer_id: u64,
    /// "Herr", "Frau".
    #[serde(default)]
    pub salutation: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub surname: Option<String>,
    /// Company name.
    #[serde(default)]
    pub company: Option<String>,
    /// Business customer.
    #[serde(default)]
    pub business: bool,
    /// Private email.
    #[serde(default)]
    pub email: Option<String>,
    /// Business email.
    #[serde(default)]
    pub email_business: Option<String>,
    /// Landline area code (may be empty when the whole number is in `phoneHome`).
    #[serde(default)]
    pub phone_home_area_code: Option<String>,
    /// Landline number.
    #[serde(default)]
    pub phone_home: Option<String>,
    /// Mobile prefix.
    #[serde(default)]
    pub phone_mobile_area_code: Option<String>,
    /// Mobile number.
    #[serde(default)]
    pub phone_mobile: Option<String>,
    /// Delivery street.
    #[serde(default)]
    pub street: Option<String>,
    /// Delivery house number.
    #[serde(default)]
    pub house_number: Option<String>,
    /// Delivery postcode.
    #[serde(default)]
    pub zip: Option<String>,
    /// Delivery city.
    #[serde(default)]
    pub city: Option<String>,
    /// Billing street, when billing differs from delivery.
    #[serde(default)]
    pub billing_street: Option<String>,
    /// Billing house number.
    #[serde(default)]
    pub billing_house_number: Option<String>,
    /// Billing postcode.
    #[serde(default)]
    pub billing_zip: Option<String>,
    /// Billing city.
    #[serde(default)]
    pub billing_city: Option<String>,
    /// IBAN.
    #[serde(default)]
    pub iban: Option<String>,
    /// Meter number.
    #[serde(default)]
    pub counter_number: Option<String>,
    /// MaLo-ID.
    #[serde(default)]
    pub market_location_id: Option<String>,
    /// MeLo-ID.
    #[serde(default)]
    pub metering_location_id: Option<String>,
    /// "electricity" or "gas".
    #[serde(default)]
    pub energy: Option<String>,
    /// Product code.
    #[serde(default)]
    pub product_code: Option<String>,
    /// Product name.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Yearly consumption in kWh.
    #[serde(default)]
    pub usage: Option<u32>,
    /// Monthly deposit in euros.
    #[serde(default)]
    pub deposit: Option<u32>,
    /// "active", "terminated", "pending".
    #[serde(default)]
    pub status: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub signup_date: Option<String>,
    /// Desired supply start, `YYYY-MM-DD`.
    #[serde(default)]
    pub desired_date: Option<String>,
    /// Supply end, `YYYY-MM-DD`.
    #[serde(default)]
    pub termination_date: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
}

/// A customer as Powercloud sends it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCustomer {
    /// "Herr", "Frau".
    #[serde(default)]
    pub salutation: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub surname: Option<String>,
    /// Company name.
    #[serde(default)]
    pub company: Option<String>,
    /// Business customer.
    #[serde(default)]
    pub business: bool,
    /// Private email.
    #[serde(default)]
    pub email: Option<String>,
    /// Business email.
    #[serde(default)]
    pub email_business: Option<String>,
    /// Landline area code.
    #[serde(default)]
    pub phone_home_area_code: Option<String>,
    /// Landline number.
    #[serde(default)]
    pub phone_home: Option<String>,
    /// Mobile prefix.
    #[serde(default)]
    pub phone_mobile_area_code: Option<String>,
    /// Mobile number.
    #[serde(default)]
    pub phone_mobile: Option<String>,
    /// Street.
    #[serde(default)]
    pub street: Option<String>,
    /// House number.
    #[serde(default)]
    pub house_number: Option<String>,
    /// Postcode.
    #[serde(default)]
    pub zip: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// IBAN.
    #[serde(default)]
    pub iban: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Ids of the customer's contracts.
    #[serde(default)]
    pub contracts: Vec<u64>,
}

/// A change event as the simulator posts it to the export target (assumed payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// Unique id of the event.
    pub event_id: String,
    /// `contract.created`, `contract.updated`, `contract.deleted` or `customer.updated`.
    pub event: String,
    /// The contract concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<u64>,
    /// The customer concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<u64>,
    /// When the change happened, Unix seconds.
    pub occurred_at: i64,
}

/// The phone formats found in ERP records, applied by a customer's `phone_style`.
fn render_phone(phone: &Phone, style: u8) -> (Option<String>, String) {
    let national = &phone.area_code[1..];
    let number = &phone.number;
    match style % 8 {
        0 => (Some(phone.area_code.clone()), number.clone()),
        1 => (None, format!("+49 {national} {number}")),
        2 => (None, format!("{} {number}", phone.area_code)),
        3 => (None, format!("{}/{number}", phone.area_code)),
        4 => (None, format!("+49 (0){national} {number}")),
        5 => (None, format!("0049 {national} {number}")),
        6 => (None, format!("({}) {number}", phone.area_code)),
        _ => (None, format!("49{national}{number}")),
    }
}

fn split_phone(phone: Option<&Phone>, style: u8) -> (Option<String>, Option<String>) {
    match phone {
        Some(phone) => {
            let (area, number) = render_phone(phone, style);
            (area, Some(number))
        }
        None => (None, None),
    }
}

fn address_parts(address: &Address) -> [Option<String>; 4] {
    [
        Some(address.street.clone()),
        Some(address.house_number.clone()),
        Some(address.postcode.clone()),
        Some(address.city.clone()),
    ]
}

impl RawContract {
    /// The raw record of `contract` held by `customer`.
    pub fn render(customer: &SimCustomer, contract: &SimContract) -> RawContract {
        let (phone_home_area_code, phone_home) =
            split_phone(customer.landline.as_ref(), customer.phone_style);
        let (phone_mobile_area_code, phone_mobile) =
            split_phone(customer.mobile.as_ref(), customer.phone_style);
        let [street, house_number, zip, city] = address_parts(&contract.address);
        let [billing_street, billing_house_number, billing_zip, billing_city] =
            match &customer.billing_address {
                Some(billing) => address_parts(billing),
                None => Default::default(),
            };
        let (email, email_business) =
            if customer.business { (None, customer.email.clone()) } else { (customer.email.clone(), None) };
        RawContract {
            customer_id: customer.id,
            salutation: customer.salutation.clone(),
            first_name: customer.firstname.clone(),
            surname: customer.lastname.clone(),
            company: customer.company.clone(),
            business: customer.business,
            email,
            email_business,
            phone_home_area_code,
            phone_home,
            phone_mobile_area_code,
            phone_mobile,
            street,
            house_number,
            zip,
            city,
            billing_street,
            billing_house_number,
            billing_zip,
            billing_city,
            iban: Some(customer.iban.clone()),
            counter_number: Some(contract.meter_number.clone()),
            market_location_id: Some(contract.malo_id.clone()),
            metering_location_id: Some(contract.melo_id.clone()),
            energy: Some(contract.energy.as_str().to_owned()),
            product_code: Some(contract.product_code().to_owned()),
            product_name: Some(contract.product_name().to_owned()),
            usage: Some(contract.consumption),
            deposit: Some(contract.monthly_deposit),
            status: Some(contract.status.as_str().to_owned()),
            signup_date: Some(format_day(contract.signup_date)),
            desired_date: Some(format_day(contract.start_date)),
            termination_date: contract.end_date.map(format_day),
            date_of_birth: customer.birth_date.map(format_day),
        }
    }
}

impl RawCustomer {
    /// The raw record of `customer`.
    pub fn render(customer: &SimCustomer) -> RawCustomer {
        let (phone_home_area_code, phone_home) =
            split_phone(customer.landline.as_ref(), customer.phone_style);
        let (phone_mobile_area_code, phone_mobile) =
            split_phone(customer.mobile.as_ref(), customer.phone_style);
        let [street, house_number, zip, city] = address_parts(&customer.address);
        let (email, email_business) =
            if customer.business { (None, customer.email.clone()) } else { (customer.email.clone(), None) };
        RawCustomer {
            salutation: customer.salutation.clone(),
            first_name: customer.firstname.clone(),
            surname: customer.lastname.clone(),
            company: customer.company.clone(),
            business: customer.business,
            email,
            email_business,
            phone_home_area_code,
            phone_home,
            phone_mobile_area_code,
            phone_mobile,
            street,
            house_number,
            zip,
            city,
            iban: Some(customer.iban.clone()),
            date_of_birth: customer.birth_date.map(format_day),
            contracts: customer.contracts.iter().map(|contract| contract.id).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use contract_search_model::normalize::{normalize_phone, normalize_phone_parts};

    use super::*;

    #[test]
    fn every_phone_style_normalises_to_the_same_number() {
        let phone = Phone { area_code: "0171".into(), number: "1234567".into() };
        for style in 0..8 {
            let (area, number) = render_phone(&phone, style);
            let normalised = match area {
                Some(area) => normalize_phone_parts(&area, &number).unwrap(),
                None => normalize_phone(&number).unwrap(),
            };
            assert_eq!(normalised, "+491711234567", "style {style}");
        }
    }
}
