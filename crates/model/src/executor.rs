//! Inputs and outputs of enneo's fields and free-text executors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lenient;

/// What enneo's AI extracted from an email, letter or call: any field may be missing, null,
/// partial or wrong. Suppliers can configure extra parameter names; those are kept in `extra`
/// and never rejected.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldsQuery {
    /// enneo's ticket id; always sent by enneo, never used for matching.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    /// Contract id as written by the customer.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// Customer id as written by the customer.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Given name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    /// Family name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    /// Phone number in any format.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Company name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Email address.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Meter number, possibly partial.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub meter_number: Option<String>,
    /// Address, often "Street No" or a whole "Street No, ZIP City".
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Postcode.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// City.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Parameters a supplier configured beyond enneo's defaults.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The one confident answer of a fields search. "No match" is written as `{}` by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldsMatch {
    /// The identified contract.
    pub contract_id: String,
    /// Its customer.
    pub customer_id: String,
    /// enneo's legitimation level (0, 10, 20, 30, 40), when we state one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_legitimation: Option<u8>,
    /// Why that level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_legitimation_message: Option<String>,
}

/// Customers answered when enneo sends no limit.
pub const DEFAULT_FREE_TEXT_LIMIT: usize = 10;

/// The free-text executor's input: what an agent typed into enneo's search box. `limit` and
/// `offset` may be numbers, numeric strings or null (then their defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeTextQuery {
    /// The search text (required; `null` is read as empty).
    #[serde(deserialize_with = "lenient::opt_string_or_empty")]
    pub q: String,
    /// At most this many customers (enneo takes at most 10).
    #[serde(default = "default_limit", deserialize_with = "limit_or_default")]
    pub limit: usize,
    /// Customers to skip.
    #[serde(default, deserialize_with = "offset_or_default")]
    pub offset: usize,
}

fn default_limit() -> usize {
    DEFAULT_FREE_TEXT_LIMIT
}

fn limit_or_default<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    Ok(lenient::opt_count(deserializer)?.unwrap_or(DEFAULT_FREE_TEXT_LIMIT))
}

fn offset_or_default<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    Ok(lenient::opt_count(deserializer)?.unwrap_or(0))
}

/// One customer in the free-text answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRef {
    /// The customer id.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_query_keeps_unknown_keys_and_accepts_numbers() {
        let query: FieldsQuery = serde_json::from_str(
            r#"{"ticketId": 991, "lastname": "Müller", "postalCode": 1067, "phone": null, "vertragskonto": "X-1"}"#,
        )
        .unwrap();
        assert_eq!(query.ticket_id.as_deref(), Some("991"));
        assert_eq!(query.lastname.as_deref(), Some("Müller"));
        assert_eq!(query.postal_code.as_deref(), Some("1067"));
        assert_eq!(query.phone, None);
        assert_eq!(query.extra["vertragskonto"], "X-1");
    }

    #[test]
    fn free_text_defaults() {
        let query: FreeTextQuery = serde_json::from_str(r#"{"q": "mueller koeln"}"#).unwrap();
        assert_eq!((query.limit, query.offset), (10, 0));
        let query: FreeTextQuery =
            serde_json::from_str(r#"{"q": 4711, "limit": null, "offset": "5"}"#).unwrap();
        assert_eq!((query.q.as_str(), query.limit, query.offset), ("4711", 10, 5));
        let query: FreeTextQuery = serde_json::from_str(r#"{"q": null, "limit": "3"}"#).unwrap();
        assert_eq!((query.q.as_str(), query.limit), ("", 3));
        assert!(serde_json::from_str::<FreeTextQuery>(r#"{"q": "x", "limit": -1}"#).is_err());
        assert!(serde_json::from_str::<FreeTextQuery>(r#"{"limit": 3}"#).is_err());
        assert!(serde_json::from_str::<FreeTextQuery>(r#"{"q": "x", "limit": "ten"}"#).is_err());
    }

    #[test]
    fn fields_match_shape() {
        let found = FieldsMatch {
            contract_id: "1".into(),
            customer_id: "2".into(),
            customer_legitimation: None,
            customer_legitimation_message: None,
        };
        assert_eq!(serde_json::to_string(&found).unwrap(), r#"{"contractId":"1","customerId":"2"}"#);
    }
}
