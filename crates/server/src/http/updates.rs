//! Changes coming in: ERP change events (webhooks) and the import API.
//!
//! Every accepted change is appended to the durable journal (flushed to disk) **before** the
//! answer; the updater applies it to the served generation within about a second. So a 202 or
//! 200 from these routes means the change survives a crash; `?wait=true` on the import routes
//! also waits until it is searchable.
//!
//! | route | auth | body | answer |
//! |---|---|---|---|
//! | `POST /v1/webhooks/powercloud` | webhook secret | one event, an array, or `{"events": [...]}` | 202 `{"accepted", "lastSeq"}` |
//! | `PUT /v1/contracts/{id}` | import | a Contract as `GET /v1/contracts/{id}` returns it | 200 `{"seq"}` |
//! | `DELETE /v1/contracts/{id}` | import | none | 200 `{"seq"}` |
//! | `PUT /v1/customers/{id}` | import | a Customer | 200 `{"seq"}` |
//! | `POST /v1/import` | import | NDJSON: a Contract per line, or `{"id", "deleted": true}` | 200 `{"accepted", "rejected", "errors", "lastSeq"}` |
//!
//! The webhook secret is sent as the `X-Export-Token` header (what Powercloud's export target
//! sends), an `X-Webhook-Token` header, or a `token` query parameter, and compared in constant
//! time. When a signature is configured as required, or sent, `X-Signature` /
//! `X-Hub-Signature-256` must be `sha256=<hex HMAC-SHA256 of the body with the secret>`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use contract_search_ingest::journal::{Change, RecordKind};
use contract_search_model::{Contract, Customer};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiPath, parse_json};

/// The source name of records pushed through the import API without one.
pub const IMPORT_SOURCE: &str = "import";

/// Lines per journal append of a bulk import (one flush each).
const IMPORT_BATCH: usize = 2_000;

/// Bad lines listed in an import answer (all are counted).
const MAX_LISTED_ERRORS: usize = 100;

/// How the ERP webhooks authenticate.
#[derive(Clone, Default)]
pub struct WebhookAuth {
    /// The shared secret; `None` disables the webhooks (unless auth is off altogether).
    pub secret: Option<String>,
    /// Whether every event must carry a valid HMAC signature.
    pub require_signature: bool,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebhookAuth")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("require_signature", &self.require_signature)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WaitQuery {
    #[serde(default)]
    wait: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Checks the webhook secret and, when required or sent, the body's signature.
fn check_webhook(
    state: &AppState,
    headers: &HeaderMap,
    query_token: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    let settings = state.webhook();
    let Some(secret) = settings.secret.as_deref() else {
        if state.auth().is_disabled() {
            return Ok(());
        }
        return Err(ApiError::WebhookDisabled);
    };
    let token = header(headers, "x-export-token").or(header(headers, "x-webhook-token")).or(query_token);
    let token_ok = token.is_some_and(|token| bool::from(token.as_bytes().ct_eq(secret.as_bytes())));
    let signature = header(headers, "x-signature").or(header(headers, "x-hub-signature-256"));
    match signature {
        Some(signature) => {
            let hex = signature.trim().strip_prefix("sha256=").unwrap_or(signature.trim());
            let expected = decode_hex(hex).ok_or(ApiError::InvalidWebhookAuth)?;
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
            mac.update(body);
            mac.verify_slice(&expected).map_err(|_| ApiError::InvalidWebhookAuth)?;
            Ok(())
        }
        None if settings.require_signature => Err(ApiError::InvalidWebhookAuth),
        None if token_ok => Ok(()),
        None => Err(ApiError::InvalidWebhookAuth),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

/// An id given as a string or a number.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The first id found under any of `keys`, at the top or inside `data` / `payload` / the
/// entity object.
fn find_id(event: &Value, keys: &[&str], entity: &str) -> Option<String> {
    let scopes = [Some(event), event.get("data"), event.get("payload"), event.get("object")];
    for scope in scopes.into_iter().flatten() {
        for key in keys {
            if let Some(id) = scope.get(*key).and_then(id_of) {
                return Some(id);
            }
        }
        if let Some(id) = scope.get(entity).and_then(|object| object.get("id")).and_then(id_of) {
            return Some(id);
        }
    }
    None
}

/// What one ERP event asks for: the record to refetch. Tolerates unknown fields and the
/// spellings seen in ERP exports (`contractId`, `contract_id`, `{"contract": {"id"}}`, an
/// `entity`/`type` with an `id`).
pub fn event_change(source: &str, event: &Value) -> Result<Change, String> {
    let name = ["event", "type", "eventType", "event_type", "name", "entity"]
        .iter()
        .find_map(|key| event.get(*key).and_then(Value::as_str))
        .unwrap_or("")
        .to_ascii_lowercase();
    let contract = find_id(event, &["contractId", "contract_id", "contractID", "contractNumber"], "contract");
    let customer = find_id(event, &["customerId", "customer_id", "customerID", "customerNumber"], "customer");
    let bare_id = event
        .get("id")
        .and_then(id_of)
        .or_else(|| event.get("data").and_then(|data| data.get("id")).and_then(id_of));
    let refetch = |record, id| Change::Refetch { source: source.to_owned(), record, id };
    if name.starts_with("customer") {
        if let Some(id) = customer.or(bare_id) {
            return Ok(refetch(RecordKind::Customer, id));
        }
    } else if let Some(id) = contract {
        return Ok(refetch(RecordKind::Contract, id));
    } else if name.starts_with("contract")
        && let Some(id) = bare_id
    {
        return Ok(refetch(RecordKind::Contract, id));
    } else if let Some(id) = customer {
        return Ok(refetch(RecordKind::Customer, id));
    }
    Err("the event names no contract or customer id (expected e.g. `contractId` or `customerId`)".into())
}

/// `POST /v1/webhooks/powercloud`.
pub(super) async fn powercloud_webhook(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_webhook(&state, &headers, query.token.as_deref(), &body)?;
    let source = "powercloud";
    if !state.erp_sources().iter().any(|configured| configured == source) {
        return Err(ApiError::NoErpConfigured);
    }
    let value: Value = parse_json(&body)?;
    let events = match value {
        Value::Array(events) => events,
        Value::Object(mut object) if object.get("events").is_some_and(Value::is_array) => {
            match object.remove("events") {
                Some(Value::Array(events)) => events,
                _ => unreachable!("checked to be an array"),
            }
        }
        other => vec![other],
    };
    if events.is_empty() {
        return Err(ApiError::InvalidRequest("the body holds no event".into()));
    }
    let mut changes = Vec::with_capacity(events.len());
    for (number, event) in events.iter().enumerate() {
        let change = event_change(source, event)
            .map_err(|reason| ApiError::InvalidRequest(format!("event {}: {reason}", number + 1)))?;
        changes.push(change);
    }
    let accepted = changes.len();
    let last_seq = state.journal_append(changes).await?;
    state.metrics().count_changes("webhook", accepted as u64);
    Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": accepted, "lastSeq": last_seq }))).into_response())
}

/// Keys a pushed record must carry itself; every other key may be left out (= null or empty).
const REQUIRED_KEYS: [&str; 3] = ["id", "customerId", "business"];

/// Parses a pushed record leniently: keys left out take their empty value (`null`, `[]`), as
/// if the record had been written in full; the required keys must be there.
pub fn parse_record<T>(mut value: Value) -> Result<T, String>
where
    T: Default + Serialize + serde::de::DeserializeOwned,
{
    if let (Value::Object(object), Ok(Value::Object(empty))) =
        (&mut value, serde_json::to_value(T::default()))
    {
        for (key, default) in empty {
            if !REQUIRED_KEYS.contains(&key.as_str()) && !object.contains_key(&key) {
                object.insert(key, default);
            }
        }
    }
    serde_json::from_value(value).map_err(|error| error.to_string())
}

/// Fills in what the import API defaults (source) and checks what it requires.
fn prepare_contract(mut contract: Contract) -> Result<Contract, String> {
    if contract.source.as_deref().is_none_or(|source| source.trim().is_empty()) {
        contract.source = Some(IMPORT_SOURCE.to_owned());
    }
    contract.validate().map_err(|error| error.to_string())?;
    Ok(contract)
}

async fn accepted(state: &AppState, seq: u64, wait: bool) -> Result<Response, ApiError> {
    if wait {
        let applied = state.wait_applied(seq).await;
        return Ok((StatusCode::OK, Json(json!({ "seq": seq, "applied": applied }))).into_response());
    }
    Ok((StatusCode::OK, Json(json!({ "seq": seq }))).into_response())
}

/// `PUT /v1/contracts/{id}`.
pub(super) async fn put_contract(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<WaitQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut contract: Contract = parse_record(parse_json(&body)?).map_err(ApiError::InvalidRequest)?;
    if contract.id.trim().is_empty() {
        contract.id = id.clone();
    }
    if contract.id != id {
        return Err(ApiError::InvalidRequest(format!(
            "the body's id {:?} differs from the path's id {id:?}",
            contract.id
        )));
    }
    let contract = prepare_contract(contract).map_err(ApiError::InvalidRequest)?;
    let seq = state.journal_append(vec![Change::UpsertContract { contract }]).await?;
    state.metrics().count_changes("import", 1);
    accepted(&state, seq, query.wait).await
}

/// `DELETE /v1/contracts/{id}`.
pub(super) async fn delete_contract(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<WaitQuery>,
) -> Result<Response, ApiError> {
    if id.trim().is_empty() {
        return Err(ApiError::InvalidRequest("the contract id must not be empty".into()));
    }
    let seq = state.journal_append(vec![Change::DeleteContract { id }]).await?;
    state.metrics().count_changes("import", 1);
    accepted(&state, seq, query.wait).await
}

/// `PUT /v1/customers/{id}`: the customer's fields are written into each of its contracts.
pub(super) async fn put_customer(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<WaitQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut customer: Customer = parse_record(parse_json(&body)?).map_err(ApiError::InvalidRequest)?;
    if customer.id.trim().is_empty() {
        customer.id = id.clone();
    }
    if customer.id != id {
        return Err(ApiError::InvalidRequest(format!(
            "the body's id {:?} differs from the path's id {id:?}",
            customer.id
        )));
    }
    customer.validate().map_err(|error| ApiError::InvalidRequest(error.to_string()))?;
    if customer.source.is_none() {
        customer.source = Some(IMPORT_SOURCE.to_owned());
    }
    let seq = state.journal_append(vec![Change::UpsertCustomer { customer }]).await?;
    state.metrics().count_changes("import", 1);
    accepted(&state, seq, query.wait).await
}

/// One rejected line of a bulk import.
#[derive(Debug, Clone, Serialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// The answer of `POST /v1/import`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Lines journalled (upserts and deletes).
    pub accepted: u64,
    /// Of those, deletes.
    pub deleted: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// The first rejected lines with their reasons.
    pub errors: Vec<LineError>,
    /// Journal position of the last accepted line (wait for it with `?wait=true`).
    pub last_seq: Option<u64>,
    /// With `?wait=true`: whether everything was searchable before the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteLine {
    id: Value,
    deleted: bool,
}

/// Parses one NDJSON line into a change.
pub fn import_line(line: &[u8]) -> Result<Change, String> {
    let value: Value = serde_json::from_slice(line).map_err(|error| format!("not valid JSON: {error}"))?;
    if value.get("deleted").is_some() {
        let delete: DeleteLine = serde_json::from_value(value).map_err(|error| error.to_string())?;
        let id = id_of(&delete.id).ok_or("`id` must be a non-empty string or number")?;
        if !delete.deleted {
            return Err("`deleted` must be true (or left out for an upsert)".into());
        }
        return Ok(Change::DeleteContract { id });
    }
    let contract: Contract = parse_record(value)?;
    Ok(Change::UpsertContract { contract: prepare_contract(contract)? })
}

struct ImportState {
    report: ImportReport,
    batch: Vec<Change>,
    line: u64,
}

impl ImportState {
    fn take_line(&mut self, bytes: &[u8]) {
        self.line += 1;
        let trimmed = bytes.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        match import_line(trimmed) {
            Ok(change) => self.batch.push(change),
            Err(reason) => {
                self.report.rejected += 1;
                if self.report.errors.len() < MAX_LISTED_ERRORS {
                    self.report.errors.push(LineError { line: self.line, reason });
                }
            }
        }
    }

    async fn flush(&mut self, state: &AppState) -> Result<(), ApiError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let count = batch.len() as u64;
        let deletes =
            batch.iter().filter(|change| matches!(change, Change::DeleteContract { .. })).count() as u64;
        let seq = state.journal_append(batch).await?;
        self.report.accepted += count;
        self.report.deleted += deletes;
        self.report.last_seq = Some(seq);
        state.metrics().count_changes("import", count);
        Ok(())
    }
}

/// `POST /v1/import`: NDJSON, read as a stream (never buffered whole), journalled in batches.
/// Bad lines are reported by number and reason; the good ones are applied. A body beyond the
/// import limit is answered 413, saying how many lines before the limit were accepted.
pub(super) async fn import(
    State(state): State<AppState>,
    Query(query): Query<WaitQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let limit = state.settings().max_import_bytes;
    let mut stream = body.into_data_stream();
    let mut import =
        ImportState { report: ImportReport::default(), batch: Vec::with_capacity(IMPORT_BATCH), line: 0 };
    let mut pending: Vec<u8> = Vec::new();
    let mut received: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::InvalidRequest("the request body could not be read".into()))?;
        received += chunk.len() as u64;
        if received > limit {
            import.flush(&state).await?;
            return Err(ApiError::ImportTooLarge { limit_bytes: limit, accepted: import.report.accepted });
        }
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&byte| byte == b'\n') {
            import.take_line(&pending[start..start + end]);
            start += end + 1;
            if import.batch.len() >= IMPORT_BATCH {
                import.flush(&state).await?;
            }
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        import.take_line(&pending);
    }
    import.flush(&state).await?;
    if query.wait
        && let Some(seq) = import.report.last_seq
    {
        import.report.applied = Some(state.wait_applied(seq).await);
    }
    Ok((StatusCode::OK, Json(import.report)).into_response())
}

/// Longest a `?wait=true` request waits for its change to become searchable.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Shared by the routes: the journal and the updater of the server.
pub struct Updates {
    /// The updater thread (and, through it, the journal).
    pub updater: Arc<contract_search_ingest::updater::Updater>,
    /// The ERP sources whose webhooks are accepted.
    pub erp_sources: Vec<String>,
    /// How webhooks authenticate.
    pub webhook: WebhookAuth,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_several_spellings() {
        let contract = |id: &str| Change::Refetch {
            source: "powercloud".into(),
            record: RecordKind::Contract,
            id: id.into(),
        };
        let customer = |id: &str| Change::Refetch {
            source: "powercloud".into(),
            record: RecordKind::Customer,
            id: id.into(),
        };
        let cases = [
            (
                json!({"eventId": "e1", "event": "contract.updated", "contractId": 30000001, "customerId": 10000001, "occurredAt": 1}),
                contract("30000001"),
            ),
            (json!({"event": "customer.updated", "customerId": 10000001}), customer("10000001")),
            (json!({"type": "contract.deleted", "data": {"contract_id": "30000002"}}), contract("30000002")),
            (json!({"entity": "contract", "id": "30000003", "extra": [1, 2]}), contract("30000003")),
            (json!({"event": "CONTRACT_CREATED", "contract": {"id": 30000004}}), contract("30000004")),
            (json!({"customer_id": "10000005"}), customer("10000005")),
        ];
        for (event, expected) in cases {
            assert_eq!(event_change("powercloud", &event).unwrap(), expected, "{event}");
        }
        assert!(event_change("powercloud", &json!({"event": "contract.updated"})).is_err());
        assert!(event_change("powercloud", &json!({"contractId": ""})).is_err());
    }

    #[test]
    fn import_lines() {
        let upsert =
            import_line(br#"{"id": "A1", "customerId": "K1", "business": false, "lastname": "Muster"}"#)
                .unwrap();
        let Change::UpsertContract { contract } = upsert else { panic!("an upsert") };
        assert_eq!((contract.id.as_str(), contract.source.as_deref()), ("A1", Some(IMPORT_SOURCE)));
        assert_eq!(
            import_line(br#"{"id": 7, "deleted": true}"#).unwrap(),
            Change::DeleteContract { id: "7".into() }
        );
        let private_without_name =
            import_line(br#"{"id": "A1", "customerId": "K1", "business": false}"#).unwrap_err();
        assert!(private_without_name.contains("lastname"), "{private_without_name}");
        assert!(import_line(b"{not json").unwrap_err().starts_with("not valid JSON"));
        assert!(import_line(br#"{"id": "A1", "deleted": false}"#).is_err());
        assert!(import_line(br#"{"id": "", "deleted": true}"#).is_err());
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
    }
}
