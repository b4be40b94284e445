#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis audit`: append → verify → checkpoint → verify against the checkpoint;
//! tampering is named by seq and exits 1.

mod common;

use std::path::{Path, PathBuf};

use common::{ok, p, portcullis};
use predicates::prelude::*;

fn append(log: &Path, actor: &str, action: &str) -> String {
    ok(&[
        "audit",
        "append",
        "--log",
        p(log),
        "--tenant",
        "acme",
        "--actor",
        actor,
        "--action",
        action,
        "--resource",
        "invoices/42",
        "--ip",
        "203.0.113.7",
        "--metadata",
        r#"{"amount":125000}"#,
    ])
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("acme.jsonl");
    let prefix = dir.path().join("auditkey");
    let pubkey = ok(&[
        "audit",
        "keygen",
        "--name",
        "audit.example.com",
        "--out",
        p(&prefix),
    ]);
    assert!(pubkey.starts_with("audit.example.com+"));
    let key = dir.path().join("auditkey.key");
    let pubfile = dir.path().join("auditkey.pub");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("PRIVATE+KEY+audit.example.com+")
    );
    assert_eq!(std::fs::read_to_string(&pubfile).unwrap(), pubkey);
    (dir, log, key, pubfile)
}

#[test]
fn append_verify_checkpoint_and_verify_against_checkpoint() {
    let (dir, log, key, pubfile) = setup();
    let first = append(&log, "alice", "invoice.create");
    assert!(first.starts_with("seq=0 hash="), "{first}");
    assert_eq!(first.trim().len(), "seq=0 hash=".len() + 64);
    assert!(append(&log, "bob", "invoice.approve").starts_with("seq=1 "));
    assert_eq!(
        ok(&["audit", "verify", "--log", p(&log)]),
        "ok: 2 entries\n"
    );

    let note = ok(&[
        "audit",
        "checkpoint",
        "--log",
        p(&log),
        "--tenant",
        "acme",
        "--signing-key",
        p(&key),
    ]);
    assert!(note.starts_with("audit.example.com/acme\n2\n"), "{note}");
    let cp = dir.path().join("cp");
    std::fs::write(&cp, &note).unwrap();
    assert_eq!(
        ok(&[
            "audit",
            "verify",
            "--log",
            p(&log),
            "--checkpoint",
            p(&cp),
            "--public-key",
            p(&pubfile)
        ]),
        "ok: 2 entries (checkpoint at 2 verified)\n"
    );
    // The key may also be given inline.
    let inline = std::fs::read_to_string(&pubfile).unwrap();
    ok(&[
        "audit",
        "verify",
        "--log",
        p(&log),
        "--checkpoint",
        p(&cp),
        "--public-key",
        inline.trim(),
    ]);

    // The log grows: the old checkpoint still verifies its prefix.
    append(&log, "carol", "invoice.pay");
    assert_eq!(
        ok(&[
            "audit",
            "verify",
            "--log",
            p(&log),
            "--checkpoint",
            p(&cp),
            "--public-key",
            p(&pubfile)
        ]),
        "ok: 3 entries (checkpoint at 2 verified)\n"
    );

    // A checkpoint under another key fails as a bad signature.
    let other = dir.path().join("other");
    ok(&[
        "audit",
        "keygen",
        "--name",
        "audit.example.com",
        "--out",
        p(&other),
    ]);
    portcullis()
        .args([
            "audit",
            "verify",
            "--log",
            p(&log),
            "--checkpoint",
            p(&cp),
            "--public-key",
            p(&dir.path().join("other.pub")),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid signature"));
}

#[test]
fn tampered_log_fails_naming_the_seq() {
    let (_dir, log, _key, _pub) = setup();
    for (actor, action) in [("alice", "a.one"), ("bob", "a.two"), ("carol", "a.three")] {
        append(&log, actor, action);
    }
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replace("\"bob\"", "\"eve\"")).unwrap();
    portcullis()
        .args(["audit", "verify", "--log", p(&log)])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("chain broken at seq 1"));
}

#[test]
fn truncated_or_rewritten_log_fails_against_its_checkpoint() {
    let (dir, log, key, pubfile) = setup();
    for actor in ["alice", "bob", "carol"] {
        append(&log, actor, "user.login");
    }
    let note = ok(&[
        "audit",
        "checkpoint",
        "--log",
        p(&log),
        "--tenant",
        "acme",
        "--signing-key",
        p(&key),
    ]);
    let cp = dir.path().join("cp");
    std::fs::write(&cp, note).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, two).unwrap();
    portcullis()
        .args([
            "audit",
            "verify",
            "--log",
            p(&log),
            "--checkpoint",
            p(&cp),
            "--public-key",
            p(&pubfile),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("truncated"));
    // Dropping the last line is invisible without the checkpoint.
    ok(&["audit", "verify", "--log", p(&log)]);
}

#[test]
fn torn_last_line_fails() {
    let (_dir, log, _key, _pub) = setup();
    append(&log, "alice", "user.login");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"v\":1,");
    std::fs::write(&log, text).unwrap();
    portcullis()
        .args(["audit", "verify", "--log", p(&log)])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("torn write"));
}

#[test]
fn usage_errors() {
    let (dir, log, key, _pub) = setup();
    // The log file must follow the file store layout.
    portcullis()
        .args([
            "audit",
            "append",
            "--log",
            p(&dir.path().join("other.jsonl")),
            "--tenant",
            "acme",
            "--actor",
            "a",
            "--action",
            "x.y",
            "--resource",
            "r",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("acme.jsonl"));
    // A directory works too.
    assert!(
        ok(&[
            "audit",
            "append",
            "--log",
            p(dir.path()),
            "--tenant",
            "acme",
            "--actor",
            "a",
            "--action",
            "x.y",
            "--resource",
            "r"
        ])
        .starts_with("seq=0")
    );
    portcullis()
        .args([
            "audit",
            "append",
            "--log",
            p(&log),
            "--tenant",
            "acme",
            "--actor",
            "a",
            "--action",
            "x.y",
            "--resource",
            "r",
            "--metadata",
            "[1]",
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "audit",
            "append",
            "--log",
            p(&log),
            "--tenant",
            "bad tenant",
            "--actor",
            "a",
            "--action",
            "x.y",
            "--resource",
            "r",
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "audit",
            "verify",
            "--log",
            p(&dir.path().join("missing.jsonl")),
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "audit",
            "checkpoint",
            "--log",
            p(&log),
            "--tenant",
            "acme",
            "--signing-key",
            p(&dir.path().join("auditkey.pub")),
        ])
        .assert()
        .code(2);
    // --checkpoint needs --public-key.
    portcullis()
        .args(["audit", "verify", "--log", p(&log), "--checkpoint", p(&key)])
        .assert()
        .code(2);
    // keygen refuses to overwrite.
    portcullis()
        .args([
            "audit",
            "keygen",
            "--name",
            "x",
            "--out",
            p(&dir.path().join("auditkey")),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
}

#[test]
fn redact_pii_masks_before_hashing() {
    let (_dir, log, _key, _pub) = setup();
    ok(&[
        "audit",
        "append",
        "--log",
        p(&log),
        "--tenant",
        "acme",
        "--actor",
        "alice",
        "--action",
        "user.invite",
        "--resource",
        "users/bob@example.com",
        "--metadata",
        r#"{"note":"mail bob@example.com"}"#,
        "--redact-pii",
    ]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("bob@example.com"), "{text}");
    ok(&["audit", "verify", "--log", p(&log)]);
}
