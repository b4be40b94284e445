//! Audit appends against a real PostgreSQL server: 8 concurrent appenders on one tenant,
//! single-entry and batched, with two references in the same run: the in-memory store
//! (no I/O) and bare single-row INSERTs of the same records into an unconstrained table
//! from 8 connections (I/O without the chain, the head lock or the triggers).
//!
//! `PORTCULLIS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!  cargo bench -p portcullis-bench-postgres -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use portcullis_audit::{AuditStore, MemoryStore, Metadata, NewEntry, PendingEntry};
use portcullis_core::{ActorId, OsRandom, TenantId, UnixTime, random_array};
use portcullis_postgres::{PgAuditStore, PgOptions, PgPool, SchemaName, migrate};

const ENV: &str = "PORTCULLIS_TEST_DATABASE_URL";
const TASKS: u64 = 8;

fn pending(i: u64) -> PendingEntry {
    PendingEntry {
        time: UnixTime::from_millis(1_700_000_000_000 + i),
        body: NewEntry::new(
            ActorId::new("alice@example.com").unwrap(),
            "invoice.approve",
            &format!("invoices/{i}"),
        )
        .unwrap()
        .with_ip("203.0.113.7".parse().unwrap())
        .with_metadata(
            Metadata::parse(&format!(r#"{{"amount_cents":{i},"currency":"EUR"}}"#)).unwrap(),
        ),
    }
}

fn suffix() -> String {
    random_array::<6>(&OsRandom)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs `TASKS` appenders, each making `appends` appends of `batch` entries; returns the
/// wall time.
async fn run(store: Arc<dyn AuditStore>, t: &TenantId, appends: u64, batch: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|w| {
            let (store, t) = (Arc::clone(&store), t.clone());
            tokio::spawn(async move {
                for a in 0..appends {
                    let b = (0..batch)
                        .map(|k| pending(w * 1_000_000 + a * batch + k))
                        .collect();
                    store.append(&t, b).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed()
}

async fn bare(client: Arc<Vec<tokio_postgres::Client>>, table: &str, appends: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS as usize)
        .map(|w| {
            let (client, sql) = (
                Arc::clone(&client),
                format!("INSERT INTO {table} (tenant_id, seq, record) VALUES ('bare', $1, $2)"),
            );
            tokio::spawn(async move {
                for a in 0..appends {
                    let e = pending(a);
                    let rec = format!("{:?}", e.body);
                    client[w]
                        .execute(&sql, &[&((w as i64) << 32 | a as i64), &rec])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed()
}

fn appends(c: &mut Criterion) {
    let url = std::env::var(ENV).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let schema = SchemaName::new(format!("pgb_{}", suffix())).unwrap();
    let pool = PgPool::connect(
        &url,
        PgOptions {
            schema: schema.clone(),
            max_connections: TASKS as usize,
            ..PgOptions::default()
        },
    )
    .unwrap();
    let clients = rt.block_on(async {
        migrate(&pool).await.unwrap();
        let mut clients = Vec::new();
        for _ in 0..TASKS {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            clients.push(client);
        }
        clients[0]
            .batch_execute(&format!(
                "CREATE TABLE \"{schema}\".bare (tenant_id text, seq bigint, record text)"
            ))
            .await
            .unwrap();
        Arc::new(clients)
    });
    let pg: Arc<dyn AuditStore> = Arc::new(PgAuditStore::new(pool.clone()));
    let mem: Arc<dyn AuditStore> = Arc::new(MemoryStore::new());
    let tenant = TenantId::new(format!("bench-{}", suffix())).unwrap();
    let bare_table = format!("\"{schema}\".bare");

    let mut g = c.benchmark_group("audit_append_8_appenders_one_tenant");
    g.sample_size(10);
    // Single-entry appends: 8 tasks x 25 appends x 1 entry.
    g.throughput(Throughput::Elements(TASKS * 25));
    g.bench_function("postgres_single", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += run(Arc::clone(&pg), &tenant, 25, 1).await;
                }
                total
            })
        });
    });
    g.bench_function("bare_insert_single", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += bare(Arc::clone(&clients), &bare_table, 25).await;
                }
                total
            })
        });
    });
    g.bench_function("memory_single", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += run(Arc::clone(&mem), &tenant, 25, 1).await;
                }
                total
            })
        });
    });
    // Batched appends: 8 tasks x 5 appends x 50 entries.
    g.throughput(Throughput::Elements(TASKS * 5 * 50));
    g.bench_function("postgres_batch_50", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += run(Arc::clone(&pg), &tenant, 5, 50).await;
                }
                total
            })
        });
    });
    g.bench_function("memory_batch_50", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += run(Arc::clone(&mem), &tenant, 5, 50).await;
                }
                total
            })
        });
    });
    g.finish();
    rt.block_on(async {
        let _ = clients[0]
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await;
    });
}

criterion_group!(benches, appends);

fn main() {
    if std::env::var(ENV).map_or(true, |v| v.is_empty()) {
        eprintln!("SKIPPED portcullis-bench-postgres: {ENV} is not set; no PostgreSQL bench ran");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
