//! What a shared revocation registry needs of its backend: an append-only
//! log of revocations with a cursor, read by every server in the background.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::codec::SessionId;
use crate::error::Error;

mod entry;
mod memory;

pub use entry::{Revocation, RevocationKey, SessionRecord};
pub use memory::MemoryBackend;

/// The future a [`RevocationBackend`] method returns.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

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
    /// a record without a label keeps the label already recorded. Then, if
    /// `subject` has more than [`MAX_RECORDS_PER_SUBJECT`] records (expired
    /// ones not yet purged included), drops those with the oldest login
    /// (`issued_at`, ties by id) until that many are left; the record just
    /// written goes too if it is among them.
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

/// Most session records kept per subject. A [`RevocationBackend::record`]
/// past it drops the subject's records with the oldest login (`issued_at`,
/// ties by id) until this many are left: the "your devices" list shows the
/// newest sessions, and a session dropped from it still opens (it can still
/// be signed out everywhere). Bounds what one subject that signs in
/// without end (a script, an attacker with the password) can make a backend
/// hold.
pub const MAX_RECORDS_PER_SUBJECT: usize = 64;

/// A random epoch for a new log.
pub(crate) fn random_epoch() -> u64 {
    let mut epoch = [0u8; 8];
    crate::crypto::random::fill(&mut epoch);
    u64::from_be_bytes(epoch)
}

/// The order records are listed and dropped in: oldest login first, ties
/// by id, so the order is stable.
pub(crate) fn login_order(a: &SessionRecord, b: &SessionRecord) -> std::cmp::Ordering {
    a.issued_at.cmp(&b.issued_at).then(a.id.cmp(&b.id))
}

/// Sorts by [`login_order`].
#[cfg(feature = "redis")]
pub(crate) fn sort_records(records: &mut [SessionRecord]) {
    records.sort_by(login_order);
}
