//! What the SQL stores share: the table's shape, its name, the clock.
//!
//! Both stores keep one table:
//!
//! | column | type | holds |
//! |---|---|---|
//! | `id` | `BLOB` / `BYTEA`, primary key | the 16 bytes of the [`StoreId`](super::StoreId) |
//! | `value` | `BLOB` / `BYTEA` | the sealed session |
//! | `expires_at` | `BIGINT` | the deadline, in milliseconds since the Unix epoch |
//!
//! plus an index on `expires_at` for `delete_expired`. Deadlines are compared
//! against the store's clock (the application's, not the database's), so the
//! clock can be injected in tests.

use std::sync::Arc;
use std::time::SystemTime;

/// The table the SQL stores use unless told otherwise.
pub const DEFAULT_TABLE_NAME: &str = "sealed_sessions";

/// The clock a SQL store measures deadlines against.
pub(super) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system clock.
pub(super) fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// Milliseconds since the Unix epoch, clamped to `0..=i64::MAX`.
pub(super) fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `name` as a quoted SQL identifier (`"` doubled), valid in SQLite and
/// PostgreSQL whatever it holds.
pub(super) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The statements a store runs, built once from its table name. `$N`
/// placeholders work in both SQLite and PostgreSQL.
#[derive(Debug, Clone)]
pub(super) struct Statements {
    pub(super) create_table: Arc<str>,
    pub(super) create_index: Arc<str>,
    pub(super) insert_if_absent: Arc<str>,
    pub(super) upsert: Arc<str>,
    pub(super) select: Arc<str>,
    pub(super) delete: Arc<str>,
    pub(super) delete_expired: Arc<str>,
}

impl Statements {
    /// `bytes_type` is the type of the byte columns (`BLOB`, `BYTEA`).
    pub(super) fn new(table: &str, bytes_type: &str) -> Self {
        let t = quote_identifier(table);
        let index = quote_identifier(&format!("{table}_expires_at"));
        Self {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 id {bytes_type} PRIMARY KEY NOT NULL, \
                 value {bytes_type} NOT NULL, \
                 expires_at BIGINT NOT NULL)"
            )
            .into(),
            create_index: format!("CREATE INDEX IF NOT EXISTS {index} ON {t} (expires_at)").into(),
            // Inserts, or replaces a row whose deadline has passed; a live
            // row is left alone and no row is affected.
            insert_if_absent: format!(
                "INSERT INTO {t} (id, value, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, \
                 expires_at = excluded.expires_at WHERE {t}.expires_at <= $4"
            )
            .into(),
            upsert: format!(
                "INSERT INTO {t} (id, value, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, \
                 expires_at = excluded.expires_at"
            )
            .into(),
            select: format!("SELECT value FROM {t} WHERE id = $1 AND expires_at > $2").into(),
            delete: format!("DELETE FROM {t} WHERE id = $1").into(),
            delete_expired: format!("DELETE FROM {t} WHERE expires_at <= $1").into(),
        }
    }
}

/// The methods both SQL stores share, and their [`Store`](super::Store)
/// impl. `$store` has the fields `pool`, `table`, `statements`, `clock` and
/// `timeout`.
macro_rules! sql_store_impl {
    ($store:ident, $pool:ty, $bytes_type:literal, $label:literal) => {
        impl $store {
            /// A store over `pool`, using the table
            /// [`DEFAULT_TABLE_NAME`](super::DEFAULT_TABLE_NAME), the system
            /// clock and the time limit
            /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT).
            /// Call [`migrate`](Self::migrate) once before use.
            pub fn new(pool: $pool) -> Self {
                Self {
                    pool,
                    table: super::DEFAULT_TABLE_NAME.into(),
                    statements: Arc::new(Statements::new(super::DEFAULT_TABLE_NAME, $bytes_type)),
                    clock: system_clock(),
                    timeout: super::DEFAULT_STORE_TIMEOUT,
                }
            }

            /// This store on the table `name` instead (default
            /// [`DEFAULT_TABLE_NAME`](super::DEFAULT_TABLE_NAME)). The name
            /// is quoted, so it is used exactly as given (case included),
            /// and the index is named `{name}_expires_at`.
            #[must_use]
            pub fn with_table_name(mut self, name: impl Into<String>) -> Self {
                let name: String = name.into();
                self.statements = Arc::new(Statements::new(&name, $bytes_type));
                self.table = name.into();
                self
            }

            /// This store with an injected clock, for tests: deadlines are
            /// compared with it rather than the system clock, so no test
            /// needs to sleep.
            #[must_use]
            pub fn with_clock(
                mut self,
                clock: impl Fn() -> SystemTime + Send + Sync + 'static,
            ) -> Self {
                self.clock = Arc::new(clock);
                self
            }

            /// This store with another time limit on each `create`, `load`,
            /// `save` and `delete` (default
            /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT)); past it
            /// the operation fails with
            /// [`ErrorKind::Store`](crate::ErrorKind::Store).
            #[must_use]
            pub fn with_timeout(mut self, timeout: Duration) -> Self {
                self.timeout = timeout;
                self
            }

            /// The table name.
            pub fn table_name(&self) -> &str {
                &self.table
            }

            /// The connection pool.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Creates the table and its index if they do not exist. Safe to
            /// call at every start-up.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the
            /// database refuses or cannot be reached.
            pub async fn migrate(&self) -> Result<(), Error> {
                for sql in [&self.statements.create_table, &self.statements.create_index] {
                    sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                        .execute(&self.pool)
                        .await
                        .map_err(Error::store)?;
                }
                Ok(())
            }

            /// Deletes every row whose deadline has passed by the store's
            /// clock and returns how many it removed. Expired rows are never
            /// returned by `load`, so this only reclaims space: schedule it
            /// every few minutes (see the type's docs). It is not bounded by
            /// the per-operation time limit.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the
            /// database refuses or cannot be reached.
            pub async fn delete_expired(&self) -> Result<u64, Error> {
                let done = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.delete_expired)))
                    .bind(self.now_millis())
                    .execute(&self.pool)
                    .await
                    .map_err(Error::store)?;
                Ok(done.rows_affected())
            }

            fn now_millis(&self) -> i64 {
                unix_millis((self.clock)())
            }

            fn statement(&self, pick: fn(&Statements) -> &Arc<str>) -> AssertSqlSafe<Arc<str>> {
                AssertSqlSafe(Arc::clone(pick(&self.statements)))
            }
        }

        impl super::expired::DeleteExpired for $store {
            fn delete_expired(&self) -> StoreFuture<'_, u64> {
                Box::pin($store::delete_expired(self))
            }
        }

        impl Store for $store {
            fn create<'a>(
                &'a self,
                id: &'a StoreId,
                value: &'a [u8],
                expires_at: SystemTime,
            ) -> StoreFuture<'a, bool> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.insert_if_absent))
                        .bind(id.as_bytes().as_slice())
                        .bind(value)
                        .bind(unix_millis(expires_at))
                        .bind(self.now_millis());
                    let done = bounded(
                        self.timeout,
                        concat!($label, " insert"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.select))
                        .bind(id.as_bytes().as_slice())
                        .bind(self.now_millis());
                    let row = bounded(
                        self.timeout,
                        concat!($label, " select"),
                        query.fetch_optional(&self.pool),
                    )
                    .await?;
                    row.map(|row| row.try_get::<Vec<u8>, _>(0).map_err(Error::store))
                        .transpose()
                })
            }

            fn save<'a>(
                &'a self,
                id: &'a StoreId,
                value: &'a [u8],
                expires_at: SystemTime,
            ) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.upsert))
                        .bind(id.as_bytes().as_slice())
                        .bind(value)
                        .bind(unix_millis(expires_at));
                    bounded(
                        self.timeout,
                        concat!($label, " upsert"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(())
                })
            }

            fn kind(&self) -> &'static str {
                $label
            }

            fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let query =
                        sqlx::query(self.statement(|s| &s.delete)).bind(id.as_bytes().as_slice());
                    bounded(
                        self.timeout,
                        concat!($label, " delete"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(())
                })
            }
        }

        impl fmt::Debug for $store {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($store))
                    .field("table", &self.table)
                    .field("timeout", &self.timeout)
                    .finish_non_exhaustive()
            }
        }
    };
}

pub(super) use sql_store_impl;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        let s = Statements::new("x\"; DROP TABLE y; --", "BYTEA");
        assert!(
            s.delete
                .as_ref()
                .starts_with("DELETE FROM \"x\"\"; DROP TABLE y; --\" WHERE id = $1")
        );
    }

    #[test]
    fn millis_clamp() {
        assert_eq!(unix_millis(SystemTime::UNIX_EPOCH), 0);
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1234);
        assert_eq!(unix_millis(t), 1234);
    }
}
