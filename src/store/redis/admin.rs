//! Counting and clearing a [`RedisStore`]'s entries.

use std::fmt;

use super::{Connection, RedisStore};
use crate::error::Error;
use crate::store::{StoreAdmin, StoreFuture};

/// Keys per `SCAN` step of [`StoreAdmin`]'s methods.
const SCAN_COUNT: usize = 1000;

impl RedisStore {
    /// The `SCAN MATCH` pattern of exactly this store's keys: the prefix
    /// with its glob characters escaped, then 32 hex digits.
    fn key_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() * 2 + 32);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(&"?".repeat(32));
        pattern
    }

    /// Scans this store's keys and counts them, or unlinks them and counts
    /// what was unlinked; a standalone server only (a cluster spreads keys
    /// over its nodes).
    async fn scan_keys(&self, unlink: bool) -> Result<u64, Error> {
        if !matches!(self.connection, Connection::Single(_)) {
            return Err(Error::store(NotOnCluster));
        }
        let pattern = self.key_pattern();
        let (mut cursor, mut total) = (0u64, 0u64);
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<String>) = self.query("redis SCAN", cmd).await?;
            if unlink && !keys.is_empty() {
                let mut cmd = redis::cmd("UNLINK");
                cmd.arg(keys);
                total += self.query::<u64>("redis UNLINK", cmd).await?;
            } else {
                total += u64::try_from(keys.len()).unwrap_or(u64::MAX);
            }
            if next == 0 {
                return Ok(total);
            }
            cursor = next;
        }
    }
}

/// Counting and clearing scan the keys under the prefix (`SCAN`, never
/// `KEYS`), so they take time in proportion to the database's size; every
/// key this store wrote carries a TTL, so each key found is a live entry.
/// On a Redis Cluster both fail with
/// [`ErrorKind::Store`](crate::ErrorKind::Store): its keys are spread over
/// its nodes.
impl StoreAdmin for RedisStore {
    fn len(&self) -> StoreFuture<'_, u64> {
        Box::pin(self.scan_keys(false))
    }

    fn clear(&self) -> StoreFuture<'_, u64> {
        Box::pin(self.scan_keys(true))
    }
}

/// [`StoreAdmin`] on a Redis Cluster.
#[derive(Debug)]
struct NotOnCluster;

impl fmt::Display for NotOnCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("counting and clearing a store need a standalone Redis, not a cluster")
    }
}

impl std::error::Error for NotOnCluster {}
