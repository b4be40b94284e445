//! Issue 13, finding 4: sealed runtime secrets survive master-key rotation. The crate
//! docs' rotation runbook, step by step: seal under v1, rotate to v2, re-encrypt the
//! credentials and the secrets as the rotator login, fence, retire v1; every credential
//! and secret still opens, under v2 only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use portcullis_core::{OsRandom, Provider, SecretString};
use portcullis_keys::{
    BlobSource, KeyVersion, KeysError, MasterKey, MasterKeys, Purpose, ReencryptOptions, Sealer,
    SecretName, SecretSource,
};
use portcullis_postgres::{CredentialId, PgCredentialStore, PgOptions, PgPool, PgSecretSource};

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotation_runbook_keeps_every_credential_and_secret() {
    let Some(url) = common::db_url("the_rotation_runbook_keeps_every_credential_and_secret") else {
        return;
    };
    let pool = common::fresh_pool(&url, "runbook").await;
    let schema = pool.schema().clone();
    let purpose = Purpose::new("deployment").unwrap();
    let key_v2 = MasterKey::generate(&OsRandom).unwrap();
    let sealer = Arc::new(Sealer::new(
        purpose.clone(),
        MasterKeys::new(v(1), MasterKey::generate(&OsRandom).unwrap()),
        Provider::system(),
    ));

    // Under v1: credentials of two tenants, secrets of two deployment tenants (names
    // holding `/` and `:`, which the blob id must split correctly).
    let creds = PgCredentialStore::new(pool.clone(), Arc::clone(&sealer));
    let (ta, tb) = (common::tenant("a"), common::tenant("b"));
    let mut credentials = Vec::new();
    for (t, n) in [(&ta, 0), (&ta, 1), (&tb, 2)] {
        let id = CredentialId::new(format!("github:token/{n}")).unwrap();
        let value = format!("ghp_{n}");
        creds.put(t, &id, value.as_bytes()).await.unwrap();
        credentials.push((t.clone(), id, value));
    }
    let (d1, d2) = (common::tenant("deploy"), common::tenant("deploy"));
    let src1 = PgSecretSource::new(pool.clone(), Arc::clone(&sealer), d1.clone());
    let src2 = PgSecretSource::new(pool.clone(), Arc::clone(&sealer), d2.clone());
    let mut resolvable = Vec::new();
    for (src, tenant, name, value) in [
        (&src1, &d1, "stripe/api_key", "sk_live_1"),
        (&src1, &d1, "db:password", "pw-1"),
        (&src2, &d2, "stripe/api_key", "sk_live_2"),
    ] {
        let name = SecretName::new(name).unwrap();
        src.put(&name, &SecretString::new(value.to_owned()))
            .await
            .unwrap();
        resolvable.push((tenant.clone(), name, value));
    }
    let c = common::admin(&url).await;
    let versions = |table: &'static str| {
        let c = &c;
        let schema = &schema;
        async move {
            c.query(
                &format!(
                    "SELECT DISTINCT key_version FROM \"{schema}\".{table} ORDER BY key_version"
                ),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, i32>(0))
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(versions("sealed_credentials").await, vec![1]);
    assert_eq!(versions("sealed_secrets").await, vec![1]);
    let old_secret_blob: Vec<u8> = c
        .query_one(
            &format!(
                "SELECT blob FROM \"{schema}\".sealed_secrets
                 WHERE tenant_id = $1 AND name = 'stripe/api_key'"
            ),
            &[&d1.as_str()],
        )
        .await
        .unwrap()
        .get(0);

    // The re-encryption job's own login, granted only the schema's rotator role.
    let login = format!("pgt_rotate_{}", common::suffix());
    c.batch_execute(&format!(
        "CREATE ROLE {login} LOGIN NOINHERIT; GRANT {} TO {login};",
        schema.rotator_role()
    ))
    .await
    .unwrap();
    let rot_pool = PgPool::connect(
        &common::url_as(&url, &login),
        PgOptions {
            schema: schema.clone(),
            ..PgOptions::default()
        },
    )
    .unwrap();
    let rot_creds = PgCredentialStore::new(rot_pool.clone(), Arc::clone(&sealer));
    let rot_secrets = PgSecretSource::new(rot_pool, Arc::clone(&sealer), d1.clone());
    // It sees every tenant's secrets, not only its own tenant's.
    assert_eq!(rot_secrets.page(None, 100).await.unwrap().len(), 3);

    // 1. Add v2 as primary.
    sealer.rotate(v(2), key_v2.clone()).unwrap();
    // 2. Re-encrypt both tables; nothing failed, nothing conflicted.
    let options = ReencryptOptions {
        page_size: 2,
        ..ReencryptOptions::default()
    };
    for (source, sink, n) in [
        (
            &rot_creds as &dyn BlobSource,
            &rot_creds as &dyn portcullis_keys::BlobSink,
            3,
        ),
        (&rot_secrets, &rot_secrets, 3),
    ] {
        let report = sealer
            .reencrypt_all(source, sink, options.clone())
            .await
            .unwrap();
        assert_eq!(
            (report.scanned, report.reencrypted, report.conflicts),
            (n, n, 0),
            "{report:?}"
        );
        assert!(report.failed.is_empty(), "{report:?}");
    }
    assert_eq!(versions("sealed_credentials").await, vec![2]);
    assert_eq!(versions("sealed_secrets").await, vec![2]);
    // 3. Fence: a second run finds nothing left under v1.
    sealer.set_min_decrypt_version(v(2)).unwrap();
    let again = sealer
        .reencrypt_all(&rot_secrets, &rot_secrets, options)
        .await
        .unwrap();
    assert_eq!((again.reencrypted, again.already_current), (0, 3));
    // 4. Retire v1.
    sealer.retire(v(1)).unwrap();

    // Every credential and secret still opens, here and in a process that only ever
    // loaded v2.
    let fresh = Arc::new(Sealer::new(
        purpose,
        MasterKeys::new(v(2), key_v2),
        Provider::system(),
    ));
    for s in [&sealer, &fresh] {
        let creds = PgCredentialStore::new(pool.clone(), Arc::clone(s));
        for (t, id, value) in &credentials {
            let got = creds.open(t, id).await.unwrap().unwrap();
            assert_eq!(got.expose_secret(), value.as_bytes());
        }
        for (tenant, name, value) in &resolvable {
            let src = PgSecretSource::new(pool.clone(), Arc::clone(s), tenant.clone());
            let got = src.fetch(name).await.unwrap().unwrap();
            assert_eq!(got.expose_secret(), *value);
        }
    }
    // The v1 blob of before no longer opens: the rotation really happened.
    let context = b"portcullis-postgres/secret:stripe/api_key";
    assert!(matches!(
        sealer.open(&d1, context, &old_secret_blob),
        Err(KeysError::RetiredKeyVersion(r)) if r == v(1)
    ));
    assert!(matches!(
        fresh.open(&d1, context, &old_secret_blob),
        Err(KeysError::UnknownKeyVersion(r)) if r == v(1)
    ));
    common::drop_schema(&url, &schema).await;
    let _ = c.batch_execute(&format!("DROP ROLE {login}")).await;
}
