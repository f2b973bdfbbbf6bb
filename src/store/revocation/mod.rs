//! Revocation backends on the stores' servers: the shared log a
//! [`Registry::shared`](crate::revocation::Registry::shared) reads, and each
//! subject's session list.

#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod sql;

#[cfg(feature = "redis")]
pub use self::redis::RedisRevocations;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
pub use sql::DEFAULT_REVOCATION_TABLE;
#[cfg(feature = "sqlx-postgres")]
pub use sql::PostgresRevocations;
#[cfg(feature = "sqlx-sqlite")]
pub use sql::SqliteRevocations;
