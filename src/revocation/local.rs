//! The revocations and session records a registry holds in this process:
//! hash tables keyed by session id and subject, each entry kept until no
//! session it covers can still be alive.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::time::SystemTime;

use super::backend::{self, Revocation, SessionRecord};
use crate::codec::SessionId;
use crate::codec::envelope::{from_millis, from_secs, to_millis, to_millis_ceil, to_secs};

/// Hashes a [`SessionId`] by its first eight bytes. The ids are 128 random
/// bits from the CSPRNG and a lookup key is a value that authenticated, so
/// there is nothing to mix and no collision an attacker can aim for; this
/// saves the SipHash rounds on every load.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        for (w, b) in word.iter_mut().zip(bytes) {
            *w = *b;
        }
        self.0 ^= u64::from_ne_bytes(word);
    }

    // The array's length prefix: the same for every id, so left out.
    fn write_usize(&mut self, _: usize) {}
}

/// Entries past which an insert first drops the expired ones.
const PURGE_EVERY: usize = 1024;

#[derive(Default)]
pub(super) struct Revocations {
    /// Revoked session ids, until when (seconds) the entry matters.
    ids: HashMap<SessionId, u64, BuildHasherDefault<IdHasher>>,
    /// Per subject: sessions issued before `before` are revoked; the entry
    /// matters until `until` (seconds).
    subjects: HashMap<String, SubjectRevocation>,
    /// Per subject, its sessions' records (a registry in this process
    /// only; a shared one keeps them in the backend).
    records: HashMap<String, HashMap<SessionId, SessionRecord>>,
    /// Inserts since the last purge.
    inserts: usize,
}

#[derive(Clone, Copy)]
struct SubjectRevocation {
    /// Milliseconds since the Unix epoch, rounded up.
    before: u64,
    /// Seconds since the Unix epoch.
    until: u64,
}

impl Revocations {
    /// Counts an insert, dropping the expired entries every
    /// [`PURGE_EVERY`] of them.
    pub(super) fn count_insert(&mut self) {
        self.inserts += 1;
        if self.inserts >= PURGE_EVERY {
            self.purge(to_secs(SystemTime::now()));
        }
    }

    /// Merges `revocations` in.
    pub(super) fn apply(&mut self, revocations: &[Revocation]) {
        for revocation in revocations {
            match revocation {
                Revocation::Session { id, until } => {
                    let until = to_secs(*until);
                    let entry = self.ids.entry(*id).or_insert(until);
                    *entry = (*entry).max(until);
                }
                Revocation::Subject {
                    subject,
                    before,
                    until,
                } => {
                    let (before, until) = (to_millis_ceil(*before), to_secs(*until));
                    let entry = self
                        .subjects
                        .entry(subject.clone())
                        .or_insert(SubjectRevocation { before, until });
                    entry.before = entry.before.max(before);
                    entry.until = entry.until.max(until);
                }
            }
        }
    }

    /// The revocations held that still matter at `now` (seconds).
    #[cfg_attr(not(feature = "shared-registry"), allow(dead_code))]
    pub(super) fn live(&self, now: u64) -> Vec<Revocation> {
        let ids = self
            .ids
            .iter()
            .filter(|&(_, &until)| now < until)
            .map(|(&id, &until)| Revocation::Session {
                id,
                until: from_secs(until),
            });
        let subjects = self
            .subjects
            .iter()
            .filter(|(_, s)| now < s.until)
            .map(|(subject, s)| Revocation::Subject {
                subject: subject.clone(),
                before: from_millis(s.before),
                until: from_secs(s.until),
            });
        ids.chain(subjects).collect()
    }

    /// Whether a session with this id, subject and issued-at time
    /// (milliseconds) is revoked at `now` (seconds).
    pub(super) fn is_revoked(
        &self,
        id: SessionId,
        subject: Option<&str>,
        issued_at: u64,
        now: u64,
    ) -> bool {
        if self.ids.get(&id).is_some_and(|&until| now < until) {
            return true;
        }
        subject
            .and_then(|s| self.subjects.get(s))
            .is_some_and(|s| now < s.until && issued_at < s.before)
    }

    /// Whether `subject` was signed out everywhere and the entry still
    /// matters at `now` (seconds).
    #[cfg_attr(not(feature = "shared-registry"), allow(dead_code))]
    pub(super) fn subject_revoked(&self, subject: &str, now: u64) -> bool {
        self.subjects.get(subject).is_some_and(|s| now < s.until)
    }

    /// Records (or updates) a session of `subject`, keeping the label it
    /// had when the new record has none.
    pub(super) fn record_session(&mut self, subject: &str, record: SessionRecord) {
        let sessions = self.records.entry(subject.to_owned()).or_default();
        let label = record
            .label
            .clone()
            .or_else(|| sessions.get(&record.id).and_then(|old| old.label.clone()));
        sessions.insert(record.id, SessionRecord { label, ..record });
    }

    /// Forgets a session of `subject`.
    pub(super) fn forget_session(&mut self, subject: &str, id: SessionId) {
        if let Some(sessions) = self.records.get_mut(subject) {
            sessions.remove(&id);
        }
    }

    /// The recorded sessions of `subject` that are neither expired nor
    /// revoked at `now`, oldest login first.
    pub(super) fn sessions(&self, subject: &str, now: SystemTime) -> Vec<SessionRecord> {
        let mut found: Vec<SessionRecord> = self
            .records
            .get(subject)
            .into_iter()
            .flat_map(|s| s.values())
            .filter(|r| {
                now < r.until
                    && !self.is_revoked(r.id, Some(subject), to_millis(r.issued_at), to_secs(now))
            })
            .cloned()
            .collect();
        backend::sort_records(&mut found);
        found
    }

    /// Number of revocations held (ids and subjects).
    pub(super) fn len(&self) -> (usize, usize) {
        (self.ids.len(), self.subjects.len())
    }

    /// Drops the entries that no longer cover a live session at `now`
    /// (seconds).
    pub(super) fn purge(&mut self, now: u64) {
        self.ids.retain(|_, until| now < *until);
        self.subjects.retain(|_, s| now < s.until);
        self.records.retain(|_, sessions| {
            sessions.retain(|_, r| now < to_secs(r.until));
            !sessions.is_empty()
        });
        self.inserts = 0;
    }
}
