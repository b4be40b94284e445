#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Outages on a private `redis-server` this test starts (never the shared one): killed
//! mid-load, every operation that starts afterwards fails with a typed backend error and
//! nothing is granted; restarted on the same port, fresh operations succeed (the script
//! cache is empty again, so this also exercises the NOSCRIPT fallback). Also: SCRIPT
//! FLUSH between calls, command timeouts, an unreachable address.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::PrivateRedis;
use portcullis_core::{ActorId, BackendErrorKind, KeyId, SecretArray, SecretBytes, TenantId};
use portcullis_ratelimit::{Quota, RateLimitError, RateLimiter};
use portcullis_redis::{
    RedisBackend, RedisConfig, RedisRateLimiter, RedisRefreshStore, RedisReplayGuard,
    RedisRevocationStore, RedisTicketStore, TimeSource,
};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    RefreshPolicy, RefreshTokens, RevocationStore, SigningKeys, TicketStore, TokenConfig,
    TokenError, TokenService, TokenStores,
};
use portcullis_webhooks::{ReplayGuard, WebhookError};

fn skip_unless_enabled(test: &str) -> bool {
    // The outage tests need `redis-server` and run whenever the Redis tests run.
    common::redis_url(test).is_none()
}

async fn fast_backend(
    url: &str,
    clock: &ManualClock,
) -> Result<RedisBackend, portcullis_redis::RedisError> {
    let config = RedisConfig::new()
        .prefix(common::unique_prefix("outage"))
        .command_timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
        .reconnect_retries(1);
    RedisBackend::connect(url, config, clock.provider(0)).await
}

struct Services {
    refresh: Arc<RefreshTokens>,
    tokens: Arc<TokenService>,
    replay: Arc<RedisReplayGuard>,
    limiter: Arc<RedisRateLimiter>,
}

fn services(b: &RedisBackend, clock: &ManualClock) -> Services {
    let refresh = RefreshTokens::new(
        Arc::new(RedisRefreshStore::new(b.clone())),
        SecretArray::new([5u8; 32]),
        RefreshPolicy {
            absolute: Duration::from_secs(7200),
            idle: Duration::from_secs(3600),
            grace: Duration::from_secs(10),
            ..RefreshPolicy::default()
        },
        clock.provider(42),
    )
    .unwrap();
    let secret = SecretBytes::from_slice(&[3u8; 32]);
    let ring = SigningKeys::hs256((KeyId::new("hs-1").unwrap(), &secret), None).unwrap();
    let tokens = TokenService::new(
        Arc::new(ring),
        TokenConfig::new("https://issuer.test", "api").unwrap(),
        TokenStores {
            revocation: Arc::new(RedisRevocationStore::new(b.clone())),
            sessions: Arc::new(RedisRefreshStore::new(b.clone())),
            tickets: Arc::new(RedisTicketStore::new(b.clone())),
        },
        clock.provider(43),
    );
    Services {
        refresh: Arc::new(refresh),
        tokens: Arc::new(tokens),
        replay: Arc::new(RedisReplayGuard::new(b.clone())),
        limiter: Arc::new(
            RedisRateLimiter::new(
                b.clone(),
                "outage",
                Quota::per_second(1_000_000 / 2).unwrap(),
                TimeSource::Server,
            )
            .unwrap(),
        ),
    }
}

/// One operation of each kind; returns (granted, typed_error) counts.
async fn one_round(s: &Services, worker: usize, i: usize) -> (usize, usize) {
    let t: TenantId = "acme".parse().unwrap();
    let who: ActorId = format!("user{worker}").parse().unwrap();
    let (mut granted, mut errors) = (0, 0);
    // Refresh: issue, then rotate.
    match s.refresh.issue(&t, &who).await {
        Ok(issued) => match s.refresh.rotate(&t, issued.token.expose_secret()).await {
            Ok(_) => granted += 1,
            Err(TokenError::Backend(_)) => errors += 1,
            Err(e) => panic!("unexpected rotate error: {e}"),
        },
        Err(TokenError::Backend(_)) => errors += 1,
        Err(e) => panic!("unexpected issue error: {e}"),
    }
    // Ticket redemption.
    let ticket = s.tokens.issue_ticket(&t, &who, "ws").unwrap();
    match s.tokens.redeem_ticket(&ticket.token, "ws", &who).await {
        Ok(_) => granted += 1,
        Err(TokenError::Backend(_)) => errors += 1,
        Err(e) => panic!("unexpected redeem error: {e}"),
    }
    // Access token verified against the revocation list.
    let access = s
        .tokens
        .issue_access(&t, &who, None, &portcullis_tokens::NoExtra {})
        .unwrap();
    match s
        .tokens
        .verify_access::<portcullis_tokens::NoExtra>(&access.token)
        .await
    {
        Ok(_) => granted += 1,
        Err(TokenError::Backend(_)) => errors += 1,
        Err(e) => panic!("unexpected verify error: {e}"),
    }
    // Webhook replay guard.
    match s
        .replay
        .check_and_insert("ep", &format!("msg-{worker}-{i}"), Duration::from_secs(300))
        .await
    {
        Ok(_) => granted += 1,
        Err(WebhookError::Backend(_)) => errors += 1,
        Err(e) => panic!("unexpected replay error: {e}"),
    }
    // Rate limit.
    match s.limiter.check(&format!("k{worker}"), 1).await {
        Ok(d) if d.allowed => granted += 1,
        Ok(d) => panic!("unexpected denial {d:?}"),
        Err(RateLimitError::Backend(_)) => errors += 1,
        Err(e) => panic!("unexpected limiter error: {e}"),
    }
    (granted, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_mid_load_denies_then_recovers_after_restart() {
    if skip_unless_enabled("kill_mid_load_denies_then_recovers_after_restart") {
        return;
    }
    let port = common::free_port();
    let mut server = PrivateRedis::start(port).await;
    let clock = ManualClock::new();
    let backend = fast_backend(&server.url(), &clock).await.unwrap();
    let s = Arc::new(services(&backend, &clock));

    let killed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let granted_before = Arc::new(AtomicUsize::new(0));
    let granted_after = Arc::new(AtomicUsize::new(0));
    let errors_after = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (s, killed, stop) = (s.clone(), killed.clone(), stop.clone());
        let (gb, ga, ea) = (
            granted_before.clone(),
            granted_after.clone(),
            errors_after.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let after_kill = killed.load(Ordering::SeqCst);
                let (g, e) = one_round(&s, w, i).await;
                if after_kill {
                    ga.fetch_add(g, Ordering::SeqCst);
                    ea.fetch_add(e, Ordering::SeqCst);
                } else {
                    gb.fetch_add(g, Ordering::SeqCst);
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill().await;
    killed.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let (gb, ga, ea) = (
        granted_before.load(Ordering::SeqCst),
        granted_after.load(Ordering::SeqCst),
        errors_after.load(Ordering::SeqCst),
    );
    eprintln!("outage: {gb} grants before the kill, {ga} after, {ea} typed errors after");
    assert!(gb > 0, "load ran before the kill");
    assert!(ea > 0, "operations were attempted after the kill");
    assert_eq!(ga, 0, "nothing may be granted while the server is down");

    // Restart on the same port: fresh state, empty script cache.
    let _server = PrivateRedis::start(port).await;
    let mut recovered = false;
    for _ in 0..50 {
        if backend.ping().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the connection manager reconnects");
    let (g, e) = one_round(&s, 99, 0).await;
    assert_eq!(
        (g, e),
        (5, 0),
        "every operation works again after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_between_calls_is_handled() {
    if skip_unless_enabled("script_flush_between_calls_is_handled") {
        return;
    }
    let server = PrivateRedis::start(common::free_port()).await;
    let clock = ManualClock::new();
    let b = fast_backend(&server.url(), &clock).await.unwrap();
    let tickets = RedisTicketStore::new(b.clone());
    let t: TenantId = "acme".parse().unwrap();
    let now = portcullis_core::UnixTime::from_secs(1_700_000_000);
    let until = portcullis_core::UnixTime::from_secs(1_700_000_060);
    for i in 0..3 {
        assert_eq!(
            common::raw(&server.url(), &["SCRIPT", "FLUSH"]).await,
            redis::Value::Okay
        );
        assert!(
            tickets
                .consume(&t, &format!("j{i}"), until, now)
                .await
                .unwrap()
        );
        assert!(
            !tickets
                .consume(&t, &format!("j{i}"), until, now)
                .await
                .unwrap()
        );
    }
    let ok = common::raw(&server.url(), &["SCRIPT", "FLUSH"]).await;
    assert_eq!(ok, redis::Value::Okay);
    let r = RedisRevocationStore::new(b);
    r.revoke_jti(&t, "x", until).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_server_yields_timeout_errors() {
    if skip_unless_enabled("paused_server_yields_timeout_errors") {
        return;
    }
    let server = PrivateRedis::start(common::free_port()).await;
    let clock = ManualClock::new();
    let b = fast_backend(&server.url(), &clock).await.unwrap();
    let tickets = RedisTicketStore::new(b.clone());
    let t: TenantId = "acme".parse().unwrap();
    let now = portcullis_core::UnixTime::from_secs(1_700_000_000);
    let until = portcullis_core::UnixTime::from_secs(1_700_000_060);
    assert!(tickets.consume(&t, "warm", until, now).await.unwrap());
    // Every client's commands block for 2 s; ours must fail after 300 ms.
    common::raw(&server.url(), &["CLIENT", "PAUSE", "2000", "ALL"]).await;
    let started = std::time::Instant::now();
    match tickets.consume(&t, "during-pause", until, now).await {
        Err(TokenError::Backend(e)) => assert_eq!(e.kind(), BackendErrorKind::Timeout, "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(1500));
    let limiter =
        RedisRateLimiter::new(b, "t", Quota::per_second(10).unwrap(), TimeSource::Server).unwrap();
    assert!(matches!(
        limiter.check("k", 1).await,
        Err(RateLimitError::Backend(_))
    ));
}

#[tokio::test]
async fn unreachable_server_is_a_typed_error() {
    if skip_unless_enabled("unreachable_server_is_a_typed_error") {
        return;
    }
    let clock = ManualClock::new();
    // A port nobody listens on.
    let url = format!("redis://127.0.0.1:{}", common::free_port());
    match fast_backend(&url, &clock).await {
        Err(portcullis_redis::RedisError::Backend(e)) => {
            assert!(
                matches!(
                    e.kind(),
                    BackendErrorKind::Unavailable | BackendErrorKind::Timeout
                ),
                "{e}"
            );
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}
