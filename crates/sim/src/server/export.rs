//! Delivery of change events to the export target, as Powercloud pushes them.
//!
//! Changes put their events on a bounded queue; one task POSTs them in order (so the events of
//! one contract arrive in the order they happened), with the `X-Export-Token` header when a
//! token is configured. A failed delivery (connection error, timeout, 5xx, 408, 429) is retried
//! with exponential backoff a few times, then given up and counted; other 4xx answers are not
//! retried. Nothing here holds the dataset lock.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::mpsc;

use crate::powercloud::ChangeEvent;

use super::SimState;

/// Header carrying the export token.
pub const EXPORT_TOKEN_HEADER: &str = "X-Export-Token";
/// Events waiting for delivery before changes wait (background stream) or drop (manual).
const QUEUE_CAPACITY: usize = 10_000;
/// Delivery attempts per event.
const MAX_ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Timeout of one delivery.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where events go and the queue that feeds the delivery task.
#[derive(Debug)]
pub(crate) struct ExportQueue {
    pub(crate) target: String,
    pub(crate) token: Option<String>,
    pub(crate) sender: mpsc::Sender<ChangeEvent>,
    /// Taken by the delivery task when the server starts.
    pub(crate) receiver: Mutex<Option<mpsc::Receiver<ChangeEvent>>>,
}

impl ExportQueue {
    pub(crate) fn new(target: String, token: Option<String>) -> ExportQueue {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        ExportQueue { target, token, sender, receiver: Mutex::new(Some(receiver)) }
    }
}

/// Delivers queued events until the queue closes.
pub(crate) async fn run(
    state: SimState,
    mut receiver: mpsc::Receiver<ChangeEvent>,
    target: String,
    token: Option<String>,
) {
    let client = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the export client; change events will not be delivered");
            return;
        }
    };
    tracing::info!(target_url = %target, "exporting change events");
    while let Some(event) = receiver.recv().await {
        let stats = &state.inner.stats;
        if deliver(&client, &target, token.as_deref(), &event).await {
            stats.events_exported.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.events_failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event_id = %event.event_id, attempts = MAX_ATTEMPTS, "giving up on a change event");
        }
    }
}

/// POSTs one event, retrying transient failures; true once the target accepted it.
async fn deliver(client: &reqwest::Client, target: &str, token: Option<&str>, event: &ChangeEvent) -> bool {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        let mut request = client.post(target).json(event);
        if let Some(token) = token {
            request = request.header(EXPORT_TOKEN_HEADER, token);
        }
        let retryable = match request.send().await {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                let status = response.status();
                tracing::debug!(event_id = %event.event_id, status = status.as_u16(), attempt, "export target refused an event");
                status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::REQUEST_TIMEOUT
            }
            Err(error) => {
                tracing::debug!(event_id = %event.event_id, %error, attempt, "export target unreachable");
                true
            }
        };
        if !retryable {
            return false;
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    false
}
