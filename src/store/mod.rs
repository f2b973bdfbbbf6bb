//! Server-side stores for sessions too large for a cookie.
//!
//! A store keeps **sealed bytes** only: each value is the session sealed with
//! the ring's primary key and bound to its store id and cookie name as
//! associated data, so a dump of the store reveals nothing and key rotation
//! covers stored sessions too. The cookie then carries a sealed pointer (the
//! store id and the session's times).
//!
//! Implement [`Store`] to plug in another backend; it is object-safe, so a
//! manager holds an `Arc<dyn Store>`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::error::Error;

#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "memory")]
pub use memory::{DEFAULT_CAPACITY_BYTES, MemoryStore};

#[cfg(any(feature = "redis", feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod deadline;
#[cfg(any(feature = "redis", feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
pub use deadline::DEFAULT_STORE_TIMEOUT;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_REDIS_PREFIX, RedisStore, RedisStoreBuilder};

#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod sql;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
pub use sql::DEFAULT_TABLE_NAME;

#[cfg(feature = "sqlx-sqlite")]
mod sqlite;
#[cfg(feature = "sqlx-sqlite")]
pub use sqlite::SqliteStore;

#[cfg(feature = "sqlx-postgres")]
mod postgres;
#[cfg(feature = "sqlx-postgres")]
pub use postgres::PostgresStore;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A random 128-bit store id.
///
/// Displayed as 32 lowercase hex digits, the form stores use in their keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId([u8; 16]);

impl StoreId {
    /// A new random id from the crate's thread-local CSPRNG (ChaCha12,
    /// seeded by the operating system and reseeded in a forked child, so a
    /// parent and its child never draw the same id).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        crate::random::fill(&mut bytes);
        Self(bytes)
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// An id from its bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for StoreId {
    /// Shows only the first four bytes: the id is a bearer credential for
    /// its entry (together with the sealed pointer cookie).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "StoreId({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

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

    /// Inserts or replaces the value under `id`.
    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()>;

    /// Removes the entry under `id`, if any.
    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()>;
}
