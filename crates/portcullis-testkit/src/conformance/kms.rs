//! The conformance suite every [`Kms`] implementation passes: LocalKms, AWS KMS (against
//! moto) and Vault / OpenBao Transit (against a dev server) run the same functions.
//!
//! Panics name the suite and the step (these are test helpers).
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::future::Future;

use portcullis_core::{BackendErrorKind, KeyId};
use portcullis_keys::{DataKey, KeysError, Kms, KmsContext, WrappedKey};

fn ctx(tenant: &str) -> KmsContext {
    KmsContext::new()
        .with("portcullis.purpose", "conformance")
        .with("portcullis.tenant", tenant)
}

fn step(name: &str, what: impl std::fmt::Display) -> String {
    format!("kms conformance `{name}`: {what}")
}

/// What a suite run needs: the KMS, a KEK it holds, a second KEK it holds (wrapped keys
/// must not cross between them), and a name it does not hold.
#[derive(Debug)]
pub struct KmsFixture<'a> {
    /// The KMS under test.
    pub kms: &'a dyn Kms,
    /// A KEK the KMS holds.
    pub kek: KeyId,
    /// Another KEK the KMS holds.
    pub other_kek: KeyId,
    /// A KEK name the KMS does not know.
    pub unknown_kek: KeyId,
}

/// Runs every behaviour except rotation, outage and throttling (which need a hook into
/// the server: [`rotation_keeps_old_wrapped_keys_opening`], [`outage_is_typed`],
/// [`throttling_is_typed`]).
pub async fn run_all(f: &KmsFixture<'_>) {
    generated_keys_unwrap_and_differ(f).await;
    wrap_unwrap_round_trips(f).await;
    context_is_bound(f).await;
    wrapped_keys_do_not_cross_keks(f).await;
    tampered_wrapped_keys_never_open(f).await;
    unknown_keks_are_typed(f).await;
    concurrent_generation(f).await;
}

/// `generate_data_key` returns a 32-byte key that its wrapped form unwraps to, and every
/// call returns a new key.
pub async fn generated_keys_unwrap_and_differ(f: &KmsFixture<'_>) {
    let name = "generated_keys_unwrap_and_differ";
    let a = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    let b = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    assert_ne!(
        a.plaintext.expose_secret(),
        b.plaintext.expose_secret(),
        "{}",
        step(name, "two calls, one key")
    );
    assert_ne!(
        a.wrapped,
        b.wrapped,
        "{}",
        step(name, "two calls, one wrapped key")
    );
    let back = f
        .kms
        .unwrap(&f.kek, &a.wrapped, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    assert_eq!(
        back.expose_secret(),
        a.plaintext.expose_secret(),
        "{}",
        step(name, "unwrap differs")
    );
    assert!(
        !a.wrapped
            .as_bytes()
            .windows(32)
            .any(|w| w == a.plaintext.expose_secret()),
        "{}",
        step(name, "the wrapped key contains the plaintext key")
    );
}

/// `wrap` then `unwrap` with the same KEK and context returns the key.
pub async fn wrap_unwrap_round_trips(f: &KmsFixture<'_>) {
    let name = "wrap_unwrap_round_trips";
    for byte in [0u8, 0x5a, 0xff] {
        let key = DataKey::new([byte; 32]);
        let w = f
            .kms
            .wrap(&f.kek, &key, &ctx("acme"))
            .await
            .unwrap_or_else(|e| panic!("{}", step(name, e)));
        let back = f
            .kms
            .unwrap(&f.kek, &w, &ctx("acme"))
            .await
            .unwrap_or_else(|e| panic!("{}", step(name, e)));
        assert_eq!(
            back.expose_secret(),
            key.expose_secret(),
            "{}",
            step(name, "unwrap differs")
        );
    }
}

/// Unwrapping with any other context — another value, an extra pair, a missing pair, an
/// empty context — is [`KeysError::Decrypt`].
pub async fn context_is_bound(f: &KmsFixture<'_>) {
    let name = "context_is_bound";
    let g = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    let wrong = [
        ctx("globex"),
        ctx("acme").with("extra", "pair"),
        KmsContext::new().with("portcullis.tenant", "acme"),
        KmsContext::new(),
    ];
    for (i, c) in wrong.iter().enumerate() {
        match f.kms.unwrap(&f.kek, &g.wrapped, c).await {
            Err(KeysError::Decrypt) => {}
            Ok(_) => panic!("{}", step(name, format!("wrong context {i} unwrapped"))),
            Err(e) => panic!(
                "{}",
                step(name, format!("wrong context {i}: {e:?}, expected Decrypt"))
            ),
        }
    }
}

/// A key wrapped under one KEK does not unwrap under another ([`KeysError::Decrypt`], or
/// the service's refusal as a backend error).
pub async fn wrapped_keys_do_not_cross_keks(f: &KmsFixture<'_>) {
    let name = "wrapped_keys_do_not_cross_keks";
    let g = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    match f.kms.unwrap(&f.other_kek, &g.wrapped, &ctx("acme")).await {
        Ok(_) => panic!("{}", step(name, "unwrapped under another KEK")),
        // AWS KMS answers IncorrectKeyException (Decrypt); moto AccessDeniedException.
        Err(KeysError::Decrypt | KeysError::Backend(_)) => {}
        Err(e) => panic!("{}", step(name, format!("{e:?}, expected a refusal"))),
    }
}

/// Any single-byte change of a wrapped key, a truncation or garbage never unwraps.
pub async fn tampered_wrapped_keys_never_open(f: &KmsFixture<'_>) {
    let name = "tampered_wrapped_keys_never_open";
    let g = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    let bytes = g.wrapped.as_bytes();
    let mut variants = vec![
        Vec::new(),
        bytes[..bytes.len() / 2].to_vec(),
        vec![0x42; bytes.len()],
    ];
    for i in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut v = bytes.to_vec();
        v[i] ^= 0x01;
        variants.push(v);
    }
    for (i, v) in variants.into_iter().enumerate() {
        match f
            .kms
            .unwrap(&f.kek, &WrappedKey::new(v), &ctx("acme"))
            .await
        {
            Ok(k) if k.expose_secret() == g.plaintext.expose_secret() => {
                // Some services ignore bytes they do not authenticate (e.g. a version
                // prefix); the same key is not a forgery.
            }
            Ok(_) => panic!(
                "{}",
                step(name, format!("variant {i} unwrapped to another key"))
            ),
            Err(KeysError::Decrypt | KeysError::Backend(_) | KeysError::UnknownKek(_)) => {}
            Err(e) => panic!("{}", step(name, format!("variant {i}: unexpected {e:?}"))),
        }
    }
}

/// A KEK the KMS does not hold is [`KeysError::UnknownKek`] for every operation, and
/// using it creates nothing.
pub async fn unknown_keks_are_typed(f: &KmsFixture<'_>) {
    let name = "unknown_keks_are_typed";
    let key = DataKey::new([1; 32]);
    let r = f.kms.generate_data_key(&f.unknown_kek, &ctx("acme")).await;
    assert!(
        matches!(r, Err(KeysError::UnknownKek(_))),
        "{}",
        step(name, format!("generate: {r:?}"))
    );
    let r = f.kms.wrap(&f.unknown_kek, &key, &ctx("acme")).await;
    assert!(
        matches!(r, Err(KeysError::UnknownKek(_))),
        "{}",
        step(name, format!("wrap: {r:?}"))
    );
    let g = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    let r = f.kms.unwrap(&f.unknown_kek, &g.wrapped, &ctx("acme")).await;
    assert!(
        matches!(r, Err(KeysError::UnknownKek(_) | KeysError::Decrypt)),
        "{}",
        step(name, format!("unwrap: {r:?}"))
    );
    // Still unknown afterwards: nothing was created by the attempts.
    let r = f.kms.wrap(&f.unknown_kek, &key, &ctx("acme")).await;
    assert!(
        matches!(r, Err(KeysError::UnknownKek(_))),
        "{}",
        step(name, format!("wrap again: {r:?}"))
    );
}

/// 16 concurrent generations all succeed with 16 distinct keys.
pub async fn concurrent_generation(f: &KmsFixture<'_>) {
    let name = "concurrent_generation";
    let context = ctx("acme");
    let calls = (0..16).map(|_| f.kms.generate_data_key(&f.kek, &context));
    let keys: HashSet<[u8; 32]> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| {
            *r.unwrap_or_else(|e| panic!("{}", step(name, e)))
                .plaintext
                .expose_secret()
        })
        .collect();
    assert_eq!(keys.len(), 16, "{}", step(name, "duplicate keys"));
}

/// Wraps keys, runs `rotate` (rotation of `f.kek` at the KMS), then checks that the old
/// wrapped keys still unwrap and new ones are made and unwrap too.
pub async fn rotation_keeps_old_wrapped_keys_opening(
    f: &KmsFixture<'_>,
    rotate: impl Future<Output = ()>,
) {
    let name = "rotation_keeps_old_wrapped_keys_opening";
    let old = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    rotate.await;
    let back = f
        .kms
        .unwrap(&f.kek, &old.wrapped, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    assert_eq!(
        back.expose_secret(),
        old.plaintext.expose_secret(),
        "{}",
        step(name, "old key changed")
    );
    let new = f
        .kms
        .generate_data_key(&f.kek, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    let back = f
        .kms
        .unwrap(&f.kek, &new.wrapped, &ctx("acme"))
        .await
        .unwrap_or_else(|e| panic!("{}", step(name, e)));
    assert_eq!(
        back.expose_secret(),
        new.plaintext.expose_secret(),
        "{}",
        step(name, "new key")
    );
}

/// Every operation during `down` (the KMS unreachable) fails with a backend error of kind
/// `Unavailable` or `Timeout` and never yields a key.
pub async fn outage_is_typed(f: &KmsFixture<'_>, wrapped: &WrappedKey) {
    let name = "outage_is_typed";
    let kinds = |r: Result<(), KeysError>, what: &str| match r {
        Err(KeysError::Backend(e))
            if matches!(
                e.kind(),
                BackendErrorKind::Unavailable | BackendErrorKind::Timeout
            ) => {}
        other => panic!("{}", step(name, format!("{what}: {other:?}"))),
    };
    kinds(
        f.kms
            .generate_data_key(&f.kek, &ctx("acme"))
            .await
            .map(drop),
        "generate",
    );
    kinds(
        f.kms
            .wrap(&f.kek, &DataKey::new([3; 32]), &ctx("acme"))
            .await
            .map(drop),
        "wrap",
    );
    kinds(
        f.kms.unwrap(&f.kek, wrapped, &ctx("acme")).await.map(drop),
        "unwrap",
    );
}

/// While the KMS throttles, every operation is a backend error of kind `Throttled` and
/// never yields a key.
pub async fn throttling_is_typed(f: &KmsFixture<'_>, wrapped: &WrappedKey) {
    let name = "throttling_is_typed";
    let kinds = |r: Result<(), KeysError>, what: &str| match r {
        Err(KeysError::Backend(e)) if e.kind() == BackendErrorKind::Throttled => {}
        other => panic!("{}", step(name, format!("{what}: {other:?}"))),
    };
    kinds(
        f.kms
            .generate_data_key(&f.kek, &ctx("acme"))
            .await
            .map(drop),
        "generate",
    );
    kinds(
        f.kms
            .wrap(&f.kek, &DataKey::new([3; 32]), &ctx("acme"))
            .await
            .map(drop),
        "wrap",
    );
    kinds(
        f.kms.unwrap(&f.kek, wrapped, &ctx("acme")).await.map(drop),
        "unwrap",
    );
}
