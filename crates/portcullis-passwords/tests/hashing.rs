//! Hash and verify: round trips, single-byte changes, needs_rehash exactly below policy,
//! peppers and their rotation, limits, and typed errors.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // helpers outside #[test] fns

use std::sync::Arc;

use argon2::{Algorithm, Argon2, ParamsBuilder, Version};
use password_hash::{PasswordHasher, SaltString};
use portcullis_core::{Provider, SecretBytes};
use portcullis_passwords::{
    Argon2Params, ConfigError, PasswordError, Passwords, Pepper, Peppers, Verification,
    VerifyLimits,
};
use proptest::prelude::*;

fn passwords() -> Passwords {
    Passwords::new(Provider::system())
}

fn pepper(id: u32, byte: u8) -> Pepper {
    Pepper::new(id, SecretBytes::new(vec![byte; 32])).unwrap()
}

/// An Argon2 hash made directly with the `argon2` crate (another implementation of the
/// same PHC format), at any parameters.
fn foreign(
    alg: Algorithm,
    m: u32,
    t: u32,
    p: u32,
    out: usize,
    salt_len: usize,
    pw: &str,
) -> String {
    let mut b = ParamsBuilder::new();
    b.m_cost(m).t_cost(t).p_cost(p).output_len(out);
    let salt = SaltString::encode_b64(&vec![3u8; salt_len]).unwrap();
    Argon2::new(alg, Version::V0x13, b.build().unwrap())
        .hash_password(pw.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

#[test]
fn new_hashes_are_owasp_argon2id_phc_strings_with_fresh_salts() {
    let p = passwords();
    let a = p.hash("hunter2 is not a password").unwrap();
    let b = p.hash("hunter2 is not a password").unwrap();
    assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
    assert_ne!(a, b, "salts differ");
    let parts: Vec<&str> = a.split('$').collect();
    assert_eq!(parts.len(), 6);
    assert_eq!(parts[4].len(), 22, "16-byte salt");
    assert_eq!(parts[5].len(), 43, "32-byte output");
    assert_eq!(
        p.verify("hunter2 is not a password", Some(&a)).unwrap(),
        Verification::Verified {
            needs_rehash: false
        }
    );
    assert_eq!(
        p.verify("hunter2 is not a password!", Some(&a)).unwrap(),
        Verification::Mismatch
    );
}

#[test]
fn nfkc_makes_equivalent_spellings_one_password() {
    let p = passwords();
    // U+212B ANGSTROM SIGN and U+00C5; the "ﬁ" ligature and "fi".
    let h = p.hash("\u{212B}ngstr\u{f6}m \u{FB01}le").unwrap();
    assert!(
        p.verify("\u{C5}ngstr\u{f6}m file", Some(&h))
            .unwrap()
            .is_verified()
    );
}

#[test]
fn floors_are_enforced_and_owasp_is_the_default() {
    assert_eq!(Argon2Params::default(), Argon2Params::OWASP);
    assert!(Argon2Params::new(19456, 2, 1).is_ok());
    assert!(Argon2Params::new(7168, 5, 1).is_ok());
    assert!(Argon2Params::new(47104, 1, 1).is_ok());
    // Memory has its own floor, whatever the passes.
    assert!(matches!(
        Argon2Params::new(7000, 6, 1),
        Err(ConfigError::BelowFloor { .. })
    ));
    assert_eq!(portcullis_passwords::FLOOR_MEMORY_KIB, 7168);
    assert_eq!(portcullis_passwords::FLOOR_MEMORY_TIMES_PASSES, 35840);
    let q = Argon2Params::new(24576, 3, 2).unwrap();
    assert_eq!(
        (q.memory_kib(), q.iterations(), q.parallelism()),
        (24576, 3, 2)
    );
    let shown = format!(
        "{:?}",
        Passwords::builder(Provider::system())
            .max_in_flight(3)
            .build()
            .unwrap()
    );
    assert!(shown.contains("max: 3"), "{shown}");
    for (m, t, p) in [
        (7167, 5, 1),
        (7168, 4, 1),
        (19456, 1, 1),
        (65536, 0, 1),
        (19456, 2, 0),
    ] {
        assert!(
            matches!(
                Argon2Params::new(m, t, p),
                Err(ConfigError::BelowFloor { .. })
            ),
            "{m} {t} {p}"
        );
    }
    assert!(matches!(
        Argon2Params::new(2 * 1024 * 1024, 2, 1),
        Err(ConfigError::OutOfRange { .. })
    ));
    // Parameters the verifier would refuse cannot be configured for hashing.
    let too_big = Passwords::builder(Provider::system())
        .params(Argon2Params::new(65536, 2, 1).unwrap())
        .limits(VerifyLimits::default().with_argon2(32768, 16, 16))
        .build();
    assert!(matches!(too_big, Err(ConfigError::OutOfRange { .. })));
    assert!(
        Passwords::builder(Provider::system())
            .max_in_flight(0)
            .build()
            .is_err()
    );
}

#[test]
fn unknown_users_get_a_mismatch_after_the_same_argon2_work() {
    let p = passwords();
    assert_eq!(p.verify("anything", None).unwrap(), Verification::Mismatch);
    assert_eq!(p.verify("", None).unwrap(), Verification::Mismatch);
    // The dummy ran through the in-flight bound like a real verify.
    assert_eq!(p.in_flight_stats().peak, 1);
}

#[test]
fn pepper_is_required_to_verify_and_rotation_asks_for_rehash() {
    let p1 = Passwords::builder(Provider::system())
        .peppers(Peppers::new(pepper(1, 0xa1)))
        .build()
        .unwrap();
    let h1 = p1.hash("pepper me please").unwrap();
    assert!(h1.contains(",keyid=AAAAAQ$"), "{h1}");
    assert_eq!(
        p1.verify("pepper me please", Some(&h1)).unwrap(),
        Verification::Verified {
            needs_rehash: false
        }
    );
    // Without the pepper the hash cannot be checked at all.
    assert!(matches!(
        passwords().verify("pepper me please", Some(&h1)),
        Err(PasswordError::UnknownPepper { id: 1 })
    ));
    // A pepper with the same id but other bytes does not verify it.
    let wrong = Passwords::builder(Provider::system())
        .peppers(Peppers::new(pepper(1, 0xa2)))
        .build()
        .unwrap();
    assert_eq!(
        wrong.verify("pepper me please", Some(&h1)).unwrap(),
        Verification::Mismatch
    );
    // Rotation: pepper 2 current, 1 retired.
    let p2 = Passwords::builder(Provider::system())
        .peppers(
            Peppers::new(pepper(2, 0xb2))
                .with_retired(pepper(1, 0xa1))
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_eq!(
        p2.verify("pepper me please", Some(&h1)).unwrap(),
        Verification::Verified { needs_rehash: true }
    );
    let h2 = p2.hash("pepper me please").unwrap();
    assert!(h2.contains(",keyid=AAAAAg$"));
    assert_eq!(
        p2.verify("pepper me please", Some(&h2)).unwrap(),
        Verification::Verified {
            needs_rehash: false
        }
    );
    // An unpeppered hash under a peppered policy asks for a rehash too.
    let plain = passwords().hash("pepper me please").unwrap();
    assert_eq!(
        p2.verify("pepper me please", Some(&plain)).unwrap(),
        Verification::Verified { needs_rehash: true }
    );
    // Unknown user with a pepper: same path, mismatch.
    assert_eq!(
        p2.verify("pepper me please", None).unwrap(),
        Verification::Mismatch
    );
    assert!(
        Peppers::new(pepper(2, 1))
            .with_retired(pepper(2, 3))
            .is_err()
    );
    assert!(Pepper::new(0, SecretBytes::new(vec![1; 32])).is_err());
    let two_retired = Peppers::new(pepper(2, 1))
        .with_retired(pepper(1, 3))
        .unwrap();
    assert!(two_retired.clone().with_retired(pepper(1, 4)).is_err());
    assert!(two_retired.with_retired(pepper(3, 4)).is_ok());
    let shown = format!("{:?}", pepper(7, 0xa1));
    assert!(
        shown.contains("Pepper") && shown.contains("id: 7") && shown.contains("[redacted]"),
        "{shown}"
    );
    assert!(Pepper::new(1, SecretBytes::new(vec![1; 31])).is_err());
    assert!(
        !format!("{:?}", pepper(1, 0xa1)).contains("161"),
        "pepper bytes are redacted"
    );
}

#[test]
fn stored_hashes_asking_for_too_much_work_are_refused_before_any_work() {
    let p = Passwords::builder(Provider::system())
        .limits(
            VerifyLimits::default()
                .with_argon2(32768, 4, 4)
                .with_bcrypt_cost(10)
                .with_pbkdf2_iterations(1000)
                .with_scrypt(1 << 20, 2),
        )
        .build()
        .unwrap();
    let cases = [
        "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=4000,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$pbkdf2-sha256$i=100000000,l=32$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=64$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ];
    for stored in cases {
        let start = std::time::Instant::now();
        let got = p.verify("pw", Some(stored));
        assert!(
            matches!(got, Err(PasswordError::CostAboveLimit { .. })),
            "{stored}: {got:?}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "no hashing was done"
        );
    }
    assert_eq!(p.in_flight_stats().peak, 0, "no hash ran");
}

#[test]
fn hashes_exactly_at_the_limits_verify() {
    let p = Passwords::builder(Provider::system())
        .limits(
            VerifyLimits::default()
                .with_argon2(19456, 2, 1)
                .with_bcrypt_cost(5)
                .with_scrypt(1 << 20, 16)
                .with_pbkdf2_iterations(80_000),
        )
        .build()
        .unwrap();
    let argon = p.hash("at the limit").unwrap();
    assert!(
        p.verify("at the limit", Some(&argon))
            .unwrap()
            .is_verified()
    );
    // Openwall's cost-5 vector for "U*U".
    assert!(
        p.verify(
            "U*U",
            Some("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
        )
        .unwrap()
        .is_verified()
    );
    // RFC 7914 section 12: N = 1024, r = 8 (128 · 8 · 1024 = 1 MiB), p = 16.
    let scrypt = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA";
    assert!(p.verify("password", Some(scrypt)).unwrap().is_verified());
    // RFC 7914 section 11: PBKDF2-HMAC-SHA256, "Password" / "NaCl", c = 80000.
    let pbkdf2 = include_str!("vectors/legacy_hashes.txt")
        .lines()
        .find(|l| l.starts_with("pbkdf2-sha256 ok") && l.contains("i=80000"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap();
    assert!(p.verify("Password", Some(pbkdf2)).unwrap().is_verified());
    // One step above each limit is refused.
    let tight = Passwords::builder(Provider::system())
        .limits(
            VerifyLimits::default()
                .with_bcrypt_cost(4)
                .with_scrypt((1 << 20) - 1, 16)
                .with_pbkdf2_iterations(79_999),
        )
        .build()
        .unwrap();
    for (pw, stored) in [
        (
            "U*U",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
        ("password", scrypt),
        ("Password", pbkdf2),
    ] {
        assert!(
            matches!(
                tight.verify(pw, Some(stored)),
                Err(PasswordError::CostAboveLimit { .. })
            ),
            "{stored}"
        );
    }
}

#[test]
fn each_way_of_being_below_the_policy_asks_for_a_rehash_on_its_own() {
    let p = passwords();
    let pw = "table password";
    // (algorithm, m, t, p, output, salt, needs_rehash): one deviation at a time.
    for (alg, m, t, lanes, out, salt, expected) in [
        (Algorithm::Argon2id, 19456, 2, 1, 32, 16, false),
        (Algorithm::Argon2i, 19456, 2, 1, 32, 16, true),
        (Algorithm::Argon2d, 19456, 2, 1, 32, 16, true),
        (Algorithm::Argon2id, 19455, 2, 1, 32, 16, true),
        (Algorithm::Argon2id, 19456, 1, 1, 32, 16, true),
        (Algorithm::Argon2id, 19456, 2, 1, 31, 16, true),
        (Algorithm::Argon2id, 19456, 2, 1, 64, 16, false),
        (Algorithm::Argon2id, 19456, 2, 1, 32, 15, true),
        (Algorithm::Argon2id, 19456, 2, 1, 32, 32, false),
        (Algorithm::Argon2id, 19456, 2, 2, 32, 16, false),
        (Algorithm::Argon2id, 19457, 3, 1, 32, 16, false),
    ] {
        let stored = foreign(alg, m, t, lanes, out, salt, pw);
        assert_eq!(
            p.verify(pw, Some(&stored)).unwrap(),
            Verification::Verified {
                needs_rehash: expected
            },
            "{stored}"
        );
    }
    // Fewer lanes than a policy with 2 lanes.
    let two = Passwords::builder(Provider::system())
        .params(Argon2Params::new(19456, 2, 2).unwrap())
        .build()
        .unwrap();
    let one_lane = foreign(Algorithm::Argon2id, 19456, 2, 1, 32, 16, pw);
    assert_eq!(
        two.verify(pw, Some(&one_lane)).unwrap(),
        Verification::Verified { needs_rehash: true }
    );
}

#[test]
fn malformed_and_unsupported_hashes_are_typed_errors_that_do_not_echo_them() {
    let p = passwords();
    let secretish = "$argon2id$v=19$m=19456,t=2,p=1$SECRETSALT$";
    // (stored hash, Ok(scheme words) for unsupported / Err(reason words) for malformed)
    let bcrypt_ok = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    let non_ascii = bcrypt_ok.replacen("CC", "\u{e9}", 1);
    assert_eq!(non_ascii.len(), 60);
    let no_dollar = bcrypt_ok.replacen("05$", "05X", 1);
    let cases: Vec<(&str, Result<&str, &str>)> = vec![
        ("", Ok("unknown")),
        ("plaintext-password", Ok("unknown")),
        (
            "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Ok("$2x$"),
        ),
        (
            "$pbkdf2-sha512$i=1000,l=64$c2FsdA$AAAA",
            Ok("PBKDF2 other than"),
        ),
        ("$pbkdf2$i=1000,l=20$c2FsdA$AAAA", Ok("PBKDF2 other than")),
        ("$md5$abc", Ok("unknown")),
        (secretish, Err("PHC")),
        ("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ", Err("")),
        (
            "$argon2id$v=18$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            Err("version"),
        ),
        (
            "$argon2id$v=19$m=19456,t=2,p=1,keyid=AAAA$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            Err("keyid"),
        ),
        (
            "$argon2id$v=19$m=19456,t=2,p=1,x=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            Err("parameters"),
        ),
        (
            "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
            Err("60 ASCII"),
        ),
        (&non_ascii, Err("60 ASCII")),
        (
            "$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Err("bcrypt cost"),
        ),
        (
            "$2b$x5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Err("bcrypt cost"),
        ),
        (&no_dollar, Err("bcrypt cost")),
        (
            "$2b$05$CCCCCCCCCCCCCCCCCCCC!.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Err("encoding"),
        ),
        ("$scrypt$ln=10,r=8$c2FsdA", Err("")),
    ];
    for (stored, expected) in cases {
        let err = p.verify("pw", Some(stored)).unwrap_err();
        let text = err.to_string();
        match expected {
            Ok(words) => {
                assert!(
                    matches!(err, PasswordError::UnsupportedScheme { .. }),
                    "{stored}: {err:?}"
                );
                assert!(text.contains(words), "{stored}: {text}");
            }
            Err(words) => {
                assert!(
                    matches!(err, PasswordError::MalformedHash { .. }),
                    "{stored}: {err:?}"
                );
                assert!(text.contains(words), "{stored}: {text}");
            }
        }
        assert!(!text.contains("SECRETSALT"));
    }
    let long = format!("$argon2id${}", "A".repeat(600));
    assert!(matches!(
        p.verify("pw", Some(&long)),
        Err(PasswordError::MalformedHash { .. })
    ));
}

#[test]
fn passwords_over_1024_bytes_are_refused_raw_or_after_nfkc() {
    let p = passwords();
    assert!(matches!(
        p.hash(&"a".repeat(1025)),
        Err(PasswordError::TooLong { max: 1024 })
    ));
    assert!(p.hash(&"a".repeat(1024)).is_ok());
    // U+FDFA expands to 18 characters (33 bytes) under NFKC: 60 of them are 180 bytes raw.
    assert!(matches!(
        p.hash(&"\u{FDFA}".repeat(60)),
        Err(PasswordError::TooLong { .. })
    ));
    let h = p.hash("x").unwrap();
    assert!(matches!(
        p.verify(&"a".repeat(1025), Some(&h)),
        Err(PasswordError::TooLong { .. })
    ));
    assert!(matches!(
        p.verify(&"a".repeat(1025), None),
        Err(PasswordError::TooLong { .. })
    ));
}

#[test]
fn a_full_bound_with_no_wait_is_busy_and_frees_up() {
    let p = Arc::new(
        Passwords::builder(Provider::system())
            .max_in_flight(1)
            .max_wait(std::time::Duration::ZERO)
            .build()
            .unwrap(),
    );
    let h = p.hash("busy test").unwrap();
    // Hold the only slot with a slow verify (64 MiB, 8 passes).
    let slow = foreign(Algorithm::Argon2id, 65536, 8, 1, 32, 16, "slow");
    let holder = {
        let p = p.clone();
        std::thread::spawn(move || {
            loop {
                match p.verify("slow", Some(&slow)) {
                    Err(PasswordError::Busy) => continue,
                    other => break other.unwrap(),
                }
            }
        })
    };
    let mut busy = 0;
    while !holder.is_finished() {
        if let Err(PasswordError::Busy) = p.verify("busy test", Some(&h)) {
            busy += 1;
        }
    }
    assert!(holder.join().unwrap().is_verified());
    assert!(busy >= 1, "the held slot made someone busy");
    assert_eq!(p.in_flight_stats().peak, 1);
    assert!(p.in_flight_stats().refused >= 1);
    assert!(
        p.verify("busy test", Some(&h)).unwrap().is_verified(),
        "free again"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn round_trip_and_single_byte_changes(pw in "\\PC{1,40}", flip in any::<prop::sample::Index>(), to in any::<char>()) {
        let p = passwords();
        let h = p.hash(&pw).unwrap();
        prop_assert_eq!(p.verify(&pw, Some(&h)).unwrap(), Verification::Verified { needs_rehash: false });
        // Change one character of the password (to a different NFKC form).
        let chars: Vec<char> = pw.chars().collect();
        let i = flip.index(chars.len());
        let mut changed = chars.clone();
        changed[i] = to;
        let changed: String = changed.into_iter().collect();
        let same = {
            use unicode_normalization::UnicodeNormalization;
            changed.nfkc().collect::<String>() == pw.nfkc().collect::<String>()
        };
        if !same {
            prop_assert_eq!(p.verify(&changed, Some(&h)).unwrap(), Verification::Mismatch);
        }
        // Change one byte of the hash's salt or output: a mismatch or a malformed hash,
        // never a success.
        let mut bytes = h.clone().into_bytes();
        let start = h.rfind('$').unwrap() - 22;
        let j = start + flip.index(bytes.len() - start);
        if bytes[j] != b'$' {
            bytes[j] = if bytes[j] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            match p.verify(&pw, Some(&tampered)) {
                Ok(v) => prop_assert_eq!(v, Verification::Mismatch),
                Err(e) => prop_assert!(matches!(e, PasswordError::MalformedHash { .. }), "{e:?}"),
            }
        }
    }

    #[test]
    fn needs_rehash_exactly_when_below_the_policy(
        m in prop::sample::select(vec![8u32, 4096, 19455, 19456, 24576]),
        t in 1u32..=3,
        p in 1u32..=2,
        alg in prop::sample::select(vec![Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d]),
        out in prop::sample::select(vec![16usize, 32, 64]),
        salt in prop::sample::select(vec![8usize, 16, 32]),
    ) {
        let m = m.max(8 * p);
        let stored = foreign(alg, m, t, p, out, salt, "property password");
        let policy = passwords();
        let below = alg != Algorithm::Argon2id || m < 19456 || t < 2 || p < 1 || out < 32 || salt < 16;
        prop_assert_eq!(
            policy.verify("property password", Some(&stored)).unwrap(),
            Verification::Verified { needs_rehash: below }
        );
        prop_assert_eq!(policy.verify("property passwordx", Some(&stored)).unwrap(), Verification::Mismatch);
    }
}

#[test]
fn older_versions_and_variants_ask_for_rehash_and_higher_params_do_not() {
    let p = passwords();
    let higher = foreign(Algorithm::Argon2id, 65536, 3, 2, 32, 16, "pw");
    assert_eq!(
        p.verify("pw", Some(&higher)).unwrap(),
        Verification::Verified {
            needs_rehash: false
        }
    );
    // Version 0x10 (no v= field) made by the argon2 crate.
    let mut b = ParamsBuilder::new();
    b.m_cost(19456).t_cost(2).p_cost(1);
    let salt = SaltString::encode_b64(&[5u8; 16]).unwrap();
    let v10 = Argon2::new(Algorithm::Argon2id, Version::V0x10, b.build().unwrap())
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
    assert_eq!(
        p.verify("pw", Some(&v10)).unwrap(),
        Verification::Verified { needs_rehash: true },
        "{v10}"
    );
}

#[test]
fn verification_helpers_say_what_the_variant_says() {
    let fresh = Verification::Verified {
        needs_rehash: false,
    };
    let stale = Verification::Verified { needs_rehash: true };
    assert!(fresh.is_verified() && !fresh.needs_rehash());
    assert!(stale.is_verified() && stale.needs_rehash());
    assert!(!Verification::Mismatch.is_verified() && !Verification::Mismatch.needs_rehash());
}

#[test]
fn each_parameter_must_be_within_its_verify_limit() {
    let limits = VerifyLimits::default().with_argon2(32768, 3, 2);
    let build = |m, t, p| {
        Passwords::builder(Provider::system())
            .params(Argon2Params::new(m, t, p).unwrap())
            .limits(limits)
            .build()
    };
    let at = build(32768, 3, 2).unwrap();
    assert_eq!(at.params(), Argon2Params::new(32768, 3, 2).unwrap());
    assert_ne!(at.params(), Argon2Params::OWASP);
    for (m, t, p) in [(32769, 3, 2), (32768, 4, 2), (32768, 3, 3)] {
        assert!(
            matches!(build(m, t, p), Err(ConfigError::OutOfRange { .. })),
            "{m} {t} {p}"
        );
    }
}

#[test]
fn length_bounds_are_exact() {
    let p = passwords();
    // NFKC turns U+FDFA (3 bytes) into 33 bytes: 31 of them and one more byte are exactly
    // 1024 bytes normalised (94 raw), one byte more is over.
    let exact = format!("{}a", "\u{FDFA}".repeat(31));
    let over = format!("{}ab", "\u{FDFA}".repeat(31));
    let h = p.hash(&exact).unwrap();
    assert!(p.verify(&exact, Some(&h)).unwrap().is_verified());
    assert!(matches!(
        p.hash(&over),
        Err(PasswordError::TooLong { max: 1024 })
    ));
    assert!(matches!(
        p.verify(&over, Some(&h)),
        Err(PasswordError::TooLong { max: 1024 })
    ));
    // A raw 1024-byte password verifies; 1025 is refused before any scheme, bcrypt included.
    let bcrypt = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    let k = "k".repeat(1024);
    let hk = p.hash(&k).unwrap();
    assert!(p.verify(&k, Some(&hk)).unwrap().is_verified());
    assert!(matches!(
        p.verify(&"k".repeat(1025), Some(bcrypt)),
        Err(PasswordError::TooLong { max: 1024 })
    ));
    // Stored hashes: 512 bytes are parsed (and found malformed otherwise), 513 are not.
    let long_hash = |n: usize| {
        format!(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA${}",
            "A".repeat(n - 54)
        )
    };
    assert_eq!(long_hash(512).len(), 512);
    let err = |n| p.verify("pw", Some(&long_hash(n))).unwrap_err().to_string();
    assert!(!err(512).contains("longer than 512"), "{}", err(512));
    assert!(err(513).contains("longer than 512"), "{}", err(513));
}
