//! A shared registry starting over a million live revocations on real
//! servers (Redis and PostgreSQL, from `scripts/services.sh`): a first
//! registry publishes them, a second one with the default settings starts
//! on the same backend and holds them all. The start time is printed, not
//! asserted (`--nocapture` shows it).
//!
//! Each phase runs on its own Tokio runtime, dropped at its end: no
//! registry's background refresh outlives its phase, so none can write the
//! log again after the cleanup deletes it.

#![cfg(any(feature = "redis", feature = "sqlx-postgres"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod store_support;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant, SystemTime};

use sealed_session::SessionId;
use sealed_session::revocation::{Registry, RevocationBackend};

/// Live revocations in the log.
const LIVE: usize = 1_000_000;

/// One revoked id in this many is checked on the second registry.
const SAMPLE_EVERY: usize = 9_973;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Publishes [`LIVE`] revocations through a first registry on `connect()`'s
/// backend, then starts a second registry with the default settings on a
/// new connection to the same backend and checks it holds them all.
fn publish_then_start<B, F, Fut>(server: &str, connect: F)
where
    B: RevocationBackend + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    let sample = runtime().block_on(async {
        let writer = Registry::shared(connect().await)
            .staleness_bound(Duration::from_secs(120))
            .start()
            .await
            .unwrap();
        let until = SystemTime::now() + Duration::from_secs(3_600);
        let began = Instant::now();
        let mut sample = Vec::new();
        for i in 0..LIVE {
            let id = SessionId::generate();
            if i % SAMPLE_EVERY == 0 || i == LIVE - 1 {
                sample.push(id);
            }
            writer.revoke(id, until);
        }
        writer.flush().await.unwrap();
        assert_eq!(writer.health().pending, 0, "every revocation published");
        assert_eq!(writer.len(), LIVE);
        eprintln!(
            "{server}: published {LIVE} revocations in {:?}",
            began.elapsed()
        );
        sample
    });

    runtime().block_on(async {
        let backend = connect().await;
        let began = Instant::now();
        let reader = Registry::shared(backend).start().await.unwrap();
        let took = began.elapsed();
        eprintln!("{server}: a registry started over {LIVE} live revocations in {took:?}");
        assert_eq!(reader.len(), LIVE);
        let now = SystemTime::now();
        for id in &sample {
            assert!(reader.is_revoked(*id, None, now, now), "a published id");
        }
        assert!(!reader.is_revoked(SessionId::generate(), None, now, now));
        // However long reading the log took, it starts current (a start
        // longer than the bound reads what came meanwhile once more).
        let health = reader.health();
        eprintln!("{server}: health after the start: {health:?}");
        assert!(!health.stale, "{health:?}");
    });
}

/// Runs `test`, then `cleanup` whether or not it panicked.
fn with_cleanup(test: impl FnOnce(), cleanup: impl FnOnce()) {
    let outcome = catch_unwind(AssertUnwindSafe(test));
    cleanup();
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

#[cfg(feature = "redis")]
#[test]
#[ignore = "needs REDIS_URL"]
fn a_registry_starts_over_a_million_revocations_on_redis() {
    use sealed_session::store::{RedisRevocations, RedisStore};

    let url = store_support::server_url("REDIS_URL");
    let prefix = format!("{}:", store_support::unique("scale"));
    let connect = || async {
        let store = RedisStore::builder(url.clone())
            .prefix(prefix.clone())
            .connect()
            .await
            .unwrap();
        RedisRevocations::new(&store)
    };
    with_cleanup(
        || publish_then_start("redis", connect),
        || {
            runtime().block_on(async {
                // The log's four keys (`RedisRevocations`' docs).
                let tag = format!("{{{prefix}revocations}}");
                let client = redis::Client::open(url.as_str()).unwrap();
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = ["epoch", "seq", "log", "until"]
                    .iter()
                    .map(|k| format!("{tag}:{k}"))
                    .collect();
                // UNLINK: the million-member sets are freed in the background.
                let deleted: usize = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                eprintln!("redis: deleted {deleted} keys");
                assert_eq!(deleted, 4, "the log's keys are named as documented");
            });
        },
    );
}

#[cfg(feature = "sqlx-postgres")]
#[test]
#[ignore = "needs DATABASE_URL"]
fn a_registry_starts_over_a_million_revocations_on_postgres() {
    use sealed_session::store::PostgresRevocations;

    let url = store_support::server_url("DATABASE_URL");
    let table = store_support::unique("scale");
    let connect = || async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let backend = PostgresRevocations::new(pool).with_table_name(&table);
        backend.migrate().await.unwrap();
        backend
    };
    with_cleanup(
        || publish_then_start("postgres", connect),
        || {
            runtime().block_on(async {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                let drop = format!("DROP TABLE IF EXISTS \"{table}\", \"{table}_sessions\"");
                sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&pool)
                    .await
                    .unwrap();
            });
        },
    );
}
