#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! On a 3-master Redis Cluster: concurrent rotations and ticket double-spends with
//! tenants on every master (the test asserts the spread), and a master killed mid-load
//! (a private cluster this test owns): its slots give typed errors and grant nothing,
//! the other masters' tenants keep working, and after its restart everything recovers.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{PrivateCluster, Target, master_of, slot_map};
use portcullis_core::{SecretArray, TenantId, UnixTime};
use portcullis_redis::{RedisBackend, RedisConfig, RedisRefreshStore, RedisTicketStore};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{RefreshPolicy, RefreshTokens, TicketStore};
use tokio::sync::Mutex;

/// Tenants chosen so that each master serves at least `per_master` of them.
fn spread_tenants(
    backend: &RedisBackend,
    map: &[(u16, u16, u16)],
    per_master: usize,
) -> BTreeMap<u16, Vec<TenantId>> {
    let masters: BTreeSet<u16> = map.iter().map(|m| m.2).collect();
    let mut by_master: BTreeMap<u16, Vec<TenantId>> = BTreeMap::new();
    for i in 0..10_000 {
        let t: TenantId = format!("tenant-{i}").parse().unwrap();
        let m = master_of(map, &backend.keys().tenant_epoch(&t));
        let v = by_master.entry(m).or_default();
        if v.len() < per_master {
            v.push(t);
        }
        if by_master.len() == masters.len() && by_master.values().all(|v| v.len() >= per_master) {
            break;
        }
    }
    assert_eq!(
        by_master.len(),
        3,
        "tenants on all three masters: {by_master:?}"
    );
    by_master
}

fn service(backend: &RedisBackend, clock: &ManualClock) -> Arc<RefreshTokens> {
    Arc::new(
        RefreshTokens::new(
            Arc::new(RedisRefreshStore::new(backend.clone())),
            SecretArray::new([9u8; 32]),
            RefreshPolicy::default(),
            clock.provider(3),
        )
        .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotations_and_double_spends_on_every_master() {
    let Some(urls) = Target::Cluster.url("rotations_and_double_spends_on_every_master") else {
        return;
    };
    let clock = ManualClock::new();
    let backend = Target::Cluster
        .backend(&urls, "spread", clock.clone())
        .await;
    assert!(backend.is_cluster());
    let first = urls.split(',').next().unwrap();
    let map = slot_map(first).await;
    let tenants = spread_tenants(&backend, &map, 2);
    let svc = service(&backend, &clock);
    let tickets = RedisTicketStore::new(backend.clone());
    let mut jobs = Vec::new();
    for t in tenants.values().flatten() {
        let (svc, tickets, t) = (svc.clone(), tickets.clone(), t.clone());
        jobs.push(tokio::spawn(async move {
            let alice = "alice".parse().unwrap();
            let t0 = svc.issue(&t, &alice).await.unwrap();
            let presented = t0.token.expose_secret().to_owned();
            let rotations: Vec<_> = (0..64)
                .map(|_| {
                    let (svc, t, p) = (svc.clone(), t.clone(), presented.clone());
                    tokio::spawn(async move {
                        svc.rotate(&t, &p)
                            .await
                            .map(|n| n.token.expose_secret().to_owned())
                    })
                })
                .collect();
            let mut successors = BTreeSet::new();
            for r in rotations {
                successors.insert(r.await.unwrap().unwrap());
            }
            assert_eq!(successors.len(), 1, "{t}: 64 rotations, one successor");
            let now = UnixTime::from_secs(1_800_000_000);
            let until = UnixTime::from_secs(1_800_000_060);
            let spends: Vec<_> = (0..64)
                .map(|_| {
                    let (tickets, t) = (tickets.clone(), t.clone());
                    tokio::spawn(async move { tickets.consume(&t, "ticket-1", until, now).await })
                })
                .collect();
            let mut wins = 0;
            for s in spends {
                if s.await.unwrap().unwrap() {
                    wins += 1;
                }
            }
            assert_eq!(wins, 1, "{t}: 64 redemptions, one winner");
        }));
    }
    for j in jobs {
        j.await.unwrap();
    }
}

/// Per master: (grants, typed errors) counted after the kill.
type Tally = Arc<Mutex<BTreeMap<u16, (usize, usize)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_master_fails_only_its_slots_then_recovers() {
    // Needs redis-server like the other tests; runs whenever the cluster tests run.
    if Target::Cluster
        .url("a_dead_master_fails_only_its_slots_then_recovers")
        .is_none()
    {
        return;
    }
    let mut cluster = PrivateCluster::start().await;
    let clock = ManualClock::new();
    let config = RedisConfig::new()
        .prefix(common::unique_prefix("kill"))
        .cluster()
        .command_timeout(Duration::from_millis(400))
        .connect_timeout(Duration::from_millis(200));
    let backend = RedisBackend::connect(&cluster.urls(), config, clock.provider(1))
        .await
        .unwrap();
    let map = slot_map(&format!("redis://127.0.0.1:{}", cluster.ports[0])).await;
    let tenants = spread_tenants(&backend, &map, 2);
    let victim_port = cluster.ports[1];
    let victim = cluster
        .ports
        .iter()
        .position(|&p| p == victim_port)
        .unwrap();
    let svc = service(&backend, &clock);
    let tickets = RedisTicketStore::new(backend.clone());

    let killed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let after: Tally = Arc::new(Mutex::new(BTreeMap::new()));
    let mut workers = Vec::new();
    for (&master, ts) in &tenants {
        for t in ts.clone() {
            let (svc, tickets, killed, stop, after) = (
                svc.clone(),
                tickets.clone(),
                killed.clone(),
                stop.clone(),
                after.clone(),
            );
            workers.push(tokio::spawn(async move {
                let alice = "alice".parse().unwrap();
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let dead = killed.load(Ordering::SeqCst);
                    let now = UnixTime::from_secs(1_800_000_000);
                    let until = UnixTime::from_secs(1_800_000_060);
                    let results = [
                        svc.issue(&t, &alice).await.is_ok(),
                        tickets
                            .consume(&t, &format!("jti-{i}"), until, now)
                            .await
                            .unwrap_or(false),
                    ];
                    if dead {
                        let mut a = after.lock().await;
                        let e = a.entry(master).or_default();
                        for ok in results {
                            if ok {
                                e.0 += 1;
                            } else {
                                e.1 += 1;
                            }
                        }
                    }
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.kill(victim).await;
    // Let in-flight operations that started before the kill finish.
    tokio::time::sleep(Duration::from_millis(100)).await;
    killed.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let tally = after.lock().await.clone();
    eprintln!("after the kill of {victim_port}: (grants, errors) per master {tally:?}");
    let (dead_grants, dead_errors) = tally[&victim_port];
    assert_eq!(dead_grants, 0, "the dead master's slots grant nothing");
    assert!(
        dead_errors > 0,
        "operations on the dead master's slots were attempted"
    );
    for (&m, &(grants, errors)) in &tally {
        if m != victim_port {
            assert!(grants > 0, "master {m} keeps serving its tenants");
            assert_eq!(
                errors, 0,
                "master {m}: no errors outside the dead master's slots"
            );
        }
    }

    cluster.restart(victim).await;
    cluster.wait_ok().await;
    let mut recovered = false;
    for _ in 0..100 {
        let mut all = true;
        for t in tenants.values().flatten() {
            all &= svc.issue(t, &"alice".parse().unwrap()).await.is_ok();
        }
        if all {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "every tenant works again after the restart");
}

/// A backend built from connections the application made itself: a `ConnectionManager`
/// on the single server and a cluster connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_from_the_callers_connections() {
    let (Some(single), Some(urls)) = (
        Target::Single.url("backend_from_the_callers_connections"),
        Target::Cluster.url("backend_from_the_callers_connections"),
    ) else {
        return;
    };
    let mgr = redis::aio::ConnectionManager::new(redis::Client::open(single.as_str()).unwrap())
        .await
        .unwrap();
    let seeds: Vec<&str> = urls.split(',').collect();
    let cluster = redis::cluster::ClusterClient::new(seeds)
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    let clock = ManualClock::new();
    for (conn, is_cluster) in [
        (portcullis_redis::RedisConnection::from(mgr), false),
        (cluster.into(), true),
    ] {
        let b = RedisBackend::from_connection(conn, common::config("from-conn"), clock.provider(2))
            .unwrap();
        assert_eq!(b.is_cluster(), is_cluster);
        b.ping().await.unwrap();
        let tickets = RedisTicketStore::new(b);
        let t: TenantId = "acme".parse().unwrap();
        let now = UnixTime::from_secs(1_800_000_000);
        let until = UnixTime::from_secs(1_800_000_060);
        assert!(tickets.consume(&t, "once", until, now).await.unwrap());
        assert!(!tickets.consume(&t, "once", until, now).await.unwrap());
    }
    assert!(
        RedisBackend::from_connection(
            redis::aio::ConnectionManager::new(redis::Client::open(single.as_str()).unwrap())
                .await
                .unwrap(),
            RedisConfig::new().prefix("bad{prefix"),
            clock.provider(2),
        )
        .is_err(),
        "the prefix is still validated"
    );
}
