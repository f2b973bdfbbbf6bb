//! The Redis store, on the `redis` crate's reconnecting connection manager.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, Value};

use super::deadline::bounded;
use super::{Store, StoreFuture, StoreId};
use crate::error::Error;

mod admin;
mod builder;

pub use builder::RedisStoreBuilder;

/// The key prefix a [`RedisStore`] uses unless told otherwise.
pub const DEFAULT_REDIS_PREFIX: &str = "sealed-session:";

/// A store in Redis (or Valkey), for deployments with more than one server.
///
/// Each entry is one string key, `prefix` + the id as 32 lowercase hex
/// digits, holding the sealed bytes. `save` is `SET key value PX ms`,
/// `create` is `SET key value NX PX ms`, `load` is `GET`, `delete` is `DEL`
/// (a deadline already past makes `save` a `DEL`);
/// expiry is Redis's own (the key's TTL counts from when the command
/// arrives, on the server's clock), so nothing needs cleaning up. A Redis
/// with `maxmemory` should use a `volatile-*` or `allkeys-*` eviction policy:
/// an evicted entry is a session that starts over, never a wrong one.
///
/// The connection reconnects by itself after the server goes away. Every
/// operation, including any wait for a reconnect, is bounded by a time limit
/// ([`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT) unless set with
/// [`RedisStoreBuilder::timeout`]): past it the operation fails with
/// [`ErrorKind::Store`](crate::ErrorKind::Store) instead of hanging the
/// request. Cloning shares the connection.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sealed_session::store::{RedisStore, Store};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379/")
///     .prefix("myapp:session:")
///     .timeout(Duration::from_millis(500))
///     .connect()
///     .await?;
/// let store: Arc<dyn Store> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    prefix: Arc<str>,
    timeout: Duration,
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl RedisStore {
    /// A store at `url` with the default prefix and timeout, connecting on
    /// first use. Call it inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`RedisStoreBuilder::build`].
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).build()
    }

    /// A store at `url` with the default prefix and timeout, connected now.
    ///
    /// # Errors
    ///
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).connect().await
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The time limit on one operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `prefix` + the whole id in hex. (`StoreId`'s `Display` is redacted.)
    fn key(&self, id: &StoreId) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 32);
        key.push_str(&self.prefix);
        id.push_hex(&mut key);
        key
    }

    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        what: &'static str,
        cmd: Cmd,
    ) -> Result<T, Error> {
        match &self.connection {
            Connection::Single(manager) => {
                let mut manager = manager.clone();
                bounded(self.timeout, what, cmd.query_async(&mut manager)).await
            }
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => {
                let mut connection = connection.clone();
                bounded(self.timeout, what, cmd.query_async(&mut connection)).await
            }
        }
    }

    fn set(&self, id: &StoreId, value: &[u8], ttl_ms: u64, nx: bool) -> Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(id)).arg(value);
        if nx {
            cmd.arg("NX");
        }
        cmd.arg("PX").arg(ttl_ms);
        cmd
    }

    fn single_key(&self, command: &str, id: &StoreId) -> Cmd {
        let mut cmd = redis::cmd(command);
        cmd.arg(self.key(id));
        cmd
    }
}

/// Replaces a key's value (with a new TTL in milliseconds) only if it is
/// exactly `ARGV[1]`: 1 when it did, 0 otherwise. Binary-safe (Lua strings
/// are byte strings); a key that expired is gone, so it never matches.
const COMPARE_AND_SET: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

/// A key's value and its remaining time to live in milliseconds (`false`,
/// which Redis returns as nil, when absent).
const GET_WITH_TTL: &str = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";

/// Milliseconds from `now` to `expires_at`, rounded up; `None` when the
/// deadline has passed (Redis refuses a zero TTL, and such an entry must
/// never load).
fn ttl_millis(expires_at: SystemTime, now: SystemTime) -> Option<u64> {
    let left = expires_at.duration_since(now).ok()?;
    let ms = left.as_nanos().div_ceil(1_000_000);
    (ms > 0).then(|| u64::try_from(ms).unwrap_or(u64::MAX))
}

impl Store for RedisStore {
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let Some(ttl) = ttl_millis(expires_at, SystemTime::now()) else {
                // Born expired: nothing to write, but still "taken" when a
                // live entry holds the id.
                let taken: bool = self
                    .query("redis EXISTS", self.single_key("EXISTS", id))
                    .await?;
                return Ok(!taken);
            };
            let reply: Value = self
                .query("redis SET NX", self.set(id, value, ttl, true))
                .await?;
            Ok(!matches!(reply, Value::Nil))
        })
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(self.query("redis GET", self.single_key("GET", id)))
    }

    /// `GET` and `PTTL` in one server-side script, so the two describe the
    /// same write. The deadline is counted from before the command was sent,
    /// so it is never later than Redis's own.
    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        Box::pin(async move {
            let sent = SystemTime::now();
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(GET_WITH_TTL).arg(1).arg(self.key(id));
            let (value, ttl_ms): (Option<Vec<u8>>, i64) =
                self.query("redis EVAL GET PTTL", cmd).await?;
            // PTTL is -1 for a key without a TTL (not written by this
            // store): its deadline is unknown.
            let deadline = u64::try_from(ttl_ms)
                .ok()
                .map(|ms| sent + Duration::from_millis(ms));
            Ok(value.map(|value| (value, deadline)))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let _: Value = match ttl_millis(expires_at, SystemTime::now()) {
                Some(ttl) => {
                    self.query("redis SET", self.set(id, value, ttl, false))
                        .await?
                }
                None => self.query("redis DEL", self.single_key("DEL", id)).await?,
            };
            Ok(())
        })
    }

    /// `PEXPIRE`: one command, the value untouched. A deadline already
    /// past removes the entry (Redis refuses a zero TTL).
    fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let Some(ttl) = ttl_millis(expires_at, SystemTime::now()) else {
                let _: Value = self.query("redis DEL", self.single_key("DEL", id)).await?;
                return Ok(false);
            };
            let mut cmd = self.single_key("PEXPIRE", id);
            cmd.arg(ttl);
            let extended: i64 = self.query("redis PEXPIRE", cmd).await?;
            Ok(extended == 1)
        })
    }

    /// One server-side script (`GET`, compare, `SET … PX`), so nothing runs
    /// between the comparison and the write; a single key, so it works on
    /// a cluster too.
    fn compare_and_save<'a>(
        &'a self,
        id: &'a StoreId,
        expected: &'a [u8],
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let Some(ttl) = ttl_millis(expires_at, SystemTime::now()) else {
                return Ok(false);
            };
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(COMPARE_AND_SET)
                .arg(1)
                .arg(self.key(id))
                .arg(expected)
                .arg(value)
                .arg(ttl);
            let swapped: i64 = self.query("redis EVAL compare and set", cmd).await?;
            Ok(swapped == 1)
        })
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let _: Value = self.query("redis DEL", self.single_key("DEL", id)).await?;
            Ok(())
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.connection {
            Connection::Single(_) => "single",
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("connection", &kind)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_and_past_deadlines_have_none() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(ttl_millis(now, now), None);
        assert_eq!(ttl_millis(now - Duration::from_secs(5), now), None);
        assert_eq!(ttl_millis(now + Duration::from_nanos(1), now), Some(1));
        assert_eq!(
            ttl_millis(now + Duration::from_millis(1500), now),
            Some(1500)
        );
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn keys_are_the_prefix_and_the_whole_hex_id() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let store = RedisStore::builder("redis://127.0.0.1:1/")
            .prefix("app:")
            .build()
            .unwrap();
        let id = StoreId::from_bytes([0x0f; 16]);
        assert_eq!(store.key(&id), format!("app:{}", "0f".repeat(16)));
        assert_eq!(store.key(&id), format!("app:{}", id.to_hex()));
    }

    #[test]
    fn debug_leaves_out_the_password() {
        let builder = RedisStore::builder("redis://user:hunter2@127.0.0.1:1/");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn build_outside_runtime_is_an_error() {
        let err = RedisStore::new("redis://127.0.0.1:1/").err();
        assert_eq!(
            err.map(|e| e.kind()),
            Some(crate::ErrorKind::Store),
            "building outside a runtime must fail, not panic"
        );
    }
}
