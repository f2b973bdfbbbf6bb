//! [`MemoryBackend`]: a revocation log in this process.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::{
    BackendFuture, Changes, MAX_RECORDS_PER_SUBJECT, PAGE, Revocation, RevocationBackend,
    SessionRecord, login_order, random_epoch,
};
use crate::codec::SessionId;
use crate::codec::envelope::to_secs;

/// A revocation log in this process, shared by every registry that holds a
/// clone: what several servers sharing a Redis look like, inside one test.
/// Also the backend of a single-process application that wants the shared
/// registry's behaviour (staleness, outage handling) without a server.
#[derive(Clone)]
pub struct MemoryBackend {
    inner: Arc<Mutex<MemoryLog>>,
}

#[derive(Default)]
struct MemoryLog {
    epoch: u64,
    next: u64,
    /// Position → encoded revocation.
    log: BTreeMap<u64, Vec<u8>>,
    /// Encoded revocation → position (one position per distinct value).
    positions: HashMap<Vec<u8>, u64>,
    /// Subject → its sessions' records in [`login_order`], at most
    /// [`MAX_RECORDS_PER_SUBJECT`] (a short vector: no per-subject map).
    records: HashMap<String, Vec<SessionRecord>>,
}

impl MemoryBackend {
    /// An empty log.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(MemoryLog {
                epoch: random_epoch(),
                ..MemoryLog::default()
            })),
        }
    }

    /// Empties the log and starts a new epoch, as a Redis without
    /// persistence does when it restarts (for tests).
    pub fn reset(&self) {
        let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *log = MemoryLog {
            epoch: random_epoch(),
            ..MemoryLog::default()
        };
    }

    /// Number of revocations in the log.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .log
            .len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl RevocationBackend for MemoryBackend {
    fn publish<'a>(&'a self, revocations: &'a [Revocation]) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            for revocation in revocations {
                let bytes = revocation.to_bytes();
                if log.positions.contains_key(&bytes) {
                    continue;
                }
                log.next += 1;
                let at = log.next;
                log.log.insert(at, bytes.clone());
                log.positions.insert(bytes, at);
            }
            Ok(())
        })
    }

    fn changes_since(&self, cursor: u64) -> BackendFuture<'_, Changes> {
        Box::pin(async move {
            let log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let mut changes = Changes {
                epoch: log.epoch,
                cursor: log.next,
                ..Changes::default()
            };
            let mut after = log
                .log
                .range(cursor.saturating_add(1)..)
                .filter_map(|(&at, bytes)| Some((at, Revocation::from_bytes(bytes)?)));
            for (at, revocation) in after.by_ref().take(PAGE) {
                changes.cursor = at;
                changes.revocations.push(revocation);
            }
            changes.more = after.next().is_some();
            if !changes.more {
                changes.cursor = log.next;
            }
            Ok(changes)
        })
    }

    fn purge(&self, now: SystemTime) -> BackendFuture<'_, ()> {
        Box::pin(async move {
            let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let now = to_secs(now);
            let MemoryLog {
                log,
                positions,
                records,
                ..
            } = &mut *log;
            log.retain(|_, bytes| {
                let live = Revocation::from_bytes(bytes).is_some_and(|r| now < to_secs(r.until()));
                if !live {
                    positions.remove(bytes.as_slice());
                }
                live
            });
            records.retain(|_, sessions| {
                sessions.retain(|r| now < to_secs(r.until));
                !sessions.is_empty()
            });
            Ok(())
        })
    }

    fn record<'a>(&'a self, subject: &'a str, record: &'a SessionRecord) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let sessions = log.records.entry(subject.to_owned()).or_default();
            let old = sessions
                .iter()
                .position(|r| r.id == record.id)
                .map(|at| sessions.remove(at));
            let record = SessionRecord {
                label: record.label.clone().or_else(|| old.and_then(|o| o.label)),
                ..record.clone()
            };
            let at = sessions.partition_point(|r| login_order(r, &record).is_lt());
            sessions.insert(at, record);
            // Over the cap: the oldest logins go (they sort first).
            let excess = sessions.len().saturating_sub(MAX_RECORDS_PER_SUBJECT);
            sessions.drain(..excess);
            Ok(())
        })
    }

    fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(sessions) = log.records.get_mut(subject) {
                sessions.retain(|r| r.id != id);
                if sessions.is_empty() {
                    log.records.remove(subject);
                }
            }
            Ok(())
        })
    }

    fn sessions<'a>(
        &'a self,
        subject: &'a str,
        now: SystemTime,
    ) -> BackendFuture<'a, Vec<SessionRecord>> {
        Box::pin(async move {
            let log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            // Kept in login order already.
            let found: Vec<SessionRecord> = log
                .records
                .get(subject)
                .into_iter()
                .flatten()
                .filter(|r| now < r.until)
                .cloned()
                .collect();
            Ok(found)
        })
    }
}
