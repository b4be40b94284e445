#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis password hash|verify|check`: the password on standard input.

mod common;

use common::{ok_stdin, p, portcullis};
use predicates::prelude::*;

#[test]
fn hash_then_verify_and_a_wrong_password_exits_1() {
    let phc = ok_stdin(&["password", "hash"], b"correct horse battery staple\n");
    let phc = phc.trim();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    // The trailing newline was not part of the password; a CRLF neither.
    assert_eq!(
        ok_stdin(
            &["password", "verify", "--hash", phc],
            b"correct horse battery staple"
        ),
        "valid\n"
    );
    assert_eq!(
        ok_stdin(
            &["password", "verify", "--hash", phc],
            b"correct horse battery staple\r\n"
        ),
        "valid\n"
    );
    portcullis()
        .args(["password", "verify", "--hash", phc])
        .write_stdin("correct horse battery stapler\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("does not match"));
}

#[test]
fn weaker_or_legacy_hashes_verify_with_needs_rehash() {
    let weak = ok_stdin(
        &[
            "password",
            "hash",
            "--memory-kib",
            "7168",
            "--iterations",
            "5",
        ],
        b"pw\n",
    );
    assert_eq!(
        ok_stdin(&["password", "verify", "--hash", weak.trim()], b"pw\n"),
        "valid, needs rehash\n"
    );
    // Openwall crypt_blowfish's vector for "U*U".
    let bcrypt = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    assert_eq!(
        ok_stdin(&["password", "verify", "--hash", bcrypt], b"U*U\n"),
        "valid, needs rehash\n"
    );
    portcullis()
        .args(["password", "verify", "--hash", bcrypt])
        .write_stdin(vec![b'a'; 73])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("72 bytes"));
}

#[test]
fn usage_errors_exit_2_and_the_password_is_never_an_argument() {
    portcullis()
        .args(["password", "verify", "--hash", "not-a-hash"])
        .write_stdin("pw")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported scheme"));
    portcullis()
        .args(["password", "hash", "--memory-kib", "1024"])
        .write_stdin("pw")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("floor"));
    portcullis()
        .args(["password", "hash", "--password", "pw"])
        .assert()
        .code(2);
    portcullis()
        .args(["password", "hash"])
        .write_stdin(vec![0xff, 0xfe])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not UTF-8"));
}

#[test]
fn check_reports_strength_and_refusals() {
    let out = ok_stdin(&["password", "check"], b"quartz lantern mosaic drift\n");
    assert!(out.starts_with("ok: strength 4/4"), "{out}");
    portcullis()
        .args(["password", "check"])
        .write_stdin("short\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("at least 8 characters"));
    portcullis()
        .args([
            "password",
            "check",
            "--user-name",
            "alice",
            "--email",
            "alice@example.com",
        ])
        .write_stdin("alice2024\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("too easy to guess"));
}

#[test]
fn check_with_a_breach_file() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("breached.txt");
    // SHA-1("quartz lantern mosaic drift") and one unrelated hash.
    use sha1_smol_like::sha1_hex;
    std::fs::write(
        &list,
        format!(
            "# test list\n{}:42\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\n",
            sha1_hex("quartz lantern mosaic drift")
        ),
    )
    .unwrap();
    portcullis()
        .args(["password", "check", "--breached-file", p(&list)])
        .write_stdin("quartz lantern mosaic drift\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "appeared in a data breach (42 times)",
        ));
    let out = ok_stdin(
        &["password", "check", "--breached-file", p(&list)],
        b"velvet orbit canyon thistle\n",
    );
    assert!(out.contains("not in the breach list (2 hashes)"), "{out}");
    std::fs::write(&list, "not a hash\n").unwrap();
    portcullis()
        .args(["password", "check", "--breached-file", p(&list)])
        .write_stdin("velvet orbit canyon thistle\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1"));
}

mod sha1_smol_like {
    use sha1::{Digest, Sha1};
    pub(crate) fn sha1_hex(s: &str) -> String {
        hex::encode_upper(Sha1::digest(s.as_bytes()))
    }
}
