//! The sealed-credential store and the secret source against a real server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_core::{OsRandom, SecretString, TenantId};
use portcullis_keys::{
    BlobSink, BlobSource, KeyVersion, Keyring, KeysError, MasterKey, Purpose, ReencryptOptions,
    ReplaceOutcome, Sealer, SecretName, SecretSource,
};
use portcullis_postgres::{CredentialId, PgCredentialStore, PgSecretSource, blob_id};

fn sealer() -> Sealer {
    let rng = Arc::new(OsRandom);
    let ring = Keyring::new(
        KeyVersion::new(1).unwrap(),
        MasterKey::generate(rng.as_ref()).unwrap(),
    );
    Sealer::new(Purpose::new("credentials").unwrap(), ring, rng)
}

fn cid(s: &str) -> CredentialId {
    CredentialId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_and_tenant_scoping() {
    let Some(url) = common::db_url("round_trip_and_tenant_scoping") else {
        return;
    };
    let pool = common::fresh_pool(&url, "cred").await;
    let schema = pool.schema().clone();
    let store = PgCredentialStore::new(pool);
    let s = sealer();
    let (a, b) = (common::tenant("a"), common::tenant("b"));
    let id = cid("stripe:acct_42");
    let blob = s.seal(&a, b"stripe:acct_42", b"sk_live_123").unwrap();
    store.put(&a, &id, b"stripe:acct_42", &blob).await.unwrap();

    let got = store.get(&a, &id).await.unwrap().unwrap();
    assert_eq!(got.blob, blob);
    assert_eq!(got.key_version, KeyVersion::new(1).unwrap());
    assert_eq!(
        s.open(&a, &got.context, &got.blob).unwrap().expose_secret(),
        b"sk_live_123"
    );
    // Another tenant sees nothing under the same id, and cannot delete it.
    assert!(store.get(&b, &id).await.unwrap().is_none());
    assert!(!store.delete(&b, &id).await.unwrap());
    assert!(store.get(&a, &id).await.unwrap().is_some());
    // The same id under b is a separate row.
    let blob_b = s.seal(&b, b"stripe:acct_42", b"sk_live_b").unwrap();
    store
        .put(&b, &id, b"stripe:acct_42", &blob_b)
        .await
        .unwrap();
    assert_eq!(store.get(&a, &id).await.unwrap().unwrap().blob, blob);
    // A moved ciphertext does not open for the other tenant.
    assert!(matches!(
        s.open(&b, b"stripe:acct_42", &blob),
        Err(KeysError::Decrypt)
    ));
    // Replace, then delete.
    let blob2 = s.seal(&a, b"stripe:acct_42", b"sk_live_456").unwrap();
    store.put(&a, &id, b"stripe:acct_42", &blob2).await.unwrap();
    assert_eq!(store.get(&a, &id).await.unwrap().unwrap().blob, blob2);
    assert!(store.delete(&a, &id).await.unwrap());
    assert!(store.get(&a, &id).await.unwrap().is_none());
    assert!(store.get(&b, &id).await.unwrap().is_some());
    // Not a sealed blob: refused before any write.
    assert!(store.put(&a, &id, b"x", b"plaintext!").await.is_err());
    assert!(store.get(&a, &id).await.unwrap().is_none());

    // Under RLS the app role sees only the tenant in its setting.
    let c = common::admin(&url).await;
    c.batch_execute("BEGIN; SET LOCAL ROLE portcullis_app")
        .await
        .unwrap();
    c.execute(
        "SELECT set_config('portcullis.tenant_id', $1, true)",
        &[&a.as_str()],
    )
    .await
    .unwrap();
    let n: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".sealed_credentials"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    c.batch_execute("COMMIT").await.unwrap();
    assert_eq!(n, 0, "a has no rows left; b's row is invisible");
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_replace() {
    let Some(url) = common::db_url("compare_and_swap_replace") else {
        return;
    };
    let pool = common::fresh_pool(&url, "cas").await;
    let schema = pool.schema().clone();
    let store = PgCredentialStore::new(pool);
    let s = sealer();
    let t = common::tenant("cas");
    let id = cid("k");
    let v1 = s.seal(&t, b"k", b"one").unwrap();
    let v2 = s.seal(&t, b"k", b"two").unwrap();
    store.put(&t, &id, b"k", &v1).await.unwrap();
    let bid = blob_id(&t, &id).unwrap();
    assert_eq!(
        store.replace(&bid, &v2, &v1).await.unwrap(),
        ReplaceOutcome::Changed
    );
    assert_eq!(
        store.replace(&bid, &v1, &v2).await.unwrap(),
        ReplaceOutcome::Replaced
    );
    assert_eq!(store.get(&t, &id).await.unwrap().unwrap().blob, v2);
    let missing = blob_id(&t, &cid("nope")).unwrap();
    assert_eq!(
        store.replace(&missing, &v1, &v2).await.unwrap(),
        ReplaceOutcome::Missing
    );
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reencrypt_all_over_1000_rows_under_rotation_loses_none() {
    let Some(url) = common::db_url("reencrypt_all_over_1000_rows_under_rotation_loses_none") else {
        return;
    };
    let pool = common::fresh_pool(&url, "rot").await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgCredentialStore::new(pool));
    let s = Arc::new(sealer());
    // Tenant ids chosen so one is a prefix of another: page order must still be bytewise.
    let base = common::tenant("r");
    let tenants: Vec<TenantId> = ["", "-x", "_y", "0"]
        .iter()
        .map(|sfx| TenantId::new(format!("{base}{sfx}")).unwrap())
        .collect();
    let mut expected: HashMap<(TenantId, String), Vec<u8>> = HashMap::new();
    let mut writers = Vec::new();
    for (k, t) in tenants.iter().enumerate() {
        let (store, s, tw) = (Arc::clone(&store), Arc::clone(&s), t.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..250 {
                let id = format!("cred/{i:04}");
                let plain = format!("secret-{k}-{i}").into_bytes();
                let blob = s.seal(&tw, id.as_bytes(), &plain).unwrap();
                store
                    .put(&tw, &cid(&id), id.as_bytes(), &blob)
                    .await
                    .unwrap();
            }
        }));
        for i in 0..250 {
            expected.insert(
                (t.clone(), format!("cred/{i:04}")),
                format!("secret-{k}-{i}").into_bytes(),
            );
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    s.rotate(
        KeyVersion::new(2).unwrap(),
        MasterKey::generate(&OsRandom).unwrap(),
    )
    .unwrap();

    // Re-encrypt while a writer keeps replacing some rows (under the new primary).
    let concurrent = {
        let (store, s, t) = (Arc::clone(&store), Arc::clone(&s), tenants[1].clone());
        tokio::spawn(async move {
            for i in (0..250).step_by(5) {
                let id = format!("cred/{i:04}");
                let blob = s
                    .seal(&t, id.as_bytes(), format!("new-{i}").as_bytes())
                    .unwrap();
                store
                    .put(&t, &cid(&id), id.as_bytes(), &blob)
                    .await
                    .unwrap();
            }
        })
    };
    let opts = ReencryptOptions {
        page_size: 64,
        ..ReencryptOptions::default()
    };
    let first = s
        .reencrypt_all(store.as_ref(), store.as_ref(), opts.clone())
        .await
        .unwrap();
    concurrent.await.unwrap();
    for i in (0..250).step_by(5) {
        expected.insert(
            (tenants[1].clone(), format!("cred/{i:04}")),
            format!("new-{i}").into_bytes(),
        );
    }
    assert!(first.complete);
    assert_eq!(first.scanned, 1000, "every row scanned once: {first:?}");
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    let second = s
        .reencrypt_all(store.as_ref(), store.as_ref(), opts)
        .await
        .unwrap();
    assert_eq!(second.scanned, 1000);
    assert_eq!(
        second.reencrypted, 0,
        "nothing left after the first run: {second:?}"
    );

    // Every row: present, under version 2, opens to the latest value.
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = store.page(after.as_ref(), 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for b in page {
            let (t, id) = portcullis_postgres::split_blob_id(&b.id).unwrap();
            let want = expected.get(&(t.clone(), id.as_str().to_owned())).unwrap();
            assert_eq!(
                s.open(&t, &b.context, &b.blob).unwrap().expose_secret(),
                want.as_slice()
            );
            assert_eq!(
                portcullis_keys::inspect(&b.blob).unwrap().key_version,
                KeyVersion::new(2).unwrap()
            );
            let row = store.get(&t, &id).await.unwrap().unwrap();
            assert_eq!(
                row.key_version,
                KeyVersion::new(2).unwrap(),
                "key_version column"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 1000, "no row lost");
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_source_round_trip() {
    let Some(url) = common::db_url("secret_source_round_trip") else {
        return;
    };
    let pool = common::fresh_pool(&url, "sec").await;
    let schema = pool.schema().clone();
    let s = Arc::new(sealer());
    let src = PgSecretSource::new(pool.clone(), Arc::clone(&s), common::tenant("deploy"));
    let other = PgSecretSource::new(pool, s, common::tenant("deploy"));
    let name = SecretName::new("stripe/api_key").unwrap();
    assert!(src.fetch(&name).await.unwrap().is_none());
    src.put(&name, &SecretString::new("sk_test_1".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        src.fetch(&name).await.unwrap().unwrap().expose_secret(),
        "sk_test_1"
    );
    assert!(
        other.fetch(&name).await.unwrap().is_none(),
        "scoped to its tenant"
    );
    // The table holds no plaintext.
    let c = common::admin(&url).await;
    let blob: Vec<u8> = c
        .query_one(
            &format!("SELECT blob FROM \"{schema}\".sealed_secrets"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!blob.windows(9).any(|w| w == b"sk_test_1"));
    common::drop_schema(&url, &schema).await;
}
