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
//! Every entry expires on its own when no session it covers can still be
//! alive (the session's absolute deadline; for a subject, the instant plus
//! the absolute timeout), so the registry stays as small as the set of
//! revocations that still matter.
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
//! page, and [`Registry::revoke`] ends one.
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
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use crate::codec::SessionId;
use crate::codec::envelope::{from_secs, to_millis, to_secs};

pub(crate) mod backend;
mod local;
#[cfg(feature = "shared-registry")]
mod shared;

pub use backend::{
    BackendFuture, Changes, MAX_RECORDS_PER_SUBJECT, MemoryBackend, Revocation, RevocationBackend,
    SessionRecord,
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

#[derive(Default)]
struct Inner {
    local: RwLock<local::Revocations>,
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

    /// Revokes the session `id` until `until` (its absolute deadline: no
    /// cookie of it opens after that anyway). With a shared backend the
    /// revocation takes effect here at once and is written to the backend
    /// in the background (see [`flush`](Self::flush)).
    pub fn revoke(&self, id: SessionId, until: SystemTime) {
        self.record(Revocation::Session { id, until });
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
    pub fn revoke_subject(&self, subject: &str, before: SystemTime, absolute_timeout: Duration) {
        let until = before
            .checked_add(absolute_timeout)
            .unwrap_or(from_secs(u64::MAX));
        self.record(Revocation::Subject {
            subject: subject.to_owned(),
            before,
            until,
        });
    }

    /// Applies `revocation` here and, with a shared backend, queues it for
    /// the backend.
    fn record(&self, revocation: Revocation) {
        self.apply(std::slice::from_ref(&revocation));
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            shared.enqueue(shared::Op::Revoke(revocation));
        }
    }

    /// Records (or updates) a session of `subject` for
    /// [`sessions`](Self::sessions); the manager calls it at login,
    /// regeneration and renewal.
    pub(crate) fn record_session(&self, subject: &str, record: SessionRecord) {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            shared.enqueue(shared::Op::Record(subject.to_owned(), record));
            return;
        }
        self.write(|r| r.record_session(subject, record));
    }

    /// Forgets a session of `subject` (logged out or regenerated).
    pub(crate) fn forget_session(&self, subject: &str, id: SessionId) {
        #[cfg(feature = "shared-registry")]
        if let Some(shared) = &self.inner.shared {
            shared.enqueue(shared::Op::Forget(subject.to_owned(), id));
            return;
        }
        self.write(|r| r.forget_session(subject, id));
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
        Ok(self.read().sessions(subject, now))
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
    fn apply(&self, revocations: &[Revocation]) {
        if !revocations.is_empty() {
            self.write(|r| r.apply(revocations));
        }
    }

    /// The revocations held here that still matter at `now`.
    #[cfg_attr(not(feature = "shared-registry"), allow(dead_code))]
    fn live(&self, now: SystemTime) -> Vec<Revocation> {
        self.read().live(to_secs(now))
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
        self.read()
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
        if self.read().is_revoked(id, subject, issued_at, now) {
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
                    subject.is_some_and(|s| self.read().subject_revoked(s, now))
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
        let (ids, subjects) = self.read().len();
        ids + subjects
    }

    /// Whether the registry holds no revocation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the entries that no longer cover a live session at `now`.
    pub fn purge_at(&self, now: SystemTime) {
        let now = to_secs(now);
        self.write(|r| r.purge(now));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, local::Revocations> {
        self.inner
            .local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, f: impl FnOnce(&mut local::Revocations)) {
        let mut r = self
            .inner
            .local
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        r.count_insert();
        f(&mut r);
    }
}

impl fmt::Debug for Registry {
    /// Counts only: neither ids nor subjects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ids, subjects) = self.read().len();
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
