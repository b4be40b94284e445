#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Every script's keys hash to one Redis Cluster slot (CRC16/XMODEM of the hash tag, mod
//! 16384, as in the Redis Cluster specification), including the keys two scripts build
//! from a prefix argument, for hostile tenant, subject and id inputs.

use portcullis_core::{ActorId, TenantId};
use portcullis_redis::KeySpace;
use portcullis_tokens::FamilyId;

/// The cluster key slot, per the Redis Cluster specification ("Keys hash tags").
fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) % 16384
}

#[test]
fn slot_function_matches_the_specification_examples() {
    // CRC16/XMODEM check value from the spec: "123456789" -> 0x31C3.
    assert_eq!(
        crc16::State::<crc16::XMODEM>::calculate(b"123456789"),
        0x31C3
    );
    assert_eq!(slot("123456789"), 12739);
    // Hash-tag rules from the specification.
    assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
    assert_eq!(slot("foo{}{bar}"), slot("foo{}{bar}")); // whole key hashed
    assert_ne!(slot("foo{}{bar}"), slot("bar"));
    assert_eq!(slot("foo{{bar}}zap"), slot("{bar"));
    assert_eq!(slot("foo{bar}{zap}"), slot("bar"));
}

fn assert_one_slot(what: &str, keys: &[String]) {
    let first = slot(&keys[0]);
    for k in keys {
        assert_eq!(
            slot(k),
            first,
            "{what}: `{k}` is not in the slot of `{}`",
            keys[0]
        );
    }
}

#[test]
fn every_script_touches_one_slot() {
    let ks = KeySpace::new("svc:prod").unwrap();
    let tenants = ["acme", "a-b_c", "T0", "x"];
    let subjects = ["alice", "a:b@c.d", "{x}", "u+1", "0"];
    let ids = ["", "j1", "{", "}", "a:b", "%7B", "naïve", "x}{y"];
    let fam = FamilyId::from_bytes([7u8; 16]);
    for t in tenants {
        let tenant: TenantId = t.parse().unwrap();
        for s in subjects {
            let Ok(subject) = s.parse::<ActorId>() else {
                continue;
            };
            // refresh create: family + subject set.
            assert_one_slot(
                "refresh.create",
                &[
                    ks.family(&tenant, &fam),
                    ks.subject_families(&tenant, &subject),
                ],
            );
            // refresh revoke_subject: the set, and the family keys built from the prefix.
            assert_one_slot(
                "refresh.revoke_subject",
                &[
                    ks.subject_families(&tenant, &subject),
                    format!("{}{fam}", ks.family_prefix(&tenant)),
                ],
            );
            for id in ids {
                // revocation check: jti + subject epoch + tenant epoch.
                assert_one_slot(
                    "revocation.check",
                    &[
                        ks.jti(&tenant, id),
                        ks.subject_epoch(&tenant, &subject),
                        ks.tenant_epoch(&tenant),
                    ],
                );
                // API keys: record + owner list, and records built from the prefix.
                assert_one_slot(
                    "apikeys.insert/list",
                    &[
                        ks.api_key(&tenant, id),
                        ks.api_key_owner(&tenant, &subject),
                        format!(
                            "{}{}",
                            ks.api_key_prefix(&tenant),
                            portcullis_redis::escape(id)
                        ),
                    ],
                );
            }
        }
    }
    // Single-key scripts still carry a non-empty tag, so no key falls back to whole-key
    // hashing because of an input.
    for id in ids {
        for k in [ks.replay(id, id), ks.rate("auth", id)] {
            let open = k.find('{').unwrap();
            let close = k[open..].find('}').unwrap();
            assert!(close > 1, "`{k}` has an empty hash tag");
        }
    }
}

#[test]
fn tenants_spread_over_slots() {
    let ks = KeySpace::new("p").unwrap();
    let slots: std::collections::HashSet<u16> = (0..64)
        .map(|i| slot(&ks.tenant_epoch(&format!("tenant-{i}").parse().unwrap())))
        .collect();
    assert!(slots.len() > 32, "hash tags should differ per tenant");
}
