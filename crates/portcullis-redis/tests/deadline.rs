#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `command_timeout` is a deadline: against a server that became unreachable with its
//! SYNs dropped (a loopback proxy that stops forwarding and whose full accept queue makes
//! the kernel drop every new SYN), every Redis operation fails with a typed backend error
//! within `command_timeout` + 50 ms, reconnection attempts included; and `connect` to
//! such an address fails within `connect_timeout` + 50 ms.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_core::{ActorId, BackendErrorKind, SecretArray, TenantId, UnixTime};
use portcullis_ratelimit::{Quota, RateLimiter};
use portcullis_redis::{
    RedisApiKeyStore, RedisBackend, RedisConfig, RedisRateLimiter, RedisRefreshStore,
    RedisReplayGuard, RedisRevocationStore, RedisTicketStore, TimeSource,
};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{ApiKeyStore, RefreshPolicy, RefreshTokens, RevocationStore, TicketStore};
use portcullis_webhooks::ReplayGuard;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Mutex, watch};

const TIMEOUT: Duration = Duration::from_millis(300);
const SLACK: Duration = Duration::from_millis(50);

/// A listener whose accept queue is full and never drained: the kernel drops new SYNs.
struct BlackHole {
    port: u16,
    _listener: TcpListener,
    _filled: Vec<TcpStream>,
}

async fn black_hole(listener: TcpListener) -> BlackHole {
    let port = listener.local_addr().unwrap().port();
    let mut filled = Vec::new();
    loop {
        match tokio::time::timeout(
            Duration::from_millis(200),
            TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        {
            Ok(Ok(s)) => filled.push(s),
            Ok(Err(e)) => panic!("black hole connect failed: {e}"),
            Err(_) => break, // the SYN was dropped: the queue is full
        }
        assert!(filled.len() < 64, "the accept queue never filled");
    }
    BlackHole {
        port,
        _listener: listener,
        _filled: filled,
    }
}

fn small_backlog_listener() -> TcpListener {
    let s = TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    s.listen(1).unwrap()
}

/// Forwards to `upstream` until cut; then holds every socket open without forwarding and
/// stops accepting, so its port turns into a [`BlackHole`].
struct Proxy {
    port: u16,
    cut: watch::Sender<bool>,
    listener: Arc<Mutex<Option<TcpListener>>>,
}

impl Proxy {
    async fn start(upstream: u16) -> Self {
        let listener = small_backlog_listener();
        let port = listener.local_addr().unwrap().port();
        let (cut, rx) = watch::channel(false);
        let shared = Arc::new(Mutex::new(None));
        let held = shared.clone();
        tokio::spawn(async move {
            let mut rx_accept = rx.clone();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut client, _)) = accepted else { continue };
                        let mut rx = rx.clone();
                        tokio::spawn(async move {
                            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = until_cut(&mut rx) => {
                                    // Hold both ends open, forwarding nothing.
                                    tokio::time::sleep(Duration::from_secs(3600)).await;
                                    drop((client, server));
                                }
                            }
                        });
                    }
                    _ = until_cut(&mut rx_accept) => {
                        *held.lock().await = Some(listener);
                        return;
                    }
                }
            }
        });
        Self {
            port,
            cut,
            listener: shared,
        }
    }

    /// Stops forwarding and turns the port into a black hole.
    async fn cut(&self) -> BlackHole {
        self.cut.send(true).unwrap();
        let listener = loop {
            if let Some(l) = self.listener.lock().await.take() {
                break l;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        black_hole(listener).await
    }
}

async fn until_cut(rx: &mut watch::Receiver<bool>) {
    loop {
        let cut = *rx.borrow_and_update();
        if cut || rx.changed().await.is_err() {
            return;
        }
    }
}

fn config() -> RedisConfig {
    RedisConfig::new()
        .prefix(common::unique_prefix("deadline"))
        .command_timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .reconnect_retries(3)
}

fn within(what: &str, started: Instant, limit: Duration) {
    let took = started.elapsed();
    assert!(took <= limit, "{what} took {took:?}, more than {limit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_black_hole_fails_within_the_connect_timeout() {
    if common::redis_url("connect_to_a_black_hole_fails_within_the_connect_timeout").is_none() {
        return;
    }
    let hole = black_hole(small_backlog_listener()).await;
    for config in [config(), config().cluster()] {
        let started = Instant::now();
        let r = RedisBackend::connect(
            &format!("redis://127.0.0.1:{}", hole.port),
            config,
            ManualClock::new().provider(0),
        )
        .await;
        within("connect", started, TIMEOUT + SLACK);
        assert!(
            matches!(r, Err(portcullis_redis::RedisError::Backend(ref e)) if e.kind() == BackendErrorKind::Timeout),
            "{r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_fails_within_the_command_timeout_once_syns_are_dropped() {
    if common::redis_url("every_operation_fails_within_the_command_timeout").is_none() {
        return;
    }
    let server = common::PrivateRedis::start(common::free_port()).await;
    let proxy = Proxy::start(server.port).await;
    let clock = ManualClock::new();
    let b = RedisBackend::connect(
        &format!("redis://127.0.0.1:{}", proxy.port),
        config(),
        clock.provider(0),
    )
    .await
    .unwrap();
    let t: TenantId = "acme".parse().unwrap();
    let alice: ActorId = "alice".parse().unwrap();
    let refresh = RefreshTokens::new(
        Arc::new(RedisRefreshStore::new(b.clone())),
        SecretArray::new([5u8; 32]),
        RefreshPolicy::default(),
        clock.provider(1),
    )
    .unwrap();
    let revocation = RedisRevocationStore::new(b.clone());
    let tickets = RedisTicketStore::new(b.clone());
    let api_keys = RedisApiKeyStore::new(b.clone());
    let replay = RedisReplayGuard::new(b.clone());
    let limiter = RedisRateLimiter::new(
        b.clone(),
        "dl",
        Quota::per_second(100).unwrap(),
        TimeSource::Server,
    )
    .unwrap();
    // Works through the proxy first.
    let session = refresh.issue(&t, &alice).await.unwrap();
    b.ping().await.unwrap();

    let _hole = proxy.cut().await;
    let now = UnixTime::from_secs(1_800_000_000);
    let later = UnixTime::from_secs(1_800_000_600);
    // Several rounds: the first ones time out on the stalled connection, later ones on
    // reconnection attempts into the black hole.
    for round in 0..3 {
        let mut timed = Vec::new();
        macro_rules! op {
            ($name:expr, $fut:expr) => {{
                let started = Instant::now();
                let failed = $fut.await.is_err();
                timed.push(($name, started.elapsed(), failed));
            }};
        }
        op!("ping", b.ping());
        op!("refresh.issue", refresh.issue(&t, &alice));
        op!(
            "refresh.rotate",
            refresh.rotate(&t, session.token.expose_secret())
        );
        op!("refresh.revoke_subject", refresh.revoke_subject(&t, &alice));
        op!("refresh.status", refresh.status(&t, &session.family));
        op!(
            "revocation.revoke_jti",
            revocation.revoke_jti(&t, "j", later)
        );
        op!("revocation.check", revocation.check(&t, &alice, "j", now));
        op!("tickets.consume", tickets.consume(&t, "k", later, now));
        op!("apikeys.list", api_keys.list(&t, &alice));
        op!(
            "replay.check_and_insert",
            replay.check_and_insert("s", "id", Duration::from_secs(60))
        );
        op!("ratelimit.check", limiter.check("ip", 1));
        for (name, took, failed) in timed {
            assert!(
                failed,
                "round {round}: {name} succeeded through a dead link"
            );
            assert!(
                took <= TIMEOUT + SLACK,
                "round {round}: {name} took {took:?}, more than {:?}",
                TIMEOUT + SLACK
            );
        }
    }
}
