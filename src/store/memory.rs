//! The embedded in-memory store, on `moka`.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use moka::sync::Cache;

use super::entry_expiry::{AtDeadline, Clock, Deadline};
use super::{Store, StoreAdmin, StoreFuture, StoreId};

/// Default capacity: 64 MiB of sealed values.
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    expires_at: SystemTime,
}

impl Deadline for Entry {
    fn deadline(&self) -> SystemTime {
        self.expires_at
    }
}

/// An in-memory store bounded by the total bytes of its values, each entry
/// evicted at its deadline; least-recently-used entries go first when full.
///
/// For one process: entries are lost on restart and not shared between
/// servers (use the Redis or SQL stores for that). Cloning shares the store.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use sealed_session::store::{MemoryStore, Store};
///
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::with_capacity_bytes(16 << 20));
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<[u8; 16], Entry>,
    clock: Clock,
    capacity: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store holding at most [`DEFAULT_CAPACITY_BYTES`] of values.
    pub fn new() -> Self {
        Self::with_capacity_bytes(DEFAULT_CAPACITY_BYTES)
    }

    /// A store holding at most `capacity` bytes of values.
    pub fn with_capacity_bytes(capacity: u64) -> Self {
        Self::build(capacity, Arc::new(SystemTime::now))
    }

    /// This store with an injected clock, for tests: deadlines are measured
    /// against it, and `load` never returns an entry past its deadline by it.
    #[must_use]
    pub fn with_clock(self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self::build(self.capacity, Arc::new(clock))
    }

    fn build(capacity: u64, clock: Clock) -> Self {
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_: &[u8; 16], e: &Entry| u32::try_from(e.value.len()).unwrap_or(u32::MAX))
            .expire_after(AtDeadline {
                clock: Arc::clone(&clock),
            })
            .build();
        Self {
            cache,
            clock,
            capacity,
        }
    }

    /// The configured capacity, in bytes of values.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity
    }

    /// Bytes of values held, after pending evictions have run.
    pub fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }

    /// Entries held, after pending evictions have run.
    pub fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    fn live(&self, entry: &Entry) -> bool {
        entry.expires_at > (self.clock)()
    }

    fn entry(value: &[u8], expires_at: SystemTime) -> Entry {
        Entry {
            value: Arc::from(value),
            expires_at,
        }
    }
}

impl Store for MemoryStore {
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        let created = self
            .cache
            .entry(id.to_bytes())
            .and_compute_with(|existing| match existing {
                Some(e) if self.live(e.value()) => moka::ops::compute::Op::Nop,
                _ => moka::ops::compute::Op::Put(Self::entry(value, expires_at)),
            });
        let fresh = matches!(created, moka::ops::compute::CompResult::Inserted(_))
            || matches!(created, moka::ops::compute::CompResult::ReplacedWith(_));
        Box::pin(std::future::ready(Ok(fresh)))
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        let value = self
            .cache
            .get(id.as_bytes())
            .filter(|e| self.live(e))
            .map(|e| e.value.to_vec());
        Box::pin(std::future::ready(Ok(value)))
    }

    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        let entry = self
            .cache
            .get(id.as_bytes())
            .filter(|e| self.live(e))
            .map(|e| (e.value.to_vec(), Some(e.expires_at)));
        Box::pin(std::future::ready(Ok(entry)))
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        self.cache
            .insert(id.to_bytes(), Self::entry(value, expires_at));
        Box::pin(std::future::ready(Ok(())))
    }

    fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
        // The value is shared (an `Arc`), not copied: only the deadline
        // changes, and only for a live entry.
        let touched = self
            .cache
            .entry(id.to_bytes())
            .and_compute_with(|existing| match existing {
                Some(e) if self.live(e.value()) => moka::ops::compute::Op::Put(Entry {
                    value: Arc::clone(&e.value().value),
                    expires_at,
                }),
                _ => moka::ops::compute::Op::Nop,
            });
        let touched = matches!(touched, moka::ops::compute::CompResult::ReplacedWith(_));
        Box::pin(std::future::ready(Ok(touched)))
    }

    fn compare_and_save<'a>(
        &'a self,
        id: &'a StoreId,
        expected: &'a [u8],
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        let swapped = self
            .cache
            .entry(id.to_bytes())
            .and_compute_with(|existing| match existing {
                Some(e) if self.live(e.value()) && *e.value().value == *expected => {
                    moka::ops::compute::Op::Put(Self::entry(value, expires_at))
                }
                _ => moka::ops::compute::Op::Nop,
            });
        let swapped = matches!(swapped, moka::ops::compute::CompResult::ReplacedWith(_));
        Box::pin(std::future::ready(Ok(swapped)))
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        self.cache.invalidate(id.as_bytes());
        Box::pin(std::future::ready(Ok(())))
    }
}

impl StoreAdmin for MemoryStore {
    fn len(&self) -> StoreFuture<'_, u64> {
        self.cache.run_pending_tasks();
        let live = self.cache.iter().filter(|(_, e)| self.live(e)).count();
        Box::pin(std::future::ready(Ok(
            u64::try_from(live).unwrap_or(u64::MAX)
        )))
    }

    fn clear(&self) -> StoreFuture<'_, u64> {
        self.cache.run_pending_tasks();
        let held = self.cache.entry_count();
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
        Box::pin(std::future::ready(Ok(held)))
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity_bytes", &self.capacity)
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}
