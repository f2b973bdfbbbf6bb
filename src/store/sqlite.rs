//! The SQLite store, on sqlx.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row as _, SqlitePool};

use super::deadline::{DEFAULT_STORE_TIMEOUT, bounded};
use super::sql::{
    Clock, Dialect, Statements, from_unix_millis, is_unique_violation, sql_store_impl,
    system_clock, unix_millis,
};
use super::{Store, StoreFuture, StoreId};
use crate::error::Error;

/// A store in a SQLite database: embedded like the memory store, but it
/// survives a restart. For one machine (several processes may share the
/// file).
///
/// One table (default `sealed_sessions`, see
/// [`with_table_name`](Self::with_table_name)) with the id as a 16-byte
/// `BLOB` primary key, the sealed value as a `BLOB` and the deadline as
/// milliseconds since the Unix epoch. [`migrate`](Self::migrate) creates it.
/// Rows past their deadline (by the store's clock) are never returned and a
/// `create` may replace one; [`delete_expired`](Self::delete_expired)
/// reclaims their space and is for the application to schedule.
///
/// # Examples
///
/// Open, migrate, and delete expired rows every five minutes:
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sealed_session::store::{SqliteStore, Store};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = SqliteStore::connect("sqlite://sessions.db").await?;
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
pub struct SqliteStore {
    pool: SqlitePool,
    table: Arc<str>,
    statements: Arc<Statements>,
    clock: Clock,
    timeout: Duration,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`
    /// (`sqlite://path/to/file.db`, or `sqlite::memory:` for a private
    /// in-memory database that lives as long as the store) in WAL mode with
    /// `synchronous = NORMAL`, and returns a store over it with the defaults
    /// of [`new`](Self::new). Call [`migrate`](Self::migrate) next.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the URL does not
    /// parse or the file cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(Error::store)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(DEFAULT_STORE_TIMEOUT);
        let mut pool = SqlitePoolOptions::new().acquire_timeout(DEFAULT_STORE_TIMEOUT);
        if url.contains(":memory:") || url.contains("mode=memory") {
            // An in-memory database disappears with its last connection.
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_with(options).await.map_err(Error::store)?;
        Ok(Self::new(pool))
    }
}

sql_store_impl!(SqliteStore, SqlitePool, Dialect::Sqlite, "sqlite");
