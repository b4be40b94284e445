//! Published vectors, driven from the data files in `tests/vectors/` (each names its
//! source).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use portcullis_core::{FixedClock, Provider, UnixTime};
use portcullis_webhooks::{Delivery, Verifier, WebhookError, by_name, zoom_encrypted_token};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir().join(file)).unwrap()).unwrap()
}

fn error_name(e: &WebhookError) -> &'static str {
    match e {
        WebhookError::MissingHeader(_) => "missing_header",
        WebhookError::DuplicateHeader(_) => "duplicate_header",
        WebhookError::MalformedHeader { .. } => "malformed_header",
        WebhookError::NoSignatures(_) => "no_signatures",
        WebhookError::NoMatch { .. } => "no_match",
        WebhookError::TimestampTooOld { .. } => "too_old",
        WebhookError::TimestampInFuture { .. } => "in_future",
        WebhookError::InvalidSecret(_) => "invalid_secret",
        other => panic!("unexpected error {other:?}"),
    }
}

fn run(file: &str) -> usize {
    let doc = load(file);
    assert!(
        !doc["source"].as_str().unwrap().is_empty(),
        "{file}: source named"
    );
    let scheme_name = doc["scheme"].as_str().unwrap();
    let mut n = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = format!("{file}: {}", case["name"].as_str().unwrap());
        let body: Vec<u8> = match case.get("body_file") {
            Some(f) => std::fs::read(dir().join(f.as_str().unwrap())).unwrap(),
            None => case["body"].as_str().unwrap().as_bytes().to_vec(),
        };
        let secrets: Vec<&str> = case["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let headers: Vec<(String, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap().to_owned(),
                    h[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let clock = FixedClock(UnixTime::from_secs(case["now"].as_u64().unwrap()));
        let result = Verifier::from_dyn(
            by_name(scheme_name).unwrap().into(),
            &secrets,
            Provider::with_clock(std::sync::Arc::new(clock)),
        )
        .and_then(|v| v.verify(&&headers, &body));
        if case["valid"].as_bool().unwrap() {
            let ok = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                ok.secret_index as u64,
                case["secret_index"].as_u64().unwrap(),
                "{name}"
            );
        } else {
            let err = result.err().unwrap_or_else(|| panic!("{name}: accepted"));
            assert_eq!(
                error_name(&err),
                case["error"].as_str().unwrap(),
                "{name}: {err}"
            );
        }
        if let Some(sign) = case.get("sign") {
            let scheme = by_name(scheme_name).unwrap();
            let key = scheme.parse_secret(secrets[0]).unwrap();
            let id = sign["id"].as_str().unwrap();
            let produced = scheme
                .sign(
                    &key,
                    &Delivery {
                        id,
                        timestamp: sign["timestamp"].as_u64().unwrap(),
                        body: &body,
                    },
                )
                .unwrap();
            for (pname, pvalue) in &produced {
                let (_, expected) = headers
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(pname))
                    .unwrap_or_else(|| panic!("{name}: no expected `{pname}`"));
                // Stripe's expected header also carries a v0 we do not produce.
                assert!(
                    expected.starts_with(pvalue.as_str()),
                    "{name}: {pname}: {pvalue} vs {expected}"
                );
            }
        }
        n += 1;
    }
    n
}

#[test]
fn standard_webhooks_vectors() {
    assert!(run("standard_webhooks.json") >= 20);
}

#[test]
fn stripe_vectors() {
    assert!(run("stripe.json") >= 14);
}

#[test]
fn stripe_body_file_is_the_published_484_bytes() {
    let body = std::fs::read(dir().join("stripe_event_test_signature.json")).unwrap();
    assert_eq!(body.len(), 484);
    assert_eq!(body.last(), Some(&b'\n'));
    assert!(body.starts_with(b"{\n  \"id\": \"evt_123\""));
}

#[test]
fn github_slack_zoom_vectors() {
    assert_eq!(run("github.json"), 4);
    assert_eq!(run("slack.json"), 4);
    assert_eq!(run("zoom.json"), 2);
}

#[test]
fn zoom_url_validation_vector() {
    let v = &load("zoom.json")["url_validation"];
    let secret = v["secret"].as_str().unwrap();
    let plain = v["plainToken"].as_str().unwrap();
    assert_eq!(
        zoom_encrypted_token(secret, plain).unwrap(),
        v["encryptedToken"].as_str().unwrap()
    );
    let body = format!(
        r#"{{"payload":{{"plainToken":"{plain}"}},"event_ts":1654503849680,"event":"endpoint.url_validation"}}"#
    );
    let response = portcullis_webhooks::zoom_url_validation(secret, body.as_bytes())
        .unwrap()
        .unwrap();
    let parsed: Value = serde_json::from_str(&response).unwrap();
    assert_eq!(parsed["plainToken"], plain);
    assert_eq!(parsed["encryptedToken"], v["encryptedToken"]);
    assert_eq!(
        portcullis_webhooks::zoom_url_validation(secret, br#"{"event":"meeting.started"}"#)
            .unwrap(),
        None
    );
    assert!(portcullis_webhooks::zoom_url_validation(secret, b"\xff").is_err());
    assert!(
        portcullis_webhooks::zoom_url_validation(secret, br#"{"event":"endpoint.url_validation"}"#)
            .is_err()
    );
}

#[test]
fn stripe_vector_with_base64_decoded_key_fails() {
    use base64::Engine as _;
    use portcullis_core::SecretBytes;
    use portcullis_webhooks::{Key, Stripe};
    // The compact vector's secret with its remainder base64-decoded, the way Standard
    // Webhooks treats `whsec_` (leniently: URL-safe alphabet, any padding, trailing bits).
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let decoded = lenient.decode("test_secret").unwrap();
    assert!(!decoded.is_empty());
    // Our Standard Webhooks loader refuses it outright (not standard base64).
    assert!(Key::standard("whsec_test_secret").is_err());
    let key = Key::hmac_bytes(SecretBytes::new(decoded)).unwrap();
    let v = Verifier::with_keys(
        std::sync::Arc::new(Stripe::new()),
        vec![key],
        Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(
            1_700_000_000,
        )))),
    )
    .unwrap();
    let headers = [(
        "Stripe-Signature",
        "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
    )];
    let err = v
        .verify(
            &&headers[..],
            br#"{"id":"evt_test_webhook","object":"event"}"#,
        )
        .unwrap_err();
    assert!(matches!(err, WebhookError::NoMatch { .. }), "{err}");
    // The text key verifies the same header.
    let err = Verifier::new(
        Stripe::new(),
        ["whsec_test_secret"],
        Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(
            1_700_000_000,
        )))),
    )
    .unwrap();
    assert!(
        err.verify(
            &&headers[..],
            br#"{"id":"evt_test_webhook","object":"event"}"#
        )
        .is_ok()
    );
}
