#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Every command has `--help` (exit 0, on stdout); usage errors exit 2.

mod common;

use common::portcullis;
use predicates::prelude::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["webhook"],
    &["webhook", "sign"],
    &["webhook", "verify"],
    &["audit"],
    &["audit", "append"],
    &["audit", "verify"],
    &["audit", "checkpoint"],
    &["audit", "keygen"],
    &["keys"],
    &["keys", "generate"],
    &["keys", "rotate"],
    &["keys", "status"],
    &["keys", "seal"],
    &["keys", "open"],
    &["keys", "reencrypt"],
    &["token"],
    &["token", "issue"],
    &["token", "verify"],
    &["token", "jwks"],
    &["token", "keygen"],
    &["apikey"],
    &["apikey", "new"],
    &["apikey", "check"],
    &["rbac"],
    &["rbac", "check"],
    &["rbac", "diff"],
];

#[test]
fn every_command_has_help() {
    for cmd in COMMANDS {
        let mut args = cmd.to_vec();
        args.push("--help");
        portcullis()
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: portcullis"));
    }
}

#[test]
fn help_names_the_secret_environment_variables() {
    for (cmd, var) in [
        (&["webhook", "sign"][..], "PORTCULLIS_WEBHOOK_SECRET"),
        (&["webhook", "verify"][..], "PORTCULLIS_WEBHOOK_SECRET"),
        (&["token", "verify"][..], "PORTCULLIS_TOKEN_SECRET"),
        (&["apikey", "check"][..], "PORTCULLIS_API_KEY"),
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        portcullis()
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains(var));
    }
}

#[test]
fn usage_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &[],
        &["nonsense"],
        &["webhook"],
        &["webhook", "sign", "--scheme", "paypal", "--secret", "x"],
        &["webhook", "verify", "--scheme", "stripe", "--secret", "x"],
        &["audit", "append", "--log", "x.jsonl"],
        &["keys", "seal", "--tenant", "acme"],
        &["token", "issue", "--alg", "RS256"],
        &["apikey", "new"],
        &["rbac", "diff", "only-one"],
        &["--version-typo"],
    ];
    for args in cases {
        portcullis().args(*args).assert().code(2);
    }
}

#[test]
fn version_prints() {
    portcullis()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("portcullis "));
}

#[test]
fn group_help_documents_the_file_formats() {
    for (group, text) in [
        ("keys", "portcullis-master-keys v1"),
        ("token", "PKCS#8 PEM"),
        ("audit", "<tenant>.jsonl"),
        ("apikey", "created_at_ms"),
    ] {
        portcullis()
            .args([group, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains(text));
    }
}
