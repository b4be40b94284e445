//! The canonical entry encoding against its specification vectors, and its properties.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;

use portcullis_audit::{Entry, Hash, Metadata, NewEntry, RunStep};
use portcullis_core::{ActorId, TenantId, UnixTime};
use proptest::prelude::*;
use serde_json::Value;

fn entry_from(c: &Value) -> Entry {
    let mut body = NewEntry::new(
        ActorId::new(c["actor"].as_str().unwrap()).unwrap(),
        c["action"].as_str().unwrap(),
        c["resource"].as_str().unwrap(),
    )
    .unwrap()
    .with_metadata(Metadata::parse(c["metadata_input"].as_str().unwrap()).unwrap());
    if let Some(ip) = c["ip"].as_str() {
        body = body.with_ip(ip.parse().unwrap());
    }
    if let Some(run) = c["run"].as_array() {
        body = body
            .with_run(RunStep::new(run[0].as_str().unwrap(), run[1].as_u64().unwrap()).unwrap());
    }
    Entry::seal(
        TenantId::new(c["tenant"].as_str().unwrap()).unwrap(),
        c["seq"].as_u64().unwrap(),
        Hash::from_hex(c["prev"].as_str().unwrap()).unwrap(),
        UnixTime::from_millis(c["time_ms"].as_u64().unwrap()),
        body,
    )
}

#[test]
fn specification_vectors() {
    let path = format!(
        "{}/tests/vectors/entry_encoding.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let e = entry_from(c);
        assert_eq!(
            e.body().metadata().as_str(),
            c["metadata_canonical"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode(e.canonical_bytes()),
            c["encoding_hex"].as_str().unwrap()
        );
        assert_eq!(e.hash().to_hex(), c["entry_hash_hex"].as_str().unwrap());
        assert_eq!(
            e.leaf_hash().to_hex(),
            c["merkle_leaf_hash_hex"].as_str().unwrap()
        );
        // Through the JSON-line form and back: the same bytes.
        let back = Entry::from_json_line(&e.to_json_line().unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.canonical_bytes(), e.canonical_bytes());
    }
}

#[test]
fn metadata_rules() {
    assert!(
        Metadata::parse("[]").is_err(),
        "top level must be an object"
    );
    assert!(Metadata::parse(r#"{"a":1.5}"#).is_err(), "float");
    assert!(Metadata::parse(r#"{"a":1e3}"#).is_err(), "exponent");
    assert!(
        Metadata::parse(r#"{"a":18446744073709551616}"#).is_err(),
        "above u64"
    );
    assert!(
        Metadata::parse(r#"{"a":1,"a":1}"#).is_err(),
        "duplicate key"
    );
    assert!(Metadata::parse(r#"{"a":1} x"#).is_err(), "trailing garbage");
    assert!(
        Metadata::parse(r#"{"a":-0}"#).is_err(),
        "-0 is read as a float"
    );
    assert_eq!(
        Metadata::parse("{\"s\":\"\\u001f\\u007f\\/\"}")
            .unwrap()
            .as_str(),
        "{\"s\":\"\\u001f\u{7f}/\"}"
    );
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    assert!(Metadata::parse(&deep).is_err(), "too deep");
    let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(Metadata::MAX_LEN));
    assert!(Metadata::parse(&long).is_err(), "too long");
    #[derive(serde::Serialize)]
    struct M {
        z: u8,
        a: &'static str,
    }
    assert_eq!(
        Metadata::from_serialize(&M { z: 1, a: "b" })
            .unwrap()
            .as_str(),
        r#"{"a":"b","z":1}"#
    );
}

#[test]
fn field_validation() {
    let a = ActorId::new("alice").unwrap();
    assert!(NewEntry::new(a.clone(), "", "r").is_err());
    assert!(NewEntry::new(a.clone(), "bad action", "r").is_err());
    assert!(NewEntry::new(a.clone(), ".x", "r").is_err());
    assert!(NewEntry::new(a.clone(), "ok", "line\nbreak").is_err());
    assert!(NewEntry::new(a.clone(), "ok", &"r".repeat(1025)).is_err());
    assert!(RunStep::new("run 1", 0).is_err());
    assert!(NewEntry::new(a, "user.login", "").is_ok());
    assert!(Entry::from_json_line(r#"{"v":2}"#).is_err());
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/]{0,4}".prop_map(Value::String),
    ]
}

fn json_obj() -> impl Strategy<Value = Value> {
    let v = json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("\\PC{0,6}", v, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn body() -> impl Strategy<Value = NewEntry> {
    (
        "[a-z][a-z0-9@.:+_-]{0,10}",
        "[a-z][a-z0-9._:-]{0,10}",
        "\\PC{0,20}",
        prop::option::of(any::<[u8; 16]>()),
        prop::option::of(("[a-z0-9][a-z0-9_.:-]{0,8}", any::<u64>())),
        json_obj(),
    )
        .prop_map(|(actor, action, resource, ip, run, meta)| {
            let mut b = NewEntry::new(ActorId::new(actor).unwrap(), &action, &resource)
                .unwrap()
                .with_metadata(Metadata::from_serialize(&meta).unwrap());
            if let Some(ip) = ip {
                b = b.with_ip(IpAddr::from(ip));
            }
            if let Some((id, step)) = run {
                b = b.with_run(RunStep::new(id, step).unwrap());
            }
            b
        })
}

proptest! {
    #[test]
    fn canonical_metadata_is_a_fixed_point(v in json_obj()) {
        let m = Metadata::from_serialize(&v).unwrap();
        let again = Metadata::parse(m.as_str()).unwrap();
        prop_assert_eq!(&again, &m);
        // Canonical text parses back to the same JSON value.
        let parsed: Value = serde_json::from_str(m.as_str()).unwrap();
        prop_assert_eq!(parsed, v);
    }

    #[test]
    fn json_line_round_trip_keeps_the_hash(b in body(), seq in any::<u64>(), t in any::<u64>()) {
        let e = Entry::seal(TenantId::new("acme").unwrap(), seq, Hash([3; 32]), UnixTime::from_millis(t), b);
        let back = Entry::from_json_line(&e.to_json_line().unwrap()).unwrap();
        prop_assert_eq!(back.compute_hash(&mut Vec::new()), *e.hash());
        prop_assert_eq!(back, e);
    }

    #[test]
    fn different_entries_encode_differently(a in body(), b in body()) {
        let t = TenantId::new("acme").unwrap();
        let ea = Entry::seal(t.clone(), 0, Hash::ZERO, UnixTime::from_millis(0), a.clone());
        let eb = Entry::seal(t, 0, Hash::ZERO, UnixTime::from_millis(0), b.clone());
        prop_assert_eq!(a == b, ea.canonical_bytes() == eb.canonical_bytes());
    }
}
