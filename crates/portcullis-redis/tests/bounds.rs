#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The collections the scripts loop over stay bounded: a subject's refresh-family index
//! holds only live families, and an owner's API-key list is capped.

mod common;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{ActorId, SecretArray, TenantId};
use portcullis_redis::RedisRefreshStore;
use portcullis_testkit::ManualClock;
use portcullis_tokens::{RefreshPolicy, RefreshTokens, TokenError};

async fn int(url: &str, args: &[&str]) -> i64 {
    match common::raw(url, args).await {
        redis::Value::Int(n) => n,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_index_holds_only_live_families() {
    let Some(url) = common::redis_url("subject_index_holds_only_live_families") else {
        return;
    };
    let clock = ManualClock::new();
    let b = common::backend(&url, "bounds", clock.clone()).await;
    let tenant: TenantId = "tenant-a".parse().unwrap();
    let sam: ActorId = "sam".parse().unwrap();
    let index = b.keys().subject_families(&tenant, &sam);
    let svc = RefreshTokens::new(
        Arc::new(RedisRefreshStore::new(b.clone())),
        SecretArray::new([3u8; 32]),
        RefreshPolicy {
            absolute: Duration::from_secs(2 * 3600),
            idle: Duration::from_secs(3600),
            grace: Duration::from_secs(10),
            ..RefreshPolicy::default()
        },
        clock.provider(5),
    )
    .unwrap();
    let f1 = svc.issue(&tenant, &sam).await.unwrap();
    let f2 = svc.issue(&tenant, &sam).await.unwrap();
    let _f3 = svc.issue(&tenant, &sam).await.unwrap();
    assert_eq!(int(&url, &["ZCARD", &index]).await, 3);

    // An explicit revocation removes the id.
    assert!(svc.revoke_family(&tenant, &f1.family).await.unwrap());
    assert_eq!(int(&url, &["ZCARD", &index]).await, 2);

    // Reuse detection revokes the family and removes the id.
    let old = f2.token.expose_secret().to_owned();
    svc.rotate(&tenant, &old).await.unwrap();
    clock.advance(Duration::from_secs(11));
    assert!(matches!(
        svc.rotate(&tenant, &old).await,
        Err(TokenError::ReuseDetected { .. })
    ));
    assert_eq!(int(&url, &["ZCARD", &index]).await, 1);

    // Past the absolute lifetime, the next create prunes the ended family.
    clock.advance(Duration::from_secs(2 * 3600));
    let f4 = svc.issue(&tenant, &sam).await.unwrap();
    assert_eq!(int(&url, &["ZCARD", &index]).await, 1);
    assert_eq!(
        int(&url, &["ZRANK", &index, &f4.family.to_string()]).await,
        0,
        "only the new family is indexed"
    );

    // Revoking the subject revokes what is listed and deletes the index.
    assert_eq!(svc.revoke_subject(&tenant, &sam).await.unwrap(), 1);
    assert_eq!(int(&url, &["EXISTS", &index]).await, 0);
}

/// At the largest session cap a subject's index never exceeds the cap, however many
/// logins, and `revoke_subject` revokes exactly the cap. The longest server-side script
/// time (from SLOWLOG on a private server logging every command) is printed: it is the
/// measured bound on how long one logout can hold Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn largest_session_cap_bounds_the_logout_script() {
    if common::redis_url("largest_session_cap_bounds_the_logout_script").is_none() {
        return;
    }
    let server = common::PrivateRedis::start(common::free_port()).await;
    let url = server.url();
    common::raw(&url, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).await;
    common::raw(&url, &["CONFIG", "SET", "slowlog-max-len", "100000"]).await;
    let clock = ManualClock::new();
    let b = common::backend(&url, "cap", clock.clone()).await;
    let tenant: TenantId = "tenant-a".parse().unwrap();
    let sam: ActorId = "sam".parse().unwrap();
    let cap = portcullis_tokens::MAX_SESSIONS_PER_SUBJECT;
    let svc = RefreshTokens::new(
        Arc::new(RedisRefreshStore::new(b.clone())),
        SecretArray::new([3u8; 32]),
        RefreshPolicy {
            max_sessions_per_subject: cap,
            ..RefreshPolicy::default()
        },
        clock.provider(6),
    )
    .unwrap();
    let index = b.keys().subject_families(&tenant, &sam);
    for _ in 0..cap + 200 {
        svc.issue(&tenant, &sam).await.unwrap();
        clock.advance(Duration::from_millis(1));
    }
    assert_eq!(int(&url, &["ZCARD", &index]).await, i64::from(cap));
    common::raw(&url, &["SLOWLOG", "RESET"]).await;
    assert_eq!(
        svc.revoke_subject(&tenant, &sam).await.unwrap(),
        u64::from(cap)
    );
    let log = common::raw(&url, &["SLOWLOG", "GET", "-1"]).await;
    let mut longest = 0i64;
    if let redis::Value::Array(entries) = log {
        for e in entries {
            if let redis::Value::Array(fields) = e {
                if let redis::Value::Int(us) = fields[2] {
                    longest = longest.max(us);
                }
            }
        }
    }
    eprintln!("revoke_subject of {cap} sessions: longest command on the server {longest} µs");
    assert!(longest > 0, "SLOWLOG recorded the logout");
}
