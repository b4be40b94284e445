//! Refresh rotation round trips (1 and 32 concurrent clients) on one Redis server and on
//! a 3-master Redis Cluster (`PORTCULLIS_TEST_REDIS_CLUSTER_URLS`, from
//! `scripts/test-servers.sh`), and rate-limit check latency, with the in-memory stores as
//! the reference in the same run. Criterion reports mean times; a custom loop after it prints rotations/s, p50 and
//! p99 measured per operation.
//!
//! `PORTCULLIS_TEST_REDIS_URL=redis://127.0.0.1:6379 \
//!  cargo bench -p portcullis-bench-redis -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use portcullis_core::{ActorId, OsRandom, Provider, SecretArray, TenantId, random_array};
use portcullis_ratelimit::{MemoryRateLimiter, Quota, RateLimiter};
use portcullis_redis::{
    RedisBackend, RedisConfig, RedisRateLimiter, RedisRefreshStore, TimeSource,
};
use portcullis_tokens::{MemoryRefreshStore, RefreshPolicy, RefreshStore, RefreshTokens};
use tokio::runtime::Runtime;

const ENV: &str = "PORTCULLIS_TEST_REDIS_URL";
const CLUSTER_ENV: &str = "PORTCULLIS_TEST_REDIS_CLUSTER_URLS";
const CLIENTS: u64 = 32;

fn prefix() -> String {
    let r = random_array::<6>(&OsRandom).unwrap();
    format!(
        "pbench:{}",
        r.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn service(store: Arc<dyn RefreshStore>) -> Arc<RefreshTokens> {
    Arc::new(
        RefreshTokens::new(
            store,
            SecretArray::new([9u8; 32]),
            RefreshPolicy {
                absolute: Duration::from_secs(24 * 3600),
                idle: Duration::from_secs(3600),
                grace: Duration::from_secs(10),
                ..RefreshPolicy::default()
            },
            Provider::system(),
        )
        .unwrap(),
    )
}

/// `clients` tasks, each rotating its own family (in its own tenant, so on a cluster the
/// clients spread over the masters) `per_client` times in a chain; returns wall time and
/// every rotation's latency.
async fn rotations(
    svc: &Arc<RefreshTokens>,
    clients: u64,
    per_client: u64,
) -> (Duration, Vec<Duration>) {
    let mut starts = Vec::new();
    for c in 0..clients {
        let t: TenantId = format!("bench-{c}").parse().unwrap();
        let issued = svc
            .issue(&t, &ActorId::new(format!("u{c}")).unwrap())
            .await
            .unwrap();
        starts.push((t, issued.token.expose_secret().to_owned()));
    }
    let start = Instant::now();
    let tasks: Vec<_> = starts
        .into_iter()
        .map(|(t, mut token)| {
            let svc = svc.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_client as usize);
                for _ in 0..per_client {
                    let s = Instant::now();
                    let next = svc.rotate(&t, &token).await.unwrap();
                    lat.push(s.elapsed());
                    token = next.token.expose_secret().to_owned();
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    (start.elapsed(), all)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, wall: Duration, mut lat: Vec<Duration>) {
    lat.sort();
    let n = lat.len() as f64;
    println!(
        "{what}: {n} ops, {:.0} ops/s, p50 {:?}, p99 {:?}",
        n / wall.as_secs_f64(),
        pct(&lat, 0.50),
        pct(&lat, 0.99)
    );
}

fn bench_rotation(c: &mut Criterion, rt: &Runtime, stores: &[(&str, Arc<dyn RefreshStore>)]) {
    let mut g = c.benchmark_group("refresh_rotation");
    for (name, store) in stores {
        let svc = service(store.clone());
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{name}/1_client"), |b| {
            b.iter_custom(|iters| rt.block_on(rotations(&svc, 1, iters)).0);
        });
        g.throughput(Throughput::Elements(CLIENTS));
        g.bench_function(format!("{name}/{CLIENTS}_clients"), |b| {
            // One iteration = one rotation by each of the 32 clients, concurrently.
            b.iter_custom(|iters| rt.block_on(rotations(&svc, CLIENTS, iters)).0);
        });
    }
    g.finish();
}

fn bench_ratelimit(c: &mut Criterion, rt: &Runtime, limiters: &[(&str, Arc<dyn RateLimiter>)]) {
    let mut g = c.benchmark_group("ratelimit_check");
    g.throughput(Throughput::Elements(1));
    for (name, l) in limiters {
        g.bench_function(*name, |b| {
            let mut i = 0u64;
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        i += 1;
                        let d = l.check(&format!("ip:{}", i % 1024), 1).await.unwrap();
                        let _ = std::hint::black_box(d);
                    }
                    start.elapsed()
                })
            });
        });
    }
    g.finish();
}

fn percentiles(
    rt: &Runtime,
    stores: &[(&str, Arc<dyn RefreshStore>)],
    limiters: &[(&str, Arc<dyn RateLimiter>)],
) {
    println!("\n-- per-operation latency (custom loop) --");
    for (name, store) in stores {
        let svc = service(store.clone());
        let (wall, lat) = rt.block_on(rotations(&svc, 1, 2000));
        report(&format!("rotation {name} 1 client"), wall, lat);
        let (wall, lat) = rt.block_on(rotations(&svc, CLIENTS, 200));
        report(&format!("rotation {name} {CLIENTS} clients"), wall, lat);
    }
    for (name, l) in limiters {
        let (wall, lat) = rt.block_on(async {
            let mut lat = Vec::with_capacity(5000);
            let start = Instant::now();
            for i in 0..5000u64 {
                let s = Instant::now();
                let _ =
                    std::hint::black_box(l.check(&format!("ip:{}", i % 1024), 1).await.unwrap());
                lat.push(s.elapsed());
            }
            (start.elapsed(), lat)
        });
        report(&format!("ratelimit {name}"), wall, lat);
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let quota = Quota::per_second(1_000_000).unwrap();
    let mut stores: Vec<(&str, Arc<dyn RefreshStore>)> =
        vec![("memory", Arc::new(MemoryRefreshStore::new()))];
    let mut limiters: Vec<(&str, Arc<dyn RateLimiter>)> = vec![(
        "memory",
        Arc::new(MemoryRateLimiter::new(quota, Provider::system())),
    )];
    match std::env::var(ENV) {
        Ok(url) => {
            let backend = rt
                .block_on(RedisBackend::connect(
                    &url,
                    RedisConfig::new().prefix(prefix()),
                    Provider::system(),
                ))
                .unwrap_or_else(|e| panic!("{ENV} is set but Redis is unreachable: {e}"));
            stores.push(("redis", Arc::new(RedisRefreshStore::new(backend.clone()))));
            limiters.push((
                "redis",
                Arc::new(
                    RedisRateLimiter::new(backend, "bench", quota, TimeSource::Server).unwrap(),
                ),
            ));
        }
        Err(_) => {
            eprintln!("\n*** {ENV} not set: skipping the Redis rows (in-memory rows only) ***\n")
        }
    }
    match std::env::var(CLUSTER_ENV) {
        Ok(urls) => {
            let backend = rt
                .block_on(RedisBackend::connect(
                    &urls,
                    RedisConfig::new().prefix(prefix()).cluster(),
                    Provider::system(),
                ))
                .unwrap_or_else(|e| {
                    panic!("{CLUSTER_ENV} is set but the cluster is unreachable: {e}")
                });
            stores.push(("cluster", Arc::new(RedisRefreshStore::new(backend))));
        }
        Err(_) => eprintln!("\n*** {CLUSTER_ENV} not set: skipping the cluster rows ***\n"),
    }
    let mut c = Criterion::default().configure_from_args();
    bench_rotation(&mut c, &rt, &stores);
    bench_ratelimit(&mut c, &rt, &limiters);
    c.final_summary();
    percentiles(&rt, &stores, &limiters);
}
