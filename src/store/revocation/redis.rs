//! The Redis revocation backend: a sorted set as the log, written and read
//! by Lua scripts so each step is atomic.

use std::fmt;
use std::time::SystemTime;

use redis::{Cmd, Value};

use crate::codec::SessionId;
use crate::codec::envelope::to_secs;
use crate::error::Error;
use crate::revocation::backend::{
    BackendFuture, Changes, MAX_RECORDS_PER_SUBJECT, PAGE, Revocation, RevocationBackend,
    SessionRecord, random_epoch, sort_records,
};
use crate::store::RedisStore;

/// Sets the epoch if missing; gives each new revocation the next position
/// (`INCR`) in the log and records its deadline. A revocation already in
/// the log keeps its position.
const PUBLISH: &str = r"
if not redis.call('GET', KEYS[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
for i = 2, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[3], ARGV[i]) then
    local n = redis.call('INCR', KEYS[2])
    redis.call('ZADD', KEYS[3], n, ARGV[i])
    redis.call('ZADD', KEYS[4], ARGV[i + 1], ARGV[i])
  end
end
return 1
";

/// The epoch (set if missing), the last position, and a page of the log
/// after the cursor with positions.
const CHANGES: &str = r"
local epoch = redis.call('GET', KEYS[1])
if not epoch then epoch = ARGV[2]; redis.call('SET', KEYS[1], epoch) end
local last = redis.call('GET', KEYS[2]) or '0'
local items = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[3])
return {epoch, last, items}
";

/// Removes the revocations whose deadline is at or before `ARGV[1]`.
const PURGE: &str = r"
local dead = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
for _, m in ipairs(dead) do
  redis.call('ZREM', KEYS[3], m)
  redis.call('ZREM', KEYS[4], m)
end
return #dead
";

/// Sets a session's record (`ARGV[1]` its field, `ARGV[2]` the record
/// without label, `ARGV[3]` the label or empty for none) and keeps the hash alive
/// until the latest record's deadline `ARGV[4]` (`EXPIREAT ... GT`: Redis 7).
/// Then, past `ARGV[5]` records, deletes the oldest logins (and their
/// labels): the record's `issued_at` is its bytes 17 to 24 (big-endian
/// milliseconds, exact in a Lua number), ties by the id, its first 16
/// bytes, compared byte by byte (Lua's `<` on strings follows the locale).
/// The hash is read only when it has more fields than the cap, so a
/// subject under it costs one `HLEN`. Fields that are not records (too
/// short to be one) are neither counted nor deleted.
const RECORD: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[1] .. ':label', ARGV[3]) end
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIREAT', KEYS[1], ARGV[4])
else
  redis.call('EXPIREAT', KEYS[1], ARGV[4], 'GT')
end
local max = tonumber(ARGV[5])
if redis.call('HLEN', KEYS[1]) <= max then return 1 end
local all = redis.call('HGETALL', KEYS[1])
local records = {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  if string.sub(field, -6) ~= ':label' and #value >= 41 then
    local at = 0
    for j = 17, 24 do at = at * 256 + string.byte(value, j) end
    records[#records + 1] = {at, string.sub(value, 1, 16), field}
  end
end
if #records <= max then return 1 end
table.sort(records, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  for j = 1, 16 do
    local x, y = string.byte(a[2], j), string.byte(b[2], j)
    if x ~= y then return x < y end
  end
  return false
end)
for i = 1, #records - max do
  redis.call('HDEL', KEYS[1], records[i][3], records[i][3] .. ':label')
end
return 1
";

/// Revocations shared through Redis (or Valkey), on a [`RedisStore`]'s
/// connection, prefix and time limit.
///
/// Four keys, all under one hash tag so Redis Cluster keeps them on one
/// node: `{prefix revocations}:epoch` (a random number naming this log),
/// `:seq` (the last position), `:log` (a sorted set: revocation → position)
/// and `:until` (revocation → deadline, for purging). Session records are
/// one hash per subject, `prefix sessions:` + the subject, a field per
/// session (and one for its label), at most [`MAX_RECORDS_PER_SUBJECT`]
/// sessions (the record script drops the oldest logins past it), expiring
/// with the latest record; needs
/// Redis 7 or later (`EXPIREAT ... GT`). Each step is a Lua
/// script, so positions appear in the order they are given and a reader
/// never skips one.
///
/// Redis without persistence loses the log when it restarts: the epoch key
/// goes with it, every server notices the new epoch on its next refresh,
/// publishes again the revocations it holds, and reads the log from the
/// start. Revocations made during the outage wait in each server's queue
/// and are published when Redis is back.
///
/// # Examples
///
/// ```no_run
/// use sealed_session::revocation::Registry;
/// use sealed_session::store::{RedisRevocations, RedisStore};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let registry = Registry::shared(RedisRevocations::new(&store)).start().await?;
/// # let _ = registry;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    store: RedisStore,
    keys: [String; 4],
}

impl RedisRevocations {
    /// A backend on `store`'s connection, with keys under its prefix.
    pub fn new(store: &RedisStore) -> Self {
        let tag = format!("{{{}revocations}}", store.prefix());
        Self {
            store: store.clone(),
            keys: ["epoch", "seq", "log", "until"].map(|k| format!("{tag}:{k}")),
        }
    }

    fn sessions_key(&self, subject: &str) -> String {
        format!("{}sessions:{subject}", self.store.prefix())
    }

    fn script(&self, source: &str) -> Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(source).arg(self.keys.len());
        for key in &self.keys {
            cmd.arg(key);
        }
        cmd
    }
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("prefix", &self.store.prefix())
            .finish_non_exhaustive()
    }
}

impl RevocationBackend for RedisRevocations {
    fn publish<'a>(&'a self, revocations: &'a [Revocation]) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            for chunk in revocations.chunks(1000) {
                let mut cmd = self.script(PUBLISH);
                cmd.arg(random_epoch());
                for revocation in chunk {
                    cmd.arg(revocation.to_bytes())
                        .arg(to_secs(revocation.until()));
                }
                let _: Value = self.store.query("redis revocations publish", cmd).await?;
            }
            Ok(())
        })
    }

    fn changes_since(&self, cursor: u64) -> BackendFuture<'_, Changes> {
        Box::pin(async move {
            let mut cmd = self.script(CHANGES);
            cmd.arg(cursor).arg(random_epoch()).arg(PAGE);
            let (epoch, last, items): (u64, u64, Vec<Vec<u8>>) =
                self.store.query("redis revocations read", cmd).await?;
            let mut changes = Changes {
                epoch,
                cursor: last,
                ..Changes::default()
            };
            let mut at = cursor;
            for pair in items.chunks_exact(2) {
                let [member, score] = pair else { continue };
                at = std::str::from_utf8(score)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| Error::store(BadPosition))?;
                // A member this crate did not write is skipped.
                if let Some(revocation) = Revocation::from_bytes(member) {
                    changes.revocations.push(revocation);
                }
            }
            if items.len() / 2 >= PAGE {
                changes.more = true;
                changes.cursor = at;
            }
            Ok(changes)
        })
    }

    fn purge(&self, now: SystemTime) -> BackendFuture<'_, ()> {
        Box::pin(async move {
            let mut cmd = self.script(PURGE);
            cmd.arg(to_secs(now));
            let _: Value = self.store.query("redis revocations purge", cmd).await?;
            Ok(())
        })
    }

    fn record<'a>(&'a self, subject: &'a str, record: &'a SessionRecord) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let unlabelled = SessionRecord {
                label: None,
                ..record.clone()
            };
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(RECORD)
                .arg(1)
                .arg(self.sessions_key(subject))
                .arg(record.id.to_string())
                .arg(unlabelled.to_bytes());
            cmd.arg(record.label.as_deref().unwrap_or_default())
                .arg(to_secs(record.until))
                .arg(MAX_RECORDS_PER_SUBJECT);
            let _: Value = self.store.query("redis session record", cmd).await?;
            Ok(())
        })
    }

    fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HDEL");
            let field = id.to_string();
            cmd.arg(self.sessions_key(subject))
                .arg(&field)
                .arg(format!("{field}:label"));
            let _: Value = self.store.query("redis session forget", cmd).await?;
            Ok(())
        })
    }

    fn sessions<'a>(
        &'a self,
        subject: &'a str,
        now: SystemTime,
    ) -> BackendFuture<'a, Vec<SessionRecord>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(self.sessions_key(subject));
            let fields: Vec<(String, Vec<u8>)> =
                self.store.query("redis session list", cmd).await?;
            let labels: std::collections::HashMap<&str, &[u8]> = fields
                .iter()
                .filter_map(|(f, v)| Some((f.strip_suffix(":label")?, v.as_slice())))
                .collect();
            let mut found: Vec<SessionRecord> = fields
                .iter()
                .filter(|(f, _)| !f.ends_with(":label"))
                .filter_map(|(f, v)| {
                    let mut record = SessionRecord::from_bytes(v)?;
                    record.label = labels
                        .get(f.as_str())
                        .and_then(|l| std::str::from_utf8(l).ok())
                        .map(str::to_owned);
                    Some(record)
                })
                .filter(|r| now < r.until)
                .collect();
            sort_records(&mut found);
            Ok(found)
        })
    }
}

/// A position in the log that is not a whole number.
#[derive(Debug)]
struct BadPosition;

impl fmt::Display for BadPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Redis revocation log holds a position that is not a whole number")
    }
}

impl std::error::Error for BadPosition {}
