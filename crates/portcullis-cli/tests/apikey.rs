#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis apikey new|check`.

mod common;

use common::{ok, p, portcullis};
use predicates::prelude::*;

/// The record's hash field: 64 hex digits (SHA-256).
fn sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn new_then_check() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("keys.jsonl");
    let out = ok(&[
        "apikey",
        "new",
        "--prefix",
        "pc",
        "--scope",
        "leads:read",
        "--scope",
        "leads:write",
        "--tenant",
        "acme",
        "--owner",
        "svc-bot",
        "--records",
        p(&records),
    ]);
    let mut lines = out.lines();
    let key = lines.next().unwrap().to_owned();
    let record: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert!(
        key.starts_with("pc_") && key.len() == 3 + 16 + 32 + 6,
        "{key}"
    );
    assert_eq!(record["id"], &key[3..19]);
    assert_eq!(
        record["scopes"],
        serde_json::json!(["leads:read", "leads:write"])
    );
    assert!(sha256_hex(record["hash"].as_str().unwrap()));
    assert!(
        !out.lines().nth(1).unwrap().contains(&key[19..51]),
        "the record never holds the secret"
    );
    assert!(!std::fs::read_to_string(&records).unwrap().contains(&key));

    let check = [
        "apikey",
        "check",
        "--prefix",
        "pc",
        "--tenant",
        "acme",
        "--records",
        p(&records),
    ];
    portcullis()
        .args(check)
        .args(["--secret", &key])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("valid\n"));
    portcullis()
        .env("PORTCULLIS_API_KEY", &key)
        .args(check)
        .assert()
        .success();
    // Another tenant, a typo, another valid-looking key: exit 1.
    portcullis()
        .args([
            "apikey",
            "check",
            "--prefix",
            "pc",
            "--tenant",
            "globex",
            "--records",
            p(&records),
            "--secret",
            &key,
        ])
        .assert()
        .code(1);
    let mut typo = key.clone().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    portcullis()
        .args(check)
        .args(["--secret", &String::from_utf8(typo).unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("checksum"));
    let other = ok(&["apikey", "new", "--prefix", "pc", "--tenant", "acme"]);
    portcullis()
        .args(check)
        .args(["--secret", other.lines().next().unwrap()])
        .assert()
        .code(1);
}

#[test]
fn expired_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("keys.jsonl");
    let out = ok(&[
        "apikey",
        "new",
        "--prefix",
        "pc",
        "--ttl",
        "60",
        "--records",
        p(&records),
    ]);
    let key = out.lines().next().unwrap();
    let record: serde_json::Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
    let later = record["created_at_ms"].as_u64().unwrap() / 1000 + 120;
    portcullis()
        .args([
            "apikey",
            "check",
            "--prefix",
            "pc",
            "--records",
            p(&records),
            "--secret",
            key,
            "--now",
            &later.to_string(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("expired"));
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    portcullis()
        .args(["apikey", "new", "--prefix", "Bad_Prefix"])
        .assert()
        .code(2);
    portcullis()
        .args(["apikey", "new", "--prefix", "pc", "--scope", "bad scope!"])
        .assert()
        .code(2);
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "{not json}\n").unwrap();
    portcullis()
        .args([
            "apikey",
            "check",
            "--prefix",
            "pc",
            "--records",
            p(&junk),
            "--secret",
            "pc_x",
        ])
        .assert()
        .code(2);
    portcullis()
        .args(["apikey", "check", "--prefix", "pc", "--records", p(&junk)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PORTCULLIS_API_KEY"));
}
