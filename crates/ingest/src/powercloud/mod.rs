//! The Powercloud connector: pages and records over Powercloud's REST scheme, mapped to enneo's
//! model types.
//!
//! Powercloud documents no API. What public third-party code shows, and this connector follows:
//! `GET <base>/rest:client/<hash>/<function>`, HTTP Basic auth with the user written
//! `client#<user>`, `getContractById?id=` and `getCustomerById?id=`, and the envelope
//! `{"success": true, "data": ...}` around a record `{"id": .., "data": {..}}` or a page
//! `{"records": [...]}` paged by `limit` and `offset`. What is **assumed** (shared with the
//! simulator in `contract_search_sim::powercloud`, and configurable where it is a name):
//!
//! - the list functions `getContracts` and `getCustomers`
//!   ([`PowercloudConfig::list_contracts_function`], [`PowercloudConfig::list_customers_function`]),
//!   ordered by id, with `"total"` beside `"records"` when the installation provides it;
//! - an unknown id answers HTTP 404 (or 200) with `{"success": false, "code": "contract_not_found"}`
//!   (`customer_not_found` for customers). Any other 404 (an HTML page, `unknown_application`, a
//!   bare `not_found` from a wrong route) is [`Error::FunctionNotFound`], never "deleted": a wrong
//!   application hash or base URL must not make every contract look deleted;
//! - a contract record embeds its customer's person, contact and bank fields;
//! - the record-to-contract mapping in [`mapping`].
//!
//! Page answers are parsed and mapped on the blocking pool, so a thousand-record page does not
//! stall the async runtime.

mod client;
mod config;
pub mod mapping;
mod value;

use std::fmt;

use contract_search_model::{Contract, Customer};
use serde_json::Value;

use self::client::{Answer, PowercloudClient};
pub use self::config::PowercloudConfig;
use self::mapping::{MappingOptions, map_contract, map_customer};
use crate::{
    BoxFuture, Call, Connector, ContractPage, CustomerPage, Error, MappingError, PagingOptions, Result,
};

/// Single-contract function (public).
pub const GET_CONTRACT_FUNCTION: &str = "getContractById";
/// Single-customer function (public).
pub const GET_CUSTOMER_FUNCTION: &str = "getCustomerById";
/// The failure code of [`GET_CONTRACT_FUNCTION`] for an unknown id (assumed).
pub const CONTRACT_NOT_FOUND_CODE: &str = "contract_not_found";
/// The failure code of [`GET_CUSTOMER_FUNCTION`] for an unknown id (assumed).
pub const CUSTOMER_NOT_FOUND_CODE: &str = "customer_not_found";

/// The Powercloud connector of one installation.
pub struct PowercloudConnector {
    client: PowercloudClient,
    config: PowercloudConfig,
    mapping: MappingOptions,
}

impl fmt::Debug for PowercloudConnector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("PowercloudConnector").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Records of one page, mapped, with what the page said about the list.
#[derive(Debug)]
struct MappedPage<T> {
    items: Vec<T>,
    total: Option<u64>,
    num_records: usize,
    skipped: Vec<MappingError>,
}

impl PowercloudConnector {
    /// A connector for the installation `config` describes; checks the config.
    pub fn new(config: PowercloudConfig) -> Result<PowercloudConnector> {
        config.validate()?;
        let client = PowercloudClient::new(&config)?;
        let mapping = MappingOptions {
            source: config.source.clone(),
            erp_url_template: config.erp_url_template.clone(),
        };
        Ok(PowercloudConnector { client, config, mapping })
    }

    /// The configuration this connector runs with.
    pub fn config(&self) -> &PowercloudConfig {
        &self.config
    }

    /// The options its mapping runs with (source name, deep-link template).
    pub fn mapping_options(&self) -> &MappingOptions {
        &self.mapping
    }

    /// One page of the list `function`, mapped with `map` on the blocking pool.
    async fn page<T: Send + 'static>(
        &self,
        function: &str,
        offset: u64,
        limit: usize,
        map: fn(&Value, &MappingOptions) -> std::result::Result<T, MappingError>,
    ) -> Result<MappedPage<T>> {
        let call = Call::Page { function: function.to_owned(), offset };
        let (limit_text, offset_text) = (limit.to_string(), offset.to_string());
        let body = match self.client.get(&call, &[("limit", &limit_text), ("offset", &offset_text)]).await? {
            Answer::Found(body) => body,
            Answer::NotFound(_) => return Err(Error::FunctionNotFound { call }),
        };
        let options = self.mapping.clone();
        let page = tokio::task::spawn_blocking(move || map_page(&call, body, map, &options))
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))?;
        if let Some(first) = page.skipped.first() {
            tracing::warn!(
                function,
                offset,
                num_skipped = page.skipped.len(),
                first = %first,
                "records of a page cannot be mapped and are left out"
            );
        }
        Ok(page)
    }

    /// The raw record `id` of `function`, or `None` when the ERP answers `not_found_code`.
    async fn record(&self, function: &str, not_found_code: &str, id: &str) -> Result<Option<Value>> {
        let call = Call::Record { function: function.to_owned(), id: id.to_owned() };
        match self.client.get(&call, &[("id", id)]).await? {
            Answer::NotFound(Some(body)) if is_not_found_failure(&body, not_found_code) => Ok(None),
            Answer::NotFound(_) => Err(Error::FunctionNotFound { call }),
            Answer::Found(body) => {
                let body = parse_json(&call, &body)?;
                if is_not_found_failure(&body, not_found_code) {
                    return Ok(None);
                }
                envelope_data(&call, body).map(Some)
            }
        }
    }
}

/// Parses a list answer and maps its records; unmappable records are collected, not fatal.
fn map_page<T>(
    call: &Call,
    body: Vec<u8>,
    map: fn(&Value, &MappingOptions) -> std::result::Result<T, MappingError>,
    options: &MappingOptions,
) -> Result<MappedPage<T>> {
    let data = envelope_data(call, parse_json(call, &body)?)?;
    let (records, total) = match data {
        Value::Object(mut data) => {
            let total = data.get("total").and_then(|total| match total {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            });
            match data.remove("records") {
                Some(Value::Array(records)) => (records, total),
                Some(_) => return Err(unparseable(call, "`data.records` is not a list")),
                None => return Err(unparseable(call, "`data` has no `records`")),
            }
        }
        // Some installations may answer a bare list.
        Value::Array(records) => (records, None),
        _ => return Err(unparseable(call, "`data` is neither an object nor a list")),
    };
    let mut page = MappedPage {
        items: Vec::with_capacity(records.len()),
        total,
        num_records: records.len(),
        skipped: Vec::new(),
    };
    for record in &records {
        match map(record, options) {
            Ok(item) => page.items.push(item),
            Err(error) => page.skipped.push(error),
        }
    }
    Ok(page)
}

fn unparseable(call: &Call, reason: &str) -> Error {
    Error::Unparseable { call: call.clone(), reason: reason.to_owned() }
}

fn parse_json(call: &Call, body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|error| Error::Unparseable {
        call: call.clone(),
        reason: format!(
            "invalid JSON ({:?} error at line {} column {})",
            error.classify(),
            error.line(),
            error.column()
        ),
    })
}

/// `data` of a `{"success": true, "data": ...}` envelope; a failure envelope is
/// [`Error::Refused`] with the ERP's code.
fn envelope_data(call: &Call, body: Value) -> Result<Value> {
    let Value::Object(mut envelope) = body else {
        return Err(unparseable(call, "the answer is not a JSON object"));
    };
    match envelope.get("success") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            let text =
                |key: &str| envelope.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
            let message: String = text("message").chars().take(200).collect();
            let code =
                Some(text("code")).filter(|code| !code.is_empty()).unwrap_or_else(|| "unknown".to_owned());
            return Err(Error::Refused { call: call.clone(), code, message });
        }
        _ => return Err(unparseable(call, "the answer has no `success` flag")),
    }
    envelope
        .remove("data")
        .filter(|data| !data.is_null())
        .ok_or_else(|| unparseable(call, "the answer has no `data`"))
}

/// `{"success": false, "code": <code>}`, e.g. `contract_not_found`.
fn is_not_found_failure(body: &Value, code: &str) -> bool {
    body.get("success") == Some(&Value::Bool(false)) && body.get("code").and_then(Value::as_str) == Some(code)
}

impl Connector for PowercloudConnector {
    fn source(&self) -> &str {
        &self.config.source
    }

    fn paging(&self) -> PagingOptions {
        PagingOptions { page_size: self.config.page_size, concurrency: self.config.concurrency }
    }

    fn fetch_contract_page(&self, offset: u64, limit: usize) -> BoxFuture<'_, Result<ContractPage>> {
        Box::pin(async move {
            let page = self.page(&self.config.list_contracts_function, offset, limit, map_contract).await?;
            Ok(ContractPage {
                contracts: page.items,
                total: page.total,
                num_records: page.num_records,
                skipped: page.skipped,
            })
        })
    }

    fn fetch_customer_page(&self, offset: u64, limit: usize) -> BoxFuture<'_, Result<CustomerPage>> {
        Box::pin(async move {
            let page = self.page(&self.config.list_customers_function, offset, limit, map_customer).await?;
            Ok(CustomerPage {
                customers: page.items,
                total: page.total,
                num_records: page.num_records,
                skipped: page.skipped,
            })
        })
    }

    fn fetch_contract<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Contract>>> {
        Box::pin(async move {
            let Some(record) = self.record(GET_CONTRACT_FUNCTION, CONTRACT_NOT_FOUND_CODE, id).await? else {
                return Ok(None);
            };
            Ok(Some(map_contract(&record, &self.mapping)?))
        })
    }

    fn fetch_customer<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Customer>>> {
        Box::pin(async move {
            let Some(record) = self.record(GET_CUSTOMER_FUNCTION, CUSTOMER_NOT_FOUND_CODE, id).await? else {
                return Ok(None);
            };
            Ok(Some(map_customer(&record, &self.mapping)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call() -> Call {
        Call::Page { function: "getContracts".into(), offset: 2000 }
    }

    fn options() -> MappingOptions {
        MappingOptions { source: "powercloud".into(), erp_url_template: None }
    }

    fn page(body: Value) -> Result<MappedPage<Contract>> {
        map_page(&call(), serde_json::to_vec(&body).unwrap(), map_contract, &options())
    }

    #[test]
    fn list_envelopes_parse_with_and_without_total() {
        let record = |id: u64| json!({"id": id, "data": {"customerId": 7, "surname": "Weber"}});
        let mapped =
            page(json!({"success": true, "data": {"records": [record(1), record(2)], "total": 40}})).unwrap();
        assert_eq!(mapped.items.iter().map(|contract| contract.id.as_str()).collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!((mapped.total, mapped.num_records), (Some(40), 2));
        let mapped = page(json!({"success": true, "data": {"records": [record(3)]}})).unwrap();
        assert_eq!((mapped.total, mapped.num_records), (None, 1));
    }

    #[test]
    fn unmappable_records_are_skipped_and_counted() {
        let body = json!({"success": true, "data": {"records": [
            {"id": 1, "data": {"customerId": 7}}, {"id": 2, "data": {"surname": "Weber"}}, {"data": {}}
        ], "total": "3"}});
        let mapped = page(body).unwrap();
        assert_eq!((mapped.items.len(), mapped.num_records, mapped.total), (1, 3, Some(3)));
        assert_eq!(mapped.skipped[0].field, "customerId");
        assert_eq!(mapped.skipped[0].record_id.as_deref(), Some("2"));
        assert_eq!(mapped.skipped[1].field, "id");
    }

    #[test]
    fn failures_and_bad_shapes_are_errors_naming_the_page() {
        let error = page(json!({"success": false, "code": "invalid_limit", "message": "limit too large"}))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "page at offset 2000 of getContracts: the ERP reported failure `invalid_limit` (limit too large)"
        );
        let error = page(json!({"success": true, "data": {"items": []}})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "page at offset 2000 of getContracts did not parse: `data` has no `records`"
        );
        let error = page(json!({"data": {"records": []}})).unwrap_err();
        assert!(matches!(error, Error::Unparseable { .. }));
        let error = map_page(&call(), b"<html>".to_vec(), map_contract, &options()).err().unwrap();
        assert!(
            error.to_string().starts_with("page at offset 2000 of getContracts did not parse: invalid JSON"),
            "{error}"
        );
    }

    #[test]
    fn json_errors_quote_no_input() {
        let error = parse_json(&call(), b"{\"iban\": DE89370400440532013000}").unwrap_err().to_string();
        assert!(!error.contains("DE89"), "{error}");
        assert!(error.contains("line 1"), "{error}");
    }

    #[test]
    fn only_the_erps_not_found_answer_means_not_found() {
        let contract = CONTRACT_NOT_FOUND_CODE;
        assert!(is_not_found_failure(&json!({"success": false, "code": "contract_not_found"}), contract));
        assert!(is_not_found_failure(
            &json!({"success": false, "code": "customer_not_found", "message": "x"}),
            CUSTOMER_NOT_FOUND_CODE
        ));
        assert!(!is_not_found_failure(&json!({"success": false, "code": "customer_not_found"}), contract));
        assert!(!is_not_found_failure(&json!({"success": false, "code": "not_found"}), contract));
        assert!(!is_not_found_failure(&json!({"success": false, "code": "unknown_application"}), contract));
        assert!(!is_not_found_failure(&json!({"success": true, "data": {}}), contract));
        assert!(!is_not_found_failure(&json!("Not Found"), contract));
    }

    #[test]
    fn invalid_config_is_refused_before_any_request() {
        let config = PowercloudConfig::new("ftp://x", "abc", "apiuser", "secret");
        let error = PowercloudConnector::new(config).unwrap_err();
        assert!(matches!(error, Error::Config(_)));
    }
}
