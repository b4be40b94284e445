//! How an attempt ended, and when to try a failed delivery again.
//!
//! The default schedule is Svix's: attempt 1 immediately, then after 5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h and 10 h (8 attempts in all), each delay varied by ±20 % drawn from an
//! injected [`SecureRandom`] so that endpoints recovering from an outage are not hit by a
//! synchronized wave. A `Retry-After` from the receiver is honoured (the next attempt
//! waits at least that long, up to a cap); `429 Too Many Requests` and timeouts wait at
//! least 60 s; `410 Gone` disables the endpoint; any 2xx is delivered.

use std::time::{Duration, UNIX_EPOCH};

use portcullis_core::{SecureRandom, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::WebhookError;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AttemptOutcome {
    /// The receiver answered with this status.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The parsed `Retry-After`, if present and valid (milliseconds in serde).
        #[serde(default, with = "opt_millis")]
        retry_after: Option<Duration>,
    },
    /// No answer in time.
    Timeout,
    /// The connection failed.
    ConnectionFailed,
}

mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_millis))
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum NextStep {
    /// The receiver accepted (2xx): stop.
    Delivered,
    /// Try again after this delay (milliseconds in serde).
    RetryAfter {
        /// The delay before the next attempt.
        #[serde(with = "millis")]
        delay: Duration,
    },
    /// The schedule is exhausted: stop and mark the message failed.
    GiveUp,
    /// The receiver answered `410 Gone`: stop and disable the endpoint.
    DisableEndpoint,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// A retry schedule with jitter and the status-code rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    jitter_percent: u32,
    throttle_floor: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        let s = Duration::from_secs;
        Self {
            schedule: vec![
                s(0),
                s(5),
                s(5 * 60),
                s(30 * 60),
                s(2 * 3600),
                s(5 * 3600),
                s(10 * 3600),
                s(10 * 3600),
            ],
            jitter_percent: 20,
            throttle_floor: s(60),
            max_retry_after: s(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// A policy with this schedule: entry `i` is the delay before attempt `i + 1` (the
    /// first entry is normally zero). Jitter, throttle floor and cap keep their defaults.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidConfig`] if the schedule is empty.
    pub fn with_schedule(schedule: Vec<Duration>) -> Result<Self, WebhookError> {
        if schedule.is_empty() {
            return Err(WebhookError::InvalidConfig("retry schedule is empty"));
        }
        Ok(Self {
            schedule,
            ..Self::default()
        })
    }

    /// Sets the jitter (percent each way, at most 100).
    pub fn jitter_percent(mut self, percent: u32) -> Self {
        self.jitter_percent = percent.min(100);
        self
    }

    /// Sets the minimum wait after a 429 or a timeout (default 60 s).
    pub fn throttle_floor(mut self, floor: Duration) -> Self {
        self.throttle_floor = floor;
        self
    }

    /// Sets the longest `Retry-After` honoured (default 24 h); longer values are cut to it.
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// The nominal schedule.
    pub fn schedule(&self) -> &[Duration] {
        &self.schedule
    }

    /// The most attempts this policy makes.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.schedule.len()).unwrap_or(u32::MAX)
    }

    /// What to do after attempt number `attempt` (1-based) ended in `outcome`.
    ///
    /// # Errors
    ///
    /// [`WebhookError::Random`] if the generator fails while drawing jitter.
    pub fn next_step(
        &self,
        attempt: u32,
        outcome: &AttemptOutcome,
        rng: &dyn SecureRandom,
    ) -> Result<NextStep, WebhookError> {
        let (throttled, retry_after) = match outcome {
            AttemptOutcome::Status { status, .. } if (200..300).contains(status) => {
                return Ok(NextStep::Delivered);
            }
            AttemptOutcome::Status { status: 410, .. } => return Ok(NextStep::DisableEndpoint),
            AttemptOutcome::Status {
                status,
                retry_after,
            } => (*status == 429, *retry_after),
            AttemptOutcome::Timeout => (true, None),
            AttemptOutcome::ConnectionFailed => (false, None),
        };
        let Some(nominal) = usize::try_from(attempt)
            .ok()
            .and_then(|i| self.schedule.get(i))
        else {
            return Ok(NextStep::GiveUp);
        };
        let mut delay = self.jitter(*nominal, rng)?;
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.max_retry_after));
        }
        if throttled {
            delay = delay.max(self.throttle_floor);
        }
        Ok(NextStep::RetryAfter { delay })
    }

    fn jitter(&self, nominal: Duration, rng: &dyn SecureRandom) -> Result<Duration, WebhookError> {
        let ms = nominal.as_millis();
        let spread = ms * u128::from(self.jitter_percent) / 100;
        if spread == 0 {
            return Ok(nominal);
        }
        let draw = u128::from(u64::from_le_bytes(portcullis_core::random_array::<8>(rng)?));
        // Uniform over [ms - spread, ms + spread] (the modulo bias is below 2^-40).
        let offset = draw % (2 * spread + 1);
        let jittered = ms - spread + offset;
        Ok(Duration::from_millis(
            u64::try_from(jittered).unwrap_or(u64::MAX),
        ))
    }
}

/// Parses a `Retry-After` value: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past is zero;
/// anything else unparseable is `None` (ignored).
pub fn parse_retry_after(value: &str, now: UnixTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = UNIX_EPOCH.checked_add(Duration::from_millis(now.as_millis()))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
