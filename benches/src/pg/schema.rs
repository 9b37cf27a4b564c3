//! The table of the PostgreSQL peer and how an enneo [`Contract`] becomes one row of it.
//!
//! One row per contract: the contract as `jsonb` (the answer of the by-id calls), the keys
//! normalised by the same functions contract-search uses (`contract_search_index::keys`, so
//! E.164 phones, normalised emails, IBANs and meter numbers, id variants), and the names and
//! address folded by `contract_search_model::normalize` for the trigram indexes. Both products
//! compare the same normalised values; the benchmark is about the engines.

use contract_search_index::keys;
use contract_search_model::Contract;
use contract_search_model::normalize::{fold_city, fold_name, fold_street, parse_address};
use tokio_postgres::types::{ToSql, Type};

/// The table.
pub const TABLE: &str = "contracts";

/// Creates the table (dropping an old one). Run in the same transaction as the `COPY`, so that
/// with `wal_level = minimal` the load writes no WAL.
pub const CREATE_TABLE: &str = "
DROP TABLE IF EXISTS contracts;
CREATE TABLE contracts (
    id            text NOT NULL,
    customer_id   text NOT NULL,
    contract_key  text NOT NULL,
    contract_num  text,
    customer_key  text NOT NULL,
    customer_num  text,
    email         text,
    phones        text[] NOT NULL,
    iban          text,
    meter         text COLLATE \"C\",
    malo          text,
    zip           text,
    firstname     text,
    lastname      text,
    full_name     text,
    company       text,
    street        text,
    house_number  text,
    city          text,
    search_text   text NOT NULL,
    status_rank   smallint NOT NULL,
    start_date    bigint,
    doc           jsonb NOT NULL
)";

/// The columns in `COPY` order, with their types.
pub const COLUMNS: &[(&str, Type)] = &[
    ("id", Type::TEXT),
    ("customer_id", Type::TEXT),
    ("contract_key", Type::TEXT),
    ("contract_num", Type::TEXT),
    ("customer_key", Type::TEXT),
    ("customer_num", Type::TEXT),
    ("email", Type::TEXT),
    ("phones", Type::TEXT_ARRAY),
    ("iban", Type::TEXT),
    ("meter", Type::TEXT),
    ("malo", Type::TEXT),
    ("zip", Type::TEXT),
    ("firstname", Type::TEXT),
    ("lastname", Type::TEXT),
    ("full_name", Type::TEXT),
    ("company", Type::TEXT),
    ("street", Type::TEXT),
    ("house_number", Type::TEXT),
    ("city", Type::TEXT),
    ("search_text", Type::TEXT),
    ("status_rank", Type::INT2),
    ("start_date", Type::INT8),
    ("doc", Type::JSONB),
];

/// The indexes, built after the load (largest first, so that two builders finish together).
///
/// - B-trees on every identifier people quote: contract and customer id (canonical form, and
///   the bare number where it differs, as partial indexes since it rarely does), email, IBAN,
///   meter number, MaLo, postcode; a B-tree on the *reversed* meter number for "the last
///   digits"; a GIN on the phone array (a customer has a mobile and a landline).
/// - GIN trigram indexes (`gin_trgm_ops`) on the folded full name, company, street and city
///   for the fields search, and on the combined folded text for free text. `fastupdate = off`:
///   the table is read-mostly, so no pending list to scan on every query.
pub const INDEXES: &[(&str, &str)] = &[
    (
        "contracts_search_text_trgm",
        "CREATE INDEX contracts_search_text_trgm ON contracts USING gin (search_text gin_trgm_ops) \
         WITH (fastupdate = off)",
    ),
    (
        "contracts_full_name_trgm",
        "CREATE INDEX contracts_full_name_trgm ON contracts USING gin (full_name gin_trgm_ops) \
         WITH (fastupdate = off)",
    ),
    (
        "contracts_street_trgm",
        "CREATE INDEX contracts_street_trgm ON contracts USING gin (street gin_trgm_ops) WITH (fastupdate = off)",
    ),
    (
        "contracts_company_trgm",
        "CREATE INDEX contracts_company_trgm ON contracts USING gin (company gin_trgm_ops) \
         WITH (fastupdate = off)",
    ),
    (
        "contracts_city_trgm",
        "CREATE INDEX contracts_city_trgm ON contracts USING gin (city gin_trgm_ops) WITH (fastupdate = off)",
    ),
    // A unique index rather than `ADD PRIMARY KEY`, whose lock would stall the other builder.
    ("contracts_id", "CREATE UNIQUE INDEX contracts_id ON contracts (id)"),
    ("contracts_contract_key", "CREATE INDEX contracts_contract_key ON contracts (contract_key)"),
    (
        "contracts_contract_num",
        "CREATE INDEX contracts_contract_num ON contracts (contract_num) WHERE contract_num IS NOT NULL",
    ),
    ("contracts_customer_key", "CREATE INDEX contracts_customer_key ON contracts (customer_key)"),
    (
        "contracts_customer_num",
        "CREATE INDEX contracts_customer_num ON contracts (customer_num) WHERE customer_num IS NOT NULL",
    ),
    ("contracts_email", "CREATE INDEX contracts_email ON contracts (email) WHERE email IS NOT NULL"),
    (
        "contracts_phones",
        "CREATE INDEX contracts_phones ON contracts USING gin (phones) WITH (fastupdate = off)",
    ),
    ("contracts_iban", "CREATE INDEX contracts_iban ON contracts (iban) WHERE iban IS NOT NULL"),
    ("contracts_meter", "CREATE INDEX contracts_meter ON contracts (meter) WHERE meter IS NOT NULL"),
    (
        "contracts_meter_reversed",
        "CREATE INDEX contracts_meter_reversed ON contracts ((reverse(meter))) WHERE meter IS NOT NULL",
    ),
    ("contracts_malo", "CREATE INDEX contracts_malo ON contracts (malo) WHERE malo IS NOT NULL"),
    ("contracts_zip", "CREATE INDEX contracts_zip ON contracts (zip)"),
];

/// One row of the table, built from a contract.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractRow {
    id: String,
    customer_id: String,
    contract_key: String,
    contract_num: Option<String>,
    customer_key: String,
    customer_num: Option<String>,
    email: Option<String>,
    phones: Vec<String>,
    iban: Option<String>,
    meter: Option<String>,
    malo: Option<String>,
    zip: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    full_name: Option<String>,
    company: Option<String>,
    street: Option<String>,
    house_number: Option<String>,
    city: Option<String>,
    search_text: String,
    status_rank: i16,
    start_date: Option<i64>,
    doc: serde_json::Value,
}

/// The contract-search primary contract rule's first key: active before pending before
/// unknown before ended.
pub fn status_rank(status: Option<&str>) -> i16 {
    match status {
        Some("active") => 0,
        Some("pending") => 1,
        None => 2,
        Some(_) => 3,
    }
}

/// A folded value, `None` when nothing is left.
fn folded(text: Option<&str>, fold: fn(&str) -> String) -> Option<String> {
    text.map(fold).filter(|folded| !folded.is_empty())
}

/// The id variants as (canonical key, bare number where it differs).
fn key_and_number(variants: Vec<String>, fallback: &str) -> (String, Option<String>) {
    let mut variants = variants.into_iter();
    let key = variants.next().unwrap_or_else(|| fallback.to_owned());
    (key, variants.next())
}

/// House numbers compare without spaces and case (`3 a` = `3A`).
pub fn house_number_key(number: &str) -> String {
    number.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

impl ContractRow {
    /// The row of `contract`.
    pub fn from_contract(contract: &Contract) -> anyhow::Result<ContractRow> {
        let keys = keys(contract);
        let address = contract.delivery_address.as_deref().map(parse_address).unwrap_or_default();
        let (contract_key, contract_num) = key_and_number(keys.contract_keys, &contract.id);
        let (customer_key, customer_num) = key_and_number(keys.customer_keys, &contract.customer_id);
        let firstname = folded(contract.firstname.as_deref(), fold_name);
        let lastname = folded(contract.lastname.as_deref(), fold_name);
        let full_name = match (&firstname, &lastname) {
            (Some(first), Some(last)) => Some(format!("{first} {last}")),
            (first, last) => first.clone().or_else(|| last.clone()),
        };
        let company = folded(contract.company.as_deref(), fold_name);
        let street = folded(address.street.as_deref(), fold_street);
        let city = folded(address.city.as_deref(), fold_city);
        let search_text = [&firstname, &lastname, &company, &street, &city]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(ContractRow {
            id: contract.id.clone(),
            customer_id: contract.customer_id.clone(),
            contract_key,
            contract_num,
            customer_key,
            customer_num,
            email: keys.email,
            phones: keys.phones,
            iban: keys.iban,
            meter: keys.meter,
            malo: keys.malo,
            zip: keys.zip,
            firstname,
            lastname,
            full_name,
            company,
            street,
            house_number: address.house_number.as_deref().map(house_number_key),
            city,
            search_text,
            status_rank: status_rank(contract.status.as_deref()),
            start_date: contract.start_date,
            doc: serde_json::to_value(contract)?,
        })
    }

    /// The values in [`COLUMNS`] order.
    pub fn values(&self) -> [&(dyn ToSql + Sync); 23] {
        [
            &self.id,
            &self.customer_id,
            &self.contract_key,
            &self.contract_num,
            &self.customer_key,
            &self.customer_num,
            &self.email,
            &self.phones,
            &self.iban,
            &self.meter,
            &self.malo,
            &self.zip,
            &self.firstname,
            &self.lastname,
            &self.full_name,
            &self.company,
            &self.street,
            &self.house_number,
            &self.city,
            &self.search_text,
            &self.status_rank,
            &self.start_date,
            &self.doc,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contract_becomes_normalised_and_folded_columns() {
        let contract = Contract {
            id: "VN-0012345".into(),
            customer_id: "77".into(),
            firstname: Some("Jürgen".into()),
            lastname: Some("Müller-Lüdenscheidt".into()),
            email: Some("Juergen.Mueller@Example.COM".into()),
            phone: Some("0171 1234567".into()),
            delivery_address: Some("Hugo-Junkers-Str. 5 a, 82031 Grünwald".into()),
            counter_number: Some("1 ESY 11 60669167".into()),
            status: Some("active".into()),
            ..Contract::default()
        };
        let row = ContractRow::from_contract(&contract).unwrap();
        assert_eq!((row.contract_key.as_str(), row.contract_num.as_deref()), ("VN-0012345", Some("12345")));
        assert_eq!((row.customer_key.as_str(), row.customer_num.as_deref()), ("77", None));
        assert_eq!(row.email.as_deref(), Some("juergen.mueller@example.com"));
        assert_eq!(row.phones, ["+491711234567"]);
        assert_eq!(row.meter.as_deref(), Some("1ESY1160669167"));
        assert_eq!(row.full_name.as_deref(), Some("jurgen muller ludenscheidt"));
        assert_eq!(row.street.as_deref(), Some("hugo junkers str"));
        assert_eq!(row.house_number.as_deref(), Some("5a"));
        assert_eq!(row.zip.as_deref(), Some("82031"));
        assert_eq!(row.search_text, "jurgen muller ludenscheidt hugo junkers str grunwald");
        assert_eq!(row.status_rank, 0);
        assert_eq!(row.values().len(), COLUMNS.len());
    }
}
