//! The revocations and session records a registry holds in this process.
//!
//! Built for tens of millions of entries on a server that keeps loading
//! sessions meanwhile:
//!
//! - **Sharded.** Revoked ids live in [`ID_SHARDS`] small tables, each
//!   behind its own lock, chosen by bits of the id that the tables do not
//!   use for their buckets. A load takes one shard's read lock.
//! - **No pause a load waits for.** An id table's slots are atomics, so a
//!   write to it (an insert, a sweep) runs beside the loads, under the read
//!   lock they share; its write lock is held only to swap in a table
//!   rebuilt beside the old one (growth, and sweeps that leave most of it
//!   empty): see [`ids`](super::ids). A subject table is a `HashMap`,
//!   written under its write lock one entry or a few hundred removals at a
//!   time (see [`Shard`]); a filter answers most loads without it (see
//!   [`filter`](super::filter)).
//! - **Compact.** An id entry is the 8-byte [`RevocationKey`] and a 4-byte
//!   deadline (seconds): one 12-byte slot, in a table kept between 2/5 and
//!   4/5 full.
//! - **Expired by sweeps, shard by shard.** A write sweeps the shard it
//!   writes to once [`SWEEP_SECS`] seconds, dropping what expired and
//!   giving the memory back once most of the shard is empty;
//!   [`Revocations::purge`] sweeps every shard, one lock at a time.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::SystemTime;

use super::backend::{MAX_RECORDS_PER_SUBJECT, Revocation, RevocationKey, SessionRecord};
use super::filter::SubjectFilter;
use super::ids::{IdShard, Key, write_when_free};
use crate::codec::SessionId;
use crate::codec::envelope::{from_millis, from_secs, to_millis, to_millis_ceil, to_secs};

/// Shards of the revoked-id table: at 10 million entries about 10 000
/// each, so a growth or a sweep (built beside the table, under the read
/// lock) has a thousandth of the entries to move.
pub(super) const ID_SHARDS: usize = 1024;

/// Shards of the subject table.
const SUBJECT_SHARDS: usize = 64;

/// Shards of the session records (an in-memory registry's "your devices").
const RECORD_SHARDS: usize = 64;

/// Seconds between two sweeps of one shard by the writes to it.
pub(super) const SWEEP_SECS: u64 = 60;

/// Session records an in-memory registry keeps unless told otherwise
/// ([`Registry::with_record_limit`](super::Registry::with_record_limit)).
pub(super) const DEFAULT_RECORD_LIMIT: usize = 1 << 20;

/// Passes a word through: the subject tables' keys carry their keyed
/// hash ([`SubjectKey`]), computed once per load.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
}

/// Seconds as the tables keep them: to the year 2106, later ones held as
/// then.
fn secs32(secs: u64) -> u32 {
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// A revoked subject as its table keeps it: the subject and its keyed
/// hash, which picks the shard and is the table's hash, so that a load
/// hashes its subject once. Two subjects with the same hash are two keys
/// (equality compares the subjects).
struct SubjectKey {
    hash: u64,
    subject: Box<str>,
}

/// What a subject table is searched by: a [`SubjectKey`], or a subject
/// and its hash borrowed from a load (`(u64, &str)`).
trait SubjectQuery {
    fn parts(&self) -> (u64, &str);
}

impl SubjectQuery for SubjectKey {
    fn parts(&self) -> (u64, &str) {
        (self.hash, &self.subject)
    }
}

impl SubjectQuery for (u64, &str) {
    fn parts(&self) -> (u64, &str) {
        *self
    }
}

impl<'a> Borrow<dyn SubjectQuery + 'a> for SubjectKey {
    fn borrow(&self) -> &(dyn SubjectQuery + 'a) {
        self
    }
}

impl Hash for dyn SubjectQuery + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.parts().0);
    }
}

impl PartialEq for dyn SubjectQuery + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn SubjectQuery + '_ {}

impl Hash for SubjectKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for SubjectKey {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for SubjectKey {}

impl Clone for SubjectKey {
    fn clone(&self) -> Self {
        Self {
            hash: self.hash,
            subject: self.subject.clone(),
        }
    }
}

/// Per subject: the sessions issued before `before` (milliseconds since
/// the Unix epoch, rounded up) are revoked, until `until` (seconds).
#[derive(Clone, Copy)]
struct SubjectEntry {
    before: u64,
    until: u32,
}

/// One shard: a table that loads read under its read lock, and a writer
/// lock that writers take turns on.
///
/// A load never waits for work proportional to the shard: a write holds
/// the table's write lock only to insert one entry into room made before,
/// or to swap in a table rebuilt beside it. Growing (to twice the entries)
/// and sweeping the expired entries (into a table sized for what is left,
/// which gives the memory back) both build the new table under the read
/// lock, which loads share, and the writer lock, which keeps other writers
/// out meanwhile; the old table is freed after the swap, outside the lock.
struct Shard<K, V, S> {
    map: RwLock<HashMap<K, V, S>>,
    /// When the shard was last swept (seconds).
    writer: Mutex<u64>,
}

impl<K: Hash + Eq + Clone, V: Clone, S: BuildHasher + Clone> Shard<K, V, S> {
    fn new(hasher: S) -> Self {
        Self {
            map: RwLock::new(HashMap::with_hasher(hasher)),
            writer: Mutex::new(0),
        }
    }

    /// Applies `change` to the table, after sweeping it (once
    /// [`SWEEP_SECS`] after the last sweep at `now`) and making room for
    /// one more entry. Returns what `change` returned and how many entries
    /// the table gained (negative when the sweep dropped more).
    fn update<R>(
        &self,
        now: u64,
        until: impl Fn(&V) -> u64,
        change: impl FnOnce(&mut HashMap<K, V, S>) -> R,
    ) -> (R, isize) {
        let mut swept_at = lock(&self.writer);
        let mut gained = 0;
        if now >= swept_at.saturating_add(SWEEP_SECS) {
            *swept_at = now;
            gained -= self.sweep_locked(now, &until);
        }
        let full = {
            let map = read(&self.map);
            map.len() >= map.capacity()
        };
        if full {
            // Room for one more: the table's next size, twice this one.
            gained -= self.rebuild(|_| true, |live| live + 1);
        }
        let mut map = write_when_free(&self.map);
        let before = len_isize(&map);
        let result = change(&mut map);
        gained += len_isize(&map) - before;
        (result, gained)
    }

    /// Sweeps the table now, whenever it was last swept. Returns how many
    /// entries it dropped.
    fn sweep(&self, now: u64, until: impl Fn(&V) -> u64) -> isize {
        let mut swept_at = lock(&self.writer);
        *swept_at = now;
        self.sweep_locked(now, &until)
    }

    /// Drops the entries past their deadline at `now`; the caller holds
    /// the writer lock. Finds them under the read lock; removes them one by
    /// one under the write lock when few went, or rebuilds the table (and
    /// gives the memory back) when most of it is empty. Returns how many
    /// were dropped.
    fn sweep_locked(&self, now: u64, until: &impl Fn(&V) -> u64) -> isize {
        let (expired, len, capacity) = {
            let map = read(&self.map);
            let expired: Vec<K> = map
                .iter()
                .filter(|(_, v)| now >= until(v))
                .map(|(k, _)| k.clone())
                .collect();
            (expired, map.len(), map.capacity())
        };
        if expired.is_empty() {
            return 0;
        }
        let live = len - expired.len();
        if live * 4 < capacity {
            return self.rebuild(|v| now < until(v), |live| live * 2);
        }
        // A few hundred at a time: a load waits at most for one batch.
        for batch in expired.chunks(256) {
            let mut map = write_when_free(&self.map);
            for key in batch {
                map.remove(key);
            }
        }
        isize::try_from(expired.len()).unwrap_or(isize::MAX)
    }

    /// Replaces the table with one holding the entries `keep` keeps, with
    /// room for `room(kept)` entries (at least 8), built beside the table
    /// (see [`Shard`]); the caller holds the writer lock. Returns how many
    /// entries were dropped.
    fn rebuild(&self, keep: impl Fn(&V) -> bool, room: impl Fn(usize) -> usize) -> isize {
        let new = {
            let map = read(&self.map);
            let kept = map.values().filter(|v| keep(v)).count();
            let mut new =
                HashMap::with_capacity_and_hasher(room(kept).max(8), map.hasher().clone());
            new.extend(
                map.iter()
                    .filter(|(_, v)| keep(v))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            new
        };
        let dropped;
        let old = {
            let mut map = write_when_free(&self.map);
            dropped = len_isize(&map) - len_isize(&new);
            std::mem::replace(&mut *map, new)
        };
        drop(old);
        dropped
    }
}

fn len_isize<K, V, S>(map: &HashMap<K, V, S>) -> isize {
    isize::try_from(map.len()).unwrap_or(isize::MAX)
}

/// Adds `gained` (which may be negative) to `count`.
fn count_gain(count: &AtomicUsize, gained: isize) {
    if gained >= 0 {
        count.fetch_add(gained.unsigned_abs(), Ordering::Release);
    } else {
        count.fetch_sub(gained.unsigned_abs(), Ordering::Release);
    }
}

type SubjectShard = Shard<SubjectKey, SubjectEntry, BuildHasherDefault<IdHasher>>;

/// The revocations (and, for a registry in this process only, the session
/// records) a registry holds.
pub(super) struct Revocations {
    ids: Box<[IdShard; ID_SHARDS]>,
    /// Entries across the id shards, expired ones not yet swept included.
    id_count: AtomicUsize,
    subject_hasher: RandomState,
    subjects: Box<[SubjectShard; SUBJECT_SHARDS]>,
    /// Entries across the subject shards; while zero a load skips hashing
    /// its subject.
    subject_count: AtomicUsize,
    /// Answers "certainly not" for most subjects a load asks about, with
    /// no lock and no keyed hash.
    subject_filter: SubjectFilter,
    records: Box<[Mutex<RecordShard>; RECORD_SHARDS]>,
    /// Most records kept in all (a registry in this process only).
    record_limit: AtomicUsize,
}

impl Default for Revocations {
    fn default() -> Self {
        let subject_hasher = RandomState::new();
        Self {
            ids: Box::new(std::array::from_fn(|_| IdShard::default())),
            id_count: AtomicUsize::new(0),
            subjects: Box::new(std::array::from_fn(|_| {
                Shard::new(BuildHasherDefault::default())
            })),
            subject_hasher,
            subject_count: AtomicUsize::new(0),
            subject_filter: SubjectFilter::default(),
            records: Box::new(std::array::from_fn(|_| Mutex::new(RecordShard::default()))),
            record_limit: AtomicUsize::new(DEFAULT_RECORD_LIMIT),
        }
    }
}

impl Revocations {
    /// Revocations whose subject filter is rebuilt after as few as `drops`
    /// drops, and how many rebuilds it has had (for the model test).
    #[cfg(test)]
    pub(super) fn with_subject_rebuilds_after(drops: usize) -> Self {
        Self {
            subject_filter: SubjectFilter::rebuilt_after(drops),
            ..Self::default()
        }
    }

    #[cfg(test)]
    pub(super) fn subject_filter_rebuilds(&self) -> u64 {
        self.subject_filter.rebuilds()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Revocations {
    #[allow(
        clippy::indexing_slicing,
        reason = "the index is below ID_SHARDS, the array's length"
    )]
    fn id_shard(&self, key: Key) -> &IdShard {
        &self.ids[key.shard(ID_SHARDS) % ID_SHARDS]
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "the index is below SUBJECT_SHARDS, the array's length"
    )]
    fn subject_shard(&self, hash: u64) -> &SubjectShard {
        // Bits the table inside uses for neither bucket nor control byte.
        &self.subjects[(hash >> 40) as usize % SUBJECT_SHARDS]
    }

    /// A subject's keyed hash (SipHash-1-3 under this registry's random
    /// key: subjects are chosen by the application, not random). The
    /// bytes alone: a table's keys are one subject each.
    fn subject_hash(&self, subject: &str) -> u64 {
        let mut hasher = self.subject_hasher.build_hasher();
        hasher.write(subject.as_bytes());
        hasher.finish()
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "the index is below RECORD_SHARDS, the array's length"
    )]
    fn record_shard(&self, subject: &str) -> &Mutex<RecordShard> {
        let hash = self.subject_hasher.hash_one(subject);
        &self.records[(hash >> 40) as usize % RECORD_SHARDS]
    }

    /// Merges `revocations` in (a later deadline wins), sweeping each shard
    /// written to when its sweep is due at `now` (seconds).
    pub(super) fn apply(&self, revocations: &[Revocation], now: u64) {
        for revocation in revocations {
            match revocation {
                Revocation::Session { key, until } => self.insert_id(*key, to_secs(*until), now),
                Revocation::Subject {
                    subject,
                    before,
                    until,
                } => self.insert_subject(
                    subject,
                    SubjectEntry {
                        before: to_millis_ceil(*before),
                        until: secs32(to_secs(*until)),
                    },
                    now,
                ),
            }
        }
    }

    fn insert_id(&self, key: RevocationKey, until: u64, now: u64) {
        let key = Key::new(key);
        let until = secs32(until);
        let gained = self.id_shard(key).insert(key, until, now, SWEEP_SECS);
        count_gain(&self.id_count, gained);
    }

    fn insert_subject(&self, subject: &str, new: SubjectEntry, now: u64) {
        let hash = self.subject_hash(subject);
        let ((), gained) = self.subject_shard(hash).update(
            now,
            |s| u64::from(s.until),
            |map| {
                if now >= u64::from(new.until) {
                    return;
                }
                match map.get_mut(&(hash, subject) as &dyn SubjectQuery) {
                    Some(entry) => {
                        entry.before = entry.before.max(new.before);
                        entry.until = entry.until.max(new.until);
                    }
                    None => {
                        let key = SubjectKey {
                            hash,
                            subject: subject.into(),
                        };
                        map.insert(key, new);
                    }
                }
                // In the table first, under its write lock: see `filter`.
                self.subject_filter.add(subject);
            },
        );
        count_gain(&self.subject_count, gained);
        if gained < 0 {
            self.subjects_dropped(gained.unsigned_abs());
        }
    }

    /// Counts `n` subjects swept from the tables, and rebuilds the
    /// subjects' filter once that is worth it.
    fn subjects_dropped(&self, n: usize) {
        let live = self.subject_count.load(Ordering::Acquire);
        if self.subject_filter.note_dropped(n, live) {
            self.subject_filter.rebuild(|add| {
                for shard in self.subjects.iter() {
                    for key in read(&shard.map).keys() {
                        add(&key.subject);
                    }
                }
            });
        }
    }

    /// The revocations of page `page` that still matter at `now`
    /// (seconds): the id shards one per page, then the subject shards;
    /// `None` past the last page. For giving a backend back what it lost,
    /// a bounded piece at a time.
    #[cfg_attr(not(feature = "shared-registry"), allow(dead_code))]
    pub(super) fn live_page(&self, page: usize, now: u64) -> Option<Vec<Revocation>> {
        if let Some(shard) = self.ids.get(page) {
            return Some(
                shard
                    .table()
                    .entries()
                    .filter(|&(_, until)| now < u64::from(until))
                    .map(|(key, until)| Revocation::Session {
                        key: key.revocation_key(),
                        until: from_secs(u64::from(until)),
                    })
                    .collect(),
            );
        }
        let shard = self.subjects.get(page.checked_sub(ID_SHARDS)?)?;
        Some(
            read(&shard.map)
                .iter()
                .filter(|(_, s)| now < u64::from(s.until))
                .map(|(key, s)| Revocation::Subject {
                    subject: key.subject.to_string(),
                    before: from_millis(s.before),
                    until: from_secs(u64::from(s.until)),
                })
                .collect(),
        )
    }

    /// Whether a session with this id, subject and issued-at time
    /// (milliseconds) is revoked at `now` (seconds): one shard's read lock
    /// and one lookup, and a second for its subject once any subject is
    /// revoked.
    pub(super) fn is_revoked(
        &self,
        id: SessionId,
        subject: Option<&str>,
        issued_at: u64,
        now: u64,
    ) -> bool {
        let key = Key::new(id.into());
        if self
            .id_shard(key)
            .get(key)
            .is_some_and(|until| now < u64::from(until))
        {
            return true;
        }
        match subject {
            Some(subject)
                if self.subject_count.load(Ordering::Acquire) > 0
                    && self.subject_filter.may_contain(subject) =>
            {
                self.subject_entry(subject)
                    .is_some_and(|s| now < u64::from(s.until) && issued_at < s.before)
            }
            _ => false,
        }
    }

    fn subject_entry(&self, subject: &str) -> Option<SubjectEntry> {
        let hash = self.subject_hash(subject);
        read(&self.subject_shard(hash).map)
            .get(&(hash, subject) as &dyn SubjectQuery)
            .copied()
    }

    /// Whether `subject` was signed out everywhere and the entry still
    /// matters at `now` (seconds).
    #[cfg_attr(not(feature = "shared-registry"), allow(dead_code))]
    pub(super) fn subject_revoked(&self, subject: &str, now: u64) -> bool {
        self.subject_count.load(Ordering::Acquire) > 0
            && self.subject_filter.may_contain(subject)
            && self
                .subject_entry(subject)
                .is_some_and(|s| now < u64::from(s.until))
    }

    /// Records (or updates) a session of `subject` at `now` (seconds),
    /// keeping the label it had when the new record has none.
    pub(super) fn record_session(&self, subject: &str, record: &SessionRecord, now: u64) {
        let limit = self.record_limit.load(Ordering::Relaxed);
        let shard_limit = limit.div_ceil(RECORD_SHARDS).max(1);
        lock(self.record_shard(subject)).record(subject, record, now, shard_limit);
    }

    /// Forgets a session of `subject`.
    pub(super) fn forget_session(&self, subject: &str, id: SessionId) {
        lock(self.record_shard(subject)).forget(subject, id);
    }

    /// The recorded sessions of `subject` that are neither expired nor
    /// revoked at `now`, oldest login first.
    pub(super) fn sessions(&self, subject: &str, now: SystemTime) -> Vec<SessionRecord> {
        let listed = lock(self.record_shard(subject)).list(subject, to_secs(now));
        listed
            .into_iter()
            .filter(|r| !self.is_revoked(r.id, Some(subject), to_millis(r.issued_at), to_secs(now)))
            .collect()
    }

    /// Sets the most records kept in all.
    pub(super) fn set_record_limit(&self, limit: usize) {
        self.record_limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// Number of revocations held (ids and subjects), expired ones not yet
    /// swept included.
    pub(super) fn len(&self) -> (usize, usize) {
        (
            self.id_count.load(Ordering::Relaxed),
            self.subject_count.load(Ordering::Acquire),
        )
    }

    /// Number of session records held.
    pub(super) fn records(&self) -> usize {
        self.records.iter().map(|s| lock(s).count).sum()
    }

    /// Drops the entries that no longer cover a live session at `now`
    /// (seconds), one shard at a time: a load waits at most for one
    /// shard's sweep.
    pub(super) fn purge(&self, now: u64) {
        for shard in self.ids.iter() {
            count_gain(&self.id_count, -shard.sweep(now));
        }
        let mut subjects_dropped = 0;
        for shard in self.subjects.iter() {
            let dropped = shard.sweep(now, |s| u64::from(s.until));
            count_gain(&self.subject_count, -dropped);
            subjects_dropped += dropped.unsigned_abs();
        }
        if subjects_dropped > 0 {
            self.subjects_dropped(subjects_dropped);
        }
        for shard in self.records.iter() {
            lock(shard).sweep(now);
        }
    }
}

/// A session record as an in-memory registry keeps it: 48 bytes and the
/// label.
#[derive(Clone)]
struct Listed {
    id: SessionId,
    /// Milliseconds since the Unix epoch.
    issued_at: u64,
    /// Seconds since the Unix epoch.
    renewed_at: u32,
    until: u32,
    label: Option<Box<str>>,
}

impl Listed {
    fn new(record: &SessionRecord) -> Self {
        Self {
            id: record.id,
            issued_at: to_millis(record.issued_at),
            renewed_at: secs32(to_secs(record.renewed_at)),
            until: secs32(to_secs(record.until)),
            label: record.label.as_deref().map(Box::from),
        }
    }

    fn record(&self) -> SessionRecord {
        SessionRecord::new(
            self.id,
            from_millis(self.issued_at),
            from_secs(u64::from(self.renewed_at)),
            from_secs(u64::from(self.until)),
            self.label.as_deref().map(str::to_owned),
        )
    }

    /// The order of a subject's list: oldest login first, ties by id.
    fn order(&self) -> (u64, SessionId) {
        (self.issued_at, self.id)
    }
}

/// One shard of the session records: per subject, its records oldest
/// login first, at most [`MAX_RECORDS_PER_SUBJECT`].
#[derive(Default)]
struct RecordShard {
    subjects: HashMap<Box<str>, Vec<Listed>>,
    count: usize,
    swept_at: u64,
}

impl RecordShard {
    fn record(&mut self, subject: &str, record: &SessionRecord, now: u64, limit: usize) {
        if now >= self.swept_at.saturating_add(SWEEP_SECS) {
            self.sweep(now);
        }
        let mut new = Listed::new(record);
        let list = match self.subjects.get_mut(subject) {
            Some(list) => list,
            None => self.subjects.entry(subject.into()).or_default(),
        };
        if let Some(at) = list.iter().position(|r| r.id == new.id) {
            let old = list.remove(at);
            new.label = new.label.or(old.label);
            self.count -= 1;
        }
        let at = list.partition_point(|r| r.order() < new.order());
        list.insert(at, new);
        self.count += 1;
        if list.len() > MAX_RECORDS_PER_SUBJECT {
            let excess = list.len() - MAX_RECORDS_PER_SUBJECT;
            list.drain(..excess);
            self.count -= excess;
        }
        if self.count > limit {
            self.sweep(now);
        }
        if self.count > limit {
            self.evict(limit);
        }
    }

    fn forget(&mut self, subject: &str, id: SessionId) {
        if let Some(list) = self.subjects.get_mut(subject)
            && let Some(at) = list.iter().position(|r| r.id == id)
        {
            list.remove(at);
            self.count -= 1;
            if list.is_empty() {
                self.subjects.remove(subject);
            }
        }
    }

    fn list(&self, subject: &str, now: u64) -> Vec<SessionRecord> {
        self.subjects
            .get(subject)
            .into_iter()
            .flatten()
            .filter(|r| now < u64::from(r.until))
            .map(Listed::record)
            .collect()
    }

    fn sweep(&mut self, now: u64) {
        self.swept_at = now;
        let mut count = 0;
        self.subjects.retain(|_, list| {
            list.retain(|r| now < u64::from(r.until));
            count += list.len();
            !list.is_empty()
        });
        self.count = count;
        if self.subjects.capacity() > 4 * self.subjects.len().max(16) {
            self.subjects.shrink_to(self.subjects.len() * 2);
        }
    }

    /// Over the limit with nothing expired: drops the records renewed
    /// longest ago, down to seven eighths of the limit, so the next
    /// eviction is far off.
    fn evict(&mut self, limit: usize) {
        let keep = limit - limit / 8;
        let excess = self.count.saturating_sub(keep);
        if excess == 0 {
            return;
        }
        let mut renewals: Vec<u32> = self
            .subjects
            .values()
            .flatten()
            .map(|r| r.renewed_at)
            .collect();
        let (_, &mut threshold, _) = renewals.select_nth_unstable(excess - 1);
        // Exactly `excess` go: every record renewed before the threshold,
        // and as many renewed at it as make up the rest.
        let older = renewals.iter().filter(|&&r| r < threshold).count();
        let mut ties = excess - older;
        let mut count = 0;
        self.subjects.retain(|_, list| {
            list.retain(|r| match r.renewed_at.cmp(&threshold) {
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Equal if ties > 0 => {
                    ties -= 1;
                    false
                }
                _ => true,
            });
            count += list.len();
            !list.is_empty()
        });
        self.count = count;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::revocation::filter::REBUILD_AFTER;

    fn subject(n: usize, until: u64) -> Revocation {
        Revocation::Subject {
            subject: format!("user:{n}"),
            before: from_secs(50),
            until: from_secs(until),
        }
    }

    #[test]
    fn once_enough_subjects_are_swept_the_filter_forgets_them() {
        let revocations = Revocations::default();
        let gone: Vec<Revocation> = (0..REBUILD_AFTER).map(|n| subject(n, 100)).collect();
        revocations.apply(&gone, 0);
        revocations.apply(&[subject(999_999, 1000)], 0);
        assert!(revocations.subject_filter.may_contain("user:0"));
        revocations.purge(100);
        assert_eq!(revocations.len().1, 1);
        let still_maybe = (0..REBUILD_AFTER)
            .filter(|n| revocations.subject_filter.may_contain(&format!("user:{n}")))
            .count();
        // One subject left: each of the others shares its two bits with
        // probability 2^-13 × 2^-11 or so.
        assert!(still_maybe < 2, "{still_maybe} swept subjects still maybe");
        assert!(revocations.subject_filter.may_contain("user:999999"));
        assert!(revocations.is_revoked(SessionId::generate(), Some("user:999999"), 0, 100));
    }
}
