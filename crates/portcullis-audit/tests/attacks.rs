//! The attacks the log must detect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use portcullis_audit::{
    AuditError, AuditLog, ChainFault, Checkpoint, Entry, FileStore, Hash, Metadata, NewEntry,
    NoteSigner, RunStep, verify_chain, verify_chain_against,
};
use portcullis_audit::{CheckpointCheck, verify_lines};
use portcullis_audit::{MerkleTree, empty_root, leaf_hash, node_hash, root_of, verify_inclusion};
use portcullis_core::{ActorId, Provider, SecretArray, TenantId, UnixTime};
use portcullis_testkit::ManualClock;
use serde_json::Value;

fn tenant() -> TenantId {
    "acme".parse().unwrap()
}

fn body(n: u64) -> NewEntry {
    NewEntry::new(
        ActorId::new(format!("user{n}@example.com")).unwrap(),
        "doc.update",
        &format!("docs/{n} é"),
    )
    .unwrap()
    .with_ip(format!("192.0.2.{n}").parse().unwrap())
    .with_run(RunStep::new(format!("run-{n}"), n * 10).unwrap())
    .with_metadata(
        Metadata::parse(&format!(
            r#"{{"n":{n},"s":"v{n}\n","arr":[{n},true,null],"o":{{"k":-{n}}}}}"#
        ))
        .unwrap(),
    )
}

fn chain(t: &TenantId, n: u64) -> Vec<Entry> {
    let mut prev = Hash::ZERO;
    (0..n)
        .map(|i| {
            let e = Entry::seal(
                t.clone(),
                i,
                prev,
                UnixTime::from_millis(1_700_000_000_000 + i),
                body(i + 1),
            );
            prev = *e.hash();
            e
        })
        .collect()
}

fn lines(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.to_json_line().unwrap()).collect()
}

fn verify(lines: &[String]) -> Result<portcullis_audit::VerifyReport, AuditError> {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    verify_lines(&refs, Some(&tenant()), None)
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("audit.example.com", &SecretArray::new([7u8; 32])).unwrap()
}

fn bad_seq(r: Result<impl std::fmt::Debug, AuditError>) -> (u64, ChainFault) {
    match r {
        Err(AuditError::ChainBroken { seq, fault }) => (seq, fault),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn intact_log_verifies() {
    let l = lines(&chain(&tenant(), 5));
    assert_eq!(verify(&l).unwrap().to_string(), "ok: 5 entries");
}

/// Every field of every entry, changed to another valid value, is caught at that seq.
#[test]
fn changed_field_of_any_entry_is_caught_at_its_seq() {
    let l = lines(&chain(&tenant(), 5));
    for i in 0..l.len() {
        let obj: serde_json::Map<String, Value> = serde_json::from_str(&l[i]).unwrap();
        for key in obj.keys() {
            let mut changed = obj.clone();
            let v = changed.get_mut(key).unwrap();
            *v = match (key.as_str(), v.clone()) {
                ("tenant", _) => Value::from("other"),
                ("prev" | "hash", Value::String(s)) => Value::from(format!(
                    "{}{}",
                    if s.starts_with('0') { '1' } else { '0' },
                    &s[1..]
                )),
                ("ip", _) => Value::from("192.0.2.200"),
                ("run", _) => serde_json::json!({"id": "run-x", "step": 1}),
                ("metadata", _) => serde_json::json!({"n": 999}),
                (_, Value::String(s)) => Value::from(format!("{s}x")),
                (_, Value::Number(n)) => Value::from(n.as_u64().unwrap() + 1),
                (k, other) => panic!("unexpected field {k}: {other}"),
            };
            let mut tampered = l.clone();
            tampered[i] = serde_json::to_string(&changed).unwrap();
            let (seq, fault) = bad_seq(verify(&tampered));
            assert_eq!(seq, i as u64, "field `{key}` of entry {i}: {fault}");
        }
    }
}

/// Flipping any bit pattern of any byte of any stored line is caught at that line's seq.
#[test]
fn flipped_byte_anywhere_is_caught_at_its_seq() {
    let l = lines(&chain(&tenant(), 4));
    for i in 0..l.len() {
        for pos in 0..l[i].len() {
            for mask in [0x01u8, 0x20, 0x80] {
                let mut bytes = l[i].clone().into_bytes();
                bytes[pos] ^= mask;
                let s = String::from_utf8_lossy(&bytes).into_owned();
                if s.contains('\n') {
                    continue; // would split the line: a different attack (covered by gap tests)
                }
                let mut tampered = l.clone();
                tampered[i] = s;
                let (seq, _) = bad_seq(verify(&tampered));
                assert_eq!(seq, i as u64, "byte {pos} ^ {mask:#x} of entry {i}");
            }
        }
    }
}

#[test]
fn deleted_middle_entry_is_a_gap() {
    let mut l = lines(&chain(&tenant(), 5));
    l.remove(2);
    assert_eq!(bad_seq(verify(&l)), (2, ChainFault::Gap { found: 3 }));
}

#[test]
fn swapped_entries_are_a_reorder() {
    let mut l = lines(&chain(&tenant(), 5));
    l.swap(1, 3);
    assert_eq!(bad_seq(verify(&l)), (1, ChainFault::Reorder { found: 3 }));
    let mut dup = lines(&chain(&tenant(), 3));
    dup.insert(2, dup[1].clone());
    assert_eq!(bad_seq(verify(&dup)), (2, ChainFault::Reorder { found: 1 }));
}

#[test]
fn renumbered_after_deletion_is_a_broken_link() {
    let t = tenant();
    let mut entries = chain(&t, 5);
    entries.remove(2);
    // Renumber and reseal entry by entry *without* relinking: the link breaks at seq 2.
    let fixed: Vec<Entry> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| Entry::seal(t.clone(), i as u64, *e.prev(), e.time(), e.body().clone()))
        .collect();
    assert_eq!(
        bad_seq(verify_chain(&t, &fixed)),
        (2, ChainFault::BrokenLink)
    );
}

#[test]
fn entry_of_another_tenant_is_caught() {
    let t = tenant();
    let mut entries = chain(&t, 3);
    let other: TenantId = "evil".parse().unwrap();
    entries[1] = Entry::seal(
        other,
        1,
        *entries[0].hash(),
        entries[1].time(),
        entries[1].body().clone(),
    );
    assert_eq!(
        bad_seq(verify_chain(&t, &entries)),
        (1, ChainFault::WrongTenant)
    );
}

#[test]
fn truncated_tail_is_caught_by_a_checkpoint() {
    let t = tenant();
    let entries = chain(&t, 6);
    let tree = MerkleTree::from_leaf_hashes(entries.iter().map(Entry::leaf_hash));
    let cp = Checkpoint::new(
        Checkpoint::origin_for("audit.example.com", &t),
        6,
        tree.root(),
    )
    .unwrap();
    // The truncated chain on its own is a valid chain...
    verify_chain(&t, &entries[..4]).unwrap();
    // ...but not against what was committed to.
    assert!(matches!(
        verify_chain_against(&t, &entries[..4], &cp),
        Err(AuditError::Truncated {
            checkpoint_size: 6,
            log_size: 4
        })
    ));
    verify_chain_against(&t, &entries, &cp).unwrap();
}

#[test]
fn rewritten_and_rehashed_log_is_caught_by_a_checkpoint() {
    let t = tenant();
    let entries = chain(&t, 6);
    let tree = MerkleTree::from_leaf_hashes(entries.iter().map(Entry::leaf_hash));
    let signed = Checkpoint::new(
        Checkpoint::origin_for("audit.example.com", &t),
        6,
        tree.root(),
    )
    .unwrap()
    .sign(&signer())
    .unwrap();
    // Rewrite entry 2 and rehash everything after it: a perfectly linked forgery.
    let mut forged = entries[..2].to_vec();
    let mut prev = *forged[1].hash();
    for (i, e) in entries.iter().enumerate().skip(2) {
        let mut b = e.body().clone();
        if i == 2 {
            b.set_resource("docs/innocent".into()).unwrap();
        }
        let f = Entry::seal(t.clone(), i as u64, prev, e.time(), b);
        prev = *f.hash();
        forged.push(f);
    }
    verify_chain(&t, &forged).unwrap();
    let verifier = signer().verifier();
    let check = CheckpointCheck {
        note: &signed.note,
        verifier: &verifier,
        log_name: None,
    };
    let refs = lines(&forged);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    assert!(matches!(
        verify_lines(&refs, Some(&t), Some(check)),
        Err(AuditError::RootMismatch { size: 6 })
    ));
    let good = lines(&entries);
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let report = verify_lines(&good, Some(&t), Some(check)).unwrap();
    assert_eq!(
        report.to_string(),
        "ok: 6 entries (checkpoint at 6 verified)"
    );
}

#[test]
fn checkpoint_of_another_tenant_is_refused() {
    let (a, b): (TenantId, TenantId) = ("acme".parse().unwrap(), "globex".parse().unwrap());
    let eb = chain(&b, 3);
    let tree = MerkleTree::from_leaf_hashes(eb.iter().map(Entry::leaf_hash));
    let note = Checkpoint::new(
        Checkpoint::origin_for("audit.example.com", &b),
        3,
        tree.root(),
    )
    .unwrap()
    .sign(&signer())
    .unwrap()
    .note;
    let verifier = signer().verifier();
    let err = Checkpoint::open(
        &note,
        &verifier,
        &Checkpoint::origin_for("audit.example.com", &a),
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::OriginMismatch { .. }), "{err}");
    // Even when the other tenant's entries are presented as ours.
    let relabeled: Vec<String> = lines(&eb);
    let refs: Vec<&str> = relabeled.iter().map(String::as_str).collect();
    let check = CheckpointCheck {
        note: &note,
        verifier: &verifier,
        log_name: None,
    };
    assert!(verify_lines(&refs, Some(&a), Some(check)).is_err());
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    let t = tenant();
    let other = NoteSigner::from_seed("audit.example.com", &SecretArray::new([8u8; 32])).unwrap();
    let cp = Checkpoint::new(
        Checkpoint::origin_for("audit.example.com", &t),
        0,
        empty_root(),
    )
    .unwrap();
    let note = cp.sign(&other).unwrap().note;
    let origin = Checkpoint::origin_for("audit.example.com", &t);
    assert!(matches!(
        Checkpoint::open(&note, &signer().verifier(), &origin),
        Err(AuditError::InvalidSignature)
    ));
    // A note signed by both is accepted by either pinned key.
    let both = format!(
        "{}{}",
        note,
        signer()
            .sign(&cp.to_text())
            .unwrap()
            .split_once("\n\n")
            .unwrap()
            .1
    );
    assert_eq!(
        Checkpoint::open(&both, &signer().verifier(), &origin).unwrap(),
        cp
    );
    assert_eq!(
        Checkpoint::open(&both, &other.verifier(), &origin).unwrap(),
        cp
    );
    // A signature line with a forged key hash but the right name is ignored, not trusted.
    let text = cp.to_text();
    let forged = format!("{text}\n\u{2014} audit.example.com AAAAAA==\n");
    assert!(Checkpoint::open(&forged, &signer().verifier(), &origin).is_err());
}

#[test]
fn abc_and_abcc_roots_differ() {
    let [a, b, c] = [b"A".as_slice(), b"B", b"C"].map(leaf_hash);
    assert_ne!(root_of(&[a, b, c]), root_of(&[a, b, c, c]));
    // And at the chain level: a duplicated last entry is a reorder.
    let mut l = lines(&chain(&tenant(), 3));
    l.push(l[2].clone());
    assert_eq!(bad_seq(verify(&l)), (3, ChainFault::Reorder { found: 2 }));
}

#[test]
fn sixty_four_byte_leaf_does_not_collide_with_two_leaves() {
    let (l0, l1) = (leaf_hash(b"left"), leaf_hash(b"right"));
    let two = root_of(&[l0, l1]);
    let mut concat = Vec::new();
    concat.extend_from_slice(l0.as_bytes());
    concat.extend_from_slice(l1.as_bytes());
    let fake = leaf_hash(&concat);
    assert_ne!(fake, two);
    assert_ne!(root_of(&[fake]), two);
    assert!(verify_inclusion::<[u8; 32]>(fake.as_bytes(), 0, 1, &[], two.as_bytes()).is_err());
    // The interior node itself, presented as a leaf hash in a one-leaf tree, verifies only
    // as itself: the 0x00/0x01 prefixes keep leaves and nodes apart.
    assert_eq!(node_hash(&l0, &l1), two);
}

/// End to end through `AuditLog` and the file store: checkpoints, then tampering on disk.
#[tokio::test]
async fn audit_log_detects_truncation_and_rewrite_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let open = || {
        AuditLog::new(
            Arc::new(FileStore::open(dir.path()).unwrap()),
            Provider::with_clock(Arc::new(ManualClock::new())),
        )
        .with_signer(signer())
    };
    let log = open();
    for n in 1..=5 {
        log.append(&t, body(n)).await.unwrap();
    }
    let cp1 = log.checkpoint(&t).await.unwrap();
    assert_eq!(cp1.checkpoint.size(), 5);
    let proven = log.append_with_proof(&t, body(9)).await.unwrap();
    assert_eq!(proven.receipt.seq, 5);
    assert_eq!(proven.checkpoint.checkpoint.size(), 6);
    let leaf = leaf_hash(proven.receipt.hash.as_bytes());
    verify_inclusion(
        leaf.as_bytes(),
        5,
        6,
        &proven.proof,
        proven.checkpoint.checkpoint.root().as_bytes(),
    )
    .unwrap();
    // Consistency between the two checkpoints, as a customer would check it.
    let proof = log.consistency_proof(&t, 5, 6).await.unwrap();
    cp1.checkpoint
        .verify_extended_by(&proven.checkpoint.checkpoint, &proof)
        .unwrap();
    assert_eq!(log.verify(&t).await.unwrap().size, 6);
    let path = FileStore::open(dir.path()).unwrap().log_path(&t);
    let original = std::fs::read_to_string(&path).unwrap();

    // Truncate the last two lines.
    let kept: String = original.lines().take(4).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, kept).unwrap();
    let err = open().verify(&t).await.unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Truncated {
                checkpoint_size: 6,
                log_size: 4
            }
        ),
        "{err}"
    );
    assert!(
        open().checkpoint(&t).await.is_err(),
        "no checkpoint over a truncated log"
    );

    // Rewrite entry 1 and rehash the rest.
    let entries: Vec<Entry> = original
        .lines()
        .map(|l| Entry::from_json_line(l).unwrap())
        .collect();
    let mut prev = *entries[0].hash();
    let mut forged = vec![entries[0].to_json_line().unwrap()];
    for e in &entries[1..] {
        let mut b = e.body().clone();
        b.set_resource("nothing to see".into()).unwrap();
        let f = Entry::seal(t.clone(), e.seq(), prev, e.time(), b);
        prev = *f.hash();
        forged.push(f.to_json_line().unwrap());
    }
    std::fs::write(&path, forged.join("\n") + "\n").unwrap();
    let err = open().verify(&t).await.unwrap_err();
    assert!(matches!(err, AuditError::RootMismatch { size: 6 }), "{err}");
    let err = open().checkpoint(&t).await.unwrap_err();
    assert!(matches!(err, AuditError::RootMismatch { .. }), "{err}");
}
