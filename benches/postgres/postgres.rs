//! Audit appends against a real PostgreSQL server, 8 concurrent appenders:
//!
//! - single-entry appends on one tenant (group commit joins them) and batches of 50, on
//!   the plain audit tables and on tables hash-partitioned by tenant into 8 (`migrate_with`);
//! - single-entry appends spread over 8 tenants (one appender each), plain and partitioned;
//! - two references in the same run: the in-memory store (no I/O) and bare single-row
//!   INSERTs of the same records into an unconstrained table from 8 connections, each its
//!   own commit (I/O without the chain, the head lock or the triggers).
//!
//! After the runs it prints, per store, how many entries each commit carried on average
//! (entries of a tenant per distinct `inserted_at`, the transaction's start time). It drops
//! its schemas and their roles (`<schema>_app`, `<schema>_rotator`) at the end, also when a
//! bench panics.
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
use portcullis_postgres::{
    MigrateOptions, PgAuditStore, PgOptions, PgPool, SchemaName, migrate, migrate_with,
};

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

/// Drops the bench's schemas and their two roles when dropped (also on a panic).
struct Cleanup {
    url: String,
    schemas: Vec<SchemaName>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            eprintln!(
                "bench cleanup: no runtime; drop the schemas {:?} by hand",
                self.schemas
            );
            return;
        };
        rt.block_on(async {
            let Ok((client, conn)) =
                tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await
            else {
                eprintln!(
                    "bench cleanup: cannot connect; drop the schemas {:?} by hand",
                    self.schemas
                );
                return;
            };
            tokio::spawn(conn);
            for schema in &self.schemas {
                let sql = format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;
                     DROP ROLE IF EXISTS \"{app}\";
                     DROP ROLE IF EXISTS \"{rot}\";",
                    app = schema.app_role(),
                    rot = schema.rotator_role(),
                );
                if let Err(e) = client.batch_execute(&sql).await {
                    eprintln!("bench cleanup of {schema}: {e}");
                }
            }
        });
    }
}

/// Runs `TASKS` appenders, appender `w` on `tenants[w % tenants.len()]`, each making
/// `appends` appends of `batch` entries; returns the wall time.
async fn run_spread(
    store: Arc<dyn AuditStore>,
    tenants: &[TenantId],
    appends: u64,
    batch: u64,
) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|w| {
            let store = Arc::clone(&store);
            let t = tenants[w as usize % tenants.len()].clone();
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

/// Entries per commit of `tenants` in `schema` (entries / distinct `inserted_at`).
async fn per_commit(
    client: &tokio_postgres::Client,
    schema: &SchemaName,
    tenants: &[TenantId],
) -> f64 {
    let names: Vec<&str> = tenants.iter().map(TenantId::as_str).collect();
    let row = client
        .query_one(
            &format!(
                "SELECT count(*)::float8, count(DISTINCT (tenant_id, inserted_at))::float8
                 FROM \"{schema}\".audit_entries WHERE tenant_id = ANY($1)"
            ),
            &[&names],
        )
        .await
        .unwrap();
    let (entries, commits): (f64, f64) = (row.get(0), row.get(1));
    entries / commits.max(1.0)
}

fn appends(c: &mut Criterion) {
    let url = std::env::var(ENV).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let plain_schema = SchemaName::new(format!("pgb_{}", suffix())).unwrap();
    let parted_schema = SchemaName::new(format!("pgb_{}_p8", suffix())).unwrap();
    let _cleanup = Cleanup {
        url: url.clone(),
        schemas: vec![plain_schema.clone(), parted_schema.clone()],
    };
    let pool_for = |schema: &SchemaName| {
        PgPool::connect(
            &url,
            PgOptions {
                schema: schema.clone(),
                max_connections: TASKS as usize,
                ..PgOptions::default()
            },
        )
        .unwrap()
    };
    let (plain_pool, parted_pool) = (pool_for(&plain_schema), pool_for(&parted_schema));
    let clients = rt.block_on(async {
        migrate(&plain_pool).await.unwrap();
        migrate_with(&parted_pool, MigrateOptions::partitioned(8))
            .await
            .unwrap();
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
                "CREATE TABLE \"{plain_schema}\".bare (tenant_id text, seq bigint, record text)"
            ))
            .await
            .unwrap();
        Arc::new(clients)
    });
    let plain: Arc<dyn AuditStore> = Arc::new(PgAuditStore::new(plain_pool));
    let parted: Arc<dyn AuditStore> = Arc::new(PgAuditStore::new(parted_pool));
    let mem: Arc<dyn AuditStore> = Arc::new(MemoryStore::new());
    let tenant = || TenantId::new(format!("bench-{}", suffix())).unwrap();
    let (one, one_batched) = (vec![tenant()], vec![tenant()]);
    let spread: Vec<TenantId> = (0..TASKS).map(|_| tenant()).collect();
    let bare_table = format!("\"{plain_schema}\".bare");

    let bench = |g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
                 name: &str,
                 store: &Arc<dyn AuditStore>,
                 tenants: &[TenantId],
                 appends: u64,
                 batch: u64| {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += run_spread(Arc::clone(store), tenants, appends, batch).await;
                    }
                    total
                })
            });
        });
    };

    let mut g = c.benchmark_group("audit_append_8_appenders_one_tenant");
    g.sample_size(10);
    // Single-entry appends: 8 tasks x 25 appends x 1 entry.
    g.throughput(Throughput::Elements(TASKS * 25));
    bench(&mut g, "postgres_single", &plain, &one, 25, 1);
    bench(&mut g, "postgres_single_partitioned", &parted, &one, 25, 1);
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
    bench(&mut g, "memory_single", &mem, &one, 25, 1);
    // Batched appends: 8 tasks x 5 appends x 50 entries.
    g.throughput(Throughput::Elements(TASKS * 5 * 50));
    bench(&mut g, "postgres_batch_50", &plain, &one_batched, 5, 50);
    bench(
        &mut g,
        "postgres_batch_50_partitioned",
        &parted,
        &one_batched,
        5,
        50,
    );
    bench(&mut g, "memory_batch_50", &mem, &one_batched, 5, 50);
    g.finish();

    let mut g = c.benchmark_group("audit_append_8_appenders_8_tenants");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TASKS * 25));
    bench(&mut g, "postgres_single", &plain, &spread, 25, 1);
    bench(
        &mut g,
        "postgres_single_partitioned",
        &parted,
        &spread,
        25,
        1,
    );
    g.finish();

    rt.block_on(async {
        for (label, schema) in [("plain", &plain_schema), ("partitioned", &parted_schema)] {
            eprintln!(
                "entries per commit ({label}): single, one tenant {:.1}; batch 50, one tenant {:.1}; single, 8 tenants {:.1}",
                per_commit(&clients[0], schema, &one).await,
                per_commit(&clients[0], schema, &one_batched).await,
                per_commit(&clients[0], schema, &spread).await,
            );
        }
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
