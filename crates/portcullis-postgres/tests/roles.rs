//! Issue 13, finding 2: each schema has its own roles, so a login granted one
//! deployment's application role cannot reach another deployment's rows on the same
//! server; `migrate` refuses to adopt an existing role that may log in, is a superuser or
//! bypasses row-level security, and then changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use std::sync::Arc;

use portcullis_audit::{AuditError, AuditStore};
use portcullis_core::{OsRandom, Provider, SecretString};
use portcullis_keys::{
    BlobSource, KeyVersion, KeysError, MasterKey, MasterKeys, Purpose, Sealer, SecretName,
    SecretSource,
};
use portcullis_postgres::{
    CredentialId, PgAuditStore, PgCredentialStore, PgOptions, PgPool, PgSecretSource,
    PostgresError, SchemaName, migrate,
};
use tokio_postgres::error::SqlState;

fn sealer() -> Arc<Sealer> {
    let ring = MasterKeys::new(
        KeyVersion::new(1).unwrap(),
        MasterKey::generate(&OsRandom).unwrap(),
    );
    Arc::new(Sealer::new(
        Purpose::new("credentials").unwrap(),
        ring,
        Provider::system(),
    ))
}

fn pool(url: &str, schema: &SchemaName) -> PgPool {
    PgPool::connect(
        url,
        PgOptions {
            schema: schema.clone(),
            ..PgOptions::default()
        },
    )
    .unwrap()
}

/// The server's SQLSTATE somewhere in `err`'s source chain.
fn sqlstate(err: &(dyn std::error::Error + 'static)) -> Option<SqlState> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
            return pg.code().cloned();
        }
        cur = e.source();
    }
    None
}

fn audit_denied<T: std::fmt::Debug>(r: Result<T, AuditError>, what: &str) {
    match r {
        Err(e @ AuditError::Backend(_)) => assert_eq!(
            sqlstate(&e),
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "{what}: {e:?}"
        ),
        other => panic!("{what} must be denied: {other:?}"),
    }
}

fn keys_denied<T: std::fmt::Debug>(r: Result<T, KeysError>, what: &str) {
    match r {
        Err(e @ KeysError::Backend(_)) => assert_eq!(
            sqlstate(&e),
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "{what}: {e:?}"
        ),
        other => panic!("{what} must be denied: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_of_one_deployment_cannot_touch_anothers_rows() {
    let Some(url) = common::db_url("a_login_of_one_deployment_cannot_touch_anothers_rows") else {
        return;
    };
    let pool_a = common::fresh_pool(&url, "depa").await;
    let pool_b = common::fresh_pool(&url, "depb").await;
    let (sa, sb) = (pool_a.schema().clone(), pool_b.schema().clone());
    assert_ne!(sa.app_role(), sb.app_role());
    // Deployment B's rows, under the same tenant id A uses.
    let t = common::tenant("shared");
    let s = sealer();
    let audit_b = PgAuditStore::new(pool_b.clone());
    audit_b
        .append(&t, (0..3).map(pending).collect())
        .await
        .unwrap();
    let creds_b = PgCredentialStore::new(pool_b.clone(), Arc::clone(&s));
    let cred = CredentialId::new("stripe:acct_b").unwrap();
    creds_b.put(&t, &cred, b"sk_live_b").await.unwrap();
    let secret = SecretName::new("db-password").unwrap();
    let secrets_b = PgSecretSource::new(pool_b.clone(), Arc::clone(&s), t.clone());
    secrets_b
        .put(&secret, &SecretString::new("b-secret".to_owned()))
        .await
        .unwrap();

    // A's service login, set up as the crate docs say.
    let login = format!("pgt_login_{}", common::suffix());
    let c = common::admin(&url).await;
    c.batch_execute(&format!(
        "CREATE ROLE {login} LOGIN NOINHERIT; GRANT {} TO {login};",
        sa.app_role()
    ))
    .await
    .unwrap();
    let login_url = common::url_as(&url, &login);

    // It works for A (so the denials below are about B, not a broken login).
    let audit_a = PgAuditStore::new(pool(&login_url, &sa));
    audit_a.append(&t, vec![pending(0)]).await.unwrap();
    assert_eq!(audit_a.read(&t, 0, u64::MAX).await.unwrap().len(), 1);

    // Through B's stores, every read, write and delete is refused by the server.
    let pool_b_as_a = pool(&login_url, &sb);
    let audit = PgAuditStore::new(pool_b_as_a.clone());
    audit_denied(audit.read(&t, 0, u64::MAX).await, "audit read");
    audit_denied(audit.head(&t).await, "audit head");
    audit_denied(audit.append(&t, vec![pending(9)]).await, "audit append");
    audit_denied(
        audit.store_checkpoint(&t, 0, "x\n").await,
        "audit checkpoint",
    );
    let creds = PgCredentialStore::new(pool_b_as_a.clone(), Arc::clone(&s));
    keys_denied(creds.get(&t, &cred).await, "credential get");
    keys_denied(creds.delete(&t, &cred).await, "credential delete");
    keys_denied(creds.put(&t, &cred, b"x").await, "credential put");
    keys_denied(creds.page(None, 10).await, "credential page (rotator)");
    let secrets = PgSecretSource::new(pool_b_as_a, Arc::clone(&s), t.clone());
    keys_denied(secrets.fetch(&secret).await, "secret fetch");
    keys_denied(secrets.page(None, 10).await, "secret page (rotator)");

    // By hand, as A's application role, and as B's (which the login may not become).
    let (raw, conn) = tokio_postgres::connect(&login_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let tables = [
        format!("SELECT count(*) FROM \"{sb}\".audit_entries"),
        format!("DELETE FROM \"{sb}\".sealed_credentials"),
        format!("DELETE FROM \"{sb}\".sealed_secrets"),
        format!(
            "INSERT INTO \"{sb}\".audit_checkpoints (tenant_id, size, note) VALUES ('{t}', 0, 'x')"
        ),
        format!("UPDATE \"{sb}\".audit_heads SET size = size + 1"),
    ];
    for role in [sa.app_role(), login.clone()] {
        for sql in &tables {
            raw.batch_execute(&format!("BEGIN; SET LOCAL ROLE {role}"))
                .await
                .unwrap();
            raw.execute(
                "SELECT set_config('portcullis.tenant_id', $1, true)",
                &[&t.as_str()],
            )
            .await
            .unwrap();
            let err = raw.execute(sql, &[]).await.expect_err(sql);
            raw.batch_execute("ROLLBACK").await.unwrap();
            assert_eq!(
                err.code(),
                Some(&SqlState::INSUFFICIENT_PRIVILEGE),
                "{sql} as {role}"
            );
        }
    }
    for role in [sb.app_role(), sb.rotator_role()] {
        let err = raw
            .batch_execute(&format!("SET ROLE {role}"))
            .await
            .expect_err(&role);
        assert_eq!(
            err.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{role}"
        );
    }

    // B's rows are as B wrote them.
    assert_eq!(audit_b.read(&t, 0, u64::MAX).await.unwrap().len(), 3);
    assert_eq!(
        creds_b
            .open(&t, &cred)
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"sk_live_b"
    );
    assert_eq!(
        secrets_b
            .fetch(&secret)
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "b-secret"
    );
    drop(raw);
    common::drop_schema(&url, &sa).await;
    common::drop_schema(&url, &sb).await;
    let _ = c.batch_execute(&format!("DROP ROLE {login}")).await;
}

/// Whether `schema` exists, and which of its roles do.
async fn state(c: &tokio_postgres::Client, schema: &SchemaName) -> (bool, Vec<String>) {
    let exists: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    let roles = c
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname",
            &[&vec![schema.app_role(), schema.rotator_role()]],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    (exists, roles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_refuses_to_adopt_a_role_that_logs_in_or_bypasses_rls() {
    let Some(url) = common::db_url("migrate_refuses_to_adopt_a_role_that_logs_in_or_bypasses_rls")
    else {
        return;
    };
    let c = common::admin(&url).await;
    for (attribute, rotator) in [("LOGIN", false), ("SUPERUSER", true), ("BYPASSRLS", false)] {
        let schema = common::schema("unsafe");
        let (role, other) = if rotator {
            (schema.rotator_role(), schema.app_role())
        } else {
            (schema.app_role(), schema.rotator_role())
        };
        c.batch_execute(&format!("CREATE ROLE {role} {attribute}"))
            .await
            .unwrap();
        let p = pool(&url, &schema);
        match migrate(&p).await {
            Err(e @ PostgresError::UnsafeRole { .. }) => {
                let shown = e.to_string();
                let PostgresError::UnsafeRole {
                    role: named,
                    attribute: attr,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((named.as_str(), attr), (role.as_str(), attribute));
                assert!(
                    shown.contains(&role) && shown.contains(attribute),
                    "{shown}"
                );
            }
            other => panic!("{attribute} role must be refused: {other:?}"),
        }
        // Nothing changed: no schema, the other role not created, this one as it was.
        assert_eq!(state(&c, &schema).await, (false, vec![role.clone()]));
        let column = match attribute {
            "LOGIN" => "rolcanlogin",
            "SUPERUSER" => "rolsuper",
            _ => "rolbypassrls",
        };
        let still: bool = c
            .query_one(
                &format!("SELECT {column} FROM pg_roles WHERE rolname = $1"),
                &[&role],
            )
            .await
            .unwrap()
            .get(0);
        assert!(still, "{role} keeps {attribute}");
        // Once the role is safe, migrate adopts it and creates the other.
        c.batch_execute(&format!("ALTER ROLE {role} NO{attribute}"))
            .await
            .unwrap();
        assert_eq!(migrate(&p).await.unwrap().version, 9);
        let mut both = vec![role.clone(), other.clone()];
        both.sort();
        assert_eq!(state(&c, &schema).await, (true, both));
        // A role made unsafe after migration is refused on the next run too.
        c.batch_execute(&format!("ALTER ROLE {role} {attribute}"))
            .await
            .unwrap();
        assert!(
            matches!(migrate(&p).await, Err(PostgresError::UnsafeRole { attribute: a, .. }) if a == attribute)
        );
        c.batch_execute(&format!("ALTER ROLE {role} NO{attribute}"))
            .await
            .unwrap();
        common::drop_schema(&url, &schema).await;
    }
}
