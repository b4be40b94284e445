//! Runs the quickstart example (built by `cargo test` next to this test) and checks that
//! the tour completes and says what it should: a failed step makes it exit with 1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

fn quickstart_binary() -> PathBuf {
    // target/<profile>/deps/quickstart-<hash> → target/<profile>/examples/quickstart
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let name = format!("quickstart{}", std::env::consts::EXE_SUFFIX);
    profile_dir.join("examples").join(name)
}

#[test]
fn quickstart_tour_runs_and_reads_as_a_tour() {
    let bin = quickstart_binary();
    assert!(
        bin.exists(),
        "{} not built (cargo test builds examples)",
        bin.display()
    );
    let out = Command::new(&bin).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        out.status.success(),
        "quickstart failed: {stderr}\n{stdout}"
    );
    for expected in [
        "rejected: invalid signature",
        "same token: true, marked as replay: true",
        "refresh token reuse detected",
        "is revoked",
        "does not open: decryption failed",
        "the delivery verifies with secret #0",
        "no signature matched",
        "duplicate delivery",
        "ALLOW alice (member of acme) reads acme invoice inv-42: allowed by role member",
        "DENY  alice refunds acme invoice inv-42: needs role admin",
        "DENY  alice reads globex invoice inv-7: cross-tenant",
        "edits inv-42: read-only impersonation",
        "the chain of acme verifies: 3 entries",
        "a customer opens it with the published key",
        "chain broken at seq 1",
        "Done.",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}
