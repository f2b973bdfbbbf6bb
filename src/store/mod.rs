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

pub use crate::codec::store_id::StoreId;
pub use crate::manager::{Store, StoreAdmin, StoreFuture};

#[cfg(feature = "memory")]
mod entry_expiry;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use memory::{DEFAULT_CAPACITY_BYTES, MemoryStore};

#[cfg(any(
    feature = "redis",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql",
    feature = "mongodb"
))]
mod deadline;
#[cfg(any(
    feature = "redis",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql",
    feature = "mongodb"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "redis",
        feature = "sqlx-sqlite",
        feature = "sqlx-postgres",
        feature = "sqlx-mysql",
        feature = "mongodb"
    )))
)]
pub use deadline::DEFAULT_STORE_TIMEOUT;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{DEFAULT_REDIS_PREFIX, RedisStore, RedisStoreBuilder};

#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql"
))]
mod expired;
#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "sqlx-sqlite",
        feature = "sqlx-postgres",
        feature = "sqlx-mysql"
    )))
)]
pub use expired::{DeleteExpired, ExpiredDeletion};
#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql"
))]
mod sql;
#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "sqlx-sqlite",
        feature = "sqlx-postgres",
        feature = "sqlx-mysql"
    )))
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

#[cfg(any(feature = "redis", feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod revocation;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres")))
)]
pub use revocation::DEFAULT_REVOCATION_TABLE;
#[cfg(feature = "sqlx-postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-postgres")))]
pub use revocation::PostgresRevocations;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use revocation::RedisRevocations;
#[cfg(feature = "sqlx-sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-sqlite")))]
pub use revocation::SqliteRevocations;

#[cfg(feature = "sqlx-mysql")]
mod mysql;
#[cfg(feature = "sqlx-mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-mysql")))]
pub use mysql::MySqlStore;

#[cfg(feature = "mongodb")]
mod mongo;
#[cfg(feature = "mongodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "mongodb")))]
pub use mongo::{DEFAULT_COLLECTION_NAME, DEFAULT_DATABASE_NAME, MongoStore};

#[cfg(feature = "memory")]
mod caching;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use caching::{CachingStore, DEFAULT_CACHE_CAPACITY_BYTES, DEFAULT_MAX_STALENESS};
