//! The HTTP side of the Powercloud connector: one GET with Basic auth and a timeout, retried with
//! capped exponential backoff and full jitter while the failure is transient.
//!
//! Each attempt takes one of `concurrency` permits, so the connector never has more requests open
//! against the ERP than configured, however many callers share it; the waits between attempts hold
//! no permit. A 429 or 503 with `Retry-After: <seconds>` waits at least that long (bounded by the
//! backoff cap, so a confused server cannot park the rebuild for hours). Permanent failures (401,
//! 403, unknown function, unparseable answer) return at once. Logs carry the call (function and
//! offset or id), status and attempt, never the URL (it holds the application key), the
//! credentials or the answer's contents.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::PowercloudConfig;
use crate::{Call, Error, Result};

/// A successful (or "not found") answer.
#[derive(Debug)]
pub(crate) enum Answer {
    /// HTTP 2xx with its body, parsed by the caller (pages on the blocking pool).
    Found(Vec<u8>),
    /// HTTP 404 with its body, if that was JSON (the ERP's `{"success": false, "code": ...}`).
    NotFound(Option<Value>),
}

/// When and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry): a uniformly random share
    /// (`unit` in `[0, 1)`) of `min(cap, base · 2^retry)` ("full jitter"), but at least the
    /// server's `Retry-After`, and never more than the cap.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let ceiling = self.backoff_base.saturating_mul(2u32.saturating_pow(retry)).min(self.backoff_cap);
        let jittered = ceiling.mul_f64(unit.clamp(0.0, 1.0));
        jittered.max(retry_after.unwrap_or_default()).min(self.backoff_cap)
    }
}

/// A uniformly distributed number in `[0, 1)`, fresh per call (std's per-instance random hash
/// keys; jitter needs spread, not cryptographic quality).
fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// `Retry-After` in seconds; the HTTP-date form is ignored (the backoff applies instead).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The client of one Powercloud installation.
pub(crate) struct PowercloudClient {
    http: reqwest::Client,
    /// `<base_url>/rest:client/<hash>/`, to which the function name is appended.
    endpoint: String,
    /// `client#<user>`.
    auth_user: String,
    secret: String,
    request_timeout: Duration,
    retry: RetryPolicy,
    permits: Semaphore,
}

impl PowercloudClient {
    pub(crate) fn new(config: &PowercloudConfig) -> Result<PowercloudClient> {
        let endpoint = format!(
            "{}/rest:client/{}/",
            config.base_url.trim().trim_end_matches('/'),
            config.application_hash
        );
        Url::parse(&endpoint)
            .map_err(|error| Error::Config(format!("`base_url` is not a valid URL: {error}")))?;
        let http = reqwest::Client::builder()
            // Powercloud answers directly; following a redirect could carry the credentials
            // somewhere unexpected, and an http→https redirect is a configuration error to fix.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|error| {
                Error::Config(format!("cannot build the HTTP client: {}", error_chain(&error)))
            })?;
        Ok(PowercloudClient {
            http,
            endpoint,
            auth_user: format!("client#{}", config.user),
            secret: config.secret.clone(),
            request_timeout: config.request_timeout,
            retry: RetryPolicy {
                max_retries: config.max_retries,
                backoff_base: config.backoff_base,
                backoff_cap: config.backoff_cap,
            },
            permits: Semaphore::new(config.concurrency),
        })
    }

    /// `GET <function>?<query>` for `call`, retried while the failure is transient.
    pub(crate) async fn get(&self, call: &Call, query: &[(&str, &str)]) -> Result<Answer> {
        let mut retries = 0;
        loop {
            let error = match self.attempt(call, query).await {
                Ok(answer) => return Ok(answer),
                Err(error) if error.is_retryable() => error,
                Err(error) => return Err(error),
            };
            if retries >= self.retry.max_retries {
                return Err(Error::RetriesExhausted { attempts: retries + 1, last: Box::new(error) });
            }
            let delay = self.retry.delay(retries, error.retry_after(), random_unit());
            retries += 1;
            tracing::debug!(
                call = %call,
                status = error.status(),
                attempt = retries,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "retrying erp call"
            );
            if self.retry.max_retries >= 2 && retries == self.retry.max_retries.div_ceil(2) {
                tracing::warn!(
                    call = %call,
                    status = error.status(),
                    retries,
                    max_retries = self.retry.max_retries,
                    "half of the retry budget of an erp call used"
                );
            }
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, call: &Call, query: &[(&str, &str)]) -> Result<Answer> {
        let function = match call {
            Call::Page { function, .. } | Call::Record { function, .. } => function,
        };
        let mut url = Url::parse(&format!("{}{function}", self.endpoint))
            .map_err(|error| Error::Config(format!("cannot form the URL of {function}: {error}")))?;
        url.query_pairs_mut().extend_pairs(query);
        let _permit = self.permits.acquire().await.ok();
        let transport_error = |error: reqwest::Error| {
            if error.is_timeout() {
                Error::Timeout { call: call.clone(), timeout: self.request_timeout }
            } else {
                Error::Transport { call: call.clone(), reason: error_chain(&error.without_url()) }
            }
        };
        let response = self
            .http
            .get(url)
            .basic_auth(&self.auth_user, Some(&self.secret))
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        match status {
            status if status.is_success() => {
                let body = response.bytes().await.map_err(transport_error)?;
                Ok(Answer::Found(Vec::from(body)))
            }
            StatusCode::NOT_FOUND => {
                let body = response.bytes().await.map_err(transport_error)?;
                Ok(Answer::NotFound(serde_json::from_slice(&body).ok()))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(Error::CredentialsRejected { call: call.clone(), status: status.as_u16() })
            }
            StatusCode::TOO_MANY_REQUESTS => Err(Error::RateLimited { call: call.clone(), retry_after }),
            status if status.is_server_error() => Err(Error::Server {
                call: call.clone(),
                status: status.as_u16(),
                retry_after: retry_after.filter(|_| status == StatusCode::SERVICE_UNAVAILABLE),
            }),
            status => Err(Error::UnexpectedStatus { call: call.clone(), status: status.as_u16() }),
        }
    }
}

/// An error and its sources as one line, `outer: inner: innermost`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 8,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(30),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = policy();
        let ceilings: Vec<u128> =
            (0..10).map(|retry| policy.delay(retry, None, 0.999_999_9).as_millis()).collect();
        assert_eq!(ceilings, [199, 399, 799, 1599, 3199, 6399, 12_799, 25_599, 29_999, 29_999]);
        assert_eq!(policy.delay(40, None, 1.0), Duration::from_secs(30));
        assert_eq!(policy.delay(3, None, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(0, None, 0.5), Duration::from_millis(100));
    }

    #[test]
    fn retry_after_is_a_floor_bounded_by_the_cap() {
        let policy = policy();
        assert_eq!(policy.delay(0, Some(Duration::from_secs(1)), 0.5), Duration::from_secs(1));
        assert_eq!(policy.delay(7, Some(Duration::from_secs(1)), 0.5), Duration::from_millis(12_800));
        assert_eq!(policy.delay(0, Some(Duration::from_secs(3600)), 0.5), Duration::from_secs(30));
    }

    #[test]
    fn jitter_spreads() {
        let draws: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|draw| (0.0..1.0).contains(draw)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
