//! The PostgreSQL store, on sqlx.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool, Row as _};

use super::deadline::{DEFAULT_STORE_TIMEOUT, bounded};
use super::sql::{
    Clock, Dialect, Statements, from_unix_millis, is_unique_violation, sql_store_impl,
    system_clock, unix_millis,
};
use super::{Store, StoreFuture, StoreId};
use crate::error::Error;

/// A store in PostgreSQL, for applications that already run one: shared by
/// every server, durable, and backed up with the rest of the data.
///
/// One table (default `sealed_sessions`, see
/// [`with_table_name`](Self::with_table_name)) with the id as a 16-byte
/// `BYTEA` primary key, the sealed value as `BYTEA` and the deadline as a
/// `BIGINT` of milliseconds since the Unix epoch. [`migrate`](Self::migrate)
/// creates it. Deadlines are compared with the application's clock, not the
/// database's. Rows past their deadline are never returned and a `create`
/// may replace one; [`delete_expired`](Self::delete_expired) reclaims their
/// space and is for the application to schedule (one server is enough, but
/// running it on every server is harmless).
///
/// The pool reconnects by itself after the server restarts; each operation
/// is bounded by a time limit, past which it fails with
/// [`ErrorKind::Store`](crate::ErrorKind::Store).
///
/// # Examples
///
/// Connect, migrate, and delete expired rows every five minutes:
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sealed_session::store::{PostgresStore, Store};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
///
/// let sweeper = store.clone();
/// tokio::spawn(async move {
///     let mut every = tokio::time::interval(Duration::from_secs(300));
///     loop {
///         every.tick().await;
///         match sweeper.delete_expired().await {
///             Ok(removed) => eprintln!("removed {removed} expired sessions"),
///             Err(e) => eprintln!("session sweep failed: {e}"),
///         }
///     }
/// });
///
/// let store: Arc<dyn Store> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    table: Arc<str>,
    statements: Arc<Statements>,
    clock: Clock,
    timeout: Duration,
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user:password@host:port/db`)
    /// whose connection attempts give up after
    /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT), and returns a
    /// store over it with the defaults of [`new`](Self::new). To tune the
    /// pool, build a `PgPool` yourself and use [`new`](Self::new). Call
    /// [`migrate`](Self::migrate) next.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the URL does not
    /// parse or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .acquire_timeout(DEFAULT_STORE_TIMEOUT)
            .connect(url)
            .await
            .map_err(Error::store)?;
        Ok(Self::new(pool))
    }
}

sql_store_impl!(PostgresStore, PgPool, Dialect::Postgres, "postgres");
