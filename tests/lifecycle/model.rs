//! The lifecycle as a state machine: random operations through the public
//! API (an injected clock, a memory store that can fail, a revocation
//! registry, key rotation), checked after every step against a small
//! reference model. The invariants (docs/threat-model.md lists them):
//!
//! 1. a copy taken before a destroy, a regenerate or a revocation never
//!    loads as that session again, at any later time;
//! 2. a subject's device list holds every live session carrying that
//!    subject, and nothing that is not a session of it that may still be
//!    live (a record may outlive its session by one renewal interval);
//! 3. the browser's cookie, used at intervals shorter than its own idle
//!    timeout, loads as its session with its data until the session's own
//!    absolute deadline, and never after it;
//! 4. junk and stale cookies sent before the live one never make it load
//!    fresh, and a request never clears or overwrites it;
//! 5. a `Max-Age` never reaches past the deadlines sealed in the cookie;
//! 6. a failed store write sets no cookie, and loses nothing.
//!
//! `MODEL_CASES` sets the number of cases (default 256 in the quick test
//! command; `scripts/ci.sh` runs 10 000).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::SET_COOKIE;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sealed_session::revocation::Registry;
use sealed_session::store::{MemoryStore, Store, StoreFuture, StoreId};
use sealed_session::{
    Codec, Error, ErrorKind, Expiry, Key, KeyRing, Saved, Session, SessionId, SessionManager,
};

use crate::fixtures::{HOUR, S, at, cookie_of, join, request};

const MINUTE: Duration = Duration::from_secs(60);
const IDLE: Duration = HOUR;
const ABSOLUTE: Duration = Duration::from_secs(8 * 3600);
/// Cookies over 1 KiB spill to the store.
const SIZE_LIMIT: usize = 1024;
const SUBJECTS: [&str; 3] = ["user:a", "user:b", "user:c"];

/// The session value: a counter and a body that spills when large.
#[derive(serde::Serialize, serde::Deserialize, Default, Clone, PartialEq, Eq, Debug)]
struct Data {
    n: u32,
    body: Vec<u8>,
}

/// How a sign-in sets the session's expiry.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The codec's timeouts.
    Plain,
    /// "Remember me": persistent, 4 h idle, 24 h absolute.
    Remember,
    /// A short browser session: 20 min idle, 2 h absolute.
    Short,
}

impl Kind {
    fn expiry(self) -> Option<Expiry> {
        match self {
            Self::Plain => None,
            Self::Remember => Some(Expiry::persistent(4 * HOUR, 24 * HOUR)),
            Self::Short => Some(Expiry::browser_session(20 * MINUTE, 2 * HOUR)),
        }
    }

    /// (idle, absolute)
    fn timeouts(expiry: Option<Expiry>) -> (Duration, Duration) {
        expiry.map_or((IDLE, ABSOLUTE), |e| {
            (e.idle_timeout(), e.absolute_timeout())
        })
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A read-only request with the browser's cookie.
    Visit,
    /// A request that changes the data (large enough to spill, or not).
    Write {
        big: bool,
    },
    /// Sign in: regenerate, subject and expiry together.
    SignIn {
        subject: usize,
        kind: Kind,
    },
    SetSubject(usize),
    ClearSubject,
    SetExpiry(Kind),
    ClearExpiry,
    Destroy,
    /// "Sign out everywhere" for a subject.
    SignOutEverywhere(usize),
    /// Revoke the n-th session of a subject's device list.
    RevokeListed {
        subject: usize,
        nth: usize,
    },
    Advance(Duration),
    /// Replay an old copy (another device holding it).
    Replay(usize),
    /// The browser's cookie behind junk and stale copies.
    Crowded {
        stale: usize,
        junk: usize,
    },
    RotateKey,
    StoreDown(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let subject = 0..SUBJECTS.len();
    let kind = prop_oneof![Just(Kind::Plain), Just(Kind::Remember), Just(Kind::Short)];
    prop_oneof![
        4 => Just(Op::Visit),
        3 => any::<bool>().prop_map(|big| Op::Write { big }),
        3 => (subject.clone(), kind.clone()).prop_map(|(subject, kind)| Op::SignIn { subject, kind }),
        1 => subject.clone().prop_map(Op::SetSubject),
        1 => Just(Op::ClearSubject),
        1 => kind.prop_map(Op::SetExpiry),
        1 => Just(Op::ClearExpiry),
        1 => Just(Op::Destroy),
        1 => subject.clone().prop_map(Op::SignOutEverywhere),
        1 => (subject, 0..3usize).prop_map(|(subject, nth)| Op::RevokeListed { subject, nth }),
        4 => prop_oneof![
            Just(S),
            Just(MINUTE),
            Just(15 * MINUTE),
            Just(40 * MINUTE),
            Just(3 * HOUR),
        ]
        .prop_map(Op::Advance),
        3 => any::<usize>().prop_map(Op::Replay),
        1 => (0..6usize, 0..4usize).prop_map(|(stale, junk)| Op::Crowded { stale, junk }),
        1 => Just(Op::RotateKey),
        1 => any::<bool>().prop_map(Op::StoreDown),
    ]
}

/// A memory store on the model's clock that fails while switched off.
#[derive(Debug)]
struct Switched {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Switched {
    fn check(&self) -> Result<(), Error> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::store(std::io::Error::other("switched off")))
        } else {
            Ok(())
        }
    }
}

impl Store for Switched {
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.check()?;
            self.inner.create(id, value, expires_at).await
        })
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.check()?;
            self.inner.load(id).await
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.inner.save(id, value, expires_at).await
        })
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.inner.delete(id).await
        })
    }

    fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.check()?;
            self.inner.touch(id, expires_at).await
        })
    }
}

/// A cookie the server issued, as the model knows it.
#[derive(Debug, Clone)]
struct Copy {
    pair: String,
    id: SessionId,
    renewed_at: Duration,
    /// The idle and absolute timeouts sealed in it.
    idle: Duration,
    absolute: Duration,
    /// The data it opens to.
    data: Data,
}

/// A session (one id) as the model knows it. Its subject and expiry are
/// fixed for its life: changing either gives the session a new id.
#[derive(Debug, Clone)]
struct Model {
    issued_at: Duration,
    /// The latest renewal of any of its cookies.
    renewed_at: Duration,
    subject: Option<usize>,
    expiry: Option<Expiry>,
    revoked: bool,
}

impl Model {
    fn timeouts(&self) -> (Duration, Duration) {
        Kind::timeouts(self.expiry)
    }
}

struct World {
    now: Duration,
    clock: Arc<AtomicU64>,
    keys: Vec<Key>,
    store: Arc<Switched>,
    registry: Registry,
    manager: SessionManager,
    /// The browser's cookie, if it holds one.
    jar: Option<Copy>,
    copies: Vec<Copy>,
    sessions: HashMap<SessionId, Model>,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "World at {:?}", self.now)
    }
}

fn manager(keys: &[Key], store: &Arc<Switched>, registry: &Registry) -> SessionManager {
    let codec = Codec::builder(KeyRing::new(keys.iter().cloned()).unwrap())
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .expiry_limits(4 * HOUR, 24 * HOUR)
        .size_limit(SIZE_LIMIT)
        .build()
        .unwrap();
    let store: Arc<dyn Store> = store.clone();
    SessionManager::with_codec(codec)
        .store(store)
        .registry(registry.clone())
        .clear_invalid_cookies(true)
        .build()
        .unwrap()
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

/// The `Max-Age` of the response's `Set-Cookie`, if it has one.
fn max_age(response: &HeaderMap) -> Option<u64> {
    let line = response.get(SET_COOKIE)?.to_str().ok()?;
    line.split(';')
        .find_map(|a| a.trim().strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(AtomicU64::new(0));
        let store_clock = Arc::clone(&clock);
        let store = Arc::new(Switched {
            inner: MemoryStore::new()
                .with_clock(move || at(Duration::from_secs(store_clock.load(Ordering::SeqCst)))),
            down: AtomicBool::new(false),
        });
        let registry_clock = Arc::clone(&clock);
        let registry = Registry::in_memory()
            .with_clock(move || at(Duration::from_secs(registry_clock.load(Ordering::SeqCst))));
        let keys = vec![Key::generate()];
        let manager = manager(&keys, &store, &registry);
        Self {
            now: Duration::ZERO,
            clock,
            keys,
            store,
            registry,
            manager,
            jar: None,
            copies: Vec::new(),
            sessions: HashMap::new(),
        }
    }

    fn time(&self) -> SystemTime {
        at(self.now)
    }

    fn store_down(&self) -> bool {
        self.store.down.load(Ordering::SeqCst)
    }

    /// Whether `copy` can still open by its own sealed deadlines and its
    /// session's revocation (not counting a store entry it may need).
    fn opens(&self, copy: &Copy) -> bool {
        let Some(model) = self.sessions.get(&copy.id) else {
            return false;
        };
        !model.revoked
            && self.now < copy.renewed_at + copy.idle
            && self.now < model.issued_at + copy.absolute
    }

    /// Loads with `header` (or none). `Err` only for a store failure.
    fn load(&self, header: Option<&str>) -> Result<Session<Data>, Error> {
        let request = header.map(request).unwrap_or_default();
        join(self.manager.load_at(&request, self.time()))
    }

    /// Saves and checks what the response says against the model; returns
    /// the new cookie, if any, and notes it as a copy of its session.
    fn save(
        &mut self,
        session: &mut Session<Data>,
    ) -> Result<(Result<Saved, Error>, Option<Copy>), TestCaseError> {
        let mut response = HeaderMap::new();
        let saved = join(self.manager.save_at(session, &mut response, self.time()));
        if saved.is_err() {
            check(response.is_empty(), || "a failed save set a cookie".into())?;
            return Ok((saved, None));
        }
        let Some(pair) = cookie_of(&response) else {
            return Ok((saved, None));
        };
        let id = session.id().unwrap();
        let (idle, absolute) = Kind::timeouts(session.expiry());
        let times = session.times().unwrap();
        let issued_at = times
            .issued_at()
            .duration_since(at(Duration::ZERO))
            .unwrap();
        // Invariant 5: Max-Age within the sealed deadlines.
        if let Some(max_age) = max_age(&response) {
            let limit = (idle.min(issued_at + absolute - self.now)).as_secs();
            check(max_age <= limit, || {
                format!("Max-Age {max_age} past the deadlines ({limit} s left)")
            })?;
        }
        let copy = Copy {
            pair,
            id,
            renewed_at: self.now,
            idle,
            absolute,
            data: session.data().clone(),
        };
        self.copies.push(copy.clone());
        let model = self.sessions.entry(id).or_insert_with(|| Model {
            issued_at,
            renewed_at: self.now,
            subject: session
                .subject()
                .map(|s| SUBJECTS.iter().position(|x| *x == s).unwrap()),
            expiry: session.expiry(),
            revoked: false,
        });
        // Fixed for the id's life.
        check(
            model.expiry == session.expiry()
                && model.subject.map(|s| SUBJECTS[s]) == session.subject(),
            || "an id changed its subject or expiry".into(),
        )?;
        model.renewed_at = self.now;
        Ok((saved, Some(copy)))
    }

    /// The request a handler runs with the browser's cookie: loads, checks
    /// invariant 3, lets `change` act, saves, and keeps the model in step.
    fn request(
        &mut self,
        change: impl FnOnce(&mut Session<Data>, &mut World) -> Result<(), TestCaseError>,
    ) -> Result<(), TestCaseError> {
        let jar = self.jar.clone();
        let loaded = match self.load(jar.as_ref().map(|c| c.pair.as_str())) {
            Ok(session) => session,
            Err(e) => {
                // Only a pointer cookie needs the store.
                check(e.kind() == ErrorKind::Store && self.store_down(), || {
                    format!("load failed: {e}")
                })?;
                return Ok(());
            }
        };
        let mut session = loaded;
        if let Some(jar) = &jar {
            self.check_jar_load(jar, &session)?;
        }
        let before_id = session.id();
        change(&mut session, self)?;
        let regenerating = session.is_regenerating();
        let (saved, copy) = self.save(&mut session)?;
        match saved {
            Err(e) => {
                check(
                    matches!(e.kind(), ErrorKind::Store) && self.store_down(),
                    || format!("save failed: {e}"),
                )?;
            }
            Ok(Saved::Removed) => {
                if let Some(model) = before_id.and_then(|id| self.sessions.get_mut(&id)) {
                    model.revoked = true;
                }
                self.jar = None;
            }
            Ok(_) => {
                if let Some(copy) = copy {
                    if regenerating
                        && let Some(model) = before_id.and_then(|id| self.sessions.get_mut(&id))
                    {
                        model.revoked = true;
                    }
                    self.jar = Some(copy);
                }
            }
        }
        Ok(())
    }

    /// Invariants 1 and 3 for a load of the browser's cookie.
    fn check_jar_load(&self, jar: &Copy, session: &Session<Data>) -> Result<(), TestCaseError> {
        let model = self.sessions.get(&jar.id);
        if self.opens(jar) {
            let model = model.unwrap();
            check(session.id() == Some(jar.id), || {
                format!(
                    "a live session loaded fresh ({:?}) at {:?}",
                    session.fresh_reason(),
                    self.now
                )
            })?;
            check(session.data() == &jar.data, || "the data changed".into())?;
            check(
                session.subject().map(str::to_owned)
                    == model.subject.map(|s| SUBJECTS[s].to_owned()),
                || "the subject changed".into(),
            )?;
        } else {
            check(session.id() != Some(jar.id), || {
                format!(
                    "a session past its deadlines or revoked loaded at {:?}: {model:?}",
                    self.now
                )
            })?;
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Visit => self.request(|_, _| Ok(())),
            Op::Write { big } => {
                let big = *big;
                self.request(move |s, _| {
                    let n = s.n + 1;
                    s.set(Data {
                        n,
                        body: if big { vec![n as u8; 1500] } else { Vec::new() },
                    });
                    Ok(())
                })
            }
            Op::SignIn { subject, kind } => {
                let (subject, kind) = (*subject, *kind);
                self.request(move |s, _| {
                    s.regenerate();
                    s.set_subject(SUBJECTS[subject]).unwrap();
                    match kind.expiry() {
                        Some(e) => s.set_expiry(e),
                        None => s.clear_expiry(),
                    }
                    Ok(())
                })
            }
            Op::SetSubject(subject) => {
                let subject = *subject;
                self.request(move |s, _| {
                    s.set_subject(SUBJECTS[subject]).unwrap();
                    Ok(())
                })
            }
            Op::ClearSubject => self.request(|s, _| {
                s.clear_subject();
                Ok(())
            }),
            Op::SetExpiry(kind) => {
                let kind = *kind;
                self.request(move |s, _| {
                    match kind.expiry() {
                        Some(e) => s.set_expiry(e),
                        None => s.clear_expiry(),
                    }
                    Ok(())
                })
            }
            Op::ClearExpiry => self.request(|s, _| {
                s.clear_expiry();
                Ok(())
            }),
            Op::Destroy => self.request(|s, _| {
                s.destroy();
                Ok(())
            }),
            Op::SignOutEverywhere(subject) => {
                // Every session of the subject issued before now.
                self.manager
                    .sign_out_everywhere_at(SUBJECTS[*subject], self.time())
                    .unwrap();
                let now = self.now;
                for model in self.sessions.values_mut() {
                    if model.subject == Some(*subject) && model.issued_at < now {
                        model.revoked = true;
                    }
                }
                Ok(())
            }
            Op::RevokeListed { subject, nth } => {
                let listed =
                    join(self.registry.sessions_at(SUBJECTS[*subject], self.time())).unwrap();
                if let Some(record) = listed.get(*nth) {
                    self.registry
                        .revoke(record.id, record.until.max(self.time() + 24 * HOUR));
                    if let Some(model) = self.sessions.get_mut(&record.id) {
                        model.revoked = true;
                    }
                }
                Ok(())
            }
            Op::Advance(by) => {
                self.now += *by;
                self.clock.store(self.now.as_secs(), Ordering::SeqCst);
                self.registry.purge_at(self.time());
                Ok(())
            }
            Op::Replay(n) => self.replay(*n),
            Op::Crowded { stale, junk } => self.crowded(*stale, *junk),
            Op::RotateKey => {
                if self.keys.len() < 4 {
                    self.keys.insert(0, Key::generate());
                    self.manager = manager(&self.keys, &self.store, &self.registry);
                }
                Ok(())
            }
            Op::StoreDown(down) => {
                self.store.down.store(*down, Ordering::SeqCst);
                Ok(())
            }
        }
    }

    /// Invariant 1: another device replays an old copy.
    fn replay(&mut self, n: usize) -> Result<(), TestCaseError> {
        if self.copies.is_empty() {
            return Ok(());
        }
        let copy = self.copies[n % self.copies.len()].clone();
        let revoked = self.sessions.get(&copy.id).is_some_and(|m| m.revoked);
        let mut session = match self.load(Some(&copy.pair)) {
            Ok(session) => session,
            Err(e) => {
                return check(e.kind() == ErrorKind::Store && self.store_down(), || {
                    format!("replay failed: {e}")
                });
            }
        };
        if revoked || !self.opens(&copy) {
            check(session.id() != Some(copy.id), || {
                format!(
                    "a revoked or expired copy loaded as its session at {:?}",
                    self.now
                )
            })?;
        }
        // Its renewal (if any) is that device's new copy.
        let _ = self.save(&mut session)?;
        Ok(())
    }

    /// Invariant 4: junk and stale copies (of sessions that are over)
    /// ahead of the browser's cookie.
    fn crowded(&mut self, stale: usize, junk: usize) -> Result<(), TestCaseError> {
        let Some(jar) = self.jar.clone() else {
            return Ok(());
        };
        let name = jar.pair.split('=').next().unwrap().to_owned();
        let mut pairs: Vec<String> = self
            .copies
            .iter()
            .filter(|c| self.sessions.get(&c.id).is_some_and(|m| m.revoked))
            .rev()
            .take(stale)
            .map(|c| c.pair.clone())
            .collect();
        for i in 0..junk {
            pairs.push(format!("{name}=junk{i}"));
        }
        pairs.push(jar.pair.clone());
        let header = pairs.join("; ");
        let mut session = match self.load(Some(&header)) {
            Ok(session) => session,
            Err(e) => {
                return check(e.kind() == ErrorKind::Store && self.store_down(), || {
                    format!("crowded load failed: {e}")
                });
            }
        };
        self.check_jar_load(&jar, &session)?;
        if self.opens(&jar) {
            let mut response = HeaderMap::new();
            let saved = join(
                self.manager
                    .save_at(&mut session, &mut response, self.time()),
            );
            check(
                !matches!(saved, Ok(Saved::Cleared | Saved::Removed)),
                || format!("the live session was cleared: {saved:?}"),
            )?;
            if let Some(pair) = cookie_of(&response) {
                // A renewal of the live session, as any visit may be.
                check(session.id() == Some(jar.id), || "overwritten".into())?;
                let mut renewed = jar.clone();
                renewed.pair = pair;
                renewed.renewed_at = self.now;
                self.copies.push(renewed.clone());
                self.jar = Some(renewed);
                if let Some(model) = self.sessions.get_mut(&jar.id) {
                    model.renewed_at = self.now;
                }
            }
        }
        Ok(())
    }

    /// Invariant 2, after every step.
    fn check_lists(&self) -> Result<(), TestCaseError> {
        let renew = |m: &Model| m.timeouts().0 / 2;
        for (index, subject) in SUBJECTS.iter().enumerate() {
            let listed = join(self.registry.sessions_at(subject, self.time())).unwrap();
            for (id, model) in &self.sessions {
                if model.subject != Some(index) || model.revoked {
                    continue;
                }
                let (idle, absolute) = model.timeouts();
                let live =
                    self.now < model.renewed_at + idle && self.now < model.issued_at + absolute;
                if live {
                    check(listed.iter().any(|r| r.id == *id), || {
                        format!("a live session of {subject} is not listed: {model:?}")
                    })?;
                }
            }
            for record in &listed {
                let model = self.sessions.get(&record.id);
                let ok = model.is_some_and(|m| {
                    let (idle, absolute) = m.timeouts();
                    m.subject == Some(index)
                        && !m.revoked
                        && self.now < m.renewed_at + idle + renew(m)
                        && self.now < m.issued_at + absolute
                });
                check(ok, || {
                    format!("{subject} lists a session that is not its own live one: {model:?}")
                })?;
            }
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

#[test]
fn every_lifecycle_promise_holds_under_random_operations() {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        let mut world = World::new();
        for op in &ops {
            world.step(op)?;
            world.check_lists()?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
