//! One conformance suite, run against every store through `Arc<dyn Store>`:
//! the memory store always; SQLite on a temporary file; Redis, PostgreSQL,
//! MariaDB and the MongoDB store against the servers named by `REDIS_URL`,
//! `DATABASE_URL`, `MYSQL_URL` and `MONGODB_URL` (those tests are ignored
//! unless asked for: `cargo test --all-features -- --include-ignored` after
//! `source scripts/services.sh && start_services`, which starts nx-27017, a
//! MongoDB wire-protocol stand-in, for `MONGODB_URL`).
//!
//! Expiry is tested with an injected clock where the store takes one (memory,
//! SQLite, PostgreSQL, MySQL, MongoDB), to the second: live before the deadline, gone at
//! it, and the id free for `create` again; Redis owns its clock, so its
//! expiry test waits out a one-second TTL. The memory store also holds its
//! byte capacity. Each store also gets an end-to-end test through
//! `SessionManager`: a session over 4 KB spills, reloads, shrinks back into
//! the cookie, and its entry is deleted.

#![cfg(any(
    feature = "memory",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql",
    feature = "mongodb",
    feature = "redis"
))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod store_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use sealed_session::store::{Store, StoreAdmin, StoreId};
use sealed_session::{Location, Saved};

/// A store under test and how its time passes.
struct Harness {
    store: Arc<dyn Store>,
    /// The same store, for what operators ask of it.
    admin: Arc<dyn StoreAdmin>,
    /// A Redis Cluster, where counting and clearing are refused.
    cluster: bool,
    time: Time,
    /// Kept alive for the test (a temporary directory, say).
    _guard: Box<dyn std::any::Any + Send>,
}

/// How a harness makes time pass.
enum Time {
    /// The store reads this clock; a test moves it.
    Injected(Arc<Mutex<SystemTime>>),
    /// The server owns time; a test waits.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Real,
}

impl Harness {
    /// A store that reads `clock`; `guard` lives as long as the harness.
    fn injected(
        store: impl StoreAdmin + 'static,
        clock: Arc<Mutex<SystemTime>>,
        guard: impl std::any::Any + Send,
    ) -> Self {
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            admin: store,
            cluster: false,
            time: Time::Injected(clock),
            _guard: Box::new(guard),
        }
    }

    /// A store on a server that owns its clock.
    #[cfg(feature = "redis")]
    fn real(store: impl StoreAdmin + 'static) -> Self {
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            admin: store,
            cluster: false,
            time: Time::Real,
            _guard: Box::new(()),
        }
    }

    fn now(&self) -> SystemTime {
        match &self.time {
            Time::Injected(clock) => *clock.lock().unwrap(),
            Time::Real => SystemTime::now(),
        }
    }
}

/// A clock a test moves by hand, starting well after the epoch.
fn manual_clock() -> (
    Arc<Mutex<SystemTime>>,
    impl Fn() -> SystemTime + Send + Sync + 'static,
) {
    let clock = Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(1_900_000_000)));
    let reader = Arc::clone(&clock);
    (clock, move || *reader.lock().unwrap())
}

/// Moves a manual clock `secs` seconds past `from`.
fn set_clock(clock: &Mutex<SystemTime>, from: SystemTime, secs: u64) {
    *clock.lock().unwrap() = from + Duration::from_secs(secs);
}

fn hour() -> Duration {
    Duration::from_secs(3600)
}

async fn round_trip(h: Harness) {
    let s = &h.store;
    let id = StoreId::generate();
    let until = h.now() + hour();
    assert_eq!(s.load(&id).await.unwrap(), None, "absent id loads as None");
    assert!(
        s.create(&id, b"first", until).await.unwrap(),
        "create on a fresh id"
    );
    assert_eq!(s.load(&id).await.unwrap().as_deref(), Some(&b"first"[..]));
    s.save(&id, b"second", until).await.unwrap();
    assert_eq!(s.load(&id).await.unwrap().as_deref(), Some(&b"second"[..]));
    s.delete(&id).await.unwrap();
    assert_eq!(s.load(&id).await.unwrap(), None, "deleted id loads as None");
    s.delete(&id).await.unwrap();
    // save on an absent id inserts.
    let other = StoreId::generate();
    s.save(&other, b"third", until).await.unwrap();
    assert_eq!(
        s.load(&other).await.unwrap().as_deref(),
        Some(&b"third"[..])
    );
    assert_eq!(s.load(&id).await.unwrap(), None, "ids do not alias");
    s.delete(&other).await.unwrap();
}

/// `touch` moves a live entry's deadline and leaves its value alone; it
/// reports `false` for an absent or expired entry and never revives one.
/// A store without in-place extension (`false` always) passes only the
/// part that says so.
async fn touch_extends_only_live_entries(h: Harness) {
    let s = &h.store;
    let (id, absent, expired) = (
        StoreId::generate(),
        StoreId::generate(),
        StoreId::generate(),
    );
    let now = h.now();
    s.save(&id, b"kept as is", now + Duration::from_secs(2))
        .await
        .unwrap();
    let touched = s.touch(&id, now + hour()).await.unwrap();
    assert!(
        !s.touch(&absent, now + hour()).await.unwrap(),
        "an absent entry is not touched"
    );
    assert_eq!(s.load(&absent).await.unwrap(), None, "and not created");
    s.save(&expired, b"expired", now - Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        !s.touch(&expired, now + hour()).await.unwrap(),
        "an expired entry is not revived"
    );
    assert_eq!(s.load(&expired).await.unwrap(), None);
    if s.kind() == "mongodb" {
        assert!(!touched, "MongoStore extends by a rewrite (see its docs)");
        return;
    }
    assert!(touched, "a live entry is touched");
    let (value, deadline) = s.load_with_deadline(&id).await.unwrap().unwrap();
    assert_eq!(value, b"kept as is");
    if let Some(deadline) = deadline {
        let want = now + hour();
        let off = want
            .duration_since(deadline)
            .unwrap_or_else(|e| e.duration());
        assert!(
            off < Duration::from_secs(2),
            "deadline {deadline:?}, want {want:?}"
        );
    }
    // Past the old deadline the entry is still there.
    match &h.time {
        Time::Injected(clock) => set_clock(clock, now, 3),
        Time::Real => tokio::time::sleep(Duration::from_millis(2100)).await,
    }
    assert_eq!(
        s.load(&id).await.unwrap().as_deref(),
        Some(&b"kept as is"[..]),
        "live past its old deadline"
    );
    s.delete(&id).await.unwrap();
}

/// `compare_and_save` replaces exactly the expected bytes, atomically: of
/// two writers that loaded the same value, one wins and the other is told.
async fn compare_and_save_replaces_only_the_expected_value(h: Harness) {
    let s = &h.store;
    let (id, absent, expired) = (
        StoreId::generate(),
        StoreId::generate(),
        StoreId::generate(),
    );
    let now = h.now();
    // Binary values, a zero byte and high bytes included.
    let v1 = [b"v1\0\xff".as_slice(), &[7u8; 300]].concat();
    s.save(&id, &v1, now + hour()).await.unwrap();
    assert!(
        s.compare_and_save(&id, &v1, b"v2", now + hour())
            .await
            .unwrap(),
        "the expected value is replaced"
    );
    assert_eq!(s.load(&id).await.unwrap().as_deref(), Some(&b"v2"[..]));
    assert!(
        !s.compare_and_save(&id, &v1, b"v3", now + hour())
            .await
            .unwrap(),
        "a stale expectation is refused"
    );
    assert_eq!(
        s.load(&id).await.unwrap().as_deref(),
        Some(&b"v2"[..]),
        "and changes nothing"
    );
    assert!(
        !s.compare_and_save(&absent, b"", b"x", now + hour())
            .await
            .unwrap(),
        "an absent entry is refused"
    );
    assert_eq!(s.load(&absent).await.unwrap(), None, "and not created");
    s.save(&expired, b"old", now - Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        !s.compare_and_save(&expired, b"old", b"x", now + hour())
            .await
            .unwrap(),
        "an expired entry is refused"
    );
    // Two writers that both loaded v2: exactly one wins.
    let (a, b) = tokio::join!(
        s.compare_and_save(&id, b"v2", b"from a", now + hour()),
        s.compare_and_save(&id, b"v2", b"from b", now + hour()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "exactly one writer wins: a {a}, b {b}");
    let winner: &[u8] = if a { b"from a" } else { b"from b" };
    assert_eq!(s.load(&id).await.unwrap().as_deref(), Some(winner));
    s.delete(&id).await.unwrap();
}

/// `len` counts live entries and `clear` removes every entry.
async fn admin_counts_and_clears(h: Harness) {
    let a = &h.admin;
    if h.cluster {
        assert!(a.len().await.is_err(), "a cluster cannot be counted");
        assert!(a.clear().await.is_err(), "nor cleared");
        return;
    }
    assert_eq!(a.len().await.unwrap(), 0, "a fresh store is empty");
    assert!(a.is_empty().await.unwrap());
    let now = h.now();
    let ids: Vec<StoreId> = (0..5).map(|_| StoreId::generate()).collect();
    for id in &ids {
        h.store.save(id, b"live", now + hour()).await.unwrap();
    }
    let dead = StoreId::generate();
    h.store
        .save(&dead, b"dead", now - Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(a.len().await.unwrap(), 5, "live entries only");
    assert!(!a.is_empty().await.unwrap());
    let cleared = a.clear().await.unwrap();
    assert!((5..=6).contains(&cleared), "cleared {cleared}");
    assert_eq!(a.len().await.unwrap(), 0);
    for id in &ids {
        assert_eq!(h.store.load(id).await.unwrap(), None, "cleared");
    }
}

async fn create_on_existing_id_is_refused(h: Harness) {
    let s = &h.store;
    let id = StoreId::generate();
    let until = h.now() + hour();
    assert!(s.create(&id, b"owner", until).await.unwrap());
    assert!(!s.create(&id, b"intruder", until).await.unwrap());
    assert_eq!(
        s.load(&id).await.unwrap().as_deref(),
        Some(&b"owner"[..]),
        "a refused create leaves the entry alone"
    );
    s.save(&id, b"saved", until).await.unwrap();
    assert!(!s.create(&id, b"intruder", until).await.unwrap());
    s.delete(&id).await.unwrap();
    assert!(
        s.create(&id, b"again", until).await.unwrap(),
        "free after delete"
    );
    s.delete(&id).await.unwrap();
}

async fn expiry_is_honoured(h: Harness) {
    let s = &h.store;
    let (id, stale, past, reused) = (
        StoreId::generate(),
        StoreId::generate(),
        StoreId::generate(),
        StoreId::generate(),
    );
    match &h.time {
        Time::Injected(clock) => {
            let now = h.now();
            s.save(&id, b"ten seconds", now + Duration::from_secs(10))
                .await
                .unwrap();
            s.create(&stale, b"stale", now + Duration::from_secs(10))
                .await
                .unwrap();
            assert!(
                s.create(&reused, b"first", now + Duration::from_secs(10))
                    .await
                    .unwrap()
            );
            assert_eq!(
                s.load(&id).await.unwrap().as_deref(),
                Some(&b"ten seconds"[..]),
                "live as saved"
            );
            set_clock(clock, now, 9);
            assert!(
                s.load(&id).await.unwrap().is_some(),
                "live before its deadline"
            );
            set_clock(clock, now, 10);
            assert_eq!(s.load(&id).await.unwrap(), None, "gone at its deadline");
            assert!(
                s.create(&reused, b"again", now + hour()).await.unwrap(),
                "an id is free for create at its entry's deadline"
            );
            assert_eq!(
                s.load(&reused).await.unwrap().as_deref(),
                Some(&b"again"[..])
            );
            set_clock(clock, now, 11);
            assert_eq!(s.load(&id).await.unwrap(), None, "gone after its deadline");
            set_clock(clock, now, 3600);
            assert_eq!(s.load(&id).await.unwrap(), None, "still gone an hour on");
        }
        Time::Real => {
            let now = SystemTime::now();
            s.save(&id, b"one second", now + Duration::from_secs(1))
                .await
                .unwrap();
            s.create(&stale, b"stale", now + Duration::from_secs(1))
                .await
                .unwrap();
            assert!(
                s.load(&id).await.unwrap().is_some(),
                "live before its deadline"
            );
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(s.load(&id).await.unwrap(), None, "gone after its deadline");
        }
    }
    let now = h.now();
    assert!(
        s.create(&stale, b"fresh", now + hour()).await.unwrap(),
        "an expired entry does not block create"
    );
    assert_eq!(
        s.load(&stale).await.unwrap().as_deref(),
        Some(&b"fresh"[..])
    );
    s.save(&past, b"born dead", now - Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        s.load(&past).await.unwrap(),
        None,
        "a past deadline never loads"
    );
    for id in [id, stale, past, reused] {
        s.delete(&id).await.unwrap();
    }
}

/// `load_with_deadline` gives the value and the deadline it was saved with
/// (to the millisecond where the store reads the test's clock; within the
/// round trip where the server owns time).
async fn deadlines_are_reported(h: Harness) {
    let s = &h.store;
    let id = StoreId::generate();
    let until = h.now() + hour();
    assert_eq!(s.load_with_deadline(&id).await.unwrap(), None);
    s.save(&id, b"timed", until).await.unwrap();
    let (value, deadline) = s
        .load_with_deadline(&id)
        .await
        .unwrap()
        .expect("saved entry loads");
    assert_eq!(value, b"timed");
    let deadline = deadline.expect("the store reports its deadline");
    match h.time {
        Time::Injected(_) => assert_eq!(deadline, until),
        Time::Real => {
            assert!(
                deadline <= until + Duration::from_millis(5),
                "{deadline:?} after {until:?}"
            );
            assert!(
                deadline + Duration::from_secs(5) > until,
                "{deadline:?} long before {until:?}"
            );
        }
    }
    s.delete(&id).await.unwrap();
    assert_eq!(s.load_with_deadline(&id).await.unwrap(), None);
}

async fn concurrent_writers_lose_nothing(h: Harness) {
    const TASKS: usize = 8;
    const IDS_PER_TASK: usize = 500;
    let until = h.now() + hour();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(&h.store);
        tasks.push(tokio::spawn(async move {
            let mut written = Vec::with_capacity(IDS_PER_TASK);
            for i in 0..IDS_PER_TASK {
                let id = StoreId::generate();
                let value = format!("task {task} entry {i}").into_bytes();
                if i % 2 == 0 {
                    assert!(store.create(&id, &value, until).await.unwrap());
                } else {
                    store.save(&id, &value, until).await.unwrap();
                }
                written.push((id, value));
            }
            written
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    assert_eq!(all.len(), TASKS * IDS_PER_TASK);
    let mut missing = 0;
    for (id, value) in &all {
        match h.store.load(id).await.unwrap() {
            Some(got) => assert_eq!(&got, value),
            None => missing += 1,
        }
    }
    assert_eq!(missing, 0, "entries lost under concurrent writers");
    for (id, _) in &all {
        h.store.delete(id).await.unwrap();
    }
}

async fn large_values_round_trip(h: Harness) {
    let until = h.now() + hour();
    for len in [1, 4 * 1024, 64 * 1024, 1024 * 1024] {
        let id = StoreId::generate();
        let value = store_support::noise(len);
        assert!(h.store.create(&id, &value, until).await.unwrap());
        let got = h
            .store
            .load(&id)
            .await
            .unwrap()
            .expect("stored value loads");
        assert!(got == value, "a {len}-byte value came back changed");
        let replaced = store_support::noise(len);
        h.store.save(&id, &replaced, until).await.unwrap();
        let got = h.store.load(&id).await.unwrap().expect("saved value loads");
        assert!(
            got == replaced,
            "a saved {len}-byte value came back changed"
        );
        h.store.delete(&id).await.unwrap();
    }
}

/// A session over 4 KB spills into the store, reloads from it, shrinks back
/// into the cookie, and its entry is deleted.
async fn manager_spills_and_returns(h: Harness) {
    let manager = store_support::manager(Arc::clone(&h.store));
    let big = store_support::noise(6 * 1024);

    let mut session = manager
        .load_at::<Vec<u8>>(&HeaderMap::new(), h.now())
        .await
        .unwrap();
    session.set(big.clone());
    let mut response = HeaderMap::new();
    let saved = manager
        .save_at(&mut session, &mut response, h.now())
        .await
        .unwrap();
    assert!(matches!(saved, Saved::Store { stored_bytes, .. } if stored_bytes > big.len()));
    let id = session
        .store_id()
        .expect("a spilled session has a store id");
    let stored = h.store.load(&id).await.unwrap().expect("entry written");
    assert!(
        !stored.windows(64).any(|w| big.windows(64).any(|b| b == w)),
        "the stored value is sealed, not the plaintext"
    );

    let request = store_support::cookie_from(&response);
    let mut session = manager.load_at::<Vec<u8>>(&request, h.now()).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.store_id(), Some(id));
    assert!(*session.data() == big, "reloaded from the store unchanged");

    session.set(b"small again".to_vec());
    let mut response = HeaderMap::new();
    let saved = manager
        .save_at(&mut session, &mut response, h.now())
        .await
        .unwrap();

    assert!(
        matches!(saved, Saved::Cookie { .. }),
        "shrunk back: {saved:?}"
    );
    assert_eq!(h.store.load(&id).await.unwrap(), None, "old entry deleted");

    let request = store_support::cookie_from(&response);
    let session = manager.load_at::<Vec<u8>>(&request, h.now()).await.unwrap();
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.data().as_slice(), b"small again");
}

/// The whole suite for one store. `$make` is an async expression giving a
/// fresh [`Harness`]; `$(#[$attr])*` go on every test (an `ignore`).
macro_rules! conformance {
    ($name:ident, $make:expr $(, #[$attr:meta])*) => {
        mod $name {
            use super::*;

            conformance!(@test $make, round_trip $(, #[$attr])*);
            conformance!(@test $make, create_on_existing_id_is_refused $(, #[$attr])*);
            conformance!(@test $make, expiry_is_honoured $(, #[$attr])*);
            conformance!(@test $make, deadlines_are_reported $(, #[$attr])*);
            conformance!(@test $make, concurrent_writers_lose_nothing $(, #[$attr])*);
            conformance!(@test $make, large_values_round_trip $(, #[$attr])*);
            conformance!(@test $make, manager_spills_and_returns $(, #[$attr])*);
            conformance!(@test $make, touch_extends_only_live_entries $(, #[$attr])*);
            conformance!(@test $make, admin_counts_and_clears $(, #[$attr])*);
            conformance!(@test $make, compare_and_save_replaces_only_the_expected_value $(, #[$attr])*);
        }
    };
    (@test $make:expr, $check:ident $(, #[$attr:meta])*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $check() {
            super::$check($make).await;
        }
    };
}

#[cfg(feature = "memory")]
async fn memory() -> Harness {
    let (clock, read) = manual_clock();
    let store = sealed_session::store::MemoryStore::new().with_clock(read);
    Harness::injected(store, clock, ())
}

#[cfg(feature = "memory")]
conformance!(memory_store, memory().await);

/// A caching store over a memory store, both on one manual clock.
#[cfg(feature = "memory")]
async fn cached_memory() -> Harness {
    let (clock, read) = manual_clock();
    let read = Arc::new(read);
    let backend = {
        let read = Arc::clone(&read);
        sealed_session::store::MemoryStore::new().with_clock(move || read())
    };
    let store = sealed_session::store::CachingStore::new(backend).with_clock(move || read());
    Harness::injected(store, clock, ())
}

#[cfg(feature = "memory")]
conformance!(caching_over_memory_store, cached_memory().await);

/// The memory store's capacity bounds what it holds, in bytes of values.
#[cfg(feature = "memory")]
#[tokio::test]
async fn the_memory_store_holds_its_capacity_under_100_000_inserts() {
    use sealed_session::store::MemoryStore;
    const CAPACITY: u64 = 1 << 20;
    let store = MemoryStore::with_capacity_bytes(CAPACITY);
    assert_eq!(store.capacity_bytes(), CAPACITY);
    let value = vec![0xabu8; 1024];
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    let mut last = StoreId::generate();
    for i in 0..100_000 {
        last = StoreId::generate();
        assert!(store.create(&last, &value, expires_at).await.unwrap());
        if i % 10_000 == 0 {
            assert!(store.weighted_size() <= CAPACITY);
        }
    }
    let _ = last;
    let held = store.weighted_size();
    assert!(held <= CAPACITY, "{held} bytes held, capacity {CAPACITY}");
    assert!(store.entry_count() <= CAPACITY / 1024);
    assert!(store.entry_count() > 0, "the store still holds entries");
}

/// The URL of a SQLite database file `name` in `dir`.
#[cfg(feature = "sqlx-sqlite")]
fn sqlite_url(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

#[cfg(feature = "sqlx-sqlite")]
async fn sqlite() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir, "sessions.db");
    let (clock, read) = manual_clock();
    let store = sealed_session::store::SqliteStore::connect(&url)
        .await
        .unwrap()
        .with_clock(read);
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    Harness::injected(store, clock, dir)
}

#[cfg(feature = "sqlx-sqlite")]
conformance!(sqlite_store, sqlite().await);

/// `sqlite::memory:`: one private database shared by the pool's connections.
#[cfg(feature = "sqlx-sqlite")]
async fn sqlite_memory() -> Harness {
    let (clock, read) = manual_clock();
    let store = sealed_session::store::SqliteStore::connect("sqlite::memory:")
        .await
        .unwrap()
        .with_clock(read);
    store.migrate().await.unwrap();
    Harness::injected(store, clock, ())
}

#[cfg(feature = "sqlx-sqlite")]
conformance!(sqlite_memory_store, sqlite_memory().await);

/// A PostgreSQL store on `DATABASE_URL`, in a table named `prefix` plus a
/// suffix no other run uses, on the manual clock `read`.
#[cfg(feature = "sqlx-postgres")]
async fn postgres_store(
    prefix: &str,
    read: impl Fn() -> SystemTime + Send + Sync + 'static,
) -> sealed_session::store::PostgresStore {
    let url = store_support::server_url("DATABASE_URL");
    sealed_session::store::PostgresStore::connect(&url)
        .await
        .unwrap()
        .with_table_name(store_support::unique(prefix))
        .with_clock(read)
}

#[cfg(feature = "sqlx-postgres")]
async fn postgres() -> Harness {
    let (clock, read) = manual_clock();
    let store = postgres_store("conformance", read).await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    Harness::injected(store, clock, ())
}

#[cfg(feature = "sqlx-postgres")]
conformance!(postgres_store, postgres().await, #[ignore = "needs DATABASE_URL"]);

/// A MySQL / MariaDB store on `MYSQL_URL`, in a table named `prefix` plus
/// a suffix no other run uses, on the manual clock `read`.
#[cfg(feature = "sqlx-mysql")]
async fn mysql_store(
    prefix: &str,
    read: impl Fn() -> SystemTime + Send + Sync + 'static,
) -> sealed_session::store::MySqlStore {
    let url = store_support::server_url("MYSQL_URL");
    sealed_session::store::MySqlStore::connect(&url)
        .await
        .unwrap()
        .with_table_name(store_support::unique(prefix))
        .with_clock(read)
}

#[cfg(feature = "sqlx-mysql")]
async fn mysql() -> Harness {
    let (clock, read) = manual_clock();
    let store = mysql_store("conformance", read).await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    Harness::injected(store, clock, ())
}

#[cfg(feature = "sqlx-mysql")]
conformance!(mysql_store, mysql().await, #[ignore = "needs MYSQL_URL: see scripts/services.sh"]);

/// A harness over the Redis store `builder` connects to, its keys under a
/// prefix no other run uses.
#[cfg(feature = "redis")]
async fn redis_harness(builder: sealed_session::store::RedisStoreBuilder) -> Harness {
    let store = builder
        .prefix(format!("{}:", store_support::unique("conformance")))
        .connect()
        .await
        .unwrap();
    Harness::real(store)
}

#[cfg(feature = "redis")]
async fn redis() -> Harness {
    let url = store_support::server_url("REDIS_URL");
    redis_harness(sealed_session::store::RedisStore::builder(url)).await
}

#[cfg(feature = "redis")]
conformance!(redis_store, redis().await, #[ignore = "needs REDIS_URL"]);

/// A caching store in front of Redis.
#[cfg(all(feature = "redis", feature = "memory"))]
async fn cached_redis() -> Harness {
    let url = store_support::server_url("REDIS_URL");
    let store = sealed_session::store::RedisStore::builder(url)
        .prefix(format!("{}:", store_support::unique("cached")))
        .connect()
        .await
        .unwrap();
    Harness::real(sealed_session::store::CachingStore::new(store))
}

#[cfg(all(feature = "redis", feature = "memory"))]
conformance!(caching_over_redis_store, cached_redis().await, #[ignore = "needs REDIS_URL"]);

/// A MongoDB store on `MONGODB_URL` (nx-27017 in CI), in a collection no
/// other run uses, with its TTL index, on a manual clock.
#[cfg(feature = "mongodb")]
async fn mongo() -> Harness {
    let url = store_support::server_url("MONGODB_URL");
    let (clock, read) = manual_clock();
    let store = sealed_session::store::MongoStore::connect(&url)
        .await
        .unwrap()
        .with_collection_name(&store_support::unique("conformance"))
        .with_clock(read);
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    Harness::injected(store, clock, ())
}

#[cfg(feature = "mongodb")]
conformance!(mongo_store, mongo().await, #[ignore = "needs MONGODB_URL: see scripts/services.sh"]);

#[cfg(feature = "redis-cluster")]
async fn redis_cluster() -> Harness {
    let nodes = store_support::server_url("REDIS_CLUSTER_URLS");
    let mut harness = redis_harness(sealed_session::store::RedisStore::cluster_builder(
        nodes.split(','),
    ))
    .await;
    harness.cluster = true;
    harness
}

#[cfg(feature = "redis-cluster")]
conformance!(redis_cluster_store, redis_cluster().await, #[ignore = "needs REDIS_CLUSTER_URLS"]);

/// `delete_expired` removes exactly the rows past their deadline.
#[cfg(feature = "sqlx-sqlite")]
#[tokio::test]
async fn sqlite_delete_expired_counts_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir, "sweep.db");
    let (clock, read) = manual_clock();
    let store = sealed_session::store::SqliteStore::connect(&url)
        .await
        .unwrap()
        .with_table_name("Sweep \"test\"")
        .with_clock(read);
    store.migrate().await.unwrap();
    delete_expired_counts_rows(&store, &clock, |s| Box::pin(s.delete_expired())).await;
}

/// `delete_expired` removes exactly the rows past their deadline.
#[cfg(feature = "sqlx-postgres")]
#[tokio::test]
#[ignore = "needs DATABASE_URL"]
async fn postgres_delete_expired_counts_rows() {
    let (clock, read) = manual_clock();
    let store = postgres_store("Sweep \"test\"", read).await;
    store.migrate().await.unwrap();

    delete_expired_counts_rows(&store, &clock, |s| Box::pin(s.delete_expired())).await;
}

/// `delete_expired` removes exactly the rows past their deadline.
#[cfg(feature = "sqlx-mysql")]
#[tokio::test]
#[ignore = "needs MYSQL_URL: see scripts/services.sh"]
async fn mysql_delete_expired_counts_rows() {
    let (clock, read) = manual_clock();
    let store = mysql_store("Sweep `test`", read).await;
    store.migrate().await.unwrap();
    delete_expired_counts_rows(&store, &clock, |s| Box::pin(s.delete_expired())).await;
}

#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql"
))]
async fn delete_expired_counts_rows<S: Store>(
    store: &S,
    clock: &Mutex<SystemTime>,
    sweep: impl for<'a> Fn(
        &'a S,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<u64, sealed_session::Error>> + 'a>,
    >,
) {
    let now = *clock.lock().unwrap();
    for i in 0..10u64 {
        let id = StoreId::generate();
        store
            .save(&id, b"x", now + Duration::from_secs(i + 1))
            .await
            .unwrap();
    }
    assert_eq!(sweep(store).await.unwrap(), 0);
    set_clock(clock, now, 4);
    assert_eq!(
        sweep(store).await.unwrap(),
        4,
        "deadlines 1..=4 s have passed"
    );
    assert_eq!(sweep(store).await.unwrap(), 0);
    set_clock(clock, now, 100);

    assert_eq!(sweep(store).await.unwrap(), 6);
}

/// `ExpiredDeletion` sweeps a SQL store in the background until shut down:
/// expired rows go, live ones stay.
#[cfg(feature = "sqlx-sqlite")]
#[tokio::test]
async fn expired_deletion_sweeps_until_shut_down() {
    use sealed_session::store::{ExpiredDeletion, SqliteStore, StoreId};
    use std::time::{Duration, SystemTime};

    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let past = SystemTime::now() - Duration::from_secs(60);
    let future = SystemTime::now() + Duration::from_secs(3600);
    let live = StoreId::generate();
    for _ in 0..5 {
        store
            .save(&StoreId::generate(), b"old", past)
            .await
            .unwrap();
    }
    store.save(&live, b"live", future).await.unwrap();

    let sweeper = ExpiredDeletion::spawn(store.clone(), Duration::from_millis(20));
    let start = std::time::Instant::now();
    while sweeper.deleted() < 5 {
        assert!(start.elapsed() < Duration::from_secs(10), "{sweeper:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another expired row is swept on a later pass.
    store
        .save(&StoreId::generate(), b"old", past)
        .await
        .unwrap();
    while sweeper.deleted() < 6 {
        assert!(start.elapsed() < Duration::from_secs(10), "{sweeper:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sweeper.failures(), 0);
    assert!(sweeper.sweeps() >= 2);
    sweeper.shutdown().await;
    assert_eq!(
        store.load(&live).await.unwrap().as_deref(),
        Some(&b"live"[..])
    );
    assert_eq!(
        store.delete_expired().await.unwrap(),
        0,
        "nothing left to sweep"
    );
}
