//! The stored payload: the enneo contract in postcard, a compact binary encoding.
//!
//! Why postcard: bincode 3.0.0 on crates.io is an empty crate that does not compile and 2.x is
//! unmaintained; postcard is maintained, small, and fast to decode (see the README for the
//! measured figures). postcard is not self-describing, so it cannot carry serde's `flatten` or
//! `skip_serializing_if`: the payload is its own struct with every field always present, and
//! the open-ended parts of a contract (agent preview, ERP links, extra keys) travel as one JSON
//! string. The first byte is a format version, so a future layout can be told apart.

use std::collections::BTreeMap;

use contract_search_model::Contract;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Layout version written as the first byte of every payload.
const FORMAT_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct StoredContract {
    id: String,
    customer_id: String,
    business: bool,
    firstname: Option<String>,
    lastname: Option<String>,
    company: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    delivery_address: Option<String>,
    zip: Option<String>,
    billing_address: Option<String>,
    status: Option<String>,
    energy: Option<String>,
    counter_number: Option<String>,
    malo_id: Option<String>,
    melo_id: Option<String>,
    iban: Option<String>,
    monthly_deposit: Option<f64>,
    consumption: Option<u64>,
    product_name: Option<String>,
    product_code: Option<String>,
    start_date: Option<i64>,
    end_date: Option<i64>,
    signup_date: Option<i64>,
    source: Option<String>,
    /// `{"agentPreview": [...], "erpUrls": [...], <extra keys>}` or empty when there are none.
    open_json: String,
}

/// The open-ended parts of a contract, as one JSON object.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OpenParts {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    agent_preview: Vec<contract_search_model::AgentPreviewItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    erp_urls: Vec<contract_search_model::ErpUrl>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// Encodes a contract as the stored payload.
pub fn encode_contract(contract: &Contract) -> Vec<u8> {
    let open_json =
        if contract.agent_preview.is_empty() && contract.erp_urls.is_empty() && contract.extra.is_empty() {
            String::new()
        } else {
            let open = OpenParts {
                agent_preview: contract.agent_preview.clone(),
                erp_urls: contract.erp_urls.clone(),
                extra: contract.extra.clone(),
            };
            serde_json::to_string(&open).expect("JSON values always serialise")
        };
    let stored = StoredContract {
        id: contract.id.clone(),
        customer_id: contract.customer_id.clone(),
        business: contract.business,
        firstname: contract.firstname.clone(),
        lastname: contract.lastname.clone(),
        company: contract.company.clone(),
        email: contract.email.clone(),
        phone: contract.phone.clone(),
        delivery_address: contract.delivery_address.clone(),
        zip: contract.zip.clone(),
        billing_address: contract.billing_address.clone(),
        status: contract.status.clone(),
        energy: contract.energy.clone(),
        counter_number: contract.counter_number.clone(),
        malo_id: contract.malo_id.clone(),
        melo_id: contract.melo_id.clone(),
        iban: contract.iban.clone(),
        monthly_deposit: contract.monthly_deposit,
        consumption: contract.consumption,
        product_name: contract.product_name.clone(),
        product_code: contract.product_code.clone(),
        start_date: contract.start_date,
        end_date: contract.end_date,
        signup_date: contract.signup_date,
        source: contract.source.clone(),
        open_json,
    };
    let mut bytes = vec![FORMAT_VERSION];
    postcard::to_io(&stored, &mut bytes).expect("writing to a Vec cannot fail");
    bytes
}

/// Decodes a stored payload.
pub fn decode_contract(bytes: &[u8]) -> Result<Contract> {
    let (&version, body) = bytes.split_first().ok_or_else(|| Error::Payload("empty payload".into()))?;
    if version != FORMAT_VERSION {
        return Err(Error::Payload(format!("unknown payload version {version}")));
    }
    let stored: StoredContract =
        postcard::from_bytes(body).map_err(|error| Error::Payload(error.to_string()))?;
    let open: OpenParts = if stored.open_json.is_empty() {
        OpenParts::default()
    } else {
        serde_json::from_str(&stored.open_json).map_err(|error| Error::Payload(error.to_string()))?
    };
    Ok(Contract {
        id: stored.id,
        customer_id: stored.customer_id,
        business: stored.business,
        firstname: stored.firstname,
        lastname: stored.lastname,
        company: stored.company,
        email: stored.email,
        phone: stored.phone,
        delivery_address: stored.delivery_address,
        zip: stored.zip,
        billing_address: stored.billing_address,
        status: stored.status,
        energy: stored.energy,
        counter_number: stored.counter_number,
        malo_id: stored.malo_id,
        melo_id: stored.melo_id,
        iban: stored.iban,
        monthly_deposit: stored.monthly_deposit,
        consumption: stored.consumption,
        product_name: stored.product_name,
        product_code: stored.product_code,
        start_date: stored.start_date,
        end_date: stored.end_date,
        signup_date: stored.signup_date,
        source: stored.source,
        agent_preview: open.agent_preview,
        erp_urls: open.erp_urls,
        extra: open.extra,
    })
}

#[cfg(test)]
mod tests {
    use contract_search_model::{AgentPreviewItem, ErpUrl};
    use proptest::prelude::*;

    use super::*;

    fn sample() -> Contract {
        Contract {
            id: "30000001".into(),
            customer_id: "10000001".into(),
            lastname: Some("Müller".into()),
            firstname: Some("Jürgen".into()),
            email: Some("j.mueller@web.de".into()),
            monthly_deposit: Some(53.5),
            start_date: Some(1_661_990_400),
            source: Some("powercloud".into()),
            ..Contract::default()
        }
    }

    #[test]
    fn round_trip_plain() {
        let contract = sample();
        assert_eq!(decode_contract(&encode_contract(&contract)).unwrap(), contract);
    }

    #[test]
    fn round_trip_open_parts() {
        let mut contract = sample();
        contract.agent_preview = vec![AgentPreviewItem {
            label: "Abschlag".into(),
            value: "39 €".into(),
            tooltip: None,
            url: None,
        }];
        contract.erp_urls = vec![ErpUrl { url: "https://erp/1".into(), icon: Some("powercloud".into()) }];
        contract.extra.insert("tariffZone".into(), serde_json::json!({"nested": [1, 2]}));
        assert_eq!(decode_contract(&encode_contract(&contract)).unwrap(), contract);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_contract(&[]).is_err());
        assert!(decode_contract(&[9, 1, 2]).is_err());
        assert!(decode_contract(&[FORMAT_VERSION, 200, 200]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_any_text(id in "[0-9A-Z-]{1,20}", name in ".{0,30}", deposit in proptest::option::of(0.0f64..1e6)) {
            let mut contract = sample();
            contract.id = id;
            contract.lastname = Some(name);
            contract.monthly_deposit = deposit;
            prop_assert_eq!(decode_contract(&encode_contract(&contract)).unwrap(), contract);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_contract(&bytes);
        }
    }
}
