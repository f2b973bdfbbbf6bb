//! A local cache in front of any store, on `moka`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use moka::sync::Cache;

use super::entry_expiry::{AtDeadline, Clock, Deadline};
use super::{Store, StoreAdmin, StoreFuture, StoreId};

/// How long [`CachingStore`] serves an entry without asking the backend,
/// unless set with [`CachingStore::max_staleness`]: five seconds.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(5);

/// Default capacity of a [`CachingStore`]'s cache: 16 MiB of sealed values.
pub const DEFAULT_CACHE_CAPACITY_BYTES: u64 = 16 * 1024 * 1024;

/// Lock shards guarding cache fills against concurrent writes.
const SHARDS: usize = 64;

#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    /// The entry's deadline in the backend.
    expires_at: SystemTime,
    /// The earlier of the entry's deadline and the end of its staleness
    /// window: after it the entry is never served.
    serve_until: SystemTime,
}

impl Deadline for Entry {
    fn deadline(&self) -> SystemTime {
        self.serve_until
    }
}

/// A bounded in-process cache in front of a shared store (Redis, SQL,
/// MongoDB): loads this server has seen are answered from memory, every
/// write goes to the backend first.
///
/// - **Write-through.** `create` and `save` write to the backend and, once
///   it has accepted the write, keep the value in the cache; a failed write
///   is an error and leaves nothing cached for the id, so the cache never
///   holds what the backend refused.
/// - **Deletes.** `delete` drops the entry from this cache before and after
///   it deletes from the backend, and a load that was reading the backend
///   while the delete ran does not put the old value back (each write bumps
///   a per-shard generation that a fill must still see unchanged). A
///   session deleted through this server, by
///   [`Session::destroy`](crate::Session::destroy) or
///   [`Session::regenerate`](crate::Session::regenerate) or a move back into
///   the cookie, is never served again from its cache. Revocations
///   ([`revocation`](crate::revocation)) are checked by the manager after
///   every load, cached or not.
/// - **Staleness across servers.** Another server's cache is not told. A
///   server that cached a session keeps serving that value for at most
///   [`max_staleness`](Self::max_staleness) (default
///   [`DEFAULT_MAX_STALENESS`]) after it cached it, even if another server
///   saved a newer value or deleted it meanwhile; then it asks the backend
///   again. Route a client's requests to one server (sticky sessions), or
///   lower the bound, when that matters; a zero bound turns the cache off.
/// - **Deadlines.** No entry is served past its deadline. A miss asks the
///   backend with [`Store::load_with_deadline`]; every shipped store
///   reports the deadline, and a value from a backend that does not is
///   returned but not cached (only values written through this cache are).
///
/// The cache holds sealed bytes only, bounded by the total size of its
/// values ([`DEFAULT_CACHE_CAPACITY_BYTES`] unless set with
/// [`capacity_bytes`](Self::capacity_bytes)); least-recently-used entries go
/// first. Cloning shares the cache.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sealed_session::store::{CachingStore, Store};
///
/// /// A cache in front of a shared store (a `RedisStore`, say).
/// fn cached(shared: Arc<dyn Store>) -> Arc<dyn Store> {
///     Arc::new(
///         CachingStore::new(shared)
///             .max_staleness(Duration::from_secs(2))
///             .capacity_bytes(64 << 20),
///     )
/// }
/// # let _ = cached(Arc::new(sealed_session::store::MemoryStore::new()));
/// ```
#[derive(Clone)]
pub struct CachingStore<B> {
    backend: B,
    cache: Cache<[u8; 16], Entry>,
    generations: Arc<[Mutex<u64>; SHARDS]>,
    clock: Clock,
    max_staleness: Duration,
    capacity: u64,
}

impl<B: Store> CachingStore<B> {
    /// A cache of [`DEFAULT_CACHE_CAPACITY_BYTES`] in front of `backend`,
    /// serving an entry for at most [`DEFAULT_MAX_STALENESS`].
    pub fn new(backend: B) -> Self {
        Self::build(
            backend,
            DEFAULT_CACHE_CAPACITY_BYTES,
            DEFAULT_MAX_STALENESS,
            Arc::new(SystemTime::now),
        )
    }

    /// This store serving a cached entry for at most `bound` after it was
    /// cached (see the type's docs on staleness across servers).
    #[must_use]
    pub fn max_staleness(self, bound: Duration) -> Self {
        Self::build(self.backend, self.capacity, bound, self.clock)
    }

    /// This store with a cache of at most `capacity` bytes of values.
    #[must_use]
    pub fn capacity_bytes(self, capacity: u64) -> Self {
        Self::build(self.backend, capacity, self.max_staleness, self.clock)
    }

    /// This store with an injected clock, for tests: deadlines and the
    /// staleness window are measured against it. Give the backend the same
    /// clock where it takes one.
    #[must_use]
    pub fn with_clock(self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self::build(
            self.backend,
            self.capacity,
            self.max_staleness,
            Arc::new(clock),
        )
    }

    fn build(backend: B, capacity: u64, max_staleness: Duration, clock: Clock) -> Self {
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_: &[u8; 16], e: &Entry| u32::try_from(e.value.len()).unwrap_or(u32::MAX))
            .expire_after(AtDeadline {
                clock: Arc::clone(&clock),
            })
            .build();
        Self {
            backend,
            cache,
            generations: Arc::new(std::array::from_fn(|_| Mutex::new(0))),
            clock,
            max_staleness,
            capacity,
        }
    }

    /// The store behind the cache.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The staleness bound.
    pub fn staleness_bound(&self) -> Duration {
        self.max_staleness
    }

    /// Entries in the cache, after pending evictions have run.
    pub fn cached_entries(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "the shard is below SHARDS, the array's length"
    )]
    fn generation(&self, id: &StoreId) -> &Mutex<u64> {
        let shard = usize::from(id.as_bytes().first().copied().unwrap_or(0)) % SHARDS;
        &self.generations[shard]
    }

    /// Under the id's shard lock: bumps the generation (so a fill that read
    /// the backend before this write is dropped) and puts `value` in the
    /// cache, or removes the id's entry.
    fn record_write(&self, id: &StoreId, value: Option<(&[u8], SystemTime)>) {
        let mut generation = self
            .generation(id)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        match value {
            Some((value, expires_at)) => self.put(id, value, expires_at),
            None => self.cache.invalidate(id.as_bytes()),
        }
    }

    /// Under the id's shard lock: bumps the generation and moves a cached
    /// entry's deadline to `expires_at` (what a `touch` did to the
    /// backend's).
    fn record_touch(&self, id: &StoreId, expires_at: SystemTime) {
        let mut generation = self
            .generation(id)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        if let Some(entry) = self.cache.get(id.as_bytes()) {
            self.put(id, &entry.value, expires_at);
        }
    }

    fn put(&self, id: &StoreId, value: &[u8], expires_at: SystemTime) {
        let now = (self.clock)();
        let serve_until = expires_at.min(now + self.max_staleness);
        if serve_until > now {
            let entry = Entry {
                value: Arc::from(value),
                expires_at,
                serve_until,
            };
            self.cache.insert(id.to_bytes(), entry);
        } else {
            self.cache.invalidate(id.as_bytes());
        }
    }

    fn cached(&self, id: &StoreId) -> Option<(Vec<u8>, Option<SystemTime>)> {
        let entry = self.cache.get(id.as_bytes())?;
        if entry.serve_until > (self.clock)() {
            Some((entry.value.to_vec(), Some(entry.expires_at)))
        } else {
            None
        }
    }
}

impl<B: Store> Store for CachingStore<B> {
    fn kind(&self) -> &'static str {
        "caching"
    }

    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            match self.backend.create(id, value, expires_at).await {
                Ok(true) => {
                    self.record_write(id, Some((value, expires_at)));
                    Ok(true)
                }
                Ok(false) => Ok(false),
                Err(e) => {
                    self.record_write(id, None);
                    Err(e)
                }
            }
        })
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.load_with_deadline(id).await?.map(|(value, _)| value)) })
    }

    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        Box::pin(async move {
            if let Some(hit) = self.cached(id) {
                return Ok(Some(hit));
            }
            let before = *self
                .generation(id)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let loaded = self.backend.load_with_deadline(id).await?;
            if let Some((value, Some(expires_at))) = &loaded {
                let generation = self
                    .generation(id)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // A write to this shard since the backend read may have
                // replaced or deleted what was read: do not cache it.
                if *generation == before {
                    self.put(id, value, *expires_at);
                }
            }
            Ok(loaded)
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            match self.backend.save(id, value, expires_at).await {
                Ok(()) => {
                    self.record_write(id, Some((value, expires_at)));
                    Ok(())
                }
                Err(e) => {
                    // The backend may or may not hold the new value: serve
                    // neither from here.
                    self.record_write(id, None);
                    Err(e)
                }
            }
        })
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.record_write(id, None);
            let deleted = self.backend.delete(id).await;
            self.record_write(id, None);
            deleted
        })
    }

    fn compare_and_save<'a>(
        &'a self,
        id: &'a StoreId,
        expected: &'a [u8],
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            // The backend decides: the cache may be stale for writes made
            // on other servers.
            match self
                .backend
                .compare_and_save(id, expected, value, expires_at)
                .await
            {
                Ok(true) => {
                    self.record_write(id, Some((value, expires_at)));
                    Ok(true)
                }
                other => {
                    self.record_write(id, None);
                    other
                }
            }
        })
    }

    fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            match self.backend.touch(id, expires_at).await {
                Ok(true) => {
                    self.record_touch(id, expires_at);
                    Ok(true)
                }
                other => {
                    self.record_write(id, None);
                    other
                }
            }
        })
    }
}

/// Counts what the backend holds; clearing clears the backend, then the
/// cache (and drops any fill in flight).
impl<B: StoreAdmin> StoreAdmin for CachingStore<B> {
    fn len(&self) -> StoreFuture<'_, u64> {
        self.backend.len()
    }

    fn clear(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let cleared = self.backend.clear().await;
            for shard in self.generations.iter() {
                let mut generation = shard.lock().unwrap_or_else(PoisonError::into_inner);
                *generation = generation.wrapping_add(1);
            }
            self.cache.invalidate_all();
            cleared
        })
    }
}

impl<B: fmt::Debug> fmt::Debug for CachingStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingStore")
            .field("backend", &self.backend)
            .field("capacity_bytes", &self.capacity)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}
