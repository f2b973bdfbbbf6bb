//! What a shared revocation registry needs of its backend: an append-only
//! log of revocations with a cursor, read by every server in the background.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::codec::SessionId;
use crate::codec::envelope::{from_millis, from_secs, to_millis, to_millis_ceil, to_secs};
use crate::error::Error;
use crate::limits::{MAX_LABEL_BYTES, MAX_SUBJECT_BYTES};

/// The future a [`RevocationBackend`] method returns.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// One revocation, as recorded in a backend.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Revocation {
    /// Session `id` is revoked until `until` (its absolute deadline).
    Session {
        /// The revoked session.
        id: SessionId,
        /// When the entry stops mattering (whole seconds).
        until: SystemTime,
    },
    /// Every session of `subject` issued before `before` is revoked; the
    /// entry matters until `until` (`before` plus the absolute timeout).
    Subject {
        /// The subject signed out everywhere.
        subject: String,
        /// Sessions issued before this instant are revoked.
        before: SystemTime,
        /// When the entry stops mattering.
        until: SystemTime,
    },
}

const KIND_SESSION: u8 = 1;
/// A subject revocation with `before` in seconds (written before sessions
/// carried their issue time to the millisecond; still read).
const KIND_SUBJECT_SECS: u8 = 2;
/// A subject revocation with `before` in milliseconds, rounded up.
const KIND_SUBJECT: u8 = 3;

impl Revocation {
    /// When the entry stops mattering: no session it covers can still open.
    pub fn until(&self) -> SystemTime {
        match self {
            Self::Session { until, .. } | Self::Subject { until, .. } => *until,
        }
    }

    /// The compact, stable byte form backends keep: a kind byte, then for a
    /// session its 16-byte id and `until` (big-endian seconds); for a
    /// subject `before` (big-endian milliseconds, rounded up), `until`
    /// (big-endian seconds) and the subject's UTF-8 bytes. Equal
    /// revocations encode to equal bytes, so a backend can use the bytes as
    /// a unique key.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Session { id, until } => {
                let mut out = Vec::with_capacity(25);
                out.push(KIND_SESSION);
                out.extend_from_slice(&id.to_bytes());
                out.extend_from_slice(&to_secs(*until).to_be_bytes());
                out
            }
            Self::Subject {
                subject,
                before,
                until,
            } => {
                let mut out = Vec::with_capacity(17 + subject.len());
                out.push(KIND_SUBJECT);
                out.extend_from_slice(&to_millis_ceil(*before).to_be_bytes());
                out.extend_from_slice(&to_secs(*until).to_be_bytes());
                out.extend_from_slice(subject.as_bytes());
                out
            }
        }
    }

    /// Parses [`to_bytes`](Self::to_bytes)'s form; `None` for anything else
    /// (a backend shared with something that is not this crate).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&kind, rest) = bytes.split_first()?;
        let number = |b: &[u8]| -> Option<u64> { Some(u64::from_be_bytes(b.try_into().ok()?)) };
        let secs = |b: &[u8]| number(b).map(from_secs);
        match kind {
            KIND_SESSION => {
                let (id, until) = rest.split_at_checked(16)?;
                Some(Self::Session {
                    id: SessionId::from_bytes(id.try_into().ok()?),
                    until: secs(until)?,
                })
            }
            KIND_SUBJECT | KIND_SUBJECT_SECS => {
                let (before, rest) = rest.split_at_checked(8)?;
                let before = if kind == KIND_SUBJECT {
                    from_millis(number(before)?)
                } else {
                    secs(before)?
                };
                let (until, subject) = rest.split_at_checked(8)?;
                let subject = std::str::from_utf8(subject).ok()?;
                if subject.is_empty() || subject.len() > MAX_SUBJECT_BYTES {
                    return None;
                }
                Some(Self::Subject {
                    subject: subject.to_owned(),
                    before,
                    until: secs(until)?,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Revocation {
    /// The kind and the deadlines; neither the id nor the subject.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session { until, .. } => f
                .debug_struct("Session")
                .field("until", &to_secs(*until))
                .finish_non_exhaustive(),
            Self::Subject { before, until, .. } => f
                .debug_struct("Subject")
                .field("before_ms", &to_millis_ceil(*before))
                .field("until", &to_secs(*until))
                .finish_non_exhaustive(),
        }
    }
}

/// One active session of a subject, for a "your devices" page: written at
/// login, regeneration and renewal (never on every request), forgotten at
/// logout, gone on its own after `until`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session.
    pub id: SessionId,
    /// When it was issued (the login).
    pub issued_at: SystemTime,
    /// When it was last renewed, as recorded: updated at most once per
    /// renewal interval, so up to that much behind the session's own.
    pub renewed_at: SystemTime,
    /// When the record stops mattering: past it the session has expired.
    pub until: SystemTime,
    /// What the application said about the session at login (for example
    /// "Firefox on Linux"), from [`Session::set_label`](crate::Session::set_label);
    /// not sealed in the cookie.
    pub label: Option<String>,
}

impl SessionRecord {
    /// A record of session `id`.
    pub fn new(
        id: SessionId,
        issued_at: SystemTime,
        renewed_at: SystemTime,
        until: SystemTime,
        label: Option<String>,
    ) -> Self {
        Self {
            id,
            issued_at,
            renewed_at,
            until,
            label,
        }
    }

    /// The stable byte form backends keep: the 16-byte id, `issued_at`
    /// (big-endian milliseconds), `renewed_at`, `until` (big-endian
    /// seconds), then a label flag and the label's UTF-8 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let label = self.label.as_deref().unwrap_or_default();
        let mut out = Vec::with_capacity(41 + label.len());
        out.extend_from_slice(&self.id.to_bytes());
        out.extend_from_slice(&to_millis(self.issued_at).to_be_bytes());
        for t in [self.renewed_at, self.until] {
            out.extend_from_slice(&to_secs(t).to_be_bytes());
        }
        out.push(u8::from(self.label.is_some()));
        out.extend_from_slice(label.as_bytes());
        out
    }

    /// Parses [`to_bytes`](Self::to_bytes)'s form; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (id, rest) = bytes.split_at_checked(16)?;
        let mut times = [0u64; 3];
        let mut rest = rest;
        for t in &mut times {
            let (number, tail) = rest.split_at_checked(8)?;
            *t = u64::from_be_bytes(number.try_into().ok()?);
            rest = tail;
        }
        let (&has_label, label) = rest.split_first()?;
        let label = match has_label {
            0 if label.is_empty() => None,
            1 if label.len() <= MAX_LABEL_BYTES => {
                Some(std::str::from_utf8(label).ok()?.to_owned())
            }
            _ => return None,
        };
        let [issued_at, renewed_at, until] = times;
        Some(Self {
            id: SessionId::from_bytes(id.try_into().ok()?),
            issued_at: from_millis(issued_at),
            renewed_at: from_secs(renewed_at),
            until: from_secs(until),
            label,
        })
    }
}

impl fmt::Debug for SessionRecord {
    /// The times; not the id or the label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("issued_at", &to_secs(self.issued_at))
            .field("renewed_at", &to_secs(self.renewed_at))
            .field("until", &to_secs(self.until))
            .finish_non_exhaustive()
    }
}

/// What a backend recorded after a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Identifies the backend's log. It changes when the log was lost (a
    /// Redis restarted without persistence): the reader then starts over
    /// from cursor 0 and publishes again what it knows.
    pub epoch: u64,
    /// The position of the last revocation recorded, whether or not it is
    /// in `revocations`: the cursor for the next call. Never smaller than
    /// the cursor asked for unless the log was reset.
    pub cursor: u64,
    /// The revocations recorded after the cursor asked for, oldest first
    /// (at most a backend-chosen page; call again while `more`).
    pub revocations: Vec<Revocation>,
    /// Whether more revocations follow `cursor`.
    pub more: bool,
}

/// A shared log of revocations that every server reads in the background
/// (see [`Registry::shared`](super::Registry::shared)).
///
/// Implemented for an in-process log ([`MemoryBackend`]), Redis, PostgreSQL
/// and SQLite (with their store features); every implementation passes the
/// same conformance suite. Object-safe: a registry holds an
/// `Arc<dyn RevocationBackend>`.
pub trait RevocationBackend: Send + Sync + fmt::Debug {
    /// Records `revocations` durably, each after every revocation recorded
    /// before it, so that a reader that has seen position *n* has seen
    /// everything before *n*. Publishing a revocation already recorded is
    /// harmless.
    fn publish<'a>(&'a self, revocations: &'a [Revocation]) -> BackendFuture<'a, ()>;

    /// The revocations recorded after `cursor` (0: all of them).
    fn changes_since(&self, cursor: u64) -> BackendFuture<'_, Changes>;

    /// Deletes the revocations that cover no session still alive at `now`
    /// (`until <= now`). May keep the newest one so the cursor never moves
    /// back.
    fn purge(&self, now: SystemTime) -> BackendFuture<'_, ()>;

    /// Inserts or replaces the record of session `record.id` of `subject`;
    /// a record without a label keeps the label already recorded.
    fn record<'a>(&'a self, subject: &'a str, record: &'a SessionRecord) -> BackendFuture<'a, ()>;

    /// Removes the record of session `id` of `subject`, if any.
    fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()>;

    /// The records of `subject` whose `until` is after `now`, oldest login
    /// first.
    fn sessions<'a>(
        &'a self,
        subject: &'a str,
        now: SystemTime,
    ) -> BackendFuture<'a, Vec<SessionRecord>>;
}

/// Most revocations a backend returns per [`RevocationBackend::changes_since`].
pub(crate) const PAGE: usize = 10_000;

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
    positions: std::collections::HashMap<Vec<u8>, u64>,
    /// Subject → its sessions' records.
    records: std::collections::HashMap<String, std::collections::HashMap<SessionId, SessionRecord>>,
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

/// A random epoch for a new log.
pub(crate) fn random_epoch() -> u64 {
    let mut epoch = [0u8; 8];
    crate::crypto::random::fill(&mut epoch);
    u64::from_be_bytes(epoch)
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
                sessions.retain(|_, r| now < to_secs(r.until));
                !sessions.is_empty()
            });
            Ok(())
        })
    }

    fn record<'a>(&'a self, subject: &'a str, record: &'a SessionRecord) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let sessions = log.records.entry(subject.to_owned()).or_default();
            let label = record
                .label
                .clone()
                .or_else(|| sessions.get(&record.id).and_then(|old| old.label.clone()));
            sessions.insert(
                record.id,
                SessionRecord {
                    label,
                    ..record.clone()
                },
            );
            Ok(())
        })
    }

    fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mut log = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(sessions) = log.records.get_mut(subject) {
                sessions.remove(&id);
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
            let mut found: Vec<SessionRecord> = log
                .records
                .get(subject)
                .into_iter()
                .flat_map(|s| s.values())
                .filter(|r| now < r.until)
                .cloned()
                .collect();
            sort_records(&mut found);
            Ok(found)
        })
    }
}

/// Oldest login first; ties by id, so the order is stable.
pub(crate) fn sort_records(records: &mut [SessionRecord]) {
    records.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn revocations_round_trip_through_bytes() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        for r in [
            Revocation::Session {
                id: SessionId::from_bytes([7; 16]),
                until: at(99),
            },
            Revocation::Subject {
                subject: "user:42".into(),
                before: at(5),
                until: at(1005),
            },
        ] {
            assert_eq!(Revocation::from_bytes(&r.to_bytes()), Some(r));
        }
        for junk in [&[][..], &[1, 2, 3], &[2; 16], &[9; 30]] {
            assert_eq!(Revocation::from_bytes(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn session_records_round_trip_through_bytes() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        for label in [
            None,
            Some(String::new()),
            Some("Firefox on Linux".to_owned()),
        ] {
            let r = SessionRecord::new(SessionId::from_bytes([3; 16]), at(1), at(2), at(3), label);
            assert_eq!(SessionRecord::from_bytes(&r.to_bytes()), Some(r));
        }
        assert_eq!(SessionRecord::from_bytes(&[0; 40]), None);
        let mut bad_flag = [0; 41];
        bad_flag[40] = 7;
        assert_eq!(SessionRecord::from_bytes(&bad_flag), None);
    }
}
