//! Redaction before hashing and keyed pseudonyms with erasable keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_audit::{
    AuditLog, MemoryStore, MemorySubjectKeys, Metadata, NewEntry, PiiRedactor, Pseudonymizer,
    Redactor, SubjectKeys, verify_chain,
};
use portcullis_core::{ActorId, Provider, TenantId};
use portcullis_testkit::{ManualClock, SeededRandom};

fn t() -> TenantId {
    "acme".parse().unwrap()
}

#[test]
fn builtin_redacts_emails_phones_and_ips() {
    let r = PiiRedactor::new();
    let cases = [
        ("mail alice.o'neil@example.co.uk now", "mail [email] now"),
        ("Bob <bob+tag@sub.example.org>", "Bob <[email]>"),
        ("at 2024-01-15 10:30:00 UTC", "at 2024-01-15 10:30:00 UTC"),
        ("call +1 (555) 123-4567 today", "call [phone] today"),
        ("tel 030 1234 5678", "tel [phone]"),
        ("from 203.0.113.9, then 10.0.0.1.", "from [ip], then [ip]."),
        (
            "v6 2001:db8::1 and ::1 and fe80::1%eth0",
            "v6 [ip] and [ip] and [ip]",
        ),
        ("std::fmt::Debug at 12:30:45", "std::fmt::Debug at 12:30:45"),
        (
            "on 2024-01-15 order 12345678",
            "on 2024-01-15 order 12345678",
        ),
        (
            "version 1.2.3.4.5 and 999.1.1.1",
            "version 1.2.3.4.5 and 999.1.1.1",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(r.redact_text(input), want, "{input}");
    }
}

#[test]
fn builtin_walks_metadata_strings_only() {
    let r = PiiRedactor::new().mask_ip_field(true);
    let mut e = NewEntry::new(ActorId::new("alice").unwrap(), "user.invite", "invite carol@example.com")
        .unwrap()
        .with_ip("198.51.100.77".parse().unwrap())
        .with_metadata(
            Metadata::parse(r#"{"to":"carol@example.com","n":5551234567,"nested":[{"phone":"+44 20 7946 0958"}],"carol@example.com":1}"#)
                .unwrap(),
        );
    r.redact(&t(), &mut e).unwrap();
    assert_eq!(e.resource(), "invite [email]");
    assert_eq!(
        e.metadata().as_str(),
        r#"{"carol@example.com":1,"n":5551234567,"nested":[{"phone":"[phone]"}],"to":"[email]"}"#
    );
    assert_eq!(e.ip(), Some("198.51.100.0".parse::<IpAddr>().unwrap()));
    let mut v6 = e.clone();
    v6.set_ip(Some("2001:db8:1234:5678::9".parse().unwrap()));
    PiiRedactor::new()
        .mask_ip_field(true)
        .redact(&t(), &mut v6)
        .unwrap();
    assert_eq!(v6.ip(), Some("2001:db8:1234::".parse::<IpAddr>().unwrap()));
}

#[tokio::test]
async fn redaction_happens_before_hashing_and_the_chain_verifies() {
    let store = Arc::new(MemoryStore::new());
    let log = AuditLog::new(
        store.clone(),
        Provider::with_clock(Arc::new(ManualClock::new())),
    )
    .with_redactor(Arc::new(PiiRedactor::new()));
    let e = NewEntry::new(
        ActorId::new("alice").unwrap(),
        "support.note",
        "called 555-123-4567 about dave@example.com",
    )
    .unwrap();
    log.append(&t(), e).await.unwrap();
    let stored = log.store().read(&t(), 0, 10).await.unwrap();
    assert_eq!(stored[0].body().resource(), "called [phone] about [email]");
    assert!(!stored[0].to_json_line().unwrap().contains("dave"));
    verify_chain(&t(), &stored).unwrap();
}

#[tokio::test]
async fn pseudonyms_are_keyed_per_subject_and_erasable() {
    let keys: Arc<MemorySubjectKeys> = Arc::new(MemorySubjectKeys::new(Provider::from_parts(
        std::sync::Arc::new(portcullis_core::SystemClock),
        Arc::new(SeededRandom::new(1)),
    )));
    let p = Pseudonymizer::new(keys.clone())
        .actor(true)
        .metadata_fields(["subject"]);
    let log = AuditLog::new(
        Arc::new(MemoryStore::new()),
        Provider::with_clock(Arc::new(ManualClock::new())),
    )
    .with_redactor(Arc::new(p.clone()));
    let bob = || {
        NewEntry::new(
            ActorId::new("bob@example.com").unwrap(),
            "record.view",
            "records/1",
        )
        .unwrap()
        .with_metadata(Metadata::parse(r#"{"subject":"patient-17","other":"kept"}"#).unwrap())
    };
    log.append(&t(), bob()).await.unwrap();
    log.append(&t(), bob()).await.unwrap();
    let entries = log.store().read(&t(), 0, 10).await.unwrap();
    let actor = entries[0].body().actor().as_str().to_owned();
    assert!(
        actor.starts_with("psn:") && actor.len() == 4 + 22,
        "{actor}"
    );
    assert_eq!(
        entries[1].body().actor().as_str(),
        actor,
        "stable per subject"
    );
    assert!(!entries[0].to_json_line().unwrap().contains("bob"));
    assert!(!entries[0].to_json_line().unwrap().contains("patient-17"));
    assert!(
        entries[0]
            .body()
            .metadata()
            .as_str()
            .contains(r#""other":"kept""#)
    );
    // Another tenant gets another pseudonym for the same subject.
    let other: TenantId = "globex".parse().unwrap();
    assert_ne!(p.pseudonym(&other, "bob@example.com").unwrap(), actor);
    // The key holder can link; after erasure nobody can, and the chain still verifies.
    assert!(p.matches(&t(), "bob@example.com", &actor).unwrap());
    assert!(!p.matches(&t(), "alice@example.com", &actor).unwrap());
    assert!(keys.erase(&t(), "bob@example.com").unwrap());
    assert!(!p.matches(&t(), "bob@example.com", &actor).unwrap());
    assert_ne!(
        p.pseudonym(&t(), "bob@example.com").unwrap(),
        actor,
        "a new key never recreates the old pseudonym"
    );
    let entries = log.store().read(&t(), 0, 10).await.unwrap();
    verify_chain(&t(), &entries).unwrap();
}
