//! The new-password policy: length bounds after NFKC, zxcvbn strength with the user's
//! context penalised, typed refusals.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use portcullis_passwords::{ConfigError, PasswordPolicy, Refusal, UserContext};

fn none() -> UserContext<'static> {
    UserContext::default()
}

#[test]
fn length_is_counted_in_characters_after_nfkc() {
    let policy = PasswordPolicy::new();
    assert_eq!(policy.min_length(), 8);
    assert_eq!(
        policy.check("1234567", &none()),
        Err(Refusal::TooShort { min: 8, actual: 7 })
    );
    // Seven ligatures "ﬃ" are 7 characters raw, 21 after NFKC.
    assert!(!matches!(
        policy.check(&"\u{FB03}".repeat(7), &none()),
        Err(Refusal::TooShort { .. })
    ));
    // Seven "é" written as e + combining acute are 14 scalars raw, 7 after NFKC.
    assert_eq!(
        policy.check(&"e\u{301}".repeat(7), &none()),
        Err(Refusal::TooShort { min: 8, actual: 7 })
    );
    assert_eq!(
        policy.check(&"a".repeat(1025), &none()),
        Err(Refusal::TooLong { max: 1024 })
    );
    let four = PasswordPolicy::new()
        .with_min_length(4)
        .unwrap()
        .with_min_score(0)
        .unwrap();
    assert!(four.check("abcd", &none()).is_ok());
    assert!(matches!(
        PasswordPolicy::new().with_min_length(0),
        Err(ConfigError::OutOfRange { .. })
    ));
    assert!(matches!(
        PasswordPolicy::new().with_min_length(65),
        Err(ConfigError::OutOfRange { .. })
    ));
    assert!(matches!(
        PasswordPolicy::new().with_min_score(5),
        Err(ConfigError::OutOfRange { .. })
    ));
}

#[test]
fn common_passwords_are_too_weak_with_zxcvbn_feedback() {
    let policy = PasswordPolicy::new();
    for weak in [
        "password1",
        "qwertyuiop",
        "iloveyou12",
        "aaaaaaaaaa",
        "abcdefgh123",
    ] {
        match policy.check(weak, &none()) {
            Err(Refusal::TooWeak { score, min: 3, .. }) => assert!(score < 3, "{weak}"),
            other => panic!("{weak}: {other:?}"),
        }
    }
    let Err(
        refusal @ Refusal::TooWeak {
            warning: Some(_), ..
        },
    ) = policy.check("password1", &none())
    else {
        panic!("zxcvbn has a warning for password1")
    };
    assert!(
        refusal
            .to_string()
            .starts_with("this password is too easy to guess: "),
        "{refusal}"
    );
    let ok = policy
        .check("quartz lantern mosaic drift", &none())
        .unwrap();
    assert_eq!(ok.score, 4);
    assert!(ok.guesses_log10 > 10.0);
}

#[test]
fn the_users_own_name_email_and_the_service_are_penalised() {
    let policy = PasswordPolicy::new().with_service_words(&["portcullis"]);
    // Strong for a stranger (score 4), guessable for the user it names.
    for candidate in ["wintermute2024!", "Wintermute#88", "wintermutecorvid"] {
        assert_eq!(
            policy.check(candidate, &none()).unwrap().score,
            4 - u8::from(candidate == "Wintermute#88"),
            "{candidate}"
        );
        let user = UserContext {
            user_name: Some("wintermute"),
            email: Some("z.corvid@example.org"),
            other: &[],
        };
        assert!(
            matches!(policy.check(candidate, &user), Err(Refusal::TooWeak { .. })),
            "{candidate}"
        );
    }
    // The e-mail's local-part pieces and domain labels count on their own.
    let by_email = UserContext {
        user_name: None,
        email: Some("wintermute.corvid@example.org"),
        other: &[],
    };
    assert!(matches!(
        policy.check("wintermutecorvid", &by_email),
        Err(Refusal::TooWeak { .. })
    ));
    let by_other = UserContext {
        user_name: None,
        email: None,
        other: &["Wintermute"],
    };
    assert!(matches!(
        policy.check("wintermute2024!", &by_other),
        Err(Refusal::TooWeak { .. })
    ));
    // The service's own words.
    let plain = PasswordPolicy::new();
    assert_eq!(
        plain
            .check("portcullis2024!", &none())
            .map(|s| s.score)
            .unwrap_or(0),
        4
    );
    assert!(matches!(
        policy.check("portcullis2024!", &none()),
        Err(Refusal::TooWeak { .. })
    ));
}

#[test]
fn long_passwords_are_judged_quickly() {
    let policy = PasswordPolicy::new();
    let long: String = (0..1024)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let start = std::time::Instant::now();
    let _ = policy.check(&long, &none());
    // Not a timed assertion of speed: a guard against the quadratic blow-up the
    // 256-character cap exists for (minutes without it).
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn length_bounds_are_exact_raw_and_normalised() {
    let policy = PasswordPolicy::new().with_min_score(0).unwrap();
    assert!(PasswordPolicy::new().with_min_score(4).is_ok());
    let raw_1024: String = (0..1024)
        .map(|i| char::from(b'a' + (i * 11 % 26) as u8))
        .collect();
    assert!(policy.check(&raw_1024, &none()).is_ok());
    // 342 "e" + combining acute are 1026 bytes raw, 684 after NFKC: the raw bound refuses.
    assert_eq!(
        policy.check(&"e\u{301}".repeat(342), &none()),
        Err(Refusal::TooLong { max: 1024 })
    );
    // U+FDFA expands to 33 bytes: 31 of them and "a" are exactly 1024 after NFKC.
    assert!(
        policy
            .check(&format!("{}a", "\u{FDFA}".repeat(31)), &none())
            .is_ok()
    );
    assert_eq!(
        policy.check(&format!("{}ab", "\u{FDFA}".repeat(31)), &none()),
        Err(Refusal::TooLong { max: 1024 })
    );
}
