//! What the manager needs of a server-side store. The trait lives with the
//! manager that calls it; the stores that implement it (`crate::store`) sit
//! above, and `sealed_session::store` re-exports it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::codec::store_id::StoreId;
use crate::error::Error;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A server-side key-value store for sealed sessions.
///
/// Every method returns a boxed future so the trait stays object-safe
/// (`Arc<dyn Store>`). Errors are infrastructure failures, built with
/// [`Error::store`]; the manager passes them to the caller unchanged and never
/// emits a cookie pointing at an entry whose write failed.
///
/// Entries must not be returned after `expires_at`; a store may keep them
/// longer internally (the sealed value carries its own deadlines, which are
/// checked again after it authenticates).
pub trait Store: Send + Sync + fmt::Debug {
    /// Inserts `value` under `id` only if no entry exists; `Ok(false)` when
    /// one does (the caller then picks another id).
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool>;

    /// The value under `id`, or `None` when absent or expired.
    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// As [`load`](Self::load), with the entry's deadline when the store
    /// knows it. A cache in front of the store
    /// ([`CachingStore`](crate::store::CachingStore)) needs the deadline to
    /// keep what it read no longer than the store would; without one it
    /// keeps only what was written through it.
    ///
    /// The default calls `load` and reports no deadline; the shipped stores
    /// override it.
    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        Box::pin(async move { Ok(self.load(id).await?.map(|value| (value, None))) })
    }

    /// Inserts or replaces the value under `id`.
    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()>;

    /// Removes the entry under `id`, if any.
    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()>;

    /// Moves the deadline of the live entry under `id` to `expires_at`
    /// without rewriting its value; `Ok(true)` when it did, `Ok(false)`
    /// when there is no live entry or the store cannot extend one in place.
    /// The manager calls it when it renews a stored session whose value
    /// did not change, and writes the whole value when it gets `false`.
    ///
    /// The default returns `Ok(false)` (no in-place extension). The memory,
    /// Redis and SQL stores extend in place (`PEXPIRE`, one `UPDATE`).
    fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
        let _ = (id, expires_at);
        Box::pin(std::future::ready(Ok(false)))
    }

    /// Replaces the live entry under `id` with `value` only if it still
    /// holds exactly `expected` (the sealed bytes the session was loaded
    /// from); `Ok(false)` when it holds something else, is absent or has
    /// expired. Atomic in the store. For optimistic concurrency
    /// ([`SessionManagerBuilder::optimistic_concurrency`](crate::SessionManagerBuilder::optimistic_concurrency)):
    /// every write seals with a fresh random nonce, so the sealed bytes are
    /// their own version and no two writes leave the same bytes.
    ///
    /// The default fails with
    /// [`ErrorKind::StoreUnsupported`](crate::ErrorKind::StoreUnsupported);
    /// every shipped store implements it.
    fn compare_and_save<'a>(
        &'a self,
        id: &'a StoreId,
        expected: &'a [u8],
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        let _ = (id, expected, value, expires_at);
        Box::pin(std::future::ready(Err(Error::new(
            crate::ErrorKind::StoreUnsupported,
        ))))
    }

    /// What kind of store this is (`memory`, `redis`, `sqlite`,
    /// `postgres`, `mysql`, `mongodb`, `caching`): the `store` label of the store metrics and events (see
    /// [`observe`](crate::observe)). A short constant, never anything
    /// that varies per instance or entry. The default is `custom`.
    fn kind(&self) -> &'static str {
        "custom"
    }
}

/// A shared store is a store, so a wrapper such as
/// [`CachingStore`](crate::store::CachingStore) can sit in front of an
/// `Arc<dyn Store>`.
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        (**self).create(id, value, expires_at)
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        (**self).load(id)
    }

    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        (**self).load_with_deadline(id)
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        (**self).save(id, value, expires_at)
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        (**self).delete(id)
    }

    fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
        (**self).touch(id, expires_at)
    }

    fn compare_and_save<'a>(
        &'a self,
        id: &'a StoreId,
        expected: &'a [u8],
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        (**self).compare_and_save(id, expected, value, expires_at)
    }

    fn kind(&self) -> &'static str {
        (**self).kind()
    }
}

/// What operators ask of a store besides sessions: how many there are, and
/// removing them all (after a breach, or to sign everyone out of the
/// sessions that spilled to the store). Implemented where the backend can
/// answer: the memory, SQL, MongoDB and standalone Redis stores, and a
/// [`CachingStore`](crate::store::CachingStore) over one of them.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "memory")]
/// # fn main() -> Result<(), sealed_session::Error> {
/// use sealed_session::store::{MemoryStore, StoreAdmin};
///
/// let store = MemoryStore::new();
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// runtime.block_on(async {
///     assert_eq!(store.len().await?, 0);
///     assert_eq!(store.clear().await?, 0);
///     Ok(())
/// })
/// # }
/// # #[cfg(not(feature = "memory"))]
/// # fn main() {}
/// ```
pub trait StoreAdmin: Store {
    /// Live entries: those not past their deadline. Counting may visit
    /// every entry (Redis scans its keys under the prefix): for dashboards
    /// and operators, not for every request.
    fn len(&self) -> StoreFuture<'_, u64>;

    /// Whether there is no live entry.
    fn is_empty(&self) -> StoreFuture<'_, bool> {
        Box::pin(async move { Ok(self.len().await? == 0) })
    }

    /// Removes every entry, expired ones included, and returns how many it
    /// removed. Sessions that were in the store start fresh
    /// ([`FreshReason::MissingFromStore`](crate::FreshReason::MissingFromStore));
    /// sessions held in cookies are untouched (rotate the keys to end
    /// those).
    fn clear(&self) -> StoreFuture<'_, u64>;
}

impl<S: StoreAdmin + ?Sized> StoreAdmin for std::sync::Arc<S> {
    fn len(&self) -> StoreFuture<'_, u64> {
        (**self).len()
    }

    fn clear(&self) -> StoreFuture<'_, u64> {
        (**self).clear()
    }
}
