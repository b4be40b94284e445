//! One open for every format; several KEKs; rewrap; upgrades of formats 1 and 2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use common::{key, sealer, tenant, v};
use portcullis_core::{KeyId, Provider};
use portcullis_keys::{
    BlobKind, DataKey, Envelope, EnvelopeConfig, FORMAT_V3, KeysError, Kms, KmsContext, LocalKms,
    MasterKey, MasterKeys, Opener, Purpose, Sealer, TenantSalt, inspect, inspect_any,
};
use portcullis_testkit::SeededRandom;

fn provider(seed: u64) -> Provider {
    Provider::from_parts(
        Arc::new(portcullis_core::SystemClock),
        Arc::new(SeededRandom::new(seed)),
    )
}

fn kek(name: &str) -> KeyId {
    KeyId::new(name).unwrap()
}

fn kms(names: &[(&str, u8)]) -> Arc<LocalKms> {
    let mut kms = LocalKms::new(provider(3));
    for (name, byte) in names {
        kms = kms.with_kek(kek(name), &key(*byte)).unwrap();
    }
    Arc::new(kms)
}

fn envelope(kms: Arc<dyn Kms>, primary: &str) -> Envelope {
    Envelope::new(kms, kek(primary), provider(5), EnvelopeConfig::default())
}

fn lp(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&u32::try_from(b.len()).unwrap().to_be_bytes());
    out.extend_from_slice(b);
}

/// A format 2 blob built from its documented layout (what `Envelope` wrote before
/// format 3).
async fn format_2_blob(kms: &LocalKms, kek_name: &str, t: &str, ctx: &[u8], pt: &[u8]) -> Vec<u8> {
    let dk = DataKey::new([0x5a; 32]);
    let kctx = KmsContext::new()
        .with("portcullis.purpose", "envelope")
        .with("portcullis.tenant", t);
    let wrapped = kms.wrap(&kek(kek_name), &dk, &kctx).await.unwrap();
    let nonce = [9u8; 12];
    let mut aad = vec![0x02];
    lp(&mut aad, kek_name.as_bytes());
    lp(&mut aad, wrapped.as_bytes());
    lp(&mut aad, t.as_bytes());
    lp(&mut aad, ctx);
    let body = Aes256Gcm::new_from_slice(dk.expose_secret())
        .unwrap()
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: pt, aad: &aad })
        .unwrap();
    let mut blob = vec![0x02];
    blob.extend_from_slice(&u16::try_from(kek_name.len()).unwrap().to_be_bytes());
    blob.extend_from_slice(kek_name.as_bytes());
    blob.extend_from_slice(
        &u16::try_from(wrapped.as_bytes().len())
            .unwrap()
            .to_be_bytes(),
    );
    blob.extend_from_slice(wrapped.as_bytes());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&body);
    blob
}

#[tokio::test]
async fn one_open_reads_sealer_and_envelope_blobs_of_every_format() {
    let s = Arc::new(sealer());
    let k = kms(&[("kek-1", 1)]);
    let e = Arc::new(envelope(k.clone(), "kek-1"));
    let opener = Opener::new()
        .with_sealer(s.clone())
        .with_envelope(e.clone());
    let t = tenant("acme");
    let v3_sealed = s.seal(&t, b"row:1", b"sealed").unwrap();
    let v3_env = e.seal(&t, b"row:2", b"enveloped").await.unwrap();
    let v2_env = format_2_blob(&k, "kek-1", "acme", b"row:3", b"old envelope").await;
    for (blob, ctx, pt) in [
        (&v3_sealed, &b"row:1"[..], &b"sealed"[..]),
        (&v3_env, b"row:2", b"enveloped"),
        (&v2_env, b"row:3", b"old envelope"),
    ] {
        assert_eq!(
            opener.open(&t, ctx, blob).await.unwrap().expose_secret(),
            pt
        );
        // Still bound to tenant and context through the one call.
        assert!(matches!(
            opener.open(&tenant("globex"), ctx, blob).await,
            Err(KeysError::Decrypt)
        ));
        assert!(matches!(
            opener.open(&t, b"row:9", blob).await,
            Err(KeysError::Decrypt)
        ));
    }
    assert!(
        matches!(inspect_any(&v3_sealed).unwrap(), BlobKind::Sealed(h) if h.key_version == v(1))
    );
    assert!(
        matches!(inspect_any(&v2_env).unwrap(), BlobKind::Envelope { format: 2, kek } if kek == b"kek-1")
    );
    assert!(matches!(
        inspect(&v3_env),
        Err(KeysError::OtherKeySource("an envelope"))
    ));
}

#[tokio::test]
async fn an_opener_without_the_keys_for_a_kind_says_so() {
    let s = Arc::new(sealer());
    let e = Arc::new(envelope(kms(&[("kek-1", 1)]), "kek-1"));
    let t = tenant("acme");
    let sealed = s.seal(&t, b"c", b"x").unwrap();
    let enveloped = e.seal(&t, b"c", b"x").await.unwrap();
    let only_sealer = Opener::new().with_sealer(s.clone());
    let only_envelope = Opener::new().with_envelope(e.clone());
    assert!(matches!(
        only_sealer.open(&t, b"c", &enveloped).await,
        Err(KeysError::OtherKeySource("an envelope"))
    ));
    assert!(matches!(
        only_envelope.open(&t, b"c", &sealed).await,
        Err(KeysError::OtherKeySource("a sealed"))
    ));
    assert!(matches!(
        s.open(&t, b"c", &enveloped),
        Err(KeysError::OtherKeySource("an envelope"))
    ));
    // A salt is never silently ignored: envelope blobs are not salted.
    let salt = TenantSalt::from_slice(1, &[7; 32]).unwrap();
    assert!(matches!(
        only_envelope.open_salted(&t, &salt, b"c", &enveloped).await,
        Err(KeysError::InvalidInput { what: "salt", .. })
    ));
    let salted = s.seal_salted(&t, &salt, b"c", b"y").unwrap();
    assert_eq!(
        only_sealer
            .open_salted(&t, &salt, b"c", &salted)
            .await
            .unwrap()
            .expose_secret(),
        b"y"
    );
    assert!(matches!(
        only_sealer.open(&t, b"c", &salted).await,
        Err(KeysError::Decrypt)
    ));
}

#[tokio::test]
async fn an_envelope_opens_blobs_of_every_kek_it_was_given_and_seals_with_the_primary() {
    let old_kms = kms(&[("kek-old", 1)]);
    let new_kms = kms(&[("kek-new", 2)]);
    let t = tenant("acme");
    let before = envelope(old_kms.clone(), "kek-old");
    let old_blob = before.seal(&t, b"c", b"before rotation").await.unwrap();
    let after =
        envelope(new_kms.clone(), "kek-new").with_decrypt_kek(kek("kek-old"), old_kms.clone());
    assert_eq!(after.primary_kek(), &kek("kek-new"));
    assert_eq!(
        after
            .open(&t, b"c", &old_blob)
            .await
            .unwrap()
            .expose_secret(),
        b"before rotation"
    );
    let new_blob = after.seal(&t, b"c", b"after").await.unwrap();
    assert_eq!(
        inspect_any(&new_blob).unwrap(),
        BlobKind::Envelope {
            format: 3,
            kek: b"kek-new".to_vec()
        }
    );
    // Without the old KEK the old blob names an unknown KEK.
    let only_new = envelope(new_kms.clone(), "kek-new");
    assert!(matches!(
        only_new.open(&t, b"c", &old_blob).await,
        Err(KeysError::UnknownKek(_))
    ));
}

#[tokio::test]
async fn rewrap_moves_the_data_key_to_the_primary_kek_and_keeps_the_ciphertext() {
    let old_kms = kms(&[("kek-old", 1)]);
    let new_kms = kms(&[("kek-new", 2)]);
    let t = tenant("acme");
    let before = envelope(old_kms.clone(), "kek-old");
    let blobs: Vec<Vec<u8>> = futures::future::join_all(
        (0..5).map(|i| before.seal(&t, b"c", format!("secret {i}").into_bytes().leak())),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let migrating =
        envelope(new_kms.clone(), "kek-new").with_decrypt_kek(kek("kek-old"), old_kms.clone());
    let base = migrating.stats();
    let mut moved = Vec::new();
    for blob in &blobs {
        let r = migrating.rewrap(&t, b"c", blob).await.unwrap();
        assert!(r.changed);
        // Same nonce, commitment, ciphertext and tag: only the key source changed.
        let tail = 12 + 32 + "secret 0".len() + 16;
        assert_eq!(r.blob[r.blob.len() - tail..], blob[blob.len() - tail..]);
        moved.push(r.blob);
    }
    // The five blobs share one data key: one unwrap for opening, one unwrap and one
    // wrap for the rewrap, none per further blob.
    let stats = migrating.stats();
    assert_eq!(stats.wraps - base.wraps, 1, "{stats:?}");
    assert_eq!(stats.unwraps - base.unwraps, 2, "{stats:?}");
    // The new blobs open with the new KEK alone, and rewrapping them again changes nothing.
    let only_new = envelope(new_kms.clone(), "kek-new");
    for (i, blob) in moved.iter().enumerate() {
        assert_eq!(
            only_new.open(&t, b"c", blob).await.unwrap().expose_secret(),
            format!("secret {i}").as_bytes()
        );
        let again = only_new.rewrap(&t, b"c", blob).await.unwrap();
        assert!(!again.changed);
        assert_eq!(&again.blob, blob);
    }
}

#[tokio::test]
async fn rewrap_refuses_a_tampered_blob_and_upgrades_format_2() {
    let old_kms = kms(&[("kek-old", 1)]);
    let t = tenant("acme");
    let before = envelope(old_kms.clone(), "kek-old");
    let mut blob = before.seal(&t, b"c", b"secret").await.unwrap();
    let last = blob.len() - 1;
    blob[last] ^= 1;
    let migrating = envelope(kms(&[("kek-new", 2)]), "kek-new")
        .with_decrypt_kek(kek("kek-old"), old_kms.clone());
    assert!(matches!(
        migrating.rewrap(&t, b"c", &blob).await,
        Err(KeysError::Decrypt)
    ));
    assert!(matches!(
        migrating
            .rewrap(&t, b"other", &before.seal(&t, b"c", b"x").await.unwrap())
            .await,
        Err(KeysError::Decrypt)
    ));
    let v2 = format_2_blob(&old_kms, "kek-old", "acme", b"c", b"legacy").await;
    let r = migrating.rewrap(&t, b"c", &v2).await.unwrap();
    assert!(r.changed);
    assert_eq!(
        inspect_any(&r.blob).unwrap(),
        BlobKind::Envelope {
            format: FORMAT_V3,
            kek: b"kek-new".to_vec()
        }
    );
    assert_eq!(
        migrating
            .open(&t, b"c", &r.blob)
            .await
            .unwrap()
            .expose_secret(),
        b"legacy"
    );
    // A sealer blob is not the envelope's to rewrap.
    let sealed = sealer().seal(&t, b"c", b"x").unwrap();
    assert!(matches!(
        migrating.rewrap(&t, b"c", &sealed).await,
        Err(KeysError::OtherKeySource(_))
    ));
}

#[test]
fn reencrypt_upgrades_format_1_even_at_the_primary_and_leaves_format_3_alone() {
    let vectors = include_str!("vectors/sealed_blob_v1.txt");
    let blob_hex = vectors
        .lines()
        .find_map(|l| l.strip_prefix("blob = "))
        .unwrap();
    let blob = hex::decode(blob_hex).unwrap();
    let master: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
    let s = Sealer::new(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(v(3), MasterKey::new(master)),
        provider(8),
    );
    let t = tenant("acme-corp");
    let r = s.reencrypt(&t, None, b"credential:42", &blob).unwrap();
    assert!(r.changed);
    assert_eq!((r.from, r.to), (v(3), v(3)));
    assert!(inspect(&r.blob).unwrap().is_key_committing());
    assert_eq!(
        s.open(&t, b"credential:42", &r.blob)
            .unwrap()
            .expose_secret(),
        b"sk_live_portcullis_example"
    );
    let again = s.reencrypt(&t, None, b"credential:42", &r.blob).unwrap();
    assert!(!again.changed);
    assert_eq!(again.blob, r.blob);
    // A format 1 blob above the primary is not touched (never downgraded).
    let lower = Sealer::new(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(v(2), key(2)),
        provider(8),
    );
    lower.insert_key(v(3), MasterKey::new(master)).unwrap();
    let kept = lower.reencrypt(&t, None, b"credential:42", &blob).unwrap();
    assert!(!kept.changed);
    assert_eq!(kept.blob, blob);
}

#[tokio::test]
async fn rewrap_remembers_every_data_key_it_moved_not_only_the_last() {
    let old_kms = kms(&[("kek-old", 1)]);
    let before = envelope(old_kms.clone(), "kek-old");
    let (a, b) = (tenant("acme"), tenant("globex"));
    let mut blobs = Vec::new();
    for i in 0..3 {
        blobs.push((
            a.clone(),
            before
                .seal(&a, b"c", format!("a{i}").as_bytes())
                .await
                .unwrap(),
        ));
        blobs.push((
            b.clone(),
            before
                .seal(&b, b"c", format!("b{i}").as_bytes())
                .await
                .unwrap(),
        ));
    }
    let migrating = envelope(kms(&[("kek-new", 2)]), "kek-new")
        .with_decrypt_kek(kek("kek-old"), old_kms.clone());
    for (t, blob) in &blobs {
        assert!(migrating.rewrap(t, b"c", blob).await.unwrap().changed);
    }
    // Two data keys (one per tenant), interleaved: one wrap each.
    assert_eq!(migrating.stats().wraps, 2, "{:?}", migrating.stats());
}
