//! enneo's `Contract` and `Customer` objects, exactly as the by-id executors return them.
//!
//! Flat JSON with camelCase names; ids are strings (integers are accepted on input); dates are
//! Unix seconds. Extra keys are allowed by enneo and shown to its AI: they are kept in `extra`
//! and written back at the top level.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{MAX_ID_LEN, ValidationError, lenient};

/// One entry of the agent preview that enneo shows beside a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentPreviewItem {
    /// Short label, e.g. "Abschlag".
    pub label: String,
    /// The value shown, e.g. "39 €".
    pub value: String,
    /// Optional tooltip text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tooltip: Option<String>,
    /// Optional link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A deep link into the ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErpUrl {
    /// The link.
    pub url: String,
    /// The icon enneo shows, e.g. "powercloud".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
}

/// An energy contract in enneo's shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// Contract number in the ERP.
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    /// The customer holding this contract.
    #[serde(deserialize_with = "lenient::string")]
    pub customer_id: String,
    /// True for a company, false for a private person.
    pub business: bool,
    /// Given name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub firstname: Option<String>,
    /// Family name; may be null only for business contracts.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub lastname: Option<String>,
    /// Company name; may be null only for private contracts.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub company: Option<String>,
    /// Email address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Phone number, E.164 where it could be normalised.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub phone: Option<String>,
    /// "Street No, ZIP City".
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub delivery_address: Option<String>,
    /// Postcode of the delivery address (enneo's phone identification uses it).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub zip: Option<String>,
    /// Billing address; null means the same as the delivery address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub billing_address: Option<String>,
    /// "active", "terminated", "pending", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// "electricity" or "gas".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<String>,
    /// The meter number (Zählernummer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_number: Option<String>,
    /// Market location id (MaLo-ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malo_id: Option<String>,
    /// Metering point id (MeLo-ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub melo_id: Option<String>,
    /// IBAN of the direct debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// Monthly deposit in euros.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "lenient::whole_number")]
    pub monthly_deposit: Option<f64>,
    /// Yearly consumption in kWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption: Option<u64>,
    /// Product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Product code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// Supply start, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<i64>,
    /// Supply end, Unix seconds; null while the contract runs.
    #[serde(default)]
    pub end_date: Option<i64>,
    /// Signup date, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_date: Option<i64>,
    /// The system this record came from ("powercloud", "import", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Agent preview entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_preview: Vec<AgentPreviewItem>,
    /// Deep links into the ERP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erp_urls: Vec<ErpUrl>,
    /// Any further keys, kept as they came and written back at the top level.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A customer in enneo's shape: the person or company holding one or more contracts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Customer number in the ERP.
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    /// True for a company.
    pub business: bool,
    /// Salutation ("Herr", "Frau", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salutation: Option<String>,
    /// Given name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub firstname: Option<String>,
    /// Family name; may be null only for business customers.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub lastname: Option<String>,
    /// Company name; may be null only for private customers.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub company: Option<String>,
    /// Email address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub phone: Option<String>,
    /// "Street No, ZIP City".
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub delivery_address: Option<String>,
    /// Billing address; null means the same as the delivery address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub billing_address: Option<String>,
    /// Every contract of this customer; never empty.
    #[serde(deserialize_with = "lenient::string_list")]
    pub contract_ids: Vec<String>,
    /// The system this record came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Any further keys.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn validate_id(field: &'static str, id: &str) -> Result<(), ValidationError> {
    if id.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if id.chars().count() > MAX_ID_LEN {
        return Err(ValidationError::new(field, format!("longer than {MAX_ID_LEN} characters")));
    }
    Ok(())
}

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|text| text.trim().is_empty())
}

/// enneo's rule shared by contracts and customers: a private person needs a last name,
/// a business needs a company name.
fn validate_party(
    business: bool,
    lastname: &Option<String>,
    company: &Option<String>,
) -> Result<(), ValidationError> {
    if !business && is_blank(lastname) {
        return Err(ValidationError::new("lastname", "required unless `business` is true"));
    }
    if business && is_blank(company) {
        return Err(ValidationError::new("company", "required when `business` is true"));
    }
    Ok(())
}

impl Contract {
    /// Checks enneo's required-field rules: ids present and at most 50 characters, `lastname`
    /// null only for business, `company` null only for private contracts.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_id("id", &self.id)?;
        validate_id("customerId", &self.customer_id)?;
        validate_party(self.business, &self.lastname, &self.company)
    }
}

impl Customer {
    /// Checks enneo's required-field rules; `contractIds` must hold at least one id.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_id("id", &self.id)?;
        validate_party(self.business, &self.lastname, &self.company)?;
        if self.contract_ids.is_empty() {
            return Err(ValidationError::new("contractIds", "must hold at least one contract id"));
        }
        for contract_id in &self.contract_ids {
            validate_id("contractIds", contract_id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENNEO_EXAMPLE: &str = r#"{"id": "746839", "customerId": "123", "business": false, "company": null,
 "firstname": "John", "lastname": "Doe", "email": "johndoe@example.com",
 "phone": "+491721041689", "deliveryAddress": "Hugo-Junkers-Str. 5, 82031 Grünwald",
 "billingAddress": "Rechnungssstraße 24, 10587 Berlin", "zip": "82031",
 "status": "active", "energy": "electricity", "counterNumber": "1ESY1160669167",
 "iban": "DE89370400440532013000", "monthlyDeposit": 53, "consumption": 3477,
 "productName": "Flex 24", "productCode": "flx_24", "startDate": 1661990400, "endDate": null,
 "erpUrls": [{"url": "https://erp-system.com/contract/746839", "icon": "powercloud"}]}"#;

    #[test]
    fn enneo_example_round_trips() {
        let contract: Contract = serde_json::from_str(ENNEO_EXAMPLE).unwrap();
        assert_eq!(contract.id, "746839");
        assert_eq!(contract.counter_number.as_deref(), Some("1ESY1160669167"));
        assert!(contract.validate().is_ok());
        let written = serde_json::to_value(&contract).unwrap();
        let original: serde_json::Value = serde_json::from_str(ENNEO_EXAMPLE).unwrap();
        // Every key enneo sent comes back with the same value (numbers compared as numbers).
        for (key, value) in original.as_object().unwrap() {
            match value.as_f64() {
                Some(number) => assert_eq!(written[key].as_f64(), Some(number), "{key}"),
                None => assert_eq!(&written[key], value, "{key}"),
            }
        }
        assert_eq!(serde_json::from_value::<Contract>(written).unwrap(), contract);
    }

    #[test]
    fn integer_ids_and_unknown_keys_are_accepted() {
        let contract: Contract = serde_json::from_str(
            r#"{"id": 5, "customerId": 7, "business": true, "lastname": null, "company": "ACME GmbH", "tariffZone": "Nord"}"#,
        )
        .unwrap();
        assert_eq!(contract.id, "5");
        assert_eq!(contract.customer_id, "7");
        assert_eq!(contract.extra["tariffZone"], "Nord");
        assert!(contract.validate().is_ok());
        let written = serde_json::to_value(&contract).unwrap();
        assert_eq!(written["tariffZone"], "Nord");
    }

    #[test]
    fn private_contract_needs_lastname() {
        let contract = Contract {
            id: "1".into(),
            customer_id: "2".into(),
            business: false,
            lastname: Some("  ".into()),
            ..Contract::default()
        };
        assert_eq!(contract.validate().unwrap_err().field, "lastname");
    }

    #[test]
    fn business_contract_needs_company() {
        let contract = Contract {
            id: "1".into(),
            customer_id: "2".into(),
            business: true,
            lastname: Some("Weber".into()),
            ..Contract::default()
        };
        assert_eq!(contract.validate().unwrap_err().field, "company");
    }

    #[test]
    fn ids_are_bounded() {
        let contract = Contract {
            id: "9".repeat(51),
            customer_id: "2".into(),
            lastname: Some("Weber".into()),
            ..Contract::default()
        };
        assert_eq!(contract.validate().unwrap_err().field, "id");
        let contract = Contract { id: "1".into(), customer_id: String::new(), ..contract };
        assert_eq!(contract.validate().unwrap_err().field, "customerId");
    }

    #[test]
    fn customer_needs_contracts() {
        let customer = Customer { id: "2".into(), lastname: Some("Weber".into()), ..Customer::default() };
        assert_eq!(customer.validate().unwrap_err().field, "contractIds");
        let customer = Customer { contract_ids: vec!["1".into()], ..customer };
        assert!(customer.validate().is_ok());
    }
}
