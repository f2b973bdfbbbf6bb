//! Revoking sessions that live in cookies: a registry of revoked session
//! ids and subjects, checked on every load with a hash lookup and no I/O.
//!
//! Cookie sessions cannot be deleted: a copy of a cookie taken before a
//! logout still opens. With a [`Registry`] on the manager
//! ([`SessionManagerBuilder::registry`](crate::SessionManagerBuilder::registry)):
//!
//! - [`Session::destroy`](crate::Session::destroy) revokes the session's id,
//!   so a copied cookie dies with the logout;
//! - [`Session::regenerate`](crate::Session::regenerate) revokes the old id,
//!   so the cookie from before a login (or a privilege change) no longer
//!   opens;
//! - [`Registry::revoke_subject`] ends every session of a subject issued
//!   before an instant ("sign out everywhere", a password change), and
//!   [`Registry::revoke`] ends one session (a "your devices" page).
//!
//! A revoked session loads as a fresh one with
//! [`FreshReason::Revoked`](crate::FreshReason::Revoked).
//!
//! Every entry expires on its own when no copy of what it revokes can
//! still open: a revoked session is never renewed again, so its copies
//! open at most its idle timeout after the revocation (plus a slack for
//! servers that have not heard yet and for their clocks), and never past
//! its absolute deadline. With the defaults that is about a day, not the
//! 14-day absolute timeout, so the registry stays as small as the set of
//! revocations that still matter.
//!
//! # At scale
//!
//! The registry is built for tens of millions of live entries on a server
//! that keeps loading sessions meanwhile: the ids are spread over 1 024
//! shards of atomic slots, so a write or a sweep of expired entries runs
//! beside the loads, and a shard's growth holds a thousandth of the table
//! for a pointer swap, never all of it; an entry is the id's 8-byte
//! [`RevocationKey`] and a 4-byte deadline, about 20 bytes with the
//! table's free slots; memory goes back once entries expire. A load whose
//! session has a subject asks a lock-free filter first, and hashes the
//! subject only when the filter cannot rule it out. A shared registry
//! reads any number of revocations at start, a page at a time. The figures
//! (`benches/revocation.rs`) are in
//! [`docs::performance`](crate::docs::performance).
//!
//! # In one process, or shared
//!
//! [`Registry::in_memory`] lives in the process: revocations take effect at
//! once for every manager holding a clone, and are lost when the process
//! exits. [`Registry::shared`] (feature `shared-registry`, on with every
//! server store feature) shares them through a [`RevocationBackend`]: the
//! in-process [`MemoryBackend`], Redis
//! ([`store::RedisRevocations`](crate::store)), PostgreSQL
//! (`store::PostgresRevocations`) or SQLite (`store::SqliteRevocations`).
//!
//! - **The hot path stays local.** Each server keeps the live revocations in
//!   memory; a load checks them with one or two hash lookups, never a
//!   backend read. A background task reads what was added since its cursor
//!   (a position in the backend's append-only log, not a full read) every
//!   refresh interval (default [`DEFAULT_REFRESH_INTERVAL`], 1 s), and
//!   writes this server's revocations at once.
//! - **Delay.** A revocation takes effect on the server that made it at
//!   once, and on every other server within one refresh interval plus a
//!   backend round trip (measured: 0.9 s with the default interval, in
//!   `tests/revocation_shared.rs`).
//! - **Staleness bound.** When a server has not refreshed for longer than
//!   the bound (default [`DEFAULT_STALENESS_BOUND`], 5 s), a revocation made
//!   elsewhere may be unknown to it; its [`WhenStale`] policy decides:
//!   refuse every session ([`WhenStale::FailClosed`]), keep serving and
//!   report through [`Registry::health`] ([`WhenStale::FailOpen`]), or, the
//!   default, refuse only the sessions of subjects that had been signed out
//!   everywhere before the outage ([`WhenStale::FailClosedForRevokedSubjects`]).
//!   Refused sessions load fresh with
//!   [`FreshReason::RevocationUnverified`](crate::FreshReason::RevocationUnverified).
//!   What a server knew stays revoked under every policy.
//! - **Nothing is lost in an outage.** A revocation made while the backend
//!   is down applies here at once, waits in this server's queue and is
//!   written when the backend is back ([`Registry::flush`] says whether it
//!   is durable yet). A backend that lost its log (Redis without
//!   persistence) gets it back: every server notices the new epoch,
//!   publishes what it holds, and reads the log again.
//!
//! # Session ids, subjects and old cookies
//!
//! Every session carries its id (17 bytes of plaintext, about 23 cookie
//! characters) whether
//! or not a registry is configured, so a registry switched on later covers
//! every session already issued: ids revoke from then on, and
//! "sign out everywhere" covers the sessions that carry the subject (set
//! with [`Session::set_subject`](crate::Session::set_subject), sealed,
//! 1–128 bytes). A session sealed before subjects existed has none and is
//! covered by id only. Without a registry nothing changes: the manager is
//! exactly as stateless as before.
//!
//! # Your sessions
//!
//! A manager with a registry records each session that has a subject at
//! login, regeneration and renewal (at most once per renewal interval,
//! never on every request) and forgets it at logout;
//! [`Registry::sessions`] lists a subject's active sessions (id, issued at,
//! last renewal, the label set with
//! [`Session::set_label`](crate::Session::set_label)) for a "your devices"
//! page, and [`Registry::revoke`] ends one. Each subject keeps its newest
//! [`MAX_RECORDS_PER_SUBJECT`] logins (every backend drops the oldest past
//! it; such a session still opens and is still ended by "sign out
//! everywhere"), and a registry in this process keeps at most a million
//! records in all ([`Registry::with_record_limit`]).
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use http::HeaderMap;
//! use sealed_session::revocation::Registry;
//! use sealed_session::{FreshReason, Key, KeyRing, Session, SessionManager};
//!
//! let registry = Registry::in_memory();
//! let manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
//!     .registry(registry.clone())
//!     .build()?;
//!
//! // Sign in on a device.
//! let mut session: Session<u32> = manager.load_sync(&HeaderMap::new())?;
//! session.set_subject("user:42")?;
//! let mut response = HeaderMap::new();
//! manager.save_sync(&mut session, &mut response)?;
//! let pair = response["set-cookie"].to_str().unwrap_or_default();
//! let mut request = HeaderMap::new();
//! request.insert("cookie", pair.split(';').next().unwrap_or_default().parse().map_err(|_| sealed_session::ErrorKind::Rejected)?);
//!
//! // "Sign out everywhere", a second later.
//! registry.revoke_subject("user:42", SystemTime::now() + Duration::from_secs(1), manager.codec().max_absolute_timeout());
//! let again: Session<u32> = manager.load_sync(&request)?;
//! assert_eq!(again.fresh_reason(), Some(FreshReason::Revoked));
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use crate::codec::SessionId;
use crate::codec::envelope::{from_secs, to_millis, to_secs};

pub(crate) mod backend;
mod filter;
mod ids;
mod local;
#[cfg(feature = "shared-registry")]
mod shared;

pub use backend::{
    BackendFuture, Changes, MAX_RECORDS_PER_SUBJECT, MemoryBackend, Revocation, RevocationBackend,
    RevocationKey, SessionRecord,
};
#[cfg(feature = "shared-registry")]
#[cfg_attr(docsrs, doc(cfg(feature = "shared-registry")))]
pub use shared::{
    DEFAULT_REFRESH_INTERVAL, DEFAULT_STALENESS_BOUND, SharedRegistryBuilder, WhenStale,
};

/// Revoked session ids and subjects, shared by the managers that hold a
/// clone. See the [module docs](self).
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

/// A registry's clock (tests inject one).
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Added to every entry's lifetime for the clocks of the servers that
/// share revocations, which may disagree by this much (NTP keeps them far
/// closer), and for the rounding of times to whole seconds.
pub const CLOCK_ALLOWANCE: Duration = Duration::from_secs(60);

/// How long the copies of a revoked session, or the sessions a subject
/// revocation covers, can still open once every server knows of it: the
/// idle timeout counted from then, never past the absolute deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reach {
    pub(crate) idle: Duration,
    pub(crate) absolute: SystemTime,
}

#[derive(Default)]
struct Inner {
    local: local::Revocations,
    clock: OnceLock<Clock>,
    /// The shared backend and the state of the background refresh; `None`
    /// for a registry that lives in this process only.
    #[cfg(feature = "shared-registry")]
    shared: Option<shared::Shared>,
}

/// What a registry says of a session on load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Not revoked (as far as the registry knows, within its staleness
    /// bound).
    Live,
    /// Revoked: destroyed, regenerated, or its subject signed out
    /// everywhere.
    Revoked,
    /// A shared registry could not reach its backend for longer than its
    /// staleness bound, and its [`WhenStale`] policy refuses this session.
    Unverified,
}

/// How up to date a registry is; for health checks and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Whether the registry reads a shared backend.
    pub shared: bool,
    /// Time since the last successful refresh from the backend (`None` for
    /// a registry in this process only).
    pub since_refresh: Option<Duration>,
    /// Whether `since_refresh` is past the staleness bound, so the
    /// [`WhenStale`] policy applies.
    pub stale: bool,
    /// Revocations made here and not yet written to the backend (kept and
    /// retried until they are).
    pub pending: usize,
    /// Refreshes that failed in a row.
    pub failures: u64,
}

impl Registry {
    /// An empty registry held in this process.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Uses `clock` for the time instead of the system's: for tests on an
    /// injected clock (set it before the registry is used; the first call
    /// wins). The manager passes its own time to what it asks.
    #[must_use]
    pub fn with_clock(self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        let _ = self.inner.clock.set(Arc::new(clock));
        self
    }

    /// Keeps at most `limit` session records in all (default 1 048 576, a
    /// few hundred MB at most; at least 1), for a registry in this
    /// process only (a shared one keeps them in its backend). Past it, the
    /// expired ones go first, then the ones renewed longest ago. Each
    /// subject keeps at most [`MAX_RECORDS_PER_SUBJECT`] anyway.
    #[must_use]
    pub fn with_record_limit(self, limit: usize) -> Self {
        self.inner.local.set_record_limit(limit);
        self
    }

    /// The registry's time: the system's, or the clock it was given.
    fn now(&self) -> SystemTime {
        self.inner.clock.get().map_or_else(SystemTime::now, |c| c())
    }

    /// What every entry lives past the instant its sessions stop opening
    /// as this server sees it: the [`CLOCK_ALLOWANCE`], plus for a shared
    /// registry its staleness bound (another server may renew a copy until
    /// it hears of the revocation, at most that long).
    fn slack(&self) -> Duration {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            return CLOCK_ALLOWANCE + shared.bound();
        }
        CLOCK_ALLOWANCE
    }

    /// `at` plus the [`slack`](Self::slack), saturating.
    fn with_slack(&self, at: SystemTime) -> SystemTime {
        at.checked_add(self.slack()).unwrap_or(from_secs(u64::MAX))
    }

    /// Revokes the session `id` until `until`, the last instant a copy of
    /// it can open as this server sees it (the earlier of its idle deadline
    /// and its absolute one; a [`SessionRecord`]'s `until`), plus the
    /// registry's slack: [`CLOCK_ALLOWANCE`] and, for a shared registry,
    /// its staleness bound. With a shared backend the revocation takes
    /// effect here at once and is written to the backend in the background
    /// (see [`flush`](Self::flush)).
    ///
    /// A manager revokes on its own ([`Session::destroy`](crate::Session::destroy),
    /// regeneration), for exactly as long as a copy can open.
    pub fn revoke(&self, id: SessionId, until: SystemTime) {
        let until = self.with_slack(until);
        self.record(
            Revocation::Session {
                key: id.into(),
                until,
            },
            None,
            self.now(),
        );
    }

    /// Revokes the copies of session `id` at `now`, for as long as any can
    /// still open: a copy's last renewal is at most now (plus the slack,
    /// for renewals by servers that have not heard yet), and a revoked
    /// session is never renewed again, so it opens at most its idle timeout
    /// after that, and never past its absolute deadline. With a shared
    /// backend the window starts again when the revocation reaches the
    /// backend (a server that cannot write keeps it queued).
    pub(crate) fn revoke_copies(&self, id: SessionId, reach: Reach, now: SystemTime) {
        let revocation = Revocation::Session {
            key: id.into(),
            until: self.reach_until(reach, now),
        };
        self.record(revocation, Some(reach), now);
    }

    /// Signs `subject` out everywhere for sessions issued before `before`,
    /// for as long as any of them can open (as [`revoke_copies`](Self::revoke_copies)).
    pub(crate) fn revoke_subject_copies(&self, subject: &str, before: SystemTime, reach: Reach) {
        let revocation = Revocation::Subject {
            subject: subject.to_owned(),
            before,
            until: self.reach_until(reach, before),
        };
        self.record(revocation, Some(reach), before);
    }

    /// When a revocation made (or written to the backend) at `at` with this
    /// reach stops mattering.
    fn reach_until(&self, reach: Reach, at: SystemTime) -> SystemTime {
        at.checked_add(reach.idle)
            .map_or(reach.absolute, |t| self.with_slack(t))
            .min(reach.absolute)
    }

    /// Revokes every session of `subject` issued before `before` ("sign
    /// out everywhere"). Sessions issued after `before` (the next login)
    /// are not affected. Issue times are sealed to the millisecond and
    /// `before` is rounded up to one, so a session issued in the same
    /// millisecond is revoked too (a session sealed in wire format 2 knows
    /// only its second, so one from `before`'s second is revoked). The
    /// entry expires `absolute_timeout` after `before`, when every session
    /// it covers has expired anyway: pass the codec's
    /// [`max_absolute_timeout`](crate::Codec::max_absolute_timeout), so that
    /// "remember me" sessions stay covered.
    ///
    /// [`SessionManager::sign_out_everywhere`](crate::SessionManager::sign_out_everywhere)
    /// does this with the shortest safe lifetime (the idle timeout from
    /// `before` when that ends first).
    pub fn revoke_subject(&self, subject: &str, before: SystemTime, absolute_timeout: Duration) {
        let until = before
            .checked_add(absolute_timeout)
            .map_or(from_secs(u64::MAX), |t| self.with_slack(t));
        self.record(
            Revocation::Subject {
                subject: subject.to_owned(),
                before,
                until,
            },
            None,
            self.now(),
        );
    }

    /// Applies `revocation` here and, with a shared backend, queues it for
    /// the backend (with its reach, to be counted again from the write).
    #[cfg_attr(not(feature = "shared-registry"), allow(unused_variables))]
    fn record(&self, revocation: Revocation, reach: Option<Reach>, now: SystemTime) {
        self.apply_at(std::slice::from_ref(&revocation), now);
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            shared.enqueue(shared::Op::Revoke(revocation, reach));
        }
    }

    /// Records (or updates) a session of `subject` for
    /// [`sessions`](Self::sessions); the manager calls it at login,
    /// regeneration and renewal.
    pub(crate) fn record_session(&self, subject: &str, record: SessionRecord, now: SystemTime) {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            shared.enqueue(shared::Op::Record(subject.to_owned(), record));
            return;
        }
        self.inner
            .local
            .record_session(subject, &record, to_secs(now));
    }

    /// Forgets a session of `subject` (logged out or regenerated).
    pub(crate) fn forget_session(&self, subject: &str, id: SessionId) {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            shared.enqueue(shared::Op::Forget(subject.to_owned(), id));
            return;
        }
        self.inner.local.forget_session(subject, id);
    }

    /// The active sessions of `subject` at `now`, oldest login first: the
    /// ones recorded at login (through a manager with this registry) that
    /// have neither expired nor been revoked. For a "your devices" page;
    /// end one with [`revoke`](Self::revoke)`(record.id, record.until)`.
    ///
    /// A shared registry first writes what is queued here, then reads the
    /// backend (one read: this is for a page, not for every request).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when a shared
    /// registry's backend fails.
    pub async fn sessions_at(
        &self,
        subject: &str,
        now: SystemTime,
    ) -> Result<Vec<SessionRecord>, crate::Error> {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            self.flush().await?;
            let mut found = shared.backend().sessions(subject, now).await?;
            found.retain(|r| !self.is_revoked(r.id, Some(subject), r.issued_at, now));
            return Ok(found);
        }
        Ok(self.inner.local.sessions(subject, now))
    }

    /// As [`sessions_at`](Self::sessions_at), now.
    ///
    /// # Errors
    ///
    /// As [`sessions_at`](Self::sessions_at).
    pub async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>, crate::Error> {
        self.sessions_at(subject, SystemTime::now()).await
    }

    /// Merges `revocations` into the local copy.
    #[cfg(any(test, feature = "shared-registry"))]
    fn apply(&self, revocations: &[Revocation]) {
        self.apply_at(revocations, self.now());
    }

    /// Merges `revocations` into the local copy at `now` (when the shards
    /// written to may be swept).
    fn apply_at(&self, revocations: &[Revocation], now: SystemTime) {
        if !revocations.is_empty() {
            self.inner.local.apply(revocations, to_secs(now));
        }
    }

    /// Page `page` of the revocations held here that still matter at
    /// `now`; `None` past the last.
    #[cfg_attr(not(feature = "shared-registry"), allow(dead_code))]
    fn live_page(&self, page: usize, now: SystemTime) -> Option<Vec<Revocation>> {
        self.inner.local.live_page(page, to_secs(now))
    }

    /// The latest renewal time a session saved at `now` may seal: `now`,
    /// except for a shared registry past its staleness bound, where it is
    /// the last instant the registry was known to be current (a stale
    /// server must not give a revoked copy it cannot see a longer life
    /// than the revocation's entry covers).
    pub(crate) fn renewal_ceiling(&self, now: SystemTime) -> SystemTime {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            return shared.renewal_ceiling(now);
        }
        now
    }

    /// Whether a session with this id, subject and issued-at time is
    /// revoked at `now` by what this registry holds (its staleness not
    /// considered: see [`check`](Self::check)). A read lock and one or two
    /// hash lookups.
    pub fn is_revoked(
        &self,
        id: SessionId,
        subject: Option<&str>,
        issued_at: SystemTime,
        now: SystemTime,
    ) -> bool {
        self.inner
            .local
            .is_revoked(id, subject, to_millis(issued_at), to_secs(now))
    }

    /// What the manager asks on every load: [`is_revoked`](Self::is_revoked),
    /// and for a shared registry past its staleness bound, what its
    /// [`WhenStale`] policy says. No I/O.
    pub fn check(
        &self,
        id: SessionId,
        subject: Option<&str>,
        issued_at: SystemTime,
        now: SystemTime,
    ) -> Status {
        self.check_sealed(id, subject, to_millis(issued_at), to_secs(now))
    }

    /// [`check`](Self::check) with issued-at in milliseconds, as the sealed
    /// value carries it, and `now` in seconds (the load path: no
    /// conversion).
    pub(crate) fn check_sealed(
        &self,
        id: SessionId,
        subject: Option<&str>,
        issued_at: u64,
        now: u64,
    ) -> Status {
        if self.inner.local.is_revoked(id, subject, issued_at, now) {
            return Status::Revoked;
        }
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared
            && shared.is_stale()
        {
            let refuse = match shared.when_stale() {
                WhenStale::FailOpen => false,
                WhenStale::FailClosed => true,
                WhenStale::FailClosedForRevokedSubjects => {
                    subject.is_some_and(|s| self.inner.local.subject_revoked(s, now))
                }
            };
            if refuse {
                return Status::Unverified;
            }
        }
        Status::Live
    }

    /// How up to date this registry is.
    pub fn health(&self) -> Health {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            return shared.health();
        }
        Health {
            shared: false,
            since_refresh: None,
            stale: false,
            pending: 0,
            failures: 0,
        }
    }

    /// Number of revocations held (ids and subjects), expired ones not yet
    /// dropped included.
    pub fn len(&self) -> usize {
        let (ids, subjects) = self.inner.local.len();
        ids + subjects
    }

    /// Whether the registry holds no revocation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the entries (and session records) that no longer cover a
    /// live session at `now`, one shard at a time, and gives the memory
    /// back. Writes also sweep the shard they write to once a minute, so
    /// call this only to free memory after a burst with no writes since.
    pub fn purge_at(&self, now: SystemTime) {
        self.inner.local.purge(to_secs(now));
    }

    /// As [`purge_at`](Self::purge_at), now.
    pub fn purge(&self) {
        self.purge_at(self.now());
    }

    /// Number of session records held in this process (a shared registry
    /// keeps them in its backend: zero).
    pub fn record_count(&self) -> usize {
        self.inner.local.records()
    }
}

impl fmt::Debug for Registry {
    /// Counts only: neither ids nor subjects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ids, subjects) = self.inner.local.len();
        let mut d = f.debug_struct("Registry");
        d.field("revoked_ids", &ids)
            .field("revoked_subjects", &subjects);
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            d.field("backend", shared.backend());
        }
        d.finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
