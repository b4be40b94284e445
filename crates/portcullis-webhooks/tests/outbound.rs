//! Outbound: the signer (verified by our own verifier for each key), message ids, the retry
//! policy and one delivery attempt through a scripted transport.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Mutex;
use std::time::Duration;

use portcullis_core::{FixedClock, Provider, UnixTime};
use portcullis_testkit::{ManualClock, SeededRandom};
use portcullis_webhooks::{
    AttemptOutcome, DeliveryAttempt, NextStep, OutboundRequest, RetryPolicy, Signer,
    StandardWebhooks, Transport, TransportError, TransportResponse, Verifier, WebhookError,
    attempt_delivery, new_message_id, parse_retry_after,
};

const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ED: &str =
    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";

#[test]
fn signer_reproduces_sw1_and_signs_with_every_key() {
    let s = Signer::new([OLD]).unwrap();
    let h = s
        .sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            UnixTime::from_millis(1_614_265_330_999),
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
    assert_eq!(
        h[0],
        ("webhook-id".into(), "msg_p5jXN8AQM9LWM0D4loKWxJek".into())
    );
    assert_eq!(h[1], ("webhook-timestamp".into(), "1614265330".into()));
    assert_eq!(
        h[2],
        (
            "webhook-signature".into(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into()
        )
    );

    let rotating = Signer::new([OLD, NEW, ED]).unwrap();
    let at = UnixTime::from_secs(1_700_000_000);
    let h = rotating.sign("msg_1", at, b"{}").unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[2].1.split(' ').count(), 3);
    for secret in [
        OLD,
        NEW,
        "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
    ] {
        let v = Verifier::new(
            StandardWebhooks::new(),
            [secret],
            Provider::with_clock(std::sync::Arc::new(FixedClock(at))),
        )
        .unwrap();
        assert!(v.verify(&&h, b"{}").is_ok(), "{secret}");
    }
}

#[test]
fn signer_refuses_bad_inputs() {
    assert!(matches!(
        Signer::new(Vec::<&str>::new()),
        Err(WebhookError::NoSecrets)
    ));
    assert!(Signer::new(["whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="]).is_err());
    let s = Signer::new([OLD]).unwrap();
    for bad in ["", "a b", "a\nb", "a\rb"] {
        assert!(
            matches!(
                s.sign(bad, UnixTime::EPOCH, b""),
                Err(WebhookError::InvalidInput { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(!format!("{s:?}").contains("MfKQ"));
}

#[test]
fn message_ids_are_random_and_well_formed() {
    let rng = SeededRandom::new(1);
    let a = new_message_id(&rng).unwrap();
    let b = new_message_id(&rng).unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("msg_") && a.len() == 26, "{a}");
    assert!(
        a[4..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
}

fn status(status: u16) -> AttemptOutcome {
    AttemptOutcome::Status {
        status,
        retry_after: None,
    }
}

fn delay(step: NextStep) -> Duration {
    match step {
        NextStep::RetryAfter { delay } => delay,
        other => panic!("{other:?}"),
    }
}

#[test]
fn svix_schedule_with_bounded_jitter() {
    let p = RetryPolicy::default();
    let rng = SeededRandom::new(7);
    let nominal = [5, 300, 1800, 7200, 18000, 36000, 36000];
    assert_eq!(p.max_attempts(), 8);
    assert_eq!(p.schedule()[0], Duration::ZERO);
    for (attempt, secs) in (1u32..).zip(nominal) {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = delay(p.next_step(attempt, &status(500), &rng).unwrap()).as_millis() as u64;
            let ms = secs * 1000;
            assert!(
                d >= ms * 8 / 10 && d <= ms * 12 / 10,
                "attempt {attempt}: {d} ms"
            );
            seen.insert(d);
        }
        assert!(seen.len() > 100, "jitter varies");
    }
    assert_eq!(
        p.next_step(8, &status(500), &rng).unwrap(),
        NextStep::GiveUp
    );
    assert_eq!(
        p.next_step(8, &AttemptOutcome::ConnectionFailed, &rng)
            .unwrap(),
        NextStep::GiveUp
    );
    // Both ends of the jitter range are reachable in principle: a zero-jitter policy is exact.
    let exact = RetryPolicy::default().jitter_percent(0);
    assert_eq!(
        delay(exact.next_step(2, &status(503), &rng).unwrap()),
        Duration::from_secs(300)
    );
}

#[test]
fn status_rules() {
    let p = RetryPolicy::default();
    let rng = SeededRandom::new(3);
    for s in [200, 201, 204, 299] {
        assert_eq!(
            p.next_step(1, &status(s), &rng).unwrap(),
            NextStep::Delivered
        );
    }
    assert_eq!(
        p.next_step(1, &status(410), &rng).unwrap(),
        NextStep::DisableEndpoint
    );
    // 429 and timeouts wait at least 60 s even when the schedule says 5 s.
    assert!(delay(p.next_step(1, &status(429), &rng).unwrap()) >= Duration::from_secs(60));
    assert!(
        delay(p.next_step(1, &AttemptOutcome::Timeout, &rng).unwrap()) >= Duration::from_secs(60)
    );
    let d = delay(p.next_step(1, &status(500), &rng).unwrap());
    assert!(d < Duration::from_secs(7));
    // Retry-After is honoured (at least that long), capped at 24 h.
    let ra = |secs| AttemptOutcome::Status {
        status: 503,
        retry_after: Some(Duration::from_secs(secs)),
    };
    assert_eq!(
        delay(p.next_step(1, &ra(120), &rng).unwrap()),
        Duration::from_secs(120)
    );
    assert_eq!(
        delay(p.next_step(1, &ra(10 * 86_400), &rng).unwrap()),
        Duration::from_secs(86_400)
    );
    // A short Retry-After does not shorten the schedule.
    assert!(delay(p.next_step(3, &ra(1), &rng).unwrap()) >= Duration::from_secs(1440));
    assert!(RetryPolicy::with_schedule(vec![]).is_err());
    let custom = RetryPolicy::with_schedule(vec![Duration::ZERO, Duration::from_secs(1)]).unwrap();
    assert_eq!(
        custom.next_step(2, &status(500), &rng).unwrap(),
        NextStep::GiveUp
    );
}

#[test]
fn retry_after_parsing() {
    let now = UnixTime::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    for bad in ["", "-5", "+5", "soon", "1.5", "99999999999999999999999"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad}");
    }
}

#[derive(Debug)]
struct Scripted {
    answers: Mutex<Vec<Result<TransportResponse, TransportError>>>,
    seen: Mutex<Vec<OutboundRequest>>,
}

#[async_trait::async_trait]
impl Transport for Scripted {
    async fn send(&self, request: &OutboundRequest) -> Result<TransportResponse, TransportError> {
        self.seen.lock().unwrap().push(request.clone());
        self.answers.lock().unwrap().remove(0)
    }
}

#[tokio::test]
async fn attempts_are_signed_sent_and_recorded() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let rng = SeededRandom::new(9);
    let transport = Scripted {
        answers: Mutex::new(vec![
            Err(TransportError::Timeout),
            Ok(TransportResponse {
                status: 429,
                retry_after: Some("90".into()),
            }),
            Ok(TransportResponse {
                status: 204,
                retry_after: None,
            }),
            Ok(TransportResponse {
                status: 410,
                retry_after: None,
            }),
        ]),
        seen: Mutex::new(Vec::new()),
    };
    let signer = Signer::new([OLD]).unwrap();
    let policy = RetryPolicy::default();
    let mut history: Vec<DeliveryAttempt> = Vec::new();
    for attempt in 1..=4 {
        let rec = attempt_delivery(
            &transport,
            &signer,
            &policy,
            &clock,
            &rng,
            "https://example.invalid/hook",
            "msg_1",
            b"{}",
            attempt,
        )
        .await
        .unwrap();
        history.push(rec);
        clock.advance(Duration::from_secs(100));
    }
    assert_eq!(history[0].outcome, AttemptOutcome::Timeout);
    assert!(delay(history[0].next) >= Duration::from_secs(60));
    assert_eq!(
        history[1].outcome,
        AttemptOutcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(90))
        }
    );
    assert!(delay(history[1].next) >= Duration::from_secs(90));
    assert_eq!(
        history[1].next_attempt_at,
        Some(
            history[1]
                .finished_at
                .saturating_add(delay(history[1].next))
        )
    );
    assert_eq!(history[2].next, NextStep::Delivered);
    assert_eq!(history[2].next_attempt_at, None);
    assert_eq!(history[3].next, NextStep::DisableEndpoint);
    // Every attempt was freshly signed at its own time and verifies.
    let seen = transport.seen.lock().unwrap();
    for (i, req) in seen.iter().enumerate() {
        let v = Verifier::new(
            StandardWebhooks::new(),
            [OLD],
            Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(
                1_700_000_000 + 100 * i as u64,
            )))),
        )
        .unwrap();
        assert!(v.verify(&&req.headers, &req.body).is_ok());
    }
    // The record serializes with integer milliseconds.
    let json = serde_json::to_value(&history[1]).unwrap();
    assert_eq!(json["started_at"], 1_700_000_100_000u64);
    assert_eq!(json["outcome"]["retry_after"], 90_000);
    let back: DeliveryAttempt = serde_json::from_value(json).unwrap();
    assert_eq!(back, history[1]);
}
