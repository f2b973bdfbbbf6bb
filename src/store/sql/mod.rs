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

mod store_impl;

pub(super) use store_impl::sql_store_impl;

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
