//! Published vectors: RFC 9106's Argon2id known answer (through the `argon2` crate we
//! build on), and bcrypt, scrypt, PBKDF2-SHA256 and Argon2 hash strings from their
//! reference suites (sources in tests/vectors/legacy_hashes.txt), verified through
//! `Passwords::verify`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // helpers outside #[test] fns

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
use portcullis_core::Provider;
use portcullis_passwords::{PasswordError, Passwords, Verification};

fn kv(text: &str, key: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap()
        .to_owned()
}

#[test]
fn rfc9106_argon2id_vector() {
    let text = include_str!("vectors/rfc9106_argon2id.txt");
    let h = |k| hex::decode(kv(text, k)).unwrap();
    let mut params = ParamsBuilder::new();
    params
        .m_cost(kv(text, "memory_kib").parse().unwrap())
        .t_cost(kv(text, "passes").parse().unwrap())
        .p_cost(kv(text, "lanes").parse().unwrap())
        .output_len(kv(text, "tag_length").parse().unwrap())
        .data(AssociatedData::new(&h("associated_data")).unwrap());
    assert_eq!(kv(text, "version"), "19");
    let secret = h("secret");
    let argon = Argon2::new_with_secret(
        &secret,
        Algorithm::Argon2id,
        Version::V0x13,
        params.build().unwrap(),
    )
    .unwrap();
    let mut tag = [0u8; 32];
    argon
        .hash_password_into(&h("password"), &h("salt"), &mut tag)
        .unwrap();
    assert_eq!(tag.to_vec(), h("tag"));
}

struct Vector {
    kind: String,
    expect: String,
    password: Option<String>,
    hash: String,
    line: usize,
}

fn legacy_vectors() -> Vec<Vector> {
    include_str!("vectors/legacy_hashes.txt")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "line {}", i + 1);
            let bytes = if f[2] == "-" {
                Vec::new()
            } else {
                hex::decode(f[2]).unwrap()
            };
            Vector {
                kind: f[0].to_owned(),
                expect: f[1].to_owned(),
                // The crate takes &str: the 8-bit bcrypt vectors are not UTF-8.
                password: String::from_utf8(bytes).ok(),
                hash: f[3].to_owned(),
                line: i + 1,
            }
        })
        .collect()
}

#[test]
fn published_hash_strings_verify_and_legacy_ones_ask_for_a_rehash() {
    let passwords = Passwords::new(Provider::system());
    let mut checked = std::collections::BTreeMap::<(String, String), usize>::new();
    for v in legacy_vectors() {
        let Some(password) = v.password.as_deref() else {
            continue;
        };
        let got = passwords.verify(password, Some(&v.hash));
        match v.expect.as_str() {
            "ok" => {
                let got = got.unwrap_or_else(|e| panic!("line {}: {e}", v.line));
                // Every published vector is legacy or below OWASP in some parameter, or
                // Argon2i/d: all must ask for a rehash.
                assert_eq!(
                    got,
                    Verification::Verified { needs_rehash: true },
                    "line {}",
                    v.line
                );
            }
            "bad" => assert_eq!(got.unwrap(), Verification::Mismatch, "line {}", v.line),
            "refused" => assert!(
                matches!(got, Err(PasswordError::BcryptTooLong { .. })),
                "line {}: {got:?}",
                v.line
            ),
            other => panic!("line {}: unknown expectation {other}", v.line),
        }
        *checked.entry((v.kind, v.expect)).or_default() += 1;
    }
    // The file covers every scheme both ways (a vector file that lost a group fails here).
    for kind in [
        "bcrypt",
        "scrypt",
        "pbkdf2-sha256",
        "argon2id",
        "argon2i",
        "argon2d",
    ] {
        for expect in ["ok", "bad"] {
            assert!(
                checked
                    .get(&(kind.into(), expect.into()))
                    .copied()
                    .unwrap_or(0)
                    >= 1,
                "{kind} {expect}"
            );
        }
    }
    assert_eq!(checked.get(&("bcrypt".into(), "refused".into())), Some(&1));
    assert!(checked.values().sum::<usize>() >= 50, "{checked:?}");
}

#[test]
fn a_72_byte_bcrypt_password_is_accepted_and_its_73_byte_extension_refused() {
    let passwords = Passwords::new(Provider::system());
    // The published 72-byte vectors are 8-bit (not UTF-8); this one is made here by the
    // `bcrypt` crate at cost 4.
    let pw: String =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".into();
    assert_eq!(pw.len(), 72);
    let stored = bcrypt::hash_with_salt(&pw, 4, [7u8; 16])
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);
    assert!(passwords.verify(&pw, Some(&stored)).unwrap().is_verified());
    // Truncation would accept this; it is refused instead.
    let longer = format!("{pw}x");
    assert!(matches!(
        passwords.verify(&longer, Some(&stored)),
        Err(PasswordError::BcryptTooLong { len: 73 })
    ));
    let mut other = pw.clone();
    other.replace_range(71..72, "8");
    assert_eq!(
        passwords.verify(&other, Some(&stored)).unwrap(),
        Verification::Mismatch
    );
}
