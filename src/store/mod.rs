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
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::error::Error;

#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use memory::{DEFAULT_CAPACITY_BYTES, MemoryStore};

#[cfg(any(feature = "redis", feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod deadline;
#[cfg(any(feature = "redis", feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "redis", feature = "sqlx-sqlite", feature = "sqlx-postgres")))
)]
pub use deadline::DEFAULT_STORE_TIMEOUT;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{DEFAULT_REDIS_PREFIX, RedisStore, RedisStoreBuilder};

#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod sql;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres")))
)]
pub use sql::DEFAULT_TABLE_NAME;

#[cfg(feature = "sqlx-sqlite")]
mod sqlite;
#[cfg(feature = "sqlx-sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-sqlite")))]
pub use sqlite::SqliteStore;

#[cfg(feature = "sqlx-postgres")]
mod postgres;
#[cfg(feature = "sqlx-postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-postgres")))]
pub use postgres::PostgresStore;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A random 128-bit store id.
///
/// # Security
///
/// The id is a bearer credential for its entry (together with the sealed
/// pointer cookie), so neither `Display` nor `Debug` shows it whole: both
/// show only its first four bytes as hex, then `…`, enough to correlate log
/// lines. [`StoreId::to_hex`] gives the full 32 hex digits, for stores that
/// key their entries by it.
///
/// # Examples
///
/// ```
/// use sealed_session::store::StoreId;
///
/// let id = StoreId::from_bytes([0xab; 16]);
/// assert_eq!(id.to_string(), "abababab…");
/// assert_eq!(format!("{id:?}"), "StoreId(abababab…)");
/// assert_eq!(id.to_hex(), "ab".repeat(16));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId([u8; 16]);

impl StoreId {
    /// A new random id from the crate's thread-local CSPRNG (ChaCha12,
    /// seeded by the operating system and reseeded in a forked child, so a
    /// parent and its child never draw the same id).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        crate::crypto::random::fill(&mut bytes);
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

    /// The whole id as 32 lowercase hex digits, the form stores use in their
    /// keys.
    ///
    /// # Security
    ///
    /// The result is a bearer credential for the entry: use it to address
    /// the store, never write it to logs (print the id with `{}` or `{:?}`,
    /// which redact it).
    pub fn to_hex(&self) -> String {
        let mut hex = String::with_capacity(32);
        self.push_hex(&mut hex);
        hex
    }

    /// Appends the whole id as 32 lowercase hex digits to `out`.
    pub(crate) fn push_hex(&self, out: &mut String) {
        for b in self.0 {
            // Writing to a `String` cannot fail.
            let _ = write!(out, "{b:02x}");
        }
    }
}

impl fmt::Display for StoreId {
    /// Shows only the first four bytes, as eight hex digits and `…`: the id
    /// is a bearer credential (see [`StoreId::to_hex`] for the whole id).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "{a:02x}{b:02x}{c:02x}{d:02x}…")
    }
}

impl fmt::Debug for StoreId {
    /// Shows only the first four bytes, as `Display` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({self})")
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
