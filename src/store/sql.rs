//! What the SQL stores share: the table's shape, its name, the clock.
//!
//! Every SQL store keeps one table:
//!
//! | column | type | holds |
//! |---|---|---|
//! | `id` | `BLOB` / `BYTEA` / `VARBINARY(16)`, primary key | the 16 bytes of the [`StoreId`](super::StoreId) |
//! | `value` | `BLOB` / `BYTEA` / `LONGBLOB` | the sealed session |
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

/// The instant `millis` milliseconds after the Unix epoch (negative ones
/// clamp to the epoch).
pub(super) fn from_unix_millis(millis: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// The SQL dialects the stores speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(all(
        feature = "sqlx-sqlite",
        feature = "sqlx-postgres",
        feature = "sqlx-mysql"
    )),
    allow(dead_code, reason = "only the enabled stores' dialects are built")
)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
    /// MySQL and MariaDB: `?` placeholders, backquoted identifiers, no
    /// `ON CONFLICT` (and `ON DUPLICATE KEY UPDATE` cannot tell an
    /// unchanged row from an insert, as sqlx asks for found rows).
    MySql,
}

/// `name` as a quoted SQL identifier in `dialect`, valid whatever it holds:
/// `"…"` with `"` doubled (SQLite, PostgreSQL), `` `…` `` with `` ` ``
/// doubled (MySQL, MariaDB).
pub(super) fn quote_identifier(name: &str, dialect: Dialect) -> String {
    let quote = if dialect == Dialect::MySql { '`' } else { '"' };
    let doubled: String = [quote, quote].iter().collect();
    format!("{quote}{}{quote}", name.replace(quote, &doubled))
}

/// The statements a store runs, built once from its table name and dialect.
#[derive(Debug, Clone)]
pub(super) struct Statements {
    pub(super) create_table: Arc<str>,
    /// `None` where the table statement declares the index itself.
    pub(super) create_index: Option<Arc<str>>,
    /// Deletes the row under an id (bind 1) whose deadline has passed
    /// (bind 2), so an `insert_if_absent` without its own replacement rule
    /// may take the id. `None` where `insert_if_absent` replaces such a row.
    pub(super) delete_expired_id: Option<Arc<str>>,
    /// Binds id, value, deadline, and (when `insert_binds_now`) the current
    /// time. Affects one row when it took the id; affects none, or fails
    /// with a unique violation, when a live row holds it.
    pub(super) insert_if_absent: Arc<str>,
    pub(super) insert_binds_now: bool,
    pub(super) upsert: Arc<str>,
    pub(super) select: Arc<str>,
    pub(super) delete: Arc<str>,
    pub(super) delete_expired: Arc<str>,
    /// Binds the new deadline, the id and the current time; affects one row
    /// when a live row held the id.
    pub(super) touch: Arc<str>,
    /// Binds the new value, the new deadline, the id, the expected value
    /// and the current time; affects one row when a live row held exactly
    /// the expected value.
    pub(super) compare_and_save: Arc<str>,
    /// Binds the current time; counts live rows.
    pub(super) count: Arc<str>,
    pub(super) clear: Arc<str>,
}

impl Statements {
    pub(super) fn new(table: &str, dialect: Dialect) -> Self {
        match dialect {
            Dialect::Sqlite => Self::ansi(table, "BLOB"),
            Dialect::Postgres => Self::ansi(table, "BYTEA"),
            Dialect::MySql => Self::mysql(table),
        }
    }

    /// SQLite and PostgreSQL: `$N` placeholders work in both.
    fn ansi(table: &str, bytes_type: &str) -> Self {
        let t = quote_identifier(table, Dialect::Postgres);
        let index = quote_identifier(&format!("{table}_expires_at"), Dialect::Postgres);
        Self {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 id {bytes_type} PRIMARY KEY NOT NULL, \
                 value {bytes_type} NOT NULL, \
                 expires_at BIGINT NOT NULL)"
            )
            .into(),
            create_index: Some(
                format!("CREATE INDEX IF NOT EXISTS {index} ON {t} (expires_at)").into(),
            ),
            delete_expired_id: None,
            // Inserts, or replaces a row whose deadline has passed; a live
            // row is left alone and no row is affected.
            insert_if_absent: format!(
                "INSERT INTO {t} (id, value, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, \
                 expires_at = excluded.expires_at WHERE {t}.expires_at <= $4"
            )
            .into(),
            insert_binds_now: true,
            upsert: format!(
                "INSERT INTO {t} (id, value, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, \
                 expires_at = excluded.expires_at"
            )
            .into(),
            select: format!("SELECT value, expires_at FROM {t} WHERE id = $1 AND expires_at > $2")
                .into(),
            delete: format!("DELETE FROM {t} WHERE id = $1").into(),
            delete_expired: format!("DELETE FROM {t} WHERE expires_at <= $1").into(),
            touch: format!("UPDATE {t} SET expires_at = $1 WHERE id = $2 AND expires_at > $3")
                .into(),
            compare_and_save: format!(
                "UPDATE {t} SET value = $1, expires_at = $2 \
                 WHERE id = $3 AND value = $4 AND expires_at > $5"
            )
            .into(),
            count: format!("SELECT COUNT(*) FROM {t} WHERE expires_at > $1").into(),
            clear: format!("DELETE FROM {t}").into(),
        }
    }

    /// MySQL and MariaDB. The index is declared in `CREATE TABLE` (MySQL has
    /// no `CREATE INDEX IF NOT EXISTS`); `create` deletes an expired row
    /// under the id, then inserts, and a duplicate key means a live row
    /// holds it. `VALUES(col)` in `ON DUPLICATE KEY UPDATE` works in both
    /// (MySQL 8.0.20+ deprecates it with a warning).
    fn mysql(table: &str) -> Self {
        let t = quote_identifier(table, Dialect::MySql);
        Self {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 `id` VARBINARY(16) NOT NULL PRIMARY KEY, \
                 `value` LONGBLOB NOT NULL, \
                 `expires_at` BIGINT NOT NULL, \
                 INDEX `expires_at` (`expires_at`))"
            )
            .into(),
            create_index: None,
            delete_expired_id: Some(
                format!("DELETE FROM {t} WHERE `id` = ? AND `expires_at` <= ?").into(),
            ),
            insert_if_absent: format!(
                "INSERT INTO {t} (`id`, `value`, `expires_at`) VALUES (?, ?, ?)"
            )
            .into(),
            insert_binds_now: false,
            upsert: format!(
                "INSERT INTO {t} (`id`, `value`, `expires_at`) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), \
                 `expires_at` = VALUES(`expires_at`)"
            )
            .into(),
            select: format!(
                "SELECT `value`, `expires_at` FROM {t} WHERE `id` = ? AND `expires_at` > ?"
            )
            .into(),
            delete: format!("DELETE FROM {t} WHERE `id` = ?").into(),
            delete_expired: format!("DELETE FROM {t} WHERE `expires_at` <= ?").into(),
            // sqlx asks MySQL for found rows, so a row whose deadline does
            // not change still counts as affected.
            touch: format!("UPDATE {t} SET `expires_at` = ? WHERE `id` = ? AND `expires_at` > ?")
                .into(),
            compare_and_save: format!(
                "UPDATE {t} SET `value` = ?, `expires_at` = ? \
                 WHERE `id` = ? AND `value` = ? AND `expires_at` > ?"
            )
            .into(),
            count: format!("SELECT COUNT(*) FROM {t} WHERE `expires_at` > ?").into(),
            clear: format!("DELETE FROM {t}").into(),
        }
    }
}

/// Whether `error` is the database refusing a duplicate primary key.
pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// The methods the SQL stores share, and their [`Store`](super::Store)
/// impl. `$store` has the fields `pool`, `table`, `statements`, `clock` and
/// `timeout`.
macro_rules! sql_store_impl {
    ($store:ident, $pool:ty, $dialect:expr, $label:literal) => {
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
                    statements: Arc::new(Statements::new(super::DEFAULT_TABLE_NAME, $dialect)),
                    clock: system_clock(),
                    timeout: super::DEFAULT_STORE_TIMEOUT,
                }
            }

            /// This store on the table `name` instead (default
            /// [`DEFAULT_TABLE_NAME`](super::DEFAULT_TABLE_NAME)). The name
            /// is quoted, so it is used exactly as given (case included);
            /// the index is named `{name}_expires_at` (`expires_at` in
            /// MySQL, where index names belong to their table).
            #[must_use]
            pub fn with_table_name(mut self, name: impl Into<String>) -> Self {
                let name: String = name.into();
                self.statements = Arc::new(Statements::new(&name, $dialect));
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
                let statements = [
                    Some(&self.statements.create_table),
                    self.statements.create_index.as_ref(),
                ];
                for sql in statements.into_iter().flatten() {
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
                    let now = self.now_millis();
                    if let Some(sql) = &self.statements.delete_expired_id {
                        let query = sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                            .bind(id.as_bytes().as_slice())
                            .bind(now);
                        bounded(
                            self.timeout,
                            concat!($label, " delete expired"),
                            query.execute(&self.pool),
                        )
                        .await?;
                    }
                    let mut query = sqlx::query(self.statement(|s| &s.insert_if_absent))
                        .bind(id.as_bytes().as_slice())
                        .bind(value)
                        .bind(unix_millis(expires_at));
                    if self.statements.insert_binds_now {
                        query = query.bind(now);
                    }
                    bounded(self.timeout, concat!($label, " insert"), async {
                        match query.execute(&self.pool).await {
                            Ok(done) => Ok(done.rows_affected() == 1),
                            Err(e) if is_unique_violation(&e) => Ok(false),
                            Err(e) => Err(e),
                        }
                    })
                    .await
                })
            }

            fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
                Box::pin(
                    async move { Ok(self.load_with_deadline(id).await?.map(|(value, _)| value)) },
                )
            }

            fn load_with_deadline<'a>(
                &'a self,
                id: &'a StoreId,
            ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
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
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let value = row.try_get::<Vec<u8>, _>(0).map_err(Error::store)?;
                    let millis = row.try_get::<i64, _>(1).map_err(Error::store)?;
                    Ok(Some((value, Some(from_unix_millis(millis)))))
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

            fn touch<'a>(
                &'a self,
                id: &'a StoreId,
                expires_at: SystemTime,
            ) -> StoreFuture<'a, bool> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.touch))
                        .bind(unix_millis(expires_at))
                        .bind(id.as_bytes().as_slice())
                        .bind(self.now_millis());
                    let done = bounded(
                        self.timeout,
                        concat!($label, " touch"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn compare_and_save<'a>(
                &'a self,
                id: &'a StoreId,
                expected: &'a [u8],
                value: &'a [u8],
                expires_at: SystemTime,
            ) -> StoreFuture<'a, bool> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.compare_and_save))
                        .bind(value)
                        .bind(unix_millis(expires_at))
                        .bind(id.as_bytes().as_slice())
                        .bind(expected)
                        .bind(self.now_millis());
                    let done = bounded(
                        self.timeout,
                        concat!($label, " compare and save"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(done.rows_affected() == 1)
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

        impl super::StoreAdmin for $store {
            fn len(&self) -> StoreFuture<'_, u64> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.count)).bind(self.now_millis());
                    let row = bounded(
                        self.timeout,
                        concat!($label, " count"),
                        query.fetch_one(&self.pool),
                    )
                    .await?;
                    let count = row.try_get::<i64, _>(0).map_err(Error::store)?;
                    Ok(u64::try_from(count).unwrap_or(0))
                })
            }

            /// Not bounded by the per-operation time limit (a large table
            /// takes a while).
            fn clear(&self) -> StoreFuture<'_, u64> {
                Box::pin(async move {
                    let done = sqlx::query(self.statement(|s| &s.clear))
                        .execute(&self.pool)
                        .await
                        .map_err(Error::store)?;
                    Ok(done.rows_affected())
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
        assert_eq!(quote_identifier("a\"b", Dialect::Postgres), "\"a\"\"b\"");
        assert_eq!(quote_identifier("a`b\"", Dialect::MySql), "`a``b\"`");
        let s = Statements::new("x\"; DROP TABLE y; --", Dialect::Postgres);
        assert!(
            s.delete
                .as_ref()
                .starts_with("DELETE FROM \"x\"\"; DROP TABLE y; --\" WHERE id = $1")
        );
        let s = Statements::new("x`; DROP TABLE y; --", Dialect::MySql);
        assert!(
            s.delete
                .as_ref()
                .starts_with("DELETE FROM `x``; DROP TABLE y; --` WHERE `id` = ?")
        );
    }

    #[test]
    fn millis_clamp() {
        assert_eq!(unix_millis(SystemTime::UNIX_EPOCH), 0);
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1234);
        assert_eq!(unix_millis(t), 1234);
    }
}
