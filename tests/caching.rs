//! What `CachingStore` adds to the conformance suite (`tests/stores.rs` runs
//! that over it): hits stay local, writes go through, a failed write leaves
//! nothing cached, a delete is not undone by a load that raced it, and
//! another server's write shows after the staleness bound. The clock is
//! injected; nothing sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sealed_session::store::{CachingStore, MemoryStore, Store, StoreFuture, StoreId};
use sealed_session::{Error, ErrorKind};
use tokio::sync::Notify;

/// Signalled when a held load has read; notified to let it return.
type Gate = (Arc<Notify>, Arc<Notify>);

/// A memory store that counts loads, fails writes on demand, and can hold
/// a load between reading its value and returning it.
#[derive(Debug, Clone)]
struct Probe {
    inner: MemoryStore,
    loads: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    /// Answers as a store that does not know its deadlines.
    hide_deadlines: Arc<AtomicBool>,
    /// When set, a load reads, signals `read`, then waits for `release`.
    gate: Arc<Mutex<Option<Gate>>>,
}

impl Probe {
    fn new(clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self {
            inner: MemoryStore::new().with_clock(clock),
            loads: Arc::default(),
            failing: Arc::default(),
            hide_deadlines: Arc::default(),
            gate: Arc::default(),
        }
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    fn fail_writes(&self, fail: bool) {
        self.failing.store(fail, Ordering::SeqCst);
    }

    fn injected() -> Error {
        Error::store(io::Error::other("injected write failure"))
    }
}

impl Store for Probe {
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(Self::injected())));
        }
        self.inner.create(id, value, expires_at)
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.load_with_deadline(id).await?.map(|(value, _)| value)) })
    }

    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let gate = self.gate.lock().unwrap().take();
        Box::pin(async move {
            let mut entry = self.inner.load_with_deadline(id).await;
            if let Some((read, release)) = gate {
                read.notify_one();
                release.notified().await;
            }
            if self.hide_deadlines.load(Ordering::SeqCst) {
                entry = entry.map(|e| e.map(|(value, _)| (value, None)));
            }
            entry
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(Self::injected())));
        }
        self.inner.save(id, value, expires_at)
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        self.inner.delete(id)
    }
}

/// A clock a test moves by hand, and a reader of it for the stores.
fn manual_clock() -> (
    Arc<Mutex<SystemTime>>,
    impl Fn() -> SystemTime + Send + Sync + Clone + 'static,
) {
    let clock = Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(1_900_000_000)));
    let reader = Arc::clone(&clock);
    (clock, move || *reader.lock().unwrap())
}

fn advance(clock: &Mutex<SystemTime>, by: Duration) {
    *clock.lock().unwrap() += by;
}

fn hour() -> Duration {
    Duration::from_secs(3600)
}

#[tokio::test]
async fn hits_are_answered_without_the_backend() {
    let (clock, read) = manual_clock();
    let backend = Probe::new(read.clone());
    let store = CachingStore::new(backend.clone()).with_clock(read);
    let id = StoreId::generate();
    let until = *clock.lock().unwrap() + hour();
    store.save(&id, b"written through", until).await.unwrap();
    assert_eq!(
        backend.inner.load(&id).await.unwrap().as_deref(),
        Some(&b"written through"[..]),
        "the backend has the write"
    );
    for _ in 0..10 {
        assert_eq!(
            store.load(&id).await.unwrap().as_deref(),
            Some(&b"written through"[..])
        );
    }
    assert_eq!(backend.loads(), 0, "every load was a hit");

    // A miss reads the backend once and fills the cache.
    let other = StoreId::generate();
    backend
        .inner
        .save(&other, b"elsewhere", until)
        .await
        .unwrap();
    assert_eq!(
        store.load(&other).await.unwrap().as_deref(),
        Some(&b"elsewhere"[..])
    );
    assert_eq!(
        store.load(&other).await.unwrap().as_deref(),
        Some(&b"elsewhere"[..])
    );
    assert_eq!(backend.loads(), 1, "the second load was a hit");
}

#[tokio::test]
async fn a_failed_write_is_an_error_and_leaves_nothing_cached() {
    let (clock, read) = manual_clock();
    let backend = Probe::new(read.clone());
    let store = CachingStore::new(backend.clone()).with_clock(read);
    let id = StoreId::generate();
    let until = *clock.lock().unwrap() + hour();
    store.save(&id, b"old", until).await.unwrap();

    backend.fail_writes(true);
    let err = store.save(&id, b"new", until).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    let fresh = StoreId::generate();
    let err = store.create(&fresh, b"new", until).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    backend.fail_writes(false);

    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"old"[..]),
        "what the backend holds, not the refused value"
    );
    assert_eq!(backend.loads(), 1, "asked the backend after the failure");
    assert_eq!(store.load(&fresh).await.unwrap(), None);
}

#[tokio::test]
async fn a_delete_is_not_undone_by_a_load_that_raced_it() {
    let (clock, read) = manual_clock();
    let backend = Probe::new(read.clone());
    let store = Arc::new(CachingStore::new(backend.clone()).with_clock(read));
    let id = StoreId::generate();
    let until = *clock.lock().unwrap() + hour();
    // In the backend only, so the next load misses the cache.
    backend.inner.save(&id, b"doomed", until).await.unwrap();

    let (read_done, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    *backend.gate.lock().unwrap() = Some((Arc::clone(&read_done), Arc::clone(&release)));
    let racing = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.load(&id).await.unwrap() })
    };
    // The load has read "doomed" from the backend and waits; delete now.
    read_done.notified().await;
    store.delete(&id).await.unwrap();
    release.notify_one();
    assert_eq!(
        racing.await.unwrap().as_deref(),
        Some(&b"doomed"[..]),
        "the racing load returns what it read"
    );

    assert_eq!(
        store.load(&id).await.unwrap(),
        None,
        "but did not put it back in the cache"
    );
    assert_eq!(backend.loads(), 2, "the second load asked the backend");
}

#[tokio::test]
async fn another_servers_write_shows_after_the_staleness_bound() {
    let (clock, read) = manual_clock();
    let shared = Probe::new(read.clone());
    let bound = Duration::from_secs(5);
    let a = CachingStore::new(shared.clone())
        .max_staleness(bound)
        .with_clock(read.clone());
    let b = CachingStore::new(shared.clone())
        .max_staleness(bound)
        .with_clock(read);
    let id = StoreId::generate();
    let until = *clock.lock().unwrap() + hour();

    a.save(&id, b"from a", until).await.unwrap();
    assert_eq!(b.load(&id).await.unwrap().as_deref(), Some(&b"from a"[..]));
    b.save(&id, b"from b", until).await.unwrap();
    assert_eq!(
        a.load(&id).await.unwrap().as_deref(),
        Some(&b"from a"[..]),
        "within the bound, a serves its own cached value"
    );
    advance(&clock, bound);
    assert_eq!(
        a.load(&id).await.unwrap().as_deref(),
        Some(&b"from b"[..]),
        "at the bound, a reads the backend again"
    );

    b.delete(&id).await.unwrap();
    assert_eq!(
        b.load(&id).await.unwrap(),
        None,
        "the deleting server at once"
    );
    advance(&clock, bound);
    assert_eq!(
        a.load(&id).await.unwrap(),
        None,
        "the other after the bound"
    );
}

#[tokio::test]
async fn a_written_entry_is_never_served_past_its_deadline() {
    let (clock, read) = manual_clock();
    let backend = Probe::new(read.clone());
    let store = CachingStore::new(backend.clone())
        .max_staleness(hour())
        .with_clock(read);
    let id = StoreId::generate();
    let now = *clock.lock().unwrap();
    store
        .save(&id, b"short", now + Duration::from_secs(2))
        .await
        .unwrap();
    advance(&clock, Duration::from_secs(1));
    assert!(store.load(&id).await.unwrap().is_some());
    assert_eq!(backend.loads(), 0);
    advance(&clock, Duration::from_secs(1));
    assert_eq!(store.load(&id).await.unwrap(), None, "gone at its deadline");
}

#[tokio::test]
async fn a_zero_bound_caches_nothing() {
    let (clock, read) = manual_clock();
    let backend = Probe::new(read.clone());
    let store = CachingStore::new(backend.clone())
        .max_staleness(Duration::ZERO)
        .with_clock(read);
    let id = StoreId::generate();
    let until = *clock.lock().unwrap() + hour();
    store.save(&id, b"x", until).await.unwrap();
    store.load(&id).await.unwrap();
    store.load(&id).await.unwrap();
    assert_eq!(backend.loads(), 2);
    assert_eq!(store.cached_entries(), 0);
}

#[tokio::test]
async fn a_backend_without_deadlines_gets_write_through_caching_only() {
    let (clock, read) = manual_clock();
    let backend = Probe::new(read.clone());
    backend.hide_deadlines.store(true, Ordering::SeqCst);
    let store = CachingStore::new(backend.clone()).with_clock(read);
    let until = *clock.lock().unwrap() + hour();
    let (written, elsewhere) = (StoreId::generate(), StoreId::generate());
    store
        .save(&written, b"through the cache", until)
        .await
        .unwrap();
    backend.inner.save(&elsewhere, b"not", until).await.unwrap();
    for _ in 0..3 {
        assert!(store.load(&written).await.unwrap().is_some());
        assert!(store.load(&elsewhere).await.unwrap().is_some());
    }
    assert_eq!(
        backend.loads(),
        3,
        "only the entry it cannot date went to the backend, every time"
    );
}
