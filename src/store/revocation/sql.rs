//! The SQL revocation backends (PostgreSQL, SQLite): one table as the log,
//! its primary key the position.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use sqlx::{AssertSqlSafe, Row as _};

use crate::codec::SessionId;
use crate::codec::envelope::{from_millis, from_secs, to_millis, to_secs};
use crate::error::Error;
use crate::revocation::backend::{
    BackendFuture, Changes, MAX_RECORDS_PER_SUBJECT, PAGE, Revocation, RevocationBackend,
    SessionRecord,
};
use crate::store::sql::{Dialect, quote_identifier};

/// The table the SQL revocation backends use unless told otherwise.
pub const DEFAULT_REVOCATION_TABLE: &str = "sealed_session_revocations";

/// The statements a backend runs, built once from its table name.
#[derive(Debug)]
struct Statements {
    create_table: String,
    create_index: String,
    lock: Option<String>,
    insert: String,
    last: String,
    select: String,
    purge: String,
    create_sessions: String,
    lock_sessions: Option<String>,
    record: String,
    cap_sessions: String,
    forget: String,
    sessions: String,
    purge_sessions: String,
}

impl Statements {
    fn new(table: &str, serial: &str, bytes: &str, lock: bool) -> Self {
        // SQLite and PostgreSQL quote identifiers alike.
        let quote = |name: &str| quote_identifier(name, Dialect::Postgres);
        let t = quote(table);
        let index = quote(&format!("{table}_until"));
        let st = quote(&format!("{table}_sessions"));
        Self {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {t} (seq {serial}, \
                 entry {bytes} NOT NULL UNIQUE, until_secs BIGINT NOT NULL)"
            ),
            create_index: format!("CREATE INDEX IF NOT EXISTS {index} ON {t} (until_secs)"),
            // Writers take turns, so positions commit in order and a reader
            // that saw position n has seen every position before it.
            lock: lock.then(|| format!("LOCK TABLE {t} IN EXCLUSIVE MODE")),
            insert: format!("INSERT INTO {t} (entry, until_secs) "),
            last: format!("SELECT COALESCE(MAX(seq), 0) FROM {t}"),
            // Only a lower bound and a constant limit: with both bounds
            // as parameters, PostgreSQL's generic plan (after five runs of
            // the prepared statement) guessed 0.5 % of the table in range
            // and chose a bitmap scan and sort of every row after the
            // cursor, ~0.2 s a page over a million rows; this is an index
            // range scan of one page. Rows after the last position are
            // dropped by the reader.
            select: format!("SELECT seq, entry FROM {t} WHERE seq > $1 ORDER BY seq LIMIT {PAGE}"),
            // The newest row stays, so the last position never moves back.
            purge: format!(
                "DELETE FROM {t} WHERE until_secs <= $1 AND seq < (SELECT MAX(seq) FROM {t})"
            ),
            create_sessions: format!(
                "CREATE TABLE IF NOT EXISTS {st} (subject TEXT NOT NULL, id {bytes} NOT NULL, \
                 issued_at_ms BIGINT NOT NULL, renewed_at BIGINT NOT NULL, \
                 until_secs BIGINT NOT NULL, label TEXT, PRIMARY KEY (subject, id))"
            ),
            // Records of one subject take turns (PostgreSQL), so the cap
            // below counts every record committed before: the row locks of
            // the subject's records serialize its writers (SQLite has one
            // writer at a time anyway).
            lock_sessions: lock
                .then(|| format!("SELECT 1 FROM {st} WHERE subject = $1 ORDER BY id FOR UPDATE")),
            record: format!(
                "INSERT INTO {st} (subject, id, issued_at_ms, renewed_at, until_secs, label) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subject, id) DO UPDATE SET \
                 issued_at_ms = excluded.issued_at_ms, renewed_at = excluded.renewed_at, \
                 until_secs = excluded.until_secs, label = COALESCE(excluded.label, {st}.label)"
            ),
            // Past the cap, the oldest logins go (`LIMIT` in an `IN`
            // subquery: PostgreSQL and SQLite, not MySQL).
            cap_sessions: format!(
                "DELETE FROM {st} WHERE subject = $1 AND id NOT IN (SELECT id FROM {st} \
                 WHERE subject = $1 ORDER BY issued_at_ms DESC, id DESC \
                 LIMIT {MAX_RECORDS_PER_SUBJECT})"
            ),
            forget: format!("DELETE FROM {st} WHERE subject = $1 AND id = $2"),
            sessions: format!(
                "SELECT id, issued_at_ms, renewed_at, until_secs, label FROM {st} \
                 WHERE subject = $1 AND until_secs > $2 ORDER BY issued_at_ms, id"
            ),
            purge_sessions: format!("DELETE FROM {st} WHERE until_secs <= $1"),
        }
    }
}

/// Revocations per `INSERT` statement.
const INSERT_ROWS: usize = 1_000;

fn secs_i64(t: SystemTime) -> i64 {
    i64::try_from(to_secs(t)).unwrap_or(i64::MAX)
}

fn millis_i64(t: SystemTime) -> i64 {
    i64::try_from(to_millis(t)).unwrap_or(i64::MAX)
}

macro_rules! sql_backend {
    (
        $(#[$doc:meta])*
        $backend:ident, $store:ident, $pool:ty, $serial:literal, $bytes:literal, $lock:literal
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $backend {
            pool: $pool,
            table: Arc<str>,
            statements: Arc<Statements>,
        }

        impl $backend {
            /// A backend over `pool`, on the table
            /// [`DEFAULT_REVOCATION_TABLE`](self::DEFAULT_REVOCATION_TABLE).
            /// Call [`migrate`](Self::migrate) once before use.
            pub fn new(pool: $pool) -> Self {
                Self::with_table(pool, DEFAULT_REVOCATION_TABLE)
            }

            /// A backend on the pool of `store`.
            pub fn from_store(store: &crate::store::$store) -> Self {
                Self::new(store.pool().clone())
            }

            /// This backend on the table `name` instead (quoted, so used
            /// exactly as given).
            #[must_use]
            pub fn with_table_name(self, name: &str) -> Self {
                Self::with_table(self.pool, name)
            }

            fn with_table(pool: $pool, name: &str) -> Self {
                Self {
                    pool,
                    table: name.into(),
                    statements: Arc::new(Statements::new(name, $serial, $bytes, $lock)),
                }
            }

            /// Creates the table and its index if they do not exist. Safe
            /// to call at every start-up.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the
            /// database refuses or cannot be reached.
            pub async fn migrate(&self) -> Result<(), Error> {
                let s = &self.statements;
                for sql in [&s.create_table, &s.create_index, &s.create_sessions] {
                    sqlx::query(AssertSqlSafe(sql.as_str()))
                        .execute(&self.pool)
                        .await
                        .map_err(Error::store)?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $backend {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($backend))
                    .field("table", &self.table)
                    .finish_non_exhaustive()
            }
        }

        impl RevocationBackend for $backend {
            fn publish<'a>(&'a self, revocations: &'a [Revocation]) -> BackendFuture<'a, ()> {
                Box::pin(async move {
                    let mut tx = self.pool.begin().await.map_err(Error::store)?;
                    if let Some(lock) = &self.statements.lock {
                        sqlx::query(AssertSqlSafe(lock.as_str()))
                            .execute(&mut *tx)
                            .await
                            .map_err(Error::store)?;
                    }
                    // Many rows per statement (two parameters each, well
                    // under SQLite's and PostgreSQL's limits), in order.
                    for chunk in revocations.chunks(INSERT_ROWS) {
                        let mut insert =
                            sqlx::QueryBuilder::new(self.statements.insert.as_str());
                        insert.push_values(chunk, |mut row, revocation| {
                            row.push_bind(revocation.to_bytes())
                                .push_bind(secs_i64(revocation.until()));
                        });
                        insert.push(" ON CONFLICT (entry) DO NOTHING");
                        insert
                            .build()
                            .execute(&mut *tx)
                            .await
                            .map_err(Error::store)?;
                    }
                    tx.commit().await.map_err(Error::store)
                })
            }

            fn changes_since(&self, cursor: u64) -> BackendFuture<'_, Changes> {
                Box::pin(async move {
                    // The last position first: rows committed after it wait
                    // for the next read instead of being skipped.
                    let last: i64 = sqlx::query(AssertSqlSafe(self.statements.last.as_str()))
                        .fetch_one(&self.pool)
                        .await
                        .and_then(|row| row.try_get(0))
                        .map_err(Error::store)?;
                    let rows = sqlx::query(AssertSqlSafe(self.statements.select.as_str()))
                        .bind(i64::try_from(cursor).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(Error::store)?;
                    let mut changes = Changes {
                        epoch: 0,
                        cursor: u64::try_from(last).unwrap_or(0),
                        more: false,
                        revocations: Vec::with_capacity(rows.len()),
                    };
                    let mut read = 0;
                    let mut page_end = changes.cursor;
                    for row in &rows {
                        let seq: i64 = row.try_get(0).map_err(Error::store)?;
                        if seq > last {
                            break;
                        }
                        let entry: Vec<u8> = row.try_get(1).map_err(Error::store)?;
                        read += 1;
                        page_end = u64::try_from(seq).unwrap_or(0);
                        if let Some(revocation) = Revocation::from_bytes(&entry) {
                            changes.revocations.push(revocation);
                        }
                    }
                    // A whole page up to the last position: more may follow.
                    if read >= PAGE {
                        changes.more = true;
                        changes.cursor = page_end;
                    }
                    Ok(changes)
                })
            }

            fn purge(&self, now: SystemTime) -> BackendFuture<'_, ()> {
                Box::pin(async move {
                    for sql in [&self.statements.purge, &self.statements.purge_sessions] {
                        sqlx::query(AssertSqlSafe(sql.as_str()))
                            .bind(secs_i64(now))
                            .execute(&self.pool)
                            .await
                            .map_err(Error::store)?;
                    }
                    Ok(())
                })
            }

            fn record<'a>(
                &'a self,
                subject: &'a str,
                record: &'a SessionRecord,
            ) -> BackendFuture<'a, ()> {
                Box::pin(async move {
                    let s = &self.statements;
                    let mut tx = self.pool.begin().await.map_err(Error::store)?;
                    if let Some(lock) = &s.lock_sessions {
                        sqlx::query(AssertSqlSafe(lock.as_str()))
                            .bind(subject)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(Error::store)?;
                    }
                    sqlx::query(AssertSqlSafe(s.record.as_str()))
                        .bind(subject)
                        .bind(record.id.to_bytes().to_vec())
                        .bind(millis_i64(record.issued_at))
                        .bind(secs_i64(record.renewed_at))
                        .bind(secs_i64(record.until))
                        .bind(record.label.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(Error::store)?;
                    sqlx::query(AssertSqlSafe(s.cap_sessions.as_str()))
                        .bind(subject)
                        .execute(&mut *tx)
                        .await
                        .map_err(Error::store)?;
                    tx.commit().await.map_err(Error::store)
                })
            }

            fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query(AssertSqlSafe(self.statements.forget.as_str()))
                        .bind(subject)
                        .bind(id.to_bytes().to_vec())
                        .execute(&self.pool)
                        .await
                        .map_err(Error::store)?;
                    Ok(())
                })
            }

            fn sessions<'a>(
                &'a self,
                subject: &'a str,
                now: SystemTime,
            ) -> BackendFuture<'a, Vec<SessionRecord>> {
                Box::pin(async move {
                    let rows = sqlx::query(AssertSqlSafe(self.statements.sessions.as_str()))
                        .bind(subject)
                        .bind(secs_i64(now))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(Error::store)?;
                    let secs = |v: i64| from_secs(u64::try_from(v).unwrap_or(0));
                    let millis = |v: i64| from_millis(u64::try_from(v).unwrap_or(0));
                    let mut found = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let id: Vec<u8> = row.try_get(0).map_err(Error::store)?;
                        let Ok(id) = <[u8; 16]>::try_from(id) else {
                            continue;
                        };
                        found.push(SessionRecord::new(
                            SessionId::from_bytes(id),
                            millis(row.try_get(1).map_err(Error::store)?),
                            secs(row.try_get(2).map_err(Error::store)?),
                            secs(row.try_get(3).map_err(Error::store)?),
                            row.try_get(4).map_err(Error::store)?,
                        ));
                    }
                    Ok(found)
                })
            }
        }
    };
}

#[cfg(feature = "sqlx-postgres")]
sql_backend!(
    /// Revocations shared through PostgreSQL: one table (default
    /// [`DEFAULT_REVOCATION_TABLE`]) with a `BIGSERIAL` position, the
    /// revocation's bytes (unique) and its deadline. Writers lock the table
    /// for the few inserts of a publish, so positions commit in order.
    /// Expired rows are deleted by the registry's background purge.
    ///
    /// ```no_run
    /// use sealed_session::revocation::Registry;
    /// use sealed_session::store::PostgresRevocations;
    ///
    /// # async fn run(pool: sqlx::PgPool) -> Result<(), sealed_session::Error> {
    /// let backend = PostgresRevocations::new(pool);
    /// backend.migrate().await?;
    /// let registry = Registry::shared(backend).start().await?;
    /// # let _ = registry;
    /// # Ok(())
    /// # }
    /// ```
    PostgresRevocations, PostgresStore, sqlx::PgPool, "BIGSERIAL PRIMARY KEY", "BYTEA", true
);

#[cfg(feature = "sqlx-sqlite")]
sql_backend!(
    /// Revocations shared through SQLite (servers on one host sharing a
    /// database file): one table (default [`DEFAULT_REVOCATION_TABLE`])
    /// with an `AUTOINCREMENT` position, the revocation's bytes (unique)
    /// and its deadline. SQLite has one writer at a time, so positions
    /// commit in order.
    ///
    /// ```no_run
    /// use sealed_session::revocation::Registry;
    /// use sealed_session::store::SqliteRevocations;
    ///
    /// # async fn run(pool: sqlx::SqlitePool) -> Result<(), sealed_session::Error> {
    /// let backend = SqliteRevocations::new(pool);
    /// backend.migrate().await?;
    /// let registry = Registry::shared(backend).start().await?;
    /// # let _ = registry;
    /// # Ok(())
    /// # }
    /// ```
    SqliteRevocations, SqliteStore, sqlx::SqlitePool, "INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB", false
);
