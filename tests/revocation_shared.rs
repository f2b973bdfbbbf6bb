//! Shared revocation registries: one conformance suite over every backend
//! (the in-process log, SQLite in a file, and PostgreSQL, Redis and Redis
//! Cluster on the servers `scripts/services.sh` starts), then what servers
//! sharing a backend see: a revocation made on one reaches the others, the
//! staleness policies while the backend is unreachable, and a backend that
//! lost its log. Backend restarts on real servers are in `tests/faults.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod store_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use sealed_session::revocation::{
    BackendFuture, Changes, MAX_RECORDS_PER_SUBJECT, MemoryBackend, Registry, Revocation,
    RevocationBackend, SessionRecord, Status, WhenStale,
};
use sealed_session::{ErrorKind, FreshReason, Key, KeyRing, Session, SessionId, SessionManager};

/// The time now, in whole seconds (what backends keep).
fn now() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn session(until_secs: u64) -> Revocation {
    Revocation::Session {
        key: SessionId::generate().into(),
        until: now() + Duration::from_secs(until_secs),
    }
}

fn subject(name: &str, until_secs: u64) -> Revocation {
    Revocation::Subject {
        subject: name.to_owned(),
        before: now(),
        until: now() + Duration::from_secs(until_secs),
    }
}

/// Every revocation after `cursor`, following pages.
async fn read_all(backend: &dyn RevocationBackend, mut cursor: u64) -> (Vec<Revocation>, Changes) {
    let mut all = Vec::new();
    loop {
        let changes = backend.changes_since(cursor).await.unwrap();
        all.extend(changes.revocations.iter().cloned());
        assert!(changes.cursor >= cursor, "the cursor never moves back");
        cursor = changes.cursor;
        if !changes.more {
            return (all, changes);
        }
    }
}

/// The tests every backend passes. `$make` is an async expression giving a
/// fresh, empty backend (its own keys or table).
macro_rules! conformance {
    ($name:ident, $make:expr $(, #[$attr:meta])*) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn publishes_and_reads_in_order_from_a_cursor() {
                let backend = $make;
                let (empty, start) = read_all(&backend, 0).await;
                assert!(empty.is_empty());
                let first = [session(100), subject("user:1", 100)];
                backend.publish(&first).await.unwrap();
                let (seen, after_first) = read_all(&backend, start.cursor).await;
                assert_eq!(seen, first);
                assert!(after_first.cursor > start.cursor);
                assert_eq!(after_first.epoch, start.epoch, "the epoch is stable");

                let second = [session(100)];
                backend.publish(&second).await.unwrap();
                let (seen, _) = read_all(&backend, after_first.cursor).await;
                assert_eq!(seen, second, "only what came after the cursor");
                let (everything, _) = read_all(&backend, 0).await;
                assert_eq!(everything.len(), 3);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn publishing_again_adds_nothing() {
                let backend = $make;
                let revocations = [session(100), subject("user:2", 100)];
                backend.publish(&revocations).await.unwrap();
                let (_, at) = read_all(&backend, 0).await;
                backend.publish(&revocations).await.unwrap();
                let (again, _) = read_all(&backend, at.cursor).await;
                assert!(again.is_empty(), "{again:?}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn reads_page_through_a_long_log() {
                let backend = $make;
                let many: Vec<Revocation> = (0..10_050).map(|_| session(100)).collect();
                backend.publish(&many).await.unwrap();
                let first = backend.changes_since(0).await.unwrap();
                assert!(first.more, "a log longer than a page says there is more");
                let (all, _) = read_all(&backend, 0).await;
                assert_eq!(all.len(), many.len());
                assert!(all == many, "every revocation once, in order");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn purge_drops_what_expired_and_keeps_the_cursor() {
                let backend = $make;
                let expired = Revocation::Session {
                    key: SessionId::generate().into(),
                    until: UNIX_EPOCH + Duration::from_secs(1_000),
                };
                let live = session(1_000);
                let expired_last = Revocation::Session {
                    key: SessionId::generate().into(),
                    until: UNIX_EPOCH + Duration::from_secs(2_000),
                };
                backend.publish(&[expired.clone(), live.clone()]).await.unwrap();
                backend.publish(std::slice::from_ref(&expired_last)).await.unwrap();
                let (_, before) = read_all(&backend, 0).await;
                backend.purge(now()).await.unwrap();
                let (left, after) = read_all(&backend, 0).await;
                assert!(!left.contains(&expired), "{left:?}");
                assert!(left.contains(&live));
                assert_eq!(after.cursor, before.cursor, "the last position stays");
                assert_eq!(after.epoch, before.epoch);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn records_sessions_per_subject() {
                let backend = $make;
                let t = |s| now() + Duration::from_secs(s);
                let first = SessionRecord::new(
                    SessionId::generate(), t(0), t(0), t(600), Some("Firefox on Linux".into()),
                );
                let second = SessionRecord::new(SessionId::generate(), t(5), t(5), t(600), None);
                let gone = SessionRecord::new(SessionId::generate(), t(1), t(1), t(2), None);
                backend.record("user:r", &second).await.unwrap();
                backend.record("user:r", &first).await.unwrap();
                backend.record("user:r", &gone).await.unwrap();
                backend.record("user:other", &second).await.unwrap();
                let listed = backend.sessions("user:r", t(3)).await.unwrap();
                assert_eq!(listed, [first.clone(), second.clone()], "oldest login first, expired hidden");

                // A renewal without a label keeps the recorded one.
                let renewed = SessionRecord::new(first.id, t(0), t(60), t(660), None);
                backend.record("user:r", &renewed).await.unwrap();
                let listed = backend.sessions("user:r", t(3)).await.unwrap();
                assert_eq!(listed[0].renewed_at, t(60));
                assert_eq!(listed[0].until, t(660));
                assert_eq!(listed[0].label.as_deref(), Some("Firefox on Linux"));

                backend.forget("user:r", second.id).await.unwrap();
                let listed = backend.sessions("user:r", t(3)).await.unwrap();
                assert_eq!(listed.len(), 1);
                assert_eq!(listed[0].id, first.id);
                assert_eq!(backend.sessions("user:other", t(3)).await.unwrap().len(), 1);
                assert!(backend.sessions("user:none", t(3)).await.unwrap().is_empty());
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn keeps_the_newest_logins_of_a_subject_up_to_the_cap() {
                let backend = $make;
                let base = now();
                let t = |s| base + Duration::from_secs(s);
                let other = SessionRecord::new(SessionId::generate(), t(0), t(0), t(600), None);
                backend.record("user:cap-other", &other).await.unwrap();
                // Distinct logins a millisecond apart, the first with a label.
                let total = MAX_RECORDS_PER_SUBJECT + 5;
                let records: Vec<SessionRecord> = (0..total)
                    .map(|i| {
                        let issued = base + Duration::from_millis(u64::try_from(i).unwrap());
                        let label = (i == 0).then(|| "oldest".to_owned());
                        // Backends keep issued_at to the millisecond, the rest in seconds.
                        SessionRecord::new(SessionId::generate(), issued, t(0), t(600), label)
                    })
                    .collect();
                // Recorded out of login order (7 is coprime with 69): the
                // cap goes by login time, not by when a record was written.
                assert_eq!(total, 69);
                for k in 0..total {
                    backend.record("user:cap", &records[k * 7 % total]).await.unwrap();
                }
                let listed = backend.sessions("user:cap", t(1)).await.unwrap();
                assert_eq!(listed.len(), MAX_RECORDS_PER_SUBJECT);
                assert!(listed == records[5..], "exactly the newest, oldest login first");

                // Past the cap, a record older than every kept one goes at once.
                let older = SessionRecord::new(
                    SessionId::generate(), t(0) - Duration::from_secs(1), t(0), t(600), None,
                );
                backend.record("user:cap", &older).await.unwrap();
                let listed = backend.sessions("user:cap", t(1)).await.unwrap();
                assert!(listed == records[5..], "the older login was not kept");
                // A renewal of a kept record does not change who is dropped.
                let kept = &records[5];
                let renewed = SessionRecord::new(kept.id, kept.issued_at, t(60), t(660), None);
                backend.record("user:cap", &renewed).await.unwrap();
                let listed = backend.sessions("user:cap", t(1)).await.unwrap();
                assert_eq!(listed.len(), MAX_RECORDS_PER_SUBJECT);
                assert_eq!(listed[0], renewed);
                // Forgetting one makes room: nothing dropped comes back.
                backend.forget("user:cap", records[6].id).await.unwrap();
                let listed = backend.sessions("user:cap", t(1)).await.unwrap();
                assert_eq!(listed.len(), MAX_RECORDS_PER_SUBJECT - 1);
                assert!(listed.iter().all(|r| r.id != records[6].id));
                // A dropped record's label went with it.
                let back = SessionRecord::new(records[0].id, t(2), t(2), t(600), None);
                backend.record("user:cap", &back).await.unwrap();
                let listed = backend.sessions("user:cap", t(1)).await.unwrap();
                assert_eq!(listed.len(), MAX_RECORDS_PER_SUBJECT);
                assert_eq!(listed.last(), Some(&back));

                assert_eq!(backend.sessions("user:cap-other", t(1)).await.unwrap(), [other]);

                // Logins in the same millisecond: ties go by id, smallest first.
                let mut tied: Vec<SessionRecord> = (0..=MAX_RECORDS_PER_SUBJECT)
                    .map(|_| SessionRecord::new(SessionId::generate(), t(0), t(0), t(600), None))
                    .collect();
                for record in &tied {
                    backend.record("user:cap-ties", record).await.unwrap();
                }
                tied.sort_by_key(|r| r.id);
                let listed = backend.sessions("user:cap-ties", t(1)).await.unwrap();
                assert!(listed == tied[1..], "the smallest id went");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn a_revocation_on_one_server_reaches_another() {
                let backend = Arc::new($make);
                let a = shared(Arc::clone(&backend), WhenStale::default()).await;
                let b = shared(Arc::clone(&backend), WhenStale::default()).await;
                let id = SessionId::generate();
                let issued = now() - Duration::from_secs(10);
                assert_eq!(b.check(id, Some("user:3"), issued, now()), Status::Live);
                a.revoke_subject("user:3", now(), Duration::from_secs(600));
                a.flush().await.unwrap();
                b.flush().await.unwrap();
                assert_eq!(b.check(id, Some("user:3"), issued, now()), Status::Revoked);
                assert_eq!(b.check(id, Some("user:4"), issued, now()), Status::Live);
                // A server started later reads every live revocation at start.
                let c = shared(backend, WhenStale::default()).await;
                assert_eq!(c.check(id, Some("user:3"), issued, now()), Status::Revoked);
            }
        }
    };
}

/// Lets a test hold an `Arc` of a backend and give a registry a handle.
#[derive(Debug)]
struct Shared<B>(Arc<B>);

impl<B: RevocationBackend> RevocationBackend for Shared<B> {
    fn publish<'a>(&'a self, revocations: &'a [Revocation]) -> BackendFuture<'a, ()> {
        self.0.publish(revocations)
    }
    fn changes_since(&self, cursor: u64) -> BackendFuture<'_, Changes> {
        self.0.changes_since(cursor)
    }
    fn purge(&self, now: SystemTime) -> BackendFuture<'_, ()> {
        self.0.purge(now)
    }
    fn record<'a>(&'a self, subject: &'a str, record: &'a SessionRecord) -> BackendFuture<'a, ()> {
        self.0.record(subject, record)
    }
    fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()> {
        self.0.forget(subject, id)
    }
    fn sessions<'a>(
        &'a self,
        subject: &'a str,
        now: SystemTime,
    ) -> BackendFuture<'a, Vec<SessionRecord>> {
        self.0.sessions(subject, now)
    }
}

/// A started registry on `backend`, refreshing every 100 ms, stale after
/// 500 ms.
async fn shared<B: RevocationBackend + 'static>(backend: Arc<B>, policy: WhenStale) -> Registry {
    Registry::shared(Shared(backend))
        .refresh_interval(Duration::from_millis(100))
        .staleness_bound(Duration::from_millis(500))
        .when_stale(policy)
        .start()
        .await
        .unwrap()
}

conformance!(memory_backend, MemoryBackend::new());

#[cfg(feature = "sqlx-sqlite")]
async fn sqlite_backend() -> sealed_session::store::SqliteRevocations {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("revocations.db"))
        .create_if_missing(true);
    // The directory lives as long as the test process.
    std::mem::forget(dir);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    let backend = sealed_session::store::SqliteRevocations::new(pool);
    backend.migrate().await.unwrap();
    backend.migrate().await.unwrap();
    backend
}

#[cfg(feature = "sqlx-sqlite")]
conformance!(sqlite_backend, sqlite_backend().await);

#[cfg(feature = "sqlx-postgres")]
async fn postgres_backend() -> sealed_session::store::PostgresRevocations {
    let url = store_support::server_url("DATABASE_URL");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let backend = sealed_session::store::PostgresRevocations::new(pool)
        .with_table_name(&store_support::unique("revocations"));
    backend.migrate().await.unwrap();
    backend
}

#[cfg(feature = "sqlx-postgres")]
conformance!(postgres_backend, postgres_backend().await, #[ignore = "needs DATABASE_URL"]);

#[cfg(feature = "redis")]
async fn redis_backend() -> sealed_session::store::RedisRevocations {
    let url = store_support::server_url("REDIS_URL");
    let store = sealed_session::store::RedisStore::builder(url)
        .prefix(format!("{}:", store_support::unique("revocations")))
        .connect()
        .await
        .unwrap();
    sealed_session::store::RedisRevocations::new(&store)
}

#[cfg(feature = "redis")]
conformance!(redis_backend, redis_backend().await, #[ignore = "needs REDIS_URL"]);

#[cfg(feature = "redis-cluster")]
async fn redis_cluster_backend() -> sealed_session::store::RedisRevocations {
    let nodes = store_support::server_url("REDIS_CLUSTER_URLS");
    let store = sealed_session::store::RedisStore::cluster_builder(nodes.split(','))
        .prefix(format!("{}:", store_support::unique("revocations")))
        .connect()
        .await
        .unwrap();
    sealed_session::store::RedisRevocations::new(&store)
}

#[cfg(feature = "redis-cluster")]
conformance!(redis_cluster_backend, redis_cluster_backend().await, #[ignore = "needs REDIS_CLUSTER_URLS"]);

/// The in-process log with a switch: off, every call fails as an
/// unreachable server's would.
#[derive(Debug, Default)]
struct Switchable {
    log: MemoryBackend,
    down: AtomicBool,
}

impl Switchable {
    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
    fn check(&self) -> Result<(), sealed_session::Error> {
        if self.down.load(Ordering::SeqCst) {
            Err(sealed_session::Error::store("backend switched off"))
        } else {
            Ok(())
        }
    }
}

impl RevocationBackend for Switchable {
    fn publish<'a>(&'a self, revocations: &'a [Revocation]) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.log.publish(revocations).await
        })
    }
    fn changes_since(&self, cursor: u64) -> BackendFuture<'_, Changes> {
        Box::pin(async move {
            self.check()?;
            self.log.changes_since(cursor).await
        })
    }
    fn purge(&self, now: SystemTime) -> BackendFuture<'_, ()> {
        Box::pin(async move {
            self.check()?;
            self.log.purge(now).await
        })
    }
    fn record<'a>(&'a self, subject: &'a str, record: &'a SessionRecord) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.log.record(subject, record).await
        })
    }
    fn forget<'a>(&'a self, subject: &'a str, id: SessionId) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.log.forget(subject, id).await
        })
    }
    fn sessions<'a>(
        &'a self,
        subject: &'a str,
        now: SystemTime,
    ) -> BackendFuture<'a, Vec<SessionRecord>> {
        Box::pin(async move {
            self.check()?;
            self.log.sessions(subject, now).await
        })
    }
}

/// Waits (polling) until `registry` says it is stale, or panics.
async fn until_stale(registry: &Registry) {
    let start = Instant::now();
    while !registry.health().stale {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never went stale"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_stale_each_policy_decides_and_revocations_wait_for_the_backend() {
    let backend = Arc::new(Switchable::default());
    let closed_for_subjects = shared(Arc::clone(&backend), WhenStale::default()).await;
    let open = shared(Arc::clone(&backend), WhenStale::FailOpen).await;
    let closed = shared(Arc::clone(&backend), WhenStale::FailClosed).await;
    let writer = shared(Arc::clone(&backend), WhenStale::default()).await;

    // Before the outage: user:1 was signed out everywhere.
    writer.revoke_subject(
        "user:1",
        now() - Duration::from_secs(60),
        Duration::from_secs(600),
    );
    writer.flush().await.unwrap();
    for r in [&closed_for_subjects, &open, &closed] {
        r.flush().await.unwrap();
        assert!(!r.health().stale);
    }
    let id = SessionId::generate();
    let fresh_login = now() - Duration::from_secs(1);

    backend.set_down(true);
    // Made during the outage: kept, and published when the backend is back.
    writer.revoke_subject("user:2", now(), Duration::from_secs(600));
    assert_eq!(writer.flush().await.unwrap_err().kind(), ErrorKind::Store);
    assert_eq!(writer.health().pending, 1);
    for r in [&closed_for_subjects, &open, &closed] {
        until_stale(r).await;
        assert!(r.health().failures > 0);
    }
    // user:1's new login is not revoked, but user:1 was being dealt with.
    assert_eq!(
        closed_for_subjects.check(id, Some("user:1"), fresh_login, now()),
        Status::Unverified
    );
    assert_eq!(
        closed_for_subjects.check(id, Some("user:9"), fresh_login, now()),
        Status::Live
    );
    assert_eq!(
        closed_for_subjects.check(id, None, fresh_login, now()),
        Status::Live
    );
    assert_eq!(
        open.check(id, Some("user:1"), fresh_login, now()),
        Status::Live
    );
    assert_eq!(
        closed.check(id, Some("user:9"), fresh_login, now()),
        Status::Unverified
    );
    assert_eq!(
        closed.check(id, None, fresh_login, now()),
        Status::Unverified
    );
    // What is known to be revoked stays revoked under every policy.
    let old = now() - Duration::from_secs(120);
    assert_eq!(open.check(id, Some("user:1"), old, now()), Status::Revoked);

    backend.set_down(false);
    writer.flush().await.unwrap();
    assert_eq!(writer.health().pending, 0);
    for r in [&closed_for_subjects, &open, &closed] {
        r.flush().await.unwrap();
        assert!(!r.health().stale);
        assert_eq!(
            r.check(id, Some("user:2"), old, now()),
            Status::Revoked,
            "the outage's revocation arrived"
        );
        assert_eq!(
            r.check(id, Some("user:1"), fresh_login, now()),
            Status::Live
        );
    }
}

/// A manager on `registry` whose sessions idle out after an hour.
fn hour_manager(registry: &Registry) -> SessionManager {
    SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .idle_timeout(Duration::from_secs(3600))
        .registry(registry.clone())
        .build()
        .unwrap()
}

/// The request carrying the cookie `response` set.
fn carrying(response: &HeaderMap) -> HeaderMap {
    let line = response["set-cookie"].to_str().unwrap();
    let mut request = HeaderMap::new();
    request.insert("cookie", line.split(';').next().unwrap().parse().unwrap());
    request
}

/// Issue 25: an entry lives the session's idle timeout after the
/// revocation, so no server may give a revoked copy a later renewal. A
/// server whose registry is stale cannot know what was revoked elsewhere:
/// its saves seal no renewal past the instant it was last current, and a
/// session it keeps serving through a long outage idles out instead of
/// being extended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_server_never_extends_a_session() {
    let backend = Arc::new(Switchable::default());
    let registry = shared(Arc::clone(&backend), WhenStale::FailOpen).await;
    let manager = hour_manager(&registry);
    let t0 = SystemTime::now();
    let mut session: Session<u32> = manager.load_at(&HeaderMap::new(), t0).await.unwrap();
    session.set(1);
    let mut response = HeaderMap::new();
    manager
        .save_at(&mut session, &mut response, t0)
        .await
        .unwrap();
    let cookie = carrying(&response);

    backend.set_down(true);
    until_stale(&registry).await;
    // Half an hour into the outage the session is used and changed.
    let later = t0 + Duration::from_secs(1800);
    let mut session: Session<u32> = manager.load_at(&cookie, later).await.unwrap();
    assert_eq!(session.fresh_reason(), None, "FailOpen serves it");
    session.set(2);
    let mut response = HeaderMap::new();
    manager
        .save_at(&mut session, &mut response, later)
        .await
        .unwrap();
    let renewed = session.times().unwrap().renewed_at();
    assert!(
        renewed < t0 + Duration::from_secs(60),
        "renewed at {:?} after the start",
        renewed.duration_since(t0)
    );
    // So it idles out an hour after the registry was last current, not an
    // hour after the save.
    let session: Session<u32> = manager
        .load_at(&carrying(&response), t0 + Duration::from_secs(3700))
        .await
        .unwrap();
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));

    // Back online, renewals are the save's time again.
    backend.set_down(false);
    registry.flush().await.unwrap();
    let now = SystemTime::now();
    let mut session: Session<u32> = manager.load_at(&HeaderMap::new(), now).await.unwrap();
    session.set(3);
    manager
        .save_at(&mut session, &mut HeaderMap::new(), now)
        .await
        .unwrap();
    let renewed = session.times().unwrap().renewed_at();
    assert!(now.duration_since(renewed).unwrap() < Duration::from_secs(1));
}

/// A revocation that waited in the queue (the backend was down) counts its
/// lifetime again from the write that reached the backend: the other
/// servers could renew a copy until then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_revocation_lives_its_idle_timeout_from_its_write() {
    let backend = Arc::new(Switchable::default());
    let registry = shared(Arc::clone(&backend), WhenStale::default()).await;
    let manager = hour_manager(&registry);
    // Signed in and signed out two hours ago, while the backend was down:
    // the entry's first deadline (an hour after that) is past.
    let then = SystemTime::now() - Duration::from_secs(7200);
    let mut session: Session<u32> = manager.load_at(&HeaderMap::new(), then).await.unwrap();
    session.set(1);
    manager
        .save_at(&mut session, &mut HeaderMap::new(), then)
        .await
        .unwrap();
    backend.set_down(true);
    session.destroy();
    manager
        .save_at(&mut session, &mut HeaderMap::new(), then)
        .await
        .unwrap();
    assert_eq!(registry.health().pending, 1);

    backend.set_down(false);
    let written = now();
    registry.flush().await.unwrap();
    let (log, _) = read_all(&backend.log, 0).await;
    let [Revocation::Session { until, .. }] = log.as_slice() else {
        panic!("{log:?}");
    };
    let lives = until.duration_since(written).unwrap();
    // Its idle timeout, the clock allowance and the staleness bound.
    assert!(
        lives >= Duration::from_secs(3600 + 60),
        "lives {lives:?} from its write"
    );
    assert!(lives <= Duration::from_secs(3600 + 60 + 2), "{lives:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_lost_its_log_gets_it_back_from_the_servers() {
    let log = Arc::new(MemoryBackend::new());
    let a = shared(Arc::clone(&log), WhenStale::default()).await;
    let id = SessionId::generate();
    a.revoke(id, now() + Duration::from_secs(600));
    a.flush().await.unwrap();
    assert_eq!(log.len(), 1);

    log.reset();
    assert!(log.is_empty());
    a.flush().await.unwrap();
    assert_eq!(log.len(), 1, "the server published what it knew again");
    let late = shared(log, WhenStale::default()).await;
    assert_eq!(late.check(id, None, now(), now()), Status::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_checks_its_settings_and_the_backend() {
    let err = Registry::shared(MemoryBackend::new())
        .refresh_interval(Duration::from_secs(5))
        .staleness_bound(Duration::from_secs(5))
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidStalenessBound);
    let down = Switchable::default();
    down.set_down(true);
    let err = Registry::shared(down).start().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
}

/// Two servers with one key ring, each with its own registry on `backend`.
async fn two_servers(backend: Arc<MemoryBackend>) -> [(SessionManager, Registry); 2] {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let registry = Registry::shared(Shared(Arc::clone(&backend)))
            .start()
            .await
            .unwrap();
        let manager = SessionManager::builder(ring.clone())
            .cookie_name("sid")
            .secure(false)
            .registry(registry.clone())
            .build()
            .unwrap();
        servers.push((manager, registry));
    }
    servers.try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_on_one_server_signs_out_on_the_other_within_the_refresh() {
    let backend = Arc::new(MemoryBackend::new());
    let [(a, registry_a), (b, two_servers_registry_b)] = two_servers(backend).await;

    // Signed in through server A, browsing on server B.
    let mut session: Session<u32> = a.load(&HeaderMap::new()).await.unwrap();
    session.set_subject("user:42").unwrap();
    *session = 7;
    let mut response = HeaderMap::new();
    a.save(&mut session, &mut response).await.unwrap();
    let cookie = store_support::cookie_from(&response);
    assert_eq!(*b.load::<u32>(&cookie).await.unwrap(), 7);
    // Server B lists the session A recorded at login (written to the
    // backend by A's background refresh, or at once by a flush).
    registry_a.flush().await.unwrap();
    let listed = two_servers_registry_b.sessions("user:42").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(Some(listed[0].id), session.id());

    // "Sign out everywhere" on A; B learns it from its background refresh
    // (default interval), with no read on its request path.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let signed_out = Instant::now();
    registry_a.revoke_subject("user:42", SystemTime::now(), a.codec().absolute_timeout());
    let delay = loop {
        let again = b.load::<u32>(&cookie).await.unwrap();
        if again.fresh_reason() == Some(FreshReason::Revoked) {
            break signed_out.elapsed();
        }
        assert!(
            signed_out.elapsed() < Duration::from_secs(5),
            "not signed out within the staleness bound"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!("revocation delay A -> B: {delay:?}");
    assert!(
        registry_a.sessions("user:42").await.unwrap().is_empty(),
        "signed out everywhere: no session listed"
    );
    // Server A knew at once.
    let on_a = a.load::<u32>(&cookie).await.unwrap();
    assert_eq!(on_a.fresh_reason(), Some(FreshReason::Revoked));
}
