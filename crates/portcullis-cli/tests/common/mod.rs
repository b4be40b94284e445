//! Helpers shared by the CLI tests: run the real `portcullis` binary.
#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;

/// A command for the `portcullis` binary with no inherited secret variables.
pub(crate) fn portcullis() -> Command {
    let mut cmd = Command::cargo_bin("portcullis").unwrap();
    for var in [
        "PORTCULLIS_WEBHOOK_SECRET",
        "PORTCULLIS_TOKEN_SECRET",
        "PORTCULLIS_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs with `args`, asserting success, and returns stdout as text.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = portcullis().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// Runs with `args` and `stdin`, asserting success, and returns stdout as text.
pub(crate) fn ok_stdin(args: &[&str], stdin: &[u8]) -> String {
    let out = portcullis()
        .args(args)
        .write_stdin(stdin)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The text of a path, for arguments.
pub(crate) fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}
