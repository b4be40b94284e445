//! Arbitrary stored hashes and candidate passwords through `Passwords::verify`, arbitrary
//! new passwords through the strength policy, and arbitrary bytes as a breach list: none
//! panics, and a stored hash never verifies a password other than the one it was made of
//! (the one genuine hash here, made at startup, verifies only its own password).
//!
//! Input: a mode byte, then for mode 0 `password \0 stored hash`, for mode 1 a new
//! password, for mode 2 a breach list file.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_core::Provider;
use portcullis_passwords::{
    OfflineBreachList, PasswordPolicy, Passwords, RangeEntry, UserContext, Verification,
    VerifyLimits,
};

const GENUINE_PASSWORD: &str = "fuzz genuine password";

struct Fixture {
    passwords: Passwords,
    genuine: String,
    policy: PasswordPolicy,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // Limits at the policy's own Argon2 cost and the cheapest legacy costs, so a
        // generated hash asking for more is refused before any work.
        let limits = VerifyLimits::default()
            .with_argon2(19456, 2, 1)
            .with_bcrypt_cost(4)
            .with_scrypt(64 * 1024, 1)
            .with_pbkdf2_iterations(1000);
        let passwords = Passwords::builder(Provider::system()).limits(limits).build().unwrap();
        let genuine = passwords.hash(GENUINE_PASSWORD).unwrap();
        Fixture { passwords, genuine, policy: PasswordPolicy::new() }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let (password, stored) = text.split_once('\0').unwrap_or((text, f.genuine.as_str()));
            if let Ok(Verification::Verified { .. }) = f.passwords.verify(password, Some(stored)) {
                // Only the genuine hash is known to us; any other verified pair is a
                // hash the fuzzer built for its password, which is fine unless it claims
                // the genuine hash verifies another password.
                if stored == f.genuine {
                    assert_eq!(password, GENUINE_PASSWORD);
                }
            }
        }
        1 => {
            let Ok(password) = std::str::from_utf8(rest) else { return };
            let user = UserContext { user_name: Some("fuzz"), email: Some("fuzz@example.com"), other: &[] };
            let _ = f.policy.check(password, &user);
        }
        _ => {
            let _ = OfflineBreachList::from_reader(Cursor::new(rest));
            if let Ok(line) = std::str::from_utf8(rest) {
                let _ = RangeEntry::parse_line(line);
            }
        }
    }
});
