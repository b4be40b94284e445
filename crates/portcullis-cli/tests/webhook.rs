#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis webhook sign|verify`: round trips per scheme, failures exit 1.

mod common;

use common::{ok_stdin, p, portcullis};
use predicates::prelude::*;

const BODY: &[u8] = br#"{"id":"evt_1","object":"event","amount":125000}"#;
const TS: &str = "1700000000";

fn secret_for(scheme: &str) -> &'static str {
    match scheme {
        "standard" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "stripe" => "whsec_test_secret",
        _ => "It's a Secret to Everybody",
    }
}

const SCHEMES: [&str; 6] = ["stripe", "standard", "zoom", "github", "shopify", "slack"];

fn sign(scheme: &str) -> Vec<String> {
    let out = ok_stdin(
        &[
            "webhook",
            "sign",
            "--scheme",
            scheme,
            "--secret",
            secret_for(scheme),
            "--id",
            "msg_1",
            "--timestamp",
            TS,
        ],
        BODY,
    );
    out.lines().map(str::to_owned).collect()
}

fn verify_args(scheme: &str, headers: &[String], secret: &str, now: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "webhook", "verify", "--scheme", scheme, "--secret", secret, "--now", now,
    ]
    .map(str::to_owned)
    .to_vec();
    for h in headers {
        args.push("--header".into());
        args.push(h.clone());
    }
    args
}

#[test]
fn sign_then_verify_round_trips_for_every_scheme() {
    for scheme in SCHEMES {
        let headers = sign(scheme);
        assert!(!headers.is_empty(), "{scheme}");
        assert!(
            headers.iter().all(|h| h.contains(": ")),
            "{scheme}: {headers:?}"
        );
        portcullis()
            .args(verify_args(
                scheme,
                &headers,
                secret_for(scheme),
                "1700000010",
            ))
            .write_stdin(BODY)
            .assert()
            .success()
            .stdout("valid\n");
    }
}

#[test]
fn github_signature_matches_the_published_example() {
    // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    let out = ok_stdin(
        &[
            "webhook",
            "sign",
            "--scheme",
            "github",
            "--secret",
            "It's a Secret to Everybody",
        ],
        b"Hello, World!",
    );
    assert_eq!(
        out,
        "x-hub-signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
    );
}

#[test]
fn tampered_body_wrong_secret_and_stale_timestamp_exit_1() {
    for scheme in SCHEMES {
        let headers = sign(scheme);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        portcullis()
            .args(verify_args(
                scheme,
                &headers,
                secret_for(scheme),
                "1700000010",
            ))
            .write_stdin(tampered)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("no signature matched"));
        let wrong = if scheme == "standard" {
            "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
        } else {
            "another secret"
        };
        portcullis()
            .args(verify_args(scheme, &headers, wrong, "1700000010"))
            .write_stdin(BODY)
            .assert()
            .code(1);
        if !matches!(scheme, "github" | "shopify") {
            portcullis()
                .args(verify_args(
                    scheme,
                    &headers,
                    secret_for(scheme),
                    "1700000301",
                ))
                .write_stdin(BODY)
                .assert()
                .code(1)
                .stderr(predicate::str::contains("timestamp is too old"));
        }
    }
}

#[test]
fn stderr_is_one_line_and_never_holds_the_secret() {
    let headers = sign("stripe");
    let out = portcullis()
        .args(verify_args(
            "stripe",
            &headers,
            "whsec_do_not_print_me",
            "1700000010",
        ))
        .write_stdin(BODY)
        .assert()
        .code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("do_not_print_me"));
}

#[test]
fn rotation_accepts_any_of_several_secrets() {
    let headers = sign("stripe");
    let mut args = verify_args("stripe", &headers, "whsec_old", "1700000010");
    args.extend(["--secret".to_owned(), secret_for("stripe").to_owned()]);
    portcullis().args(args).write_stdin(BODY).assert().success();
}

#[test]
fn secret_from_file_and_environment_and_body_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "whsec_test_secret\n").unwrap();
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, BODY).unwrap();
    let out = portcullis()
        .args([
            "webhook",
            "sign",
            "--scheme",
            "stripe",
            "--secret-file",
            p(&secret_file),
            "--timestamp",
            TS,
            "--body-file",
            p(&body_file),
        ])
        .assert()
        .success();
    let header = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    portcullis()
        .env("PORTCULLIS_WEBHOOK_SECRET", "whsec_test_secret")
        .args([
            "webhook",
            "verify",
            "--scheme",
            "stripe",
            "--now",
            "1700000001",
            "--header",
            header.trim(),
            "--body-file",
            p(&body_file),
        ])
        .assert()
        .success()
        .stdout("valid\n");
}

#[test]
fn missing_secret_or_malformed_header_is_a_usage_error() {
    portcullis()
        .args(["webhook", "sign", "--scheme", "stripe"])
        .write_stdin(BODY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PORTCULLIS_WEBHOOK_SECRET"));
    portcullis()
        .args([
            "webhook", "verify", "--scheme", "stripe", "--secret", "x", "--header", "no colon",
        ])
        .write_stdin(BODY)
        .assert()
        .code(2);
    // A Standard Webhooks secret that is not base64 is refused when loading.
    portcullis()
        .args([
            "webhook",
            "verify",
            "--scheme",
            "standard",
            "--secret",
            "whsec_!!!",
            "--header",
            "webhook-id: x",
        ])
        .write_stdin(BODY)
        .assert()
        .code(2);
}

#[test]
fn missing_header_fails_with_its_name() {
    portcullis()
        .args([
            "webhook",
            "verify",
            "--scheme",
            "standard",
            "--secret",
            secret_for("standard"),
            "--header",
            "webhook-id: msg_1",
            "--now",
            TS,
        ])
        .write_stdin(BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing header"));
}
