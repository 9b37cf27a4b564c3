//! From an enneo contract to a tantivy document: every key normalised exactly as the query side
//! normalises what people type.

use contract_search_model::Contract;
use contract_search_model::normalize::{
    id_variants, normalize_email, normalize_iban, normalize_malo, normalize_melo, normalize_meter,
    normalize_phone, parse_address,
};
use tantivy::TantivyDocument;

use crate::analysis::{edge_grams, name_tokens, reversed_key, street_tokens};
use crate::schema::{Fields, prefix_tag, reversed_tag};
use crate::stored::encode_contract;

/// The normalised keys of a contract. Values that do not normalise (an invalid IBAN in the ERP)
/// are left out of the keys; the stored contract still shows them as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractKeys {
    /// Contract id variants.
    pub contract_keys: Vec<String>,
    /// Customer id variants.
    pub customer_keys: Vec<String>,
    /// Normalised email.
    pub email: Option<String>,
    /// Phones in E.164.
    pub phones: Vec<String>,
    /// Normalised IBAN.
    pub iban: Option<String>,
    /// Normalised meter number.
    pub meter: Option<String>,
    /// MaLo-ID.
    pub malo: Option<String>,
    /// MeLo-ID.
    pub melo: Option<String>,
    /// Postcode.
    pub zip: Option<String>,
    /// Street and house number of the delivery address.
    pub street: Option<String>,
    /// City of the delivery address.
    pub city: Option<String>,
}

/// Extra key holding further phone numbers of the customer (the landline beside the mobile), as
/// the ERP mapping writes them.
pub const EXTRA_PHONES: &str = "otherPhones";

/// The contract's phones in E.164 (its phone and the further ones the ERP mapping kept), without
/// duplicates.
pub fn phone_keys(contract: &Contract) -> Vec<String> {
    let mut phones: Vec<String> =
        contract.phone.iter().filter_map(|phone| normalize_phone(phone).ok()).collect();
    if let Some(serde_json::Value::Array(more)) = contract.extra.get(EXTRA_PHONES) {
        for phone in more.iter().filter_map(|value| value.as_str()) {
            if let Ok(phone) = normalize_phone(phone)
                && !phones.contains(&phone)
            {
                phones.push(phone);
            }
        }
    }
    phones
}

/// Computes the keys of a contract.
pub fn keys(contract: &Contract) -> ContractKeys {
    let parsed = contract.delivery_address.as_deref().map(parse_address).unwrap_or_default();
    let street = match (&parsed.street, &parsed.house_number) {
        (Some(street), Some(number)) => Some(format!("{street} {number}")),
        (Some(street), None) => Some(street.clone()),
        _ => None,
    };
    let phones = phone_keys(contract);
    ContractKeys {
        contract_keys: id_variants(&contract.id),
        customer_keys: id_variants(&contract.customer_id),
        email: contract.email.as_deref().and_then(|email| normalize_email(email).ok()),
        phones,
        iban: contract.iban.as_deref().and_then(|iban| normalize_iban(iban).ok()),
        meter: contract.counter_number.as_deref().and_then(|meter| normalize_meter(meter).ok()),
        malo: contract.malo_id.as_deref().and_then(|malo| normalize_malo(malo).ok()),
        melo: contract.melo_id.as_deref().and_then(|melo| normalize_melo(melo).ok()),
        zip: contract.zip.clone().or(parsed.postcode),
        street,
        city: parsed.city,
    }
}

/// The tantivy document of a contract.
pub fn contract_document(fields: &Fields, contract: &Contract) -> TantivyDocument {
    let keys = keys(contract);
    let mut document = TantivyDocument::new();
    document.add_text(fields.id, &contract.id);
    document.add_text(fields.customer_id, &contract.customer_id);
    document.add_text(fields.source, contract.source.as_deref().unwrap_or("unknown"));
    for key in &keys.contract_keys {
        document.add_text(fields.contract_key, key);
    }
    for key in &keys.customer_keys {
        document.add_text(fields.customer_key, key);
    }
    let single_keys = [
        (fields.email, &keys.email),
        (fields.iban, &keys.iban),
        (fields.meter, &keys.meter),
        (fields.malo, &keys.malo),
        (fields.melo, &keys.melo),
        (fields.zip, &keys.zip),
    ];
    for (field, value) in single_keys {
        if let Some(value) = value {
            document.add_text(field, value);
        }
    }
    for phone in &keys.phones {
        document.add_text(fields.phone, phone);
        document.add_text(fields.reversed, reversed_key(reversed_tag::PHONE, phone.trim_start_matches('+')));
    }
    if let Some(meter) = &keys.meter {
        document.add_text(fields.reversed, reversed_key(reversed_tag::METER, meter));
    }
    if let Some(iban) = &keys.iban {
        document.add_text(fields.reversed, reversed_key(reversed_tag::IBAN, iban));
    }

    let mut grams = Vec::new();
    let name = [contract.firstname.as_deref(), contract.lastname.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let texts = [
        (fields.name, prefix_tag::NAME, Some(name.as_str()), false),
        (fields.company, prefix_tag::COMPANY, contract.company.as_deref(), false),
        (fields.street, prefix_tag::STREET, keys.street.as_deref(), true),
        (fields.city, prefix_tag::CITY, keys.city.as_deref(), false),
    ];
    for (field, tag, text, is_street) in texts {
        let Some(text) = text.filter(|text| !text.is_empty()) else { continue };
        document.add_text(field, text);
        let tokens = if is_street { street_tokens(text) } else { name_tokens(text) };
        for token in tokens.iter().filter(|token| !token.starts_with(|c: char| c.is_ascii_digit())) {
            edge_grams(tag, token, &mut grams);
        }
    }
    grams.sort_unstable();
    grams.dedup();
    for gram in &grams {
        document.add_text(fields.prefix, gram);
    }
    document.add_bytes(fields.payload, &encode_contract(contract));
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        Contract {
            id: "VN-0012345".into(),
            customer_id: "10000001".into(),
            firstname: Some("Jürgen".into()),
            lastname: Some("Müller".into()),
            email: Some(" J.Mueller@Web.de".into()),
            phone: Some("0171/1234567".into()),
            delivery_address: Some("Hugo-Junkers-Str. 5, 82031 Grünwald".into()),
            iban: Some("DE89 3704 0044 0532 0130 00".into()),
            counter_number: Some("1 ESY 11 60669167".into()),
            extra: [(EXTRA_PHONES.to_owned(), serde_json::json!(["(089) 123456", "0171 1234567"]))].into(),
            ..Contract::default()
        }
    }

    #[test]
    fn keys_are_normalised() {
        let keys = keys(&contract());
        assert!(keys.contract_keys.contains(&"12345".to_owned()), "{:?}", keys.contract_keys);
        assert_eq!(keys.email.as_deref(), Some("j.mueller@web.de"));
        assert_eq!(keys.phones, ["+491711234567", "+4989123456"]);
        assert_eq!(keys.iban.as_deref(), Some("DE89370400440532013000"));
        assert_eq!(keys.meter.as_deref(), Some("1ESY1160669167"));
        assert_eq!(keys.zip.as_deref(), Some("82031"));
        assert_eq!(keys.street.as_deref(), Some("Hugo-Junkers-Str. 5"));
        assert_eq!(keys.city.as_deref(), Some("Grünwald"));
    }

    #[test]
    fn bad_values_are_left_out_of_the_keys() {
        let mut contract = contract();
        contract.iban = Some("DE00 1234".into());
        contract.email = Some("not an email".into());
        let keys = keys(&contract);
        assert_eq!(keys.iban, None);
        assert_eq!(keys.email, None);
    }
}
