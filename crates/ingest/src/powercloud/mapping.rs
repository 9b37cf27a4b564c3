//! THE mapping from raw Powercloud records to enneo's [`Contract`] and [`Customer`]: the one
//! place that decides which ERP field feeds which enneo field.
//!
//! A record is `{"id": .., "data": {..}}` (a flat object with `id` is accepted too). Field names
//! are those seen in real Powercloud payloads; where installations differ, several names are
//! tried in order (first non-blank wins). Values are read tolerantly (see
//! [`value`](super::value)): an odd or missing optional field leaves that enneo field empty, it
//! never rejects the record. Only a missing `id` (contracts and customers), `customerId`
//! (contracts) or contract list (customers) makes a record unmappable.
//!
//! | enneo field | Powercloud field(s) | rule |
//! |---|---|---|
//! | `id` | record `id` (else `data.id`, `data.contractId`) | as a string, at most 50 characters |
//! | `customerId` | `customerId` | as a string |
//! | `business` | `business` | flag; when absent: a company and no surname |
//! | `firstname` / `lastname` / `company` | `firstName` / `surname` (else `lastName`) / `company` | trimmed |
//! | `email` | `email`, `emailPrivate`, `emailBusiness` | first present; lowercased by `normalize_email` when valid, else trimmed as is |
//! | `phone` | mobile (`phoneMobileAreaCode` + `phoneMobile`), home (`phoneHome*`), business (`phoneBusiness*`), `phone` | E.164 of the first that normalises (area code + number, or the whole number in the number field in any spelling); when none does, the first as written |
//! | `deliveryAddress` | `street`, `houseNumber`, `zip`, `city` | `"Street No, ZIP City"` via `format_address` |
//! | `zip` | `zip` | a numeric zip that lost its leading zero is padded to five digits |
//! | `billingAddress` | `billingStreet`, `billingHouseNumber`, `billingZip`, `billingCity` | only when any is present, else null |
//! | `status` | `status` | lowercased |
//! | `energy` | `energy` | lowercased; `strom`/`power` → `electricity`, `erdgas` → `gas` |
//! | `counterNumber` | `counterNumber` | as written (the index normalises meter numbers) |
//! | `maloId` / `meloId` | `marketLocationId` / `meteringLocationId` | as written |
//! | `iban` | `iban` | `normalize_iban` (compact, uppercase) when valid, else without spaces, uppercased |
//! | `monthlyDeposit` | `deposit` (else `monthlyDeposit`) | number; `"53,00"` accepted |
//! | `consumption` | `usage` (else `consumption`) | whole kWh |
//! | `productName` / `productCode` | `productName` / `productCode` | trimmed |
//! | `startDate` / `endDate` / `signupDate` | `desiredDate` (else `startDate`) / `terminationDate` (else `endDate`) / `signupDate` | `YYYY-MM-DD` or `DD.MM.YYYY` → Unix seconds at midnight UTC |
//! | `erpUrls` | — | `erp_url_template` with `{id}` (and `{customerId}`) filled in, icon = source |
//! | `source` | — | the connector's source name |
//! | extra `salutation`, `dateOfBirth`, `customerNumber`, `externalId` | same names | trimmed |
//! | extra `otherPhones` | the phones not chosen for `phone` | E.164, only those that normalise |
//!
//! Customers map the same person, contact and address fields (their own `street`, ... are the
//! `deliveryAddress`), `salutation` into [`Customer::salutation`], and `contractIds` from the
//! `contracts` list (numbers, strings, or objects with an `id`; else `contractIds`), which must not
//! be empty: a customer without contracts is not a customer to enneo.

use std::collections::BTreeMap;

use contract_search_model::normalize::{
    format_address, normalize_email, normalize_iban, normalize_phone_parts,
};
use contract_search_model::{Contract, Customer, ErpUrl, MAX_ID_LEN};
use serde_json::Value;

use super::value::{Fields, text_of};
use crate::MappingError;

/// What the mapping needs besides the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingOptions {
    /// Written into `source` of every record.
    pub source: String,
    /// Deep link template for `erpUrls` (`{id}`, `{customerId}`).
    pub erp_url_template: Option<String>,
}

/// The phone fields in order of preference: (area code field, number field).
const PHONE_FIELDS: [(&str, &str); 4] = [
    ("phoneMobileAreaCode", "phoneMobile"),
    ("phoneHomeAreaCode", "phoneHome"),
    ("phoneBusinessAreaCode", "phoneBusiness"),
    ("", "phone"),
];
const EMAIL_FIELDS: [&str; 3] = ["email", "emailPrivate", "emailBusiness"];
/// Fields copied unchanged into `extra` (contracts) when present.
const EXTRA_FIELDS: [&str; 3] = ["dateOfBirth", "customerNumber", "externalId"];

/// Maps a raw Powercloud contract record to enneo's [`Contract`]; see the module table.
pub fn map_contract(record: &Value, options: &MappingOptions) -> Result<Contract, MappingError> {
    let (id, fields) = split_record(record, "contract", &["id", "contractId"])?;
    let missing = |field| MappingError {
        kind: "contract",
        record_id: Some(id.clone()),
        field,
        reason: "is missing or empty",
    };
    let customer_id = fields.text("customerId").ok_or_else(|| missing("customerId"))?;
    let party = Party::read(fields);
    let mut extra = party.extra(fields);
    if let Some(salutation) = &party.salutation {
        extra.insert("salutation".to_owned(), Value::String(salutation.clone()));
    }
    let erp_urls = match &options.erp_url_template {
        Some(template) => vec![ErpUrl {
            url: template.replace("{id}", &id).replace("{customerId}", &customer_id),
            icon: Some(options.source.clone()),
        }],
        None => Vec::new(),
    };
    Ok(Contract {
        customer_id,
        business: party.business,
        firstname: party.firstname,
        lastname: party.lastname,
        company: party.company,
        email: party.email,
        phone: party.phone,
        delivery_address: address(fields, ["street", "houseNumber", "zip", "city"]),
        zip: fields.text("zip").map(|zip| pad_zip(&zip)),
        billing_address: address(
            fields,
            ["billingStreet", "billingHouseNumber", "billingZip", "billingCity"],
        ),
        status: fields.text("status").map(|status| status.to_lowercase()),
        energy: fields.text("energy").map(|energy| normalise_energy(&energy)),
        counter_number: fields.text("counterNumber"),
        malo_id: fields.text("marketLocationId"),
        melo_id: fields.text("meteringLocationId"),
        iban: fields.text("iban").map(|iban| compact_iban(&iban)),
        monthly_deposit: fields.first_number(&["deposit", "monthlyDeposit"]),
        consumption: fields.first_count(&["usage", "consumption"]),
        product_name: fields.text("productName"),
        product_code: fields.text("productCode"),
        start_date: fields.first_date(&["desiredDate", "startDate"]),
        end_date: fields.first_date(&["terminationDate", "endDate"]),
        signup_date: fields.first_date(&["signupDate"]),
        source: Some(options.source.clone()),
        agent_preview: Vec::new(),
        erp_urls,
        extra,
        id,
    })
}

/// Maps a raw Powercloud customer record to enneo's [`Customer`] with its `contractIds`.
pub fn map_customer(record: &Value, options: &MappingOptions) -> Result<Customer, MappingError> {
    let (id, fields) = split_record(record, "customer", &["id", "customerId"])?;
    let contract_ids = contract_ids(fields);
    if contract_ids.is_empty() {
        return Err(MappingError {
            kind: "customer",
            record_id: Some(id),
            field: "contracts",
            reason: "holds no contract id",
        });
    }
    let party = Party::read(fields);
    let extra = party.extra(fields);
    Ok(Customer {
        id,
        business: party.business,
        salutation: party.salutation,
        firstname: party.firstname,
        lastname: party.lastname,
        company: party.company,
        email: party.email,
        phone: party.phone,
        delivery_address: address(fields, ["street", "houseNumber", "zip", "city"]),
        billing_address: address(
            fields,
            ["billingStreet", "billingHouseNumber", "billingZip", "billingCity"],
        ),
        contract_ids,
        source: Some(options.source.clone()),
        extra,
    })
}

/// The record's id and its fields: `{"id", "data": {..}}`, or a flat object.
fn split_record<'a>(
    record: &'a Value,
    kind: &'static str,
    id_fields: &[&str],
) -> Result<(String, Fields<'a>), MappingError> {
    let unmappable = |record_id, field, reason| MappingError { kind, record_id, field, reason };
    let Some(object) = record.as_object() else {
        return Err(unmappable(None, "data", "record is not a JSON object"));
    };
    let fields = Fields(match object.get("data") {
        Some(Value::Object(data)) => data,
        _ => object,
    });
    let outer = Fields(object);
    let id = id_fields.iter().find_map(|field| outer.text(field).or_else(|| fields.text(field)));
    let Some(id) = id else {
        return Err(unmappable(None, "id", "is missing or empty"));
    };
    if id.chars().count() > MAX_ID_LEN {
        return Err(unmappable(None, "id", "is longer than 50 characters"));
    }
    Ok((id, fields))
}

/// Who holds the contract: the fields contracts and customers share.
struct Party {
    business: bool,
    salutation: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    company: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    other_phones: Vec<String>,
}

impl Party {
    fn read(fields: Fields<'_>) -> Party {
        let lastname = fields.first_text(&["surname", "lastName"]);
        let company = fields.text("company");
        let business = fields.flag("business").unwrap_or(company.is_some() && lastname.is_none());
        let email = fields.first_text(&EMAIL_FIELDS).map(|email| normalize_email(&email).unwrap_or(email));
        let (phone, other_phones) = phones(fields);
        Party {
            business,
            salutation: fields.text("salutation"),
            firstname: fields.first_text(&["firstName", "firstname"]),
            lastname,
            company,
            email,
            phone,
            other_phones,
        }
    }

    /// The extra keys: [`EXTRA_FIELDS`] as written, and `otherPhones`.
    fn extra(&self, fields: Fields<'_>) -> BTreeMap<String, Value> {
        let mut extra: BTreeMap<String, Value> = EXTRA_FIELDS
            .iter()
            .filter_map(|field| Some(((*field).to_owned(), Value::String(fields.text(field)?))))
            .collect();
        if !self.other_phones.is_empty() {
            let phones = self.other_phones.iter().cloned().map(Value::String).collect();
            extra.insert("otherPhones".to_owned(), Value::Array(phones));
        }
        extra
    }
}

/// The main phone (E.164 of the first that normalises, else the first as written) and the other
/// phones that normalise.
fn phones(fields: Fields<'_>) -> (Option<String>, Vec<String>) {
    let mut normalised: Vec<String> = Vec::new();
    let mut first_raw: Option<String> = None;
    for (area_field, number_field) in PHONE_FIELDS {
        let area_code = if area_field.is_empty() { None } else { fields.text(area_field) };
        let number = fields.text(number_field);
        if area_code.is_none() && number.is_none() {
            continue;
        }
        let area_code = area_code.unwrap_or_default();
        let number = number.unwrap_or_default();
        match normalize_phone_parts(&area_code, &number) {
            Ok(phone) if !normalised.contains(&phone) => normalised.push(phone),
            Ok(_) => {}
            Err(_) => {
                first_raw.get_or_insert_with(|| format!("{area_code} {number}").trim().to_owned());
            }
        }
    }
    if normalised.is_empty() {
        return (first_raw, Vec::new());
    }
    let main = normalised.remove(0);
    (Some(main), normalised)
}

/// `"Street No, ZIP City"` of the four fields (street, house number, zip, city), or `None` when
/// all are blank.
fn address(fields: Fields<'_>, [street, house_number, zip, city]: [&str; 4]) -> Option<String> {
    let zip = fields.text(zip).map(|zip| pad_zip(&zip));
    let line = format_address(
        fields.text(street).as_deref(),
        fields.text(house_number).as_deref(),
        zip.as_deref(),
        fields.text(city).as_deref(),
    );
    Some(line).filter(|line| !line.is_empty())
}

/// A German postcode stored as a number loses its leading zero (`1067` for Dresden's `01067`).
fn pad_zip(zip: &str) -> String {
    if zip.len() < 5 && !zip.is_empty() && zip.bytes().all(|byte| byte.is_ascii_digit()) {
        format!("{zip:0>5}")
    } else {
        zip.to_owned()
    }
}

fn normalise_energy(energy: &str) -> String {
    let energy = energy.to_lowercase();
    match energy.as_str() {
        "strom" | "power" | "electric" => "electricity".to_owned(),
        "erdgas" | "naturalgas" | "natural gas" => "gas".to_owned(),
        _ => energy,
    }
}

fn compact_iban(iban: &str) -> String {
    normalize_iban(iban)
        .unwrap_or_else(|_| iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase())
}

/// The customer's contract ids from `contracts` (else `contractIds`): numbers, strings, or objects
/// with an `id`; duplicates dropped, order kept.
fn contract_ids(fields: Fields<'_>) -> Vec<String> {
    let list = ["contracts", "contractIds"].iter().find_map(|field| fields.get(field)?.as_array());
    let mut ids: Vec<String> = Vec::new();
    for entry in list.into_iter().flatten() {
        let id = match entry {
            Value::Object(object) => object.get("id").and_then(text_of),
            scalar => text_of(scalar),
        };
        if let Some(id) = id.filter(|id| !ids.contains(id)) {
            ids.push(id);
        }
    }
    ids
}

#[cfg(test)]
mod tests;
