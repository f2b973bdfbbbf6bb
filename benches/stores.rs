//! Load + save of a ~10 KB session through each store, on loopback (tracker
//! issue 4).
//!
//! Three groups:
//! - `store_load_save_10k`: `Store::load` then `Store::save` of a 10 KiB
//!   value, straight through `Arc<dyn Store>`; beside it, the same two calls
//!   on tower-sessions' Redis store (`tower-sessions-redis-store`, on fred)
//!   for a record holding a 10 KiB string.
//! - `store_load_10k`: `Store::load` alone; for the `cached-…` rows, a
//!   cache hit.
//! - `manager_load_save_10k`: `SessionManager::load` of a spilled 10 KiB
//!   session from its pointer cookie, a change, and `save` (open + seal +
//!   store round trips), per store.
//!
//! The memory and SQLite (temporary file) stores always run; Redis,
//! PostgreSQL, MariaDB and MongoDB run when `REDIS_URL` / `DATABASE_URL` /
//! `MYSQL_URL` / `MONGODB_URL` are set (see `scripts/services.sh`; its
//! `MONGODB_URL` is nx-27017, a MongoDB wire-protocol stand-in over SQLite,
//! not MongoDB) and are skipped with a note otherwise. Each networked store
//! also runs behind a `CachingStore` (`cached-<store>`): the load is a
//! cache hit, the save still writes through to the server. Each
//! iteration drives a current-thread Tokio runtime with `block_on`.
//!
//! Run with `cargo bench --all-features --bench stores`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark setup: a failure must abort the run, not be measured"
)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use sealed_session::store::{CachingStore, Store, StoreId};
use sealed_session::{Codec, Key, KeyRing, Saved, SessionManager};
use tokio::runtime::Runtime;

/// Bytes of the benchmarked value.
const VALUE_BYTES: usize = 10 * 1024;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn noise(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    bytes
}

/// A store to benchmark, and whatever must outlive it.
struct Target {
    name: &'static str,
    store: Arc<dyn Store>,
    _guard: Option<tempfile::TempDir>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Every store this run can reach, with a note for each one skipped.
fn targets(rt: &Runtime) -> Vec<Target> {
    #[allow(unused_mut, reason = "without the store features only memory runs")]
    let mut targets = vec![Target {
        name: "memory",
        store: Arc::new(sealed_session::store::MemoryStore::new()),
        _guard: None,
    }];

    #[cfg(feature = "sqlx-sqlite")]
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = rt.block_on(async {
            let store = sealed_session::store::SqliteStore::connect(&url)
                .await
                .expect("sqlite");
            store.migrate().await.expect("sqlite migrate");
            store
        });
        targets.push(Target {
            name: "sqlite",
            store: Arc::new(store),
            _guard: Some(dir),
        });
    }
    #[cfg(not(feature = "sqlx-sqlite"))]
    eprintln!("note: sqlite skipped (build with --features sqlx-sqlite)");

    #[cfg(feature = "redis")]
    match env("REDIS_URL") {
        Some(url) => {
            let store = rt
                .block_on(
                    sealed_session::store::RedisStore::builder(url)
                        .prefix("bench:")
                        .connect(),
                )
                .expect("redis");
            targets.push(Target {
                name: "redis",
                store: Arc::new(store),
                _guard: None,
            });
        }
        None => eprintln!("note: redis skipped (REDIS_URL is not set)"),
    }
    #[cfg(not(feature = "redis"))]
    eprintln!("note: redis skipped (build with --features redis)");

    #[cfg(feature = "sqlx-postgres")]
    match env("DATABASE_URL") {
        Some(url) => {
            let store = rt.block_on(async {
                let store = sealed_session::store::PostgresStore::connect(&url)
                    .await
                    .expect("postgres")
                    .with_table_name("bench_sessions");
                store.migrate().await.expect("postgres migrate");
                store
            });
            targets.push(Target {
                name: "postgres",
                store: Arc::new(store),
                _guard: None,
            });
        }
        None => eprintln!("note: postgres skipped (DATABASE_URL is not set)"),
    }
    #[cfg(not(feature = "sqlx-postgres"))]
    eprintln!("note: postgres skipped (build with --features sqlx-postgres)");

    #[cfg(feature = "sqlx-mysql")]
    match env("MYSQL_URL") {
        Some(url) => {
            let store = rt.block_on(async {
                let store = sealed_session::store::MySqlStore::connect(&url)
                    .await
                    .expect("mysql")
                    .with_table_name("bench_sessions");
                store.migrate().await.expect("mysql migrate");
                store
            });
            targets.push(Target {
                name: "mysql",
                store: Arc::new(store),
                _guard: None,
            });
        }
        None => eprintln!("note: mysql skipped (MYSQL_URL is not set)"),
    }
    #[cfg(not(feature = "sqlx-mysql"))]
    eprintln!("note: mysql skipped (build with --features sqlx-mysql)");

    #[cfg(feature = "mongodb")]
    match env("MONGODB_URL") {
        Some(url) => {
            let store = rt.block_on(async {
                let store = sealed_session::store::MongoStore::connect(&url)
                    .await
                    .expect("mongodb")
                    .with_collection_name("bench_sessions");
                store.migrate().await.expect("mongodb migrate");
                store
            });
            targets.push(Target {
                name: "mongodb",
                store: Arc::new(store),
                _guard: None,
            });
        }
        None => eprintln!("note: mongodb skipped (MONGODB_URL is not set)"),
    }
    #[cfg(not(feature = "mongodb"))]
    eprintln!("note: mongodb skipped (build with --features mongodb)");

    // Each server-backed store again behind a cache: the load hits.
    let cached: Vec<Target> = targets
        .iter()
        .filter(|t| !matches!(t.name, "memory" | "sqlite"))
        .map(|t| Target {
            name: cached_name(t.name),
            store: Arc::new(CachingStore::new(Arc::clone(&t.store))),
            _guard: None,
        })
        .collect();
    targets.extend(cached);

    let _ = rt;
    targets
}

/// The row name of `store` behind a cache.
fn cached_name(store: &str) -> &'static str {
    match store {
        "redis" => "cached-redis",
        "postgres" => "cached-postgres",
        "mysql" => "cached-mysql",
        "mongodb" => "cached-mongodb",
        _ => "cached-other",
    }
}

fn store_load_save(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("store_load_save_10k");
    for target in targets(&rt) {
        let id = StoreId::generate();
        let until = SystemTime::now() + Duration::from_secs(3600);
        let value = noise(VALUE_BYTES);
        rt.block_on(target.store.save(&id, &value, until))
            .expect("first save");
        group.bench_function(target.name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let got = target
                        .store
                        .load(&id)
                        .await
                        .expect("load")
                        .expect("present");
                    target
                        .store
                        .save(&id, black_box(&got), until)
                        .await
                        .expect("save");
                });
            });
        });
        rt.block_on(target.store.delete(&id)).expect("delete");
    }
    tower_sessions_redis(&rt, &mut group);
    group.finish();
}

/// `Store::load` alone of a 10 KiB value: for a `cached-…` row that is a
/// cache hit, beside its backend's row.
fn store_load(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("store_load_10k");
    for target in targets(&rt) {
        let id = StoreId::generate();
        let until = SystemTime::now() + Duration::from_secs(3600);
        rt.block_on(target.store.save(&id, &noise(VALUE_BYTES), until))
            .expect("first save");
        group.bench_function(target.name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let got = target.store.load(&id).await.expect("load");
                    black_box(got.expect("present"));
                });
            });
        });
        rt.block_on(target.store.delete(&id)).expect("delete");
    }
    group.finish();
}

/// The same load + save on tower-sessions' Redis store: a `Record` holding
/// one 10 KiB string, msgpack-encoded, `GET` then `SET … XX EXAT`.
fn tower_sessions_redis(
    rt: &Runtime,
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    use tower_sessions_core::SessionStore as _;
    use tower_sessions_core::session::{Id, Record};
    use tower_sessions_redis_store::RedisStore;
    use tower_sessions_redis_store::fred::prelude::Client;
    use tower_sessions_redis_store::fred::prelude::{ClientLike as _, Config};

    let Some(url) = env("REDIS_URL") else {
        eprintln!("note: tower-sessions-redis-store skipped (REDIS_URL is not set)");
        return;
    };
    let client = Client::new(
        Config::from_url(&url).expect("fred config"),
        None,
        None,
        None,
    );
    rt.block_on(client.init()).expect("fred connect");
    let store = RedisStore::new(client);
    let blob: String = noise(VALUE_BYTES / 2)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut record = Record {
        id: Id::default(),
        data: [("blob".to_owned(), serde_json::Value::String(blob))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    rt.block_on(store.create(&mut record)).expect("create");
    group.bench_function("tower-sessions-redis-store", |b| {
        b.iter(|| {
            rt.block_on(async {
                let got = store
                    .load(&record.id)
                    .await
                    .expect("load")
                    .expect("present");
                store.save(black_box(&got)).await.expect("save");
            });
        });
    });
    rt.block_on(store.delete(&record.id)).expect("delete");
}

fn manager(store: Arc<dyn Store>) -> SessionManager {
    let ring = KeyRing::new([Key::generate()]).expect("ring");
    let codec = Codec::builder(ring)
        .cookie_name("sid")
        .build()
        .expect("codec");
    SessionManager::with_codec(codec)
        .store(store)
        .renewal_threshold(0.0)
        .build()
        .expect("manager")
}

fn manager_load_save(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("manager_load_save_10k");
    for target in targets(&rt) {
        let manager = manager(Arc::clone(&target.store));
        let request = rt.block_on(async {
            let mut session = manager
                .load::<Vec<u8>>(&HeaderMap::new())
                .await
                .expect("load");
            session.set(noise(VALUE_BYTES));
            let mut response = HeaderMap::new();
            let saved = manager
                .save(&mut session, &mut response)
                .await
                .expect("save");
            assert!(matches!(saved, Saved::Store { .. }), "spilled: {saved:?}");
            let pair = response
                .get("set-cookie")
                .expect("a cookie")
                .to_str()
                .expect("ascii")
                .split(';')
                .next()
                .expect("pair")
                .to_owned();
            let mut request = HeaderMap::new();
            request.insert("cookie", pair.parse().expect("header"));
            request
        });
        group.bench_function(target.name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut session = manager.load::<Vec<u8>>(&request).await.expect("load");
                    if let Some(first) = session.data_mut().first_mut() {
                        *first = first.wrapping_add(1);
                    }
                    let mut response = HeaderMap::new();
                    let saved = manager
                        .save(&mut session, &mut response)
                        .await
                        .expect("save");
                    black_box(saved);
                });
            });
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = store_load_save, store_load, manager_load_save
}
criterion_main!(benches);
