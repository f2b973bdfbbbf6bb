//! The MySQL / MariaDB store, on sqlx.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::mysql::MySqlPoolOptions;
use sqlx::{AssertSqlSafe, MySqlPool, Row as _};

use super::deadline::{DEFAULT_STORE_TIMEOUT, bounded};
use super::sql::{
    Clock, Dialect, Statements, from_unix_millis, is_unique_violation, sql_store_impl,
    system_clock, unix_millis,
};
use super::{Store, StoreFuture, StoreId};
use crate::error::Error;

/// A store in MySQL or MariaDB, for applications that already run one:
/// shared by every server, durable, and backed up with the rest of the data.
///
/// One InnoDB table (default `sealed_sessions`, see
/// [`with_table_name`](Self::with_table_name)) with the id as a
/// `VARBINARY(16)` primary key, the sealed value as `LONGBLOB` and the
/// deadline as a `BIGINT` of milliseconds since the Unix epoch, indexed.
/// [`migrate`](Self::migrate) creates it. Deadlines are compared with the
/// application's clock, not the database's. Rows past their deadline are
/// never returned; `create` deletes such a row under its id before it
/// inserts, and a duplicate key there means a live session holds the id.
/// [`delete_expired`](Self::delete_expired) reclaims the space of the rest
/// and is for the application to schedule (one server is enough, but running
/// it on every server is harmless).
///
/// A session value can be as large as the server's `max_allowed_packet`
/// (16 MiB by default in MariaDB, 64 MiB in MySQL 8).
///
/// The pool reconnects by itself after the server restarts; each operation
/// is bounded by a time limit, past which it fails with
/// [`ErrorKind::Store`](crate::ErrorKind::Store). Its tests run against
/// MariaDB; the statements are also valid MySQL 8 (which warns that
/// `VALUES()` in `ON DUPLICATE KEY UPDATE` is deprecated).
///
/// # Examples
///
/// Connect, migrate, and delete expired rows every five minutes:
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sealed_session::store::{MySqlStore, Store};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = MySqlStore::connect("mysql://app:secret@127.0.0.1/app").await?;
/// store.migrate().await?;
///
/// let sweeper = store.clone();
/// tokio::spawn(async move {
///     let mut every = tokio::time::interval(Duration::from_secs(300));
///     loop {
///         every.tick().await;
///         if let Err(e) = sweeper.delete_expired().await {
///             eprintln!("session sweep failed: {e}");
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
pub struct MySqlStore {
    pool: MySqlPool,
    table: Arc<str>,
    statements: Arc<Statements>,
    clock: Clock,
    timeout: Duration,
}

impl MySqlStore {
    /// Connects a pool to `url` (`mysql://user:password@host:port/db`, also
    /// for MariaDB) whose connection attempts give up after
    /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT), and returns a
    /// store over it with the defaults of [`new`](Self::new). To tune the
    /// pool, build a `MySqlPool` yourself and use [`new`](Self::new). Call
    /// [`migrate`](Self::migrate) next.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the URL does not
    /// parse or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pool = MySqlPoolOptions::new()
            .acquire_timeout(DEFAULT_STORE_TIMEOUT)
            .connect(url)
            .await
            .map_err(Error::store)?;
        Ok(Self::new(pool))
    }
}

sql_store_impl!(MySqlStore, MySqlPool, Dialect::MySql, "mysql");
