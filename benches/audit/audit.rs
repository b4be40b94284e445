//! Audit benches: append (memory store), chain verification against raw SHA-256 over the
//! same bytes, and Merkle root / inclusion proof at one million entries.
//!
//! `cargo bench -p portcullis-bench-audit -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use portcullis_audit::{
    AuditLog, AuditStore, Entry, Hash, MemoryStore, Metadata, NewEntry, PendingEntry, verify_chain,
};
use portcullis_audit::{MerkleTree, leaf_hash, verify_inclusion};
use portcullis_core::{ActorId, FixedClock, Provider, TenantId, UnixTime};
use sha2::{Digest, Sha256};

fn body(i: u64) -> NewEntry {
    NewEntry::new(
        ActorId::new("alice@example.com").unwrap(),
        "invoice.approve",
        &format!("invoices/{i}"),
    )
    .unwrap()
    .with_ip("203.0.113.7".parse().unwrap())
    .with_metadata(
        Metadata::parse(&format!(
            r#"{{"amount_cents":{i},"currency":"EUR","approved":true}}"#
        ))
        .unwrap(),
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn append(c: &mut Criterion) {
    let rt = rt();
    let tenant: TenantId = "acme".parse().unwrap();
    let bodies: Vec<NewEntry> = (0..1000).map(body).collect();
    let mut g = c.benchmark_group("audit_append_memory");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("audit_log_append_x1000", |b| {
        b.iter_batched(
            || {
                let log = AuditLog::new(
                    Arc::new(MemoryStore::new()),
                    Provider::with_clock(Arc::new(FixedClock(UnixTime::from_secs(1_700_000_000)))),
                );
                (log, bodies.clone())
            },
            |(log, bodies)| {
                rt.block_on(async {
                    for e in bodies {
                        black_box(log.append(&tenant, e).await.unwrap());
                    }
                });
                log
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("store_append_batch_of_1000", |b| {
        b.iter_batched(
            || {
                let batch: Vec<PendingEntry> = bodies
                    .iter()
                    .map(|e| PendingEntry {
                        time: UnixTime::from_secs(1_700_000_000),
                        body: e.clone(),
                    })
                    .collect();
                (MemoryStore::new(), batch)
            },
            |(store, batch)| {
                rt.block_on(async { black_box(store.append(&tenant, batch).await.unwrap()) });
                store
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let tenant: TenantId = "acme".parse().unwrap();
    let mut prev = Hash::ZERO;
    let entries: Vec<Entry> = (0..10_000)
        .map(|i| {
            let e = Entry::seal(
                tenant.clone(),
                i,
                prev,
                UnixTime::from_millis(1_700_000_000_000 + i),
                body(i),
            );
            prev = *e.hash();
            e
        })
        .collect();
    let encoded: Vec<Vec<u8>> = entries.iter().map(Entry::canonical_bytes).collect();
    let bytes: u64 = encoded.iter().map(|e| e.len() as u64).sum();
    let mut g = c.benchmark_group("audit_chain_verify_10k");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("portcullis_verify_chain", |b| {
        b.iter(|| black_box(verify_chain(&tenant, black_box(&entries)).unwrap()))
    });
    g.bench_function("raw_sha2_same_bytes", |b| {
        b.iter(|| {
            let mut last = [0u8; 32];
            for e in black_box(&encoded) {
                last = Sha256::digest(e).into();
            }
            black_box(last)
        })
    });
    g.bench_function("encode_only_no_hash", |b| {
        let mut scratch = Vec::with_capacity(512);
        b.iter(|| {
            for e in black_box(&entries) {
                scratch.clear();
                e.encode_into(&mut scratch);
                black_box(&scratch);
            }
        })
    });
    g.finish();
}

fn merkle_1m(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let leaves: Vec<Hash> = (0..N).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
    let root = tree.root();
    let idx = 777_777;
    let proof = tree.inclusion_proof(idx, N).unwrap();
    let mut g = c.benchmark_group("audit_merkle_1m");
    g.bench_function("root_at_1m", |b| {
        b.iter(|| black_box(tree.root_at(black_box(N)).unwrap()))
    });
    g.bench_function("root_at_999_999", |b| {
        b.iter(|| black_box(tree.root_at(black_box(N - 1)).unwrap()))
    });
    g.bench_function("inclusion_proof_1m", |b| {
        b.iter(|| black_box(tree.inclusion_proof(black_box(idx), N).unwrap()))
    });
    g.bench_function("consistency_proof_500k_to_1m", |b| {
        b.iter(|| black_box(tree.consistency_proof(black_box(500_001), N).unwrap()))
    });
    g.bench_function("verify_inclusion_1m", |b| {
        b.iter(|| {
            verify_inclusion(
                leaves[idx as usize].as_bytes(),
                idx,
                N,
                black_box(&proof),
                root.as_bytes(),
            )
            .unwrap()
        })
    });
    g.sample_size(10);
    g.bench_function("build_tree_1m_leaves", |b| {
        b.iter(|| black_box(MerkleTree::from_leaf_hashes(leaves.iter().copied()).root()))
    });
    g.finish();
}

criterion_group!(benches, append, verify, merkle_1m);
criterion_main!(benches);
