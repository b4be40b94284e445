#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis keys`: generate, seal → open, rotate → reencrypt, binding failures exit 1.

mod common;

use base64::Engine as _;
use common::{ok, ok_stdin, p, portcullis};
use predicates::prelude::*;

fn seal_args<'a>(cmd: &'a str, mk: &'a str, tenant: &'a str, context: &'a str) -> Vec<&'a str> {
    vec![
        "keys",
        cmd,
        "--master-key-file",
        mk,
        "--tenant",
        tenant,
        "--context",
        context,
    ]
}

#[test]
fn generate_seal_open_round_trip_and_binding() {
    let dir = tempfile::tempdir().unwrap();
    let mk = dir.path().join("master.keys");
    ok(&["keys", "generate", "--out", p(&mk)]);
    let text = std::fs::read_to_string(&mk).unwrap();
    assert!(text.starts_with("portcullis-master-keys v1\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&mk).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let mkp = p(&mk);
    let blob = ok_stdin(
        &seal_args("seal", mkp, "acme", "credential:42"),
        b"sk_live_123",
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(blob.trim())
        .unwrap();
    assert_eq!(raw.len(), 11 + 66);
    assert_eq!(&raw[..6], &[3, 1, 0, 0, 0, 1]);
    assert_eq!(
        ok_stdin(
            &seal_args("open", mkp, "acme", "credential:42"),
            blob.as_bytes()
        ),
        "sk_live_123"
    );
    // Another tenant or context does not open it: exit 1, opaque reason.
    for (tenant, context) in [("globex", "credential:42"), ("acme", "credential:43")] {
        portcullis()
            .args(seal_args("open", mkp, tenant, context))
            .write_stdin(blob.clone())
            .assert()
            .code(1)
            .stdout("")
            .stderr("error: decryption failed\n");
    }
    // A flipped bit fails.
    let mut bad = raw.clone();
    bad[20] ^= 1;
    portcullis()
        .args(seal_args("open", mkp, "acme", "credential:42"))
        .write_stdin(base64::engine::general_purpose::STANDARD.encode(bad))
        .assert()
        .code(1);
    // Not base64, truncated.
    portcullis()
        .args(seal_args("open", mkp, "acme", "c"))
        .write_stdin("%%%")
        .assert()
        .code(1);
    portcullis()
        .args(seal_args("open", mkp, "acme", "c"))
        .write_stdin("AQAAAAE=")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("truncated"));
    // Another master key file does not open it.
    let other = dir.path().join("other.keys");
    ok(&["keys", "generate", "--out", p(&other)]);
    portcullis()
        .args(seal_args("open", p(&other), "acme", "credential:42"))
        .write_stdin(blob)
        .assert()
        .code(1);
}

#[test]
fn rotate_then_reencrypt_moves_blobs_to_the_new_primary() {
    let dir = tempfile::tempdir().unwrap();
    let mk = dir.path().join("master.keys");
    ok(&["keys", "generate", "--out", p(&mk)]);
    let mkp = p(&mk);
    let blobs: Vec<String> = (0..5)
        .map(|i| {
            ok_stdin(
                &seal_args("seal", mkp, "acme", "ctx"),
                format!("secret-{i}").as_bytes(),
            )
        })
        .collect();
    assert_eq!(
        ok(&["keys", "rotate", "--master-key-file", mkp]),
        "added master key version 2; it is now primary\n"
    );
    assert_eq!(
        ok(&["keys", "status", "--master-key-file", mkp]),
        "primary 2\nversions 1 2\n"
    );
    let input: String = blobs.concat();
    let out = ok_stdin(
        &seal_args("reencrypt", mkp, "acme", "ctx"),
        input.as_bytes(),
    );
    let moved: Vec<&str> = out.lines().collect();
    assert_eq!(moved.len(), 5);
    for (i, b) in moved.iter().enumerate() {
        let raw = base64::engine::general_purpose::STANDARD.decode(b).unwrap();
        assert_eq!(
            &raw[..6],
            &[3, 1, 0, 0, 0, 2],
            "line {i} is format 3 under version 2"
        );
        assert_eq!(
            ok_stdin(&seal_args("open", mkp, "acme", "ctx"), b.as_bytes()),
            format!("secret-{i}")
        );
    }
    // Idempotent: already under the primary, unchanged.
    assert_eq!(
        ok_stdin(&seal_args("reencrypt", mkp, "acme", "ctx"), out.as_bytes()),
        out
    );
    // Retire version 1 by deleting its line: old blobs no longer open, moved ones do.
    let text = std::fs::read_to_string(&mk).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("key 1 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&mk, kept).unwrap();
    portcullis()
        .args(seal_args("open", mkp, "acme", "ctx"))
        .write_stdin(blobs[0].clone())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown key version"));
    ok_stdin(&seal_args("open", mkp, "acme", "ctx"), moved[0].as_bytes());
}

#[test]
fn reencrypt_prints_nothing_if_any_blob_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mk = dir.path().join("master.keys");
    ok(&["keys", "generate", "--out", p(&mk)]);
    let mkp = p(&mk);
    let good = ok_stdin(&seal_args("seal", mkp, "acme", "ctx"), b"x");
    let wrong = ok_stdin(&seal_args("seal", mkp, "acme", "other"), b"y");
    ok(&["keys", "rotate", "--master-key-file", mkp]);
    portcullis()
        .args(seal_args("reencrypt", mkp, "acme", "ctx"))
        .write_stdin(format!("{good}{wrong}"))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("line 2"));
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mk = dir.path().join("master.keys");
    ok(&["keys", "generate", "--out", p(&mk)]);
    portcullis()
        .args(["keys", "generate", "--out", p(&mk)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    let broken = dir.path().join("broken.keys");
    std::fs::write(
        &broken,
        "portcullis-master-keys v1\nprimary 1\nkey 1 abcd\n",
    )
    .unwrap();
    restrict(&broken);
    portcullis()
        .args(seal_args("seal", p(&broken), "acme", "c"))
        .write_stdin("x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"));
    portcullis()
        .args(seal_args("seal", p(&dir.path().join("none")), "acme", "c"))
        .write_stdin("x")
        .assert()
        .code(2);
    portcullis()
        .args(seal_args("seal", p(&mk), "not a tenant", "c"))
        .write_stdin("x")
        .assert()
        .code(2);
    portcullis()
        .args([
            "keys",
            "seal",
            "--master-key-file",
            p(&mk),
            "--tenant",
            "acme",
            "--context",
            "c",
            "--purpose",
            "Bad Purpose!",
        ])
        .write_stdin("x")
        .assert()
        .code(2);
}

#[test]
fn reencrypt_lines_may_carry_their_own_tenant_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let mk = dir.path().join("master.keys");
    ok(&["keys", "generate", "--out", p(&mk)]);
    let mkp = p(&mk);
    let a = ok_stdin(&seal_args("seal", mkp, "acme", "credential:1"), b"one");
    let b = ok_stdin(&seal_args("seal", mkp, "globex", "credential 2"), b"two");
    ok(&["keys", "rotate", "--master-key-file", mkp]);
    let input = format!("acme\tcredential:1\t{a}globex\tcredential 2\t{b}");
    let out = ok_stdin(
        &["keys", "reencrypt", "--master-key-file", mkp],
        input.as_bytes(),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    let fields: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(&fields[..2], &["globex", "credential 2"]);
    assert_eq!(
        ok_stdin(
            &seal_args("open", mkp, "globex", "credential 2"),
            fields[2].as_bytes()
        ),
        "two"
    );
    let first = lines[0].rsplit('\t').next().unwrap();
    assert_eq!(
        ok_stdin(
            &seal_args("open", mkp, "acme", "credential:1"),
            first.as_bytes()
        ),
        "one"
    );
    // A bare blob without --tenant/--context is a usage error.
    portcullis()
        .args(["keys", "reencrypt", "--master-key-file", mkp])
        .write_stdin(a.clone())
        .assert()
        .code(2);
    // An old blob under the wrong context fails and names the line.
    portcullis()
        .args(["keys", "reencrypt", "--master-key-file", mkp])
        .write_stdin(format!(
            "acme\tcredential:1\t{}globex\tcredential:1\t{}",
            a, b
        ))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("line 2"));
}

/// `chmod 600`: a master-key file written by a test, as `keys generate` writes them.
fn restrict(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let _ = path;
}

/// Issue 15 findings: 8 concurrent `keys rotate` on one file keep every version (9), a
/// symlinked key file stays a symlink (its target is rewritten), and a master-key file
/// that group or others can read is refused unless `--allow-readable`.
#[test]
fn concurrent_rotations_lose_no_version_and_symlinks_survive() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.keys");
    ok(&["keys", "generate", "--out", p(&real)]);
    let link = dir.path().join("master.keys");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&real, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&real, &link).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("portcullis");
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&bin)
                .args(["keys", "rotate", "--master-key-file", p(&link)])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let status = ok(&["keys", "status", "--master-key-file", p(&link)]);
    assert_eq!(status, "primary 9\nversions 1 2 3 4 5 6 7 8 9\n");
    #[cfg(unix)]
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[cfg(unix)]
#[test]
fn a_master_key_file_others_can_read_is_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let mk = dir.path().join("master.keys");
    ok(&["keys", "generate", "--out", p(&mk)]);
    assert_eq!(
        std::fs::metadata(&mk).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for mode in [0o640, 0o604, 0o644] {
        std::fs::set_permissions(&mk, std::fs::Permissions::from_mode(mode)).unwrap();
        portcullis()
            .args(["keys", "status", "--master-key-file", p(&mk)])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("chmod 600"));
        portcullis()
            .args(seal_args("seal", p(&mk), "acme", "c"))
            .write_stdin("x")
            .assert()
            .code(2);
    }
    let out = portcullis()
        .args([
            "keys",
            "status",
            "--master-key-file",
            p(&mk),
            "--allow-readable",
        ])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("warning"));
    // Rotation keeps the owner-only mode of the file it replaces.
    std::fs::set_permissions(&mk, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&["keys", "rotate", "--master-key-file", p(&mk)]);
    assert_eq!(
        std::fs::metadata(&mk).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
