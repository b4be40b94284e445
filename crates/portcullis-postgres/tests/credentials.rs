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

use portcullis_core::{OsRandom, Provider, SecretString, TenantId};
use portcullis_keys::{
    BlobSink, BlobSource, KeyVersion, KeysError, MasterKey, MasterKeys, Purpose, ReencryptOptions,
    ReplaceOutcome, Sealer, SecretName, SecretSource,
};
use portcullis_postgres::{
    CredentialId, PgCredentialStore, PgPool, PgSecretSource, blob_id, credential_context,
};

fn sealer() -> Sealer {
    let rng = Arc::new(OsRandom);
    let ring = MasterKeys::new(
        KeyVersion::new(1).unwrap(),
        MasterKey::generate(rng.as_ref()).unwrap(),
    );
    Sealer::new(
        Purpose::new("credentials").unwrap(),
        ring,
        Provider::system(),
    )
}

fn cid(s: &str) -> CredentialId {
    CredentialId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_and_tenant_scoping() {
    let Some(url) = common::db_url("round_trip_and_tenant_scoping") else {
        return;
    };
    round_trip(&url, common::fresh_pool(&url, "cred").await).await;
}

/// The same on a schema whose audit tables are hash-partitioned (migration 8): the
/// credential tables are the same, and must work the same beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_and_tenant_scoping_on_a_partitioned_schema() {
    let Some(url) = common::db_url("round_trip_and_tenant_scoping_on_a_partitioned_schema") else {
        return;
    };
    round_trip(
        &url,
        common::fresh_pool_partitioned(&url, "credp", Some(4)).await,
    )
    .await;
}

async fn round_trip(url: &str, pool: PgPool) {
    let url = url.to_owned();
    let schema = pool.schema().clone();
    let s = Arc::new(sealer());
    let store = PgCredentialStore::new(pool, Arc::clone(&s));
    let (a, b) = (common::tenant("a"), common::tenant("b"));
    let id = cid("stripe:acct_42");
    assert!(store.open(&a, &id).await.unwrap().is_none());
    store.put(&a, &id, b"sk_live_123").await.unwrap();

    assert_eq!(
        store.open(&a, &id).await.unwrap().unwrap().expose_secret(),
        b"sk_live_123"
    );
    let got = store.get(&a, &id).await.unwrap().unwrap();
    let blob = got.blob.clone();
    assert_eq!(got.key_version, KeyVersion::new(1).unwrap());
    assert!(
        !blob.windows(11).any(|w| w == b"sk_live_123"),
        "no plaintext"
    );
    // The documented context opens it by hand.
    assert_eq!(
        s.open(&a, &credential_context(&id), &got.blob)
            .unwrap()
            .expose_secret(),
        b"sk_live_123"
    );
    assert_eq!(
        credential_context(&id),
        b"portcullis-postgres/credential:stripe:acct_42"
    );
    // Another tenant sees nothing under the same id, and cannot delete it.
    assert!(store.get(&b, &id).await.unwrap().is_none());
    assert!(store.open(&b, &id).await.unwrap().is_none());
    assert!(!store.delete(&b, &id).await.unwrap());
    assert!(store.get(&a, &id).await.unwrap().is_some());
    // The same id under b is a separate row.
    store.put(&b, &id, b"sk_live_b").await.unwrap();
    assert_eq!(store.get(&a, &id).await.unwrap().unwrap().blob, blob);
    assert_eq!(
        store.open(&b, &id).await.unwrap().unwrap().expose_secret(),
        b"sk_live_b"
    );
    // A moved ciphertext does not open for the other tenant.
    assert!(matches!(
        s.open(&b, &credential_context(&id), &blob),
        Err(KeysError::Decrypt)
    ));
    // Replace, then delete.
    store.put(&a, &id, b"sk_live_456").await.unwrap();
    assert_ne!(store.get(&a, &id).await.unwrap().unwrap().blob, blob);
    assert_eq!(
        store.open(&a, &id).await.unwrap().unwrap().expose_secret(),
        b"sk_live_456"
    );
    assert!(store.delete(&a, &id).await.unwrap());
    assert!(store.get(&a, &id).await.unwrap().is_none());
    assert!(store.get(&b, &id).await.unwrap().is_some());

    // Under RLS the app role sees only the tenant in its setting.
    let c = common::admin(&url).await;
    c.batch_execute(&format!("BEGIN; SET LOCAL ROLE {}", schema.app_role()))
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

/// Finding: the AEAD context was a column the app role could rewrite, so copying
/// `(context, blob)` from credential A onto credential B made B open to A's secret. Now
/// the context is derived from the row's id: a copied blob fails to open, through the
/// store and through re-encryption, with a typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_copied_onto_another_row_does_not_open() {
    let Some(url) = common::db_url("a_blob_copied_onto_another_row_does_not_open") else {
        return;
    };
    let pool = common::fresh_pool(&url, "copy").await;
    let schema = pool.schema().clone();
    let s = Arc::new(sealer());
    let store = PgCredentialStore::new(pool, Arc::clone(&s));
    let t = common::tenant("copy");
    let (a, b) = (cid("github:admin-token"), cid("github:read-token"));
    store.put(&t, &a, b"ghp_admin").await.unwrap();
    store.put(&t, &b, b"ghp_read").await.unwrap();

    // As the table owner (the superuser here: it bypasses grants and row-level
    // security), copy every column A has onto B.
    let c = common::admin(&url).await;
    let n = c
        .execute(
            &format!(
                "WITH src AS (SELECT * FROM \"{schema}\".sealed_credentials
                              WHERE tenant_id = $1 AND credential_id = $2)
                 UPDATE \"{schema}\".sealed_credentials d
                 SET key_version = src.key_version, blob = src.blob
                 FROM src WHERE d.tenant_id = $1 AND d.credential_id = $3"
            ),
            &[&t.as_str(), &a.as_str(), &b.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "the copy happened");
    assert_eq!(
        store.get(&t, &a).await.unwrap().unwrap().blob,
        store.get(&t, &b).await.unwrap().unwrap().blob
    );
    // B no longer opens (it would have opened to A's secret); A still does.
    assert!(matches!(store.open(&t, &b).await, Err(KeysError::Decrypt)));
    assert_eq!(
        store.open(&t, &a).await.unwrap().unwrap().expose_secret(),
        b"ghp_admin"
    );
    // Re-encryption derives the same context, so it reports B as failed, not re-sealed
    // under B's context.
    s.rotate(
        KeyVersion::new(2).unwrap(),
        MasterKey::generate(&OsRandom).unwrap(),
    )
    .unwrap();
    let report = s
        .reencrypt_all(&store, &store, ReencryptOptions::default())
        .await
        .unwrap();
    assert_eq!(report.scanned, 2);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, blob_id(&t, &b).unwrap(), "{report:?}");
    assert!(matches!(store.open(&t, &b).await, Err(KeysError::Decrypt)));
    assert_eq!(
        store.open(&t, &a).await.unwrap().unwrap().expose_secret(),
        b"ghp_admin"
    );

    // The app role has no caller-supplied context column to rewrite any more.
    let cols: Vec<String> = c
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = $1 AND table_name = 'sealed_credentials'",
            &[&schema.as_str()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!cols.iter().any(|c| c == "context"), "{cols:?}");
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_replace() {
    let Some(url) = common::db_url("compare_and_swap_replace") else {
        return;
    };
    let pool = common::fresh_pool(&url, "cas").await;
    let schema = pool.schema().clone();
    let s = Arc::new(sealer());
    let store = PgCredentialStore::new(pool, Arc::clone(&s));
    let t = common::tenant("cas");
    let id = cid("k");
    store.put(&t, &id, b"one").await.unwrap();
    let v1 = store.get(&t, &id).await.unwrap().unwrap().blob;
    let v2 = s.seal(&t, &credential_context(&id), b"two").unwrap();
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
    assert_eq!(
        store.open(&t, &id).await.unwrap().unwrap().expose_secret(),
        b"two"
    );
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
    let s = Arc::new(sealer());
    let store = Arc::new(PgCredentialStore::new(pool, Arc::clone(&s)));
    // Tenant ids chosen so one is a prefix of another: page order must still be bytewise.
    let base = common::tenant("r");
    let tenants: Vec<TenantId> = ["", "-x", "_y", "0"]
        .iter()
        .map(|sfx| TenantId::new(format!("{base}{sfx}")).unwrap())
        .collect();
    let mut expected: HashMap<(TenantId, String), Vec<u8>> = HashMap::new();
    let mut writers = Vec::new();
    for (k, t) in tenants.iter().enumerate() {
        let (store, tw) = (Arc::clone(&store), t.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..250 {
                let id = format!("cred/{i:04}");
                let plain = format!("secret-{k}-{i}").into_bytes();
                store.put(&tw, &cid(&id), &plain).await.unwrap();
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
        let (store, t) = (Arc::clone(&store), tenants[1].clone());
        tokio::spawn(async move {
            for i in (0..250).step_by(5) {
                let id = format!("cred/{i:04}");
                store
                    .put(&t, &cid(&id), format!("new-{i}").as_bytes())
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
            assert_eq!(b.context, credential_context(&id));
            assert_eq!(
                s.open(&t, &b.context, &b.blob).unwrap().expose_secret(),
                want.as_slice()
            );
            assert_eq!(
                store.open(&t, &id).await.unwrap().unwrap().expose_secret(),
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
