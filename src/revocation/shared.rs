//! A registry whose revocations are shared through a backend: each server
//! keeps the live set in memory (the hot path is a hash lookup) and
//! refreshes it in the background.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::backend::{Changes, PAGE, Revocation, RevocationBackend, SessionRecord};
use super::{Health, Inner, Reach, Registry};
use crate::codec::SessionId;
use crate::codec::envelope::{from_millis, to_millis};
use crate::error::{Error, ErrorKind};

/// How often a shared registry reads its backend unless told otherwise:
/// one second.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// How long a shared registry may go without a successful refresh before
/// its [`WhenStale`] policy applies, unless told otherwise: five seconds.
pub const DEFAULT_STALENESS_BOUND: Duration = Duration::from_secs(5);

/// How often the backend's expired revocations are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Log resets one refresh rides out before giving up (a backend that keeps
/// losing its log).
const MAX_RESETS: usize = 3;

/// What a shared registry does with a session while it has not heard from
/// its backend for longer than the staleness bound (a revocation made on
/// another server may then be unknown here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenStale {
    /// Keep serving from what this server knows; revocations made elsewhere
    /// during the outage take effect when the backend is back.
    /// [`Registry::health`] reports the staleness.
    FailOpen,
    /// Refuse every session ([`FreshReason::RevocationUnverified`]): nobody
    /// stays signed in while revocations cannot be checked.
    ///
    /// [`FreshReason::RevocationUnverified`]: crate::FreshReason::RevocationUnverified
    FailClosed,
    /// Refuse the sessions of subjects that had been signed out everywhere
    /// before the outage (so a subject being dealt with, such as an account
    /// under a password reset, stays out), serve everyone else. The default.
    #[default]
    FailClosedForRevokedSubjects,
}

/// Configures a shared [`Registry`]; from [`Registry::shared`].
#[must_use]
pub struct SharedRegistryBuilder {
    backend: Arc<dyn RevocationBackend>,
    refresh_interval: Duration,
    staleness_bound: Duration,
    when_stale: WhenStale,
}

impl Registry {
    /// A registry whose revocations are shared with every server using the
    /// same `backend`: see [`SharedRegistryBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sealed_session::revocation::{MemoryBackend, Registry, WhenStale};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sealed_session::Error> {
    /// // With the redis feature: RedisRevocations::new(&redis_store).
    /// let backend = MemoryBackend::new();
    /// let registry = Registry::shared(backend)
    ///     .refresh_interval(Duration::from_millis(500))
    ///     .staleness_bound(Duration::from_secs(3))
    ///     .when_stale(WhenStale::FailClosedForRevokedSubjects)
    ///     .start()
    ///     .await?;
    /// assert!(!registry.health().stale);
    /// # Ok(())
    /// # }
    /// ```
    pub fn shared(backend: impl RevocationBackend + 'static) -> SharedRegistryBuilder {
        SharedRegistryBuilder {
            backend: Arc::new(backend),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            staleness_bound: DEFAULT_STALENESS_BOUND,
            when_stale: WhenStale::default(),
        }
    }

    /// Writes the revocations made here to the backend and reads the ones
    /// made elsewhere, now. The background task does this every refresh
    /// interval (and at once after a revocation here); call it to know a
    /// revocation is durable before answering ("signed out everywhere")
    /// or in tests. Nothing to do for a registry in this process only.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`] when the backend fails or does not answer
    /// within the staleness bound; the revocations made here stay queued
    /// and are retried.
    pub async fn flush(&self) -> Result<(), Error> {
        match &self.inner.shared {
            Some(shared) => shared.refresh(self).await,
            None => Ok(()),
        }
    }
}

impl SharedRegistryBuilder {
    /// How often the backend is read in the background (default
    /// [`DEFAULT_REFRESH_INTERVAL`]). A revocation made on another server
    /// takes effect here within about this long.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// How long the registry may go without a successful refresh before
    /// the [`WhenStale`] policy applies (default
    /// [`DEFAULT_STALENESS_BOUND`]). Also bounds each backend call.
    pub fn staleness_bound(mut self, bound: Duration) -> Self {
        self.staleness_bound = bound;
        self
    }

    /// What to do with sessions while the registry is stale (default
    /// [`WhenStale::FailClosedForRevokedSubjects`]).
    pub fn when_stale(mut self, policy: WhenStale) -> Self {
        self.when_stale = policy;
        self
    }

    /// Reads the backend once (so a new server starts with every live
    /// revocation) and starts the background refresh on the current Tokio
    /// runtime. The task ends when the last clone of the registry is
    /// dropped.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidStalenessBound`] for a zero interval or a bound
    /// not above the interval; [`ErrorKind::Store`] when the backend cannot
    /// be read, or outside a Tokio runtime.
    pub async fn start(self) -> Result<Registry, Error> {
        if self.refresh_interval.is_zero() || self.staleness_bound <= self.refresh_interval {
            return Err(Error::new(ErrorKind::InvalidStalenessBound));
        }
        let handle = tokio::runtime::Handle::try_current().map_err(Error::store)?;
        let wake = Arc::new(Notify::new());
        let shared = Shared {
            backend: self.backend,
            pending: Mutex::new(Vec::new()),
            wake: Arc::clone(&wake),
            epoch: Instant::now(),
            last_refresh_ms: AtomicU64::new(0),
            last_refresh_wall_ms: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            bound: self.staleness_bound,
            when_stale: self.when_stale,
            cursor: tokio::sync::Mutex::new(Cursor::default()),
        };
        let registry = Registry {
            inner: Arc::new(Inner {
                local: super::local::Revocations::default(),
                clock: std::sync::OnceLock::new(),
                shared: Some(shared),
            }),
        };
        registry.flush().await?;
        // A long log takes a while to read, and staleness counts from when
        // the read began: read what came meanwhile (a short read) so that
        // the registry starts current.
        if registry.health().stale {
            registry.flush().await?;
        }
        handle.spawn(refresh_loop(
            Arc::downgrade(&registry.inner),
            wake,
            self.refresh_interval,
        ));
        Ok(registry)
    }
}

impl fmt::Debug for SharedRegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedRegistryBuilder")
            .field("backend", &self.backend)
            .field("refresh_interval", &self.refresh_interval)
            .field("staleness_bound", &self.staleness_bound)
            .field("when_stale", &self.when_stale)
            .finish()
    }
}

/// Refreshes every `interval`, or at once when woken by a local
/// revocation, until the registry is dropped.
async fn refresh_loop(registry: Weak<Inner>, wake: Arc<Notify>, interval: Duration) {
    loop {
        // Woken or timed out: either way, refresh.
        let _ = tokio::time::timeout(interval, wake.notified()).await;
        let Some(inner) = registry.upgrade() else {
            return;
        };
        let registry = Registry { inner };
        // A failure is counted in `health()` and retried next time.
        let _ = registry.flush().await;
    }
}

/// The state of a shared registry besides its local copy.
pub(super) struct Shared {
    backend: Arc<dyn RevocationBackend>,
    /// Writes made here that the backend has not confirmed, oldest first.
    pending: Mutex<Vec<Op>>,
    wake: Arc<Notify>,
    /// The instant `last_refresh_ms` counts from.
    epoch: Instant,
    /// When the last successful refresh began, in ms since `epoch`.
    last_refresh_ms: AtomicU64,
    /// The same instant on the registry's clock, in ms since the Unix
    /// epoch: the renewals a stale registry seals stop there (plus the
    /// bound).
    last_refresh_wall_ms: AtomicU64,
    failures: AtomicU64,
    bound: Duration,
    when_stale: WhenStale,
    /// Where this registry is in the backend's log; held for the whole
    /// refresh, so refreshes take turns.
    cursor: tokio::sync::Mutex<Cursor>,
}

#[derive(Default)]
struct Cursor {
    epoch: Option<u64>,
    at: u64,
    last_purge: Option<Instant>,
}

/// A write waiting for the backend.
#[derive(Clone)]
pub(super) enum Op {
    /// A revocation, with the reach its deadline is counted again from
    /// when it is written (`None`: a deadline the caller chose).
    Revoke(Revocation, Option<Reach>),
    Record(String, SessionRecord),
    Forget(String, SessionId),
}

impl Shared {
    pub(super) fn enqueue(&self, op: Op) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(op);
        self.wake.notify_one();
    }

    /// Writes the queued ops in order (consecutive revocations in one
    /// publish of at most a page), removing each from the queue once the
    /// backend confirmed it. A revocation made here counts its lifetime
    /// again from this write: servers hear of it only from now on, and may
    /// renew a copy until then (the copy is sealed again here too).
    async fn write_pending(&self, registry: &Registry) -> Result<(), Error> {
        let batch = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut done = 0;
        let result = async {
            while let Some(op) = batch.get(done) {
                match op {
                    Op::Revoke(..) => {
                        let run: Vec<Revocation> = batch
                            .get(done..)
                            .unwrap_or_default()
                            .iter()
                            .map_while(|op| match op {
                                Op::Revoke(r, reach) => Some(extended(registry, r, *reach)),
                                _ => None,
                            })
                            .take(PAGE)
                            .collect();
                        registry.apply(&run);
                        self.bounded(self.backend.publish(&run)).await?;
                        done += run.len();
                    }
                    Op::Record(subject, record) => {
                        self.bounded(self.backend.record(subject, record)).await?;
                        done += 1;
                    }
                    Op::Forget(subject, id) => {
                        self.bounded(self.backend.forget(subject, *id)).await?;
                        done += 1;
                    }
                }
            }
            Ok(())
        }
        .await;
        // Only the confirmed ones go; any queued meanwhile stay.
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let n = done.min(pending.len());
        pending.drain(..n);
        result
    }

    pub(super) fn backend(&self) -> &dyn RevocationBackend {
        &*self.backend
    }

    pub(super) fn when_stale(&self) -> WhenStale {
        self.when_stale
    }

    /// The staleness bound.
    pub(super) fn bound(&self) -> Duration {
        self.bound
    }

    /// Time since the last successful refresh began.
    pub(super) fn since_refresh(&self) -> Duration {
        let now = duration_ms(self.epoch.elapsed());
        Duration::from_millis(now.saturating_sub(self.last_refresh_ms.load(Ordering::Acquire)))
    }

    /// The latest renewal a save at `now` may seal: `now`, or while stale
    /// the instant the registry was last known current (its last
    /// successful refresh plus the bound).
    pub(super) fn renewal_ceiling(&self, now: SystemTime) -> SystemTime {
        if !self.is_stale() {
            return now;
        }
        let current_until = from_millis(self.last_refresh_wall_ms.load(Ordering::Acquire))
            .checked_add(self.bound)
            .unwrap_or(now);
        now.min(current_until)
    }

    /// Whether the last successful refresh began longer ago than the bound.
    pub(super) fn is_stale(&self) -> bool {
        self.since_refresh() > self.bound
    }

    pub(super) fn health(&self) -> Health {
        let since = self.since_refresh();
        Health {
            shared: true,
            since_refresh: Some(since),
            stale: since > self.bound,
            pending: self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    async fn refresh(&self, registry: &Registry) -> Result<(), Error> {
        let mut cursor = self.cursor.lock().await;
        let began = duration_ms(self.epoch.elapsed());
        let began_wall = to_millis(registry.now());
        match self.refresh_locked(registry, &mut cursor).await {
            Ok(()) => {
                self.last_refresh_ms.fetch_max(began, Ordering::AcqRel);
                self.last_refresh_wall_ms
                    .fetch_max(began_wall, Ordering::AcqRel);
                self.failures.store(0, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    async fn refresh_locked(&self, registry: &Registry, cursor: &mut Cursor) -> Result<(), Error> {
        // Ours first, so the read below includes them.
        self.write_pending(registry).await?;
        // Page after page until the log's end, however long it is: each
        // call is bounded, the whole catch-up is not (a new server with
        // millions of live revocations reads them all).
        let mut resets = 0;
        loop {
            let changes: Changes = self.bounded(self.backend.changes_since(cursor.at)).await?;
            let reset =
                cursor.epoch.is_some_and(|e| e != changes.epoch) || changes.cursor < cursor.at;
            if reset {
                resets += 1;
                if resets > MAX_RESETS {
                    return Err(Error::store(Unsettled));
                }
                // The backend lost its log (restarted without persistence):
                // give back what this server knows, a page per call, and
                // read it all again.
                let now = registry.now();
                let mut page = 0;
                while let Some(known) = registry.live_page(page, now) {
                    for piece in known.chunks(PAGE) {
                        self.bounded(self.backend.publish(piece)).await?;
                    }
                    page += 1;
                }
                cursor.epoch = None;
                cursor.at = 0;
                continue;
            }
            registry.apply(&changes.revocations);
            cursor.epoch = Some(changes.epoch);
            cursor.at = changes.cursor;
            if !changes.more {
                self.purge_if_due(registry, cursor).await;
                return Ok(());
            }
        }
    }

    /// Deletes expired revocations from the backend and this copy, about
    /// once per [`PURGE_INTERVAL`]. A failure waits for the next time.
    async fn purge_if_due(&self, registry: &Registry, cursor: &mut Cursor) {
        if cursor
            .last_purge
            .is_some_and(|at| at.elapsed() < PURGE_INTERVAL)
        {
            return;
        }
        cursor.last_purge = Some(Instant::now());
        let now = registry.now();
        registry.purge_at(now);
        let _ = self.bounded(self.backend.purge(now)).await;
    }

    async fn bounded<T>(&self, op: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        match tokio::time::timeout(self.bound, op).await {
            Ok(result) => result,
            Err(elapsed) => Err(Error::store(elapsed)),
        }
    }
}

/// `revocation` with its deadline counted again from now, when it has a
/// reach (never earlier than it was).
fn extended(registry: &Registry, revocation: &Revocation, reach: Option<Reach>) -> Revocation {
    let mut revocation = revocation.clone();
    if let Some(reach) = reach {
        let again = registry.reach_until(reach, registry.now());
        match &mut revocation {
            Revocation::Session { until, .. } | Revocation::Subject { until, .. } => {
                *until = (*until).max(again);
            }
        }
    }
    revocation
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The backend's log kept changing under a refresh.
#[derive(Debug)]
struct Unsettled;

impl fmt::Display for Unsettled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the revocation backend lost its log more than {MAX_RESETS} times in one refresh"
        )
    }
}

impl std::error::Error for Unsettled {}
