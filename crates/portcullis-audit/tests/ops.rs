//! The one-call operations the CLI uses, and C2SP key/note parsing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;

use portcullis_audit::{
    AppendRequest, CheckpointCheck, append_to_file_store, checkpoint_log_file, keygen,
    verify_log_file,
};
use portcullis_audit::{AuditError, ChainFault, NoteSigner, NoteVerifier, PiiRedactor, Redactor};
use portcullis_core::{ActorId, TenantId};
use portcullis_testkit::{ManualClock, SeededRandom};

#[test]
fn keygen_append_checkpoint_verify() {
    let keys = keygen("audit.example.com", &SeededRandom::new(9)).unwrap();
    assert!(
        keys.signer_key
            .expose_secret()
            .starts_with("PRIVATE+KEY+audit.example.com+")
    );
    let signer = NoteSigner::parse(keys.signer_key.expose_secret()).unwrap();
    let verifier = NoteVerifier::parse(&keys.verifier_key).unwrap();
    assert_eq!(signer.verifier(), verifier);
    assert!(!format!("{signer:?}").contains(&keys.signer_key.expose_secret()[20..]));

    let dir = tempfile::tempdir().unwrap();
    let tenant: TenantId = "acme".parse().unwrap();
    let actor = ActorId::new("alice").unwrap();
    let clock = ManualClock::new();
    let pii = PiiRedactor::new();
    let redactors: [&dyn Redactor; 1] = [&pii];
    for i in 0..3u64 {
        let resource = format!("doc/{i} for x@example.com");
        let req = AppendRequest {
            tenant: &tenant,
            actor: &actor,
            action: "doc.create",
            resource: &resource,
            ip: Some("192.0.2.1".parse().unwrap()),
            metadata_json: r#"{"size": 10}"#,
        };
        let r = append_to_file_store(dir.path(), &req, &clock, &redactors).unwrap();
        assert_eq!(r.seq, i);
    }
    let path = dir.path().join("acme.jsonl");
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("x@example.com")
    );
    let report = verify_log_file(&path, None, None).unwrap();
    assert_eq!(report.to_string(), "ok: 3 entries");

    let signed = checkpoint_log_file(&path, Some(&tenant), &signer, None).unwrap();
    assert_eq!(signed.checkpoint.origin(), "audit.example.com/acme");
    assert!(signed.note.starts_with("audit.example.com/acme\n3\n"));
    let check = CheckpointCheck {
        note: &signed.note,
        verifier: &verifier,
        log_name: None,
    };
    let report = verify_log_file(&path, Some(&tenant), Some(check)).unwrap();
    assert_eq!(report.checkpoint_size, Some(3));

    // Another key is refused.
    let other = NoteVerifier::parse(
        &keygen("audit.example.com", &SeededRandom::new(10))
            .unwrap()
            .verifier_key,
    )
    .unwrap();
    let bad = CheckpointCheck {
        note: &signed.note,
        verifier: &other,
        log_name: None,
    };
    assert!(matches!(
        verify_log_file(&path, Some(&tenant), Some(bad)),
        Err(AuditError::InvalidSignature)
    ));

    // A tampered middle line is named by its seq.
    let content = std::fs::read_to_string(&path).unwrap();
    let tampered = content.replacen("doc/1", "doc/7", 1);
    let tpath = dir.path().join("tampered.jsonl");
    std::fs::write(&tpath, &tampered).unwrap();
    match verify_log_file(&tpath, None, None) {
        Err(
            e @ AuditError::ChainBroken {
                seq: 1,
                fault: ChainFault::HashMismatch,
            },
        ) => {
            assert_eq!(e.to_string(), "chain broken at seq 1: hash mismatch");
        }
        other => panic!("{other:?}"),
    }
    // An unparsable line is named by its seq too.
    let garbled = content.replacen("\"seq\":2", "\"seq\":\"2\"", 1);
    std::fs::write(&tpath, &garbled).unwrap();
    assert!(matches!(
        verify_log_file(&tpath, None, None),
        Err(AuditError::ChainBroken {
            seq: 2,
            fault: ChainFault::Malformed
        })
    ));
    // A torn tail is reported, after the complete lines verified.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"v\":1,\"ten").unwrap();
    assert!(matches!(
        verify_log_file(&path, None, None),
        Err(AuditError::TornWrite { line: 4, .. })
    ));
    assert!(
        append_to_file_store(
            dir.path(),
            &AppendRequest {
                tenant: &tenant,
                actor: &actor,
                action: "x",
                resource: "",
                ip: None,
                metadata_json: "{}"
            },
            &clock,
            &[]
        )
        .is_err()
    );
}

#[test]
fn key_strings_are_strict() {
    let good = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert!(NoteVerifier::parse(good).is_ok());
    for bad in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // wrong hash
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // uppercase hash
        "Peter+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",        // other name
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // not base64 of 33
        "PeterNeumann+c74f20a3+AhpcZ2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", // other algorithm
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "",
    ] {
        assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
    }
    assert!(
        NoteSigner::parse(good).is_err(),
        "a verifier key is not a signer key"
    );
    assert!(
        NoteSigner::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
        )
        .is_err()
    );
    assert!(
        NoteSigner::parse(
            "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
        )
        .is_err()
    );
}

#[test]
fn notes_are_strict() {
    let signer = NoteSigner::parse(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    )
    .unwrap();
    let v = signer.verifier();
    let note = signer.sign("a\nb\n").unwrap();
    assert_eq!(v.open(&note).unwrap(), "a\nb\n");
    let sig_line = note.split_once("\n\n").unwrap().1;
    assert!(signer.sign("no newline").is_err());
    assert!(signer.sign("blank\n\nline\n").is_err());
    assert!(signer.sign("ctl\u{7}\n").is_err());
    assert!(v.open("a\nb\n").is_err(), "no signatures");
    assert!(
        v.open(&format!("a\nb\n\n{}", sig_line.trim_end())).is_err(),
        "no final newline"
    );
    assert!(
        v.open(&format!("a\nb\n\n{sig_line}{sig_line}")).is_err(),
        "duplicate signature"
    );
    assert!(
        v.open(&format!("a\nb\n\n{}", sig_line.replace('\u{2014}', "-")))
            .is_err(),
        "wrong dash"
    );
    let many: String = (0..101)
        .map(|i| format!("\u{2014} k{i} AAAAAAAA\n"))
        .collect();
    assert!(
        v.open(&format!("a\nb\n\n{many}{sig_line}")).is_err(),
        "too many signatures"
    );
    // Unknown keys' signatures are ignored.
    assert!(
        v.open(&format!("a\nb\n\n\u{2014} other AAAAAAAA\n{sig_line}"))
            .is_ok()
    );
}
