//! PgSealBudgetStore against a real server: the seal budget conformance suite, and two
//! "processes" (sealers with their own pools) on one database never exceed the limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use portcullis_core::{OsRandom, Provider};
use portcullis_keys::{
    KeyVersion, KeysError, MasterKey, MasterKeys, Purpose, SealBudget, SealBudgetStore, Sealer,
    SealerConfig, UsagePolicy,
};
use portcullis_postgres::{PgOptions, PgPool, PgSealBudgetStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_seal_budget_store_passes_the_conformance_suite() {
    let Some(url) = common::db_url("pg_seal_budget_store_passes_the_conformance_suite") else {
        return;
    };
    portcullis_testkit::conformance::seal_budget::run_all(|| {
        let url = url.clone();
        async move { PgSealBudgetStore::new(common::fresh_pool(&url, "budget").await) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_never_exceed_the_limit_together() {
    let Some(url) = common::db_url("two_processes_on_one_database_never_exceed_the_limit_together")
    else {
        return;
    };
    let first = common::fresh_pool(&url, "budget2").await;
    // A second pool on the same schema: another process.
    let second = PgPool::connect(
        &url,
        PgOptions {
            schema: first.schema().clone(),
            ..PgOptions::default()
        },
    )
    .unwrap();
    let limit = 500;
    let config = SealerConfig {
        usage: UsagePolicy {
            warn_after: 250,
            limit,
        },
        reserved_seals_only: true,
        ..SealerConfig::default()
    };
    let master = MasterKey::generate(&OsRandom).unwrap();
    let tenant: portcullis_core::TenantId = "acme".parse().unwrap();
    let runs = [first, second].into_iter().map(|pool| {
        let (master, tenant) = (master.clone(), tenant.clone());
        async move {
            let sealer = Sealer::with_config(
                Purpose::new("credentials").unwrap(),
                MasterKeys::new(KeyVersion::new(1).unwrap(), master),
                Provider::system(),
                config,
            );
            let store: Arc<dyn SealBudgetStore> = Arc::new(PgSealBudgetStore::new(pool));
            let budget = SealBudget::new(store, config.usage).with_block(32);
            let mut n = 0u64;
            loop {
                match budget.seal(&sealer, &tenant, b"c", b"x").await {
                    Ok(_) => n += 1,
                    Err(KeysError::SealLimitReached(_)) => return n,
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
    });
    let counts = futures::future::join_all(runs).await;
    assert_eq!(counts.iter().sum::<u64>(), limit, "{counts:?}");
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
}
