//! Sessions over `http` (tracker issue 3), through the public API only: the
//! request/response cycle, change tracking and renewal, key rotation,
//! timeouts, destroy and regenerate, overflow to the memory store and back,
//! store failures, hostile `Cookie` headers, sync use, builder validation,
//! the map session and the memory store itself.
//!
//! No test sleeps: every time-dependent test injects the clock through the
//! `*_at` methods and [`MemoryStore::with_clock`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::error::Error as _;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response};
use sealed_session::limits::{
    MAX_COOKIE_BYTES, MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS, MAX_SESSION_CANDIDATES,
};
use sealed_session::store::{MemoryStore, Store, StoreFuture, StoreId};
use sealed_session::{
    Codec, Error, ErrorKind, FreshReason, Key, KeyRing, Location, MapSession, Overflow, SameSite,
    Saved, Session, SessionManager,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Session types and fixtures
// ---------------------------------------------------------------------------

/// A typical small session.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct Cart {
    user: Option<u64>,
    items: Vec<String>,
}

impl Cart {
    fn sample() -> Self {
        Self {
            user: Some(7),
            items: vec!["book".to_owned(), "lamp".to_owned()],
        }
    }
}

/// Another session type, whose postcard a `Cart` cookie is not.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct Counter {
    hits: u64,
}

/// A session whose size a test controls.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct Blob {
    note: String,
    bytes: Vec<u8>,
}

/// A blob with `len` payload bytes (a fixed pattern: postcard does not
/// compress, so its size is what matters).
fn blob(len: usize) -> Blob {
    Blob {
        note: format!("blob of {len}"),
        bytes: (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect(),
    }
}

const IDLE: Duration = Duration::from_secs(60 * 60);
const ABSOLUTE: Duration = Duration::from_secs(8 * 60 * 60);
const T0_SECS: u64 = 1_700_000_000;

/// `secs` seconds after a whole-second instant well after the epoch.
fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0_SECS + secs)
}

fn codec_with(ring: KeyRing) -> Codec {
    Codec::builder(ring)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .build()
        .unwrap()
}

fn codec() -> Codec {
    codec_with(KeyRing::new([Key::generate()]).unwrap())
}

/// As [`codec`], under a cookie name without the `__Host-` prefix (for
/// paths, domains and plain-http development).
fn codec_named(name: &str) -> Codec {
    Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .cookie_name(name)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .build()
        .unwrap()
}

/// A cookie-only manager (no store), idle 1 h, absolute 8 h.
fn manager() -> SessionManager {
    SessionManager::with_codec(codec()).build().unwrap()
}

/// A clock shared by a test and its stores, in seconds after the epoch.
#[derive(Clone)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(T0_SECS)))
    }

    /// Moves the clock to `at(secs)` and returns that instant.
    fn at(&self, secs: u64) -> SystemTime {
        self.0.store(T0_SECS + secs, Ordering::SeqCst);
        at(secs)
    }

    fn store(&self, capacity: u64) -> MemoryStore {
        let now = Arc::clone(&self.0);
        MemoryStore::with_capacity_bytes(capacity)
            .with_clock(move || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst)))
    }
}

/// A manager over a memory store that runs on an injected clock; `store` is
/// a handle on the same entries, for checking them.
struct Stored {
    clock: Clock,
    store: MemoryStore,
    manager: SessionManager,
}

impl Stored {
    fn new() -> Self {
        Self::with_codec(codec())
    }

    fn with_codec(codec: Codec) -> Self {
        let clock = Clock::new();
        let store = clock.store(16 << 20);
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        let manager = SessionManager::with_codec(codec)
            .store(shared)
            .build()
            .unwrap();
        Self {
            clock,
            store,
            manager,
        }
    }

    fn at(&self, secs: u64) -> SystemTime {
        self.clock.at(secs)
    }

    async fn entry(&self, id: StoreId) -> Option<Vec<u8>> {
        self.store.load(&id).await.unwrap()
    }

    /// Loads the session `request` carries, with the clock moved to
    /// `at(secs)`.
    async fn load<T: DeserializeOwned + Default + 'static>(
        &self,
        request: &HeaderMap,
        secs: u64,
    ) -> Session<T> {
        load_at(&self.manager, request, self.at(secs)).await
    }

    /// Saves `session` with the clock moved to `at(secs)`: what was saved
    /// and the response's headers.
    async fn save<T: Serialize + DeserializeOwned + 'static>(
        &self,
        session: &mut Session<T>,
        secs: u64,
    ) -> (Saved, HeaderMap) {
        save_at(&self.manager, session, self.at(secs)).await
    }

    /// A new session set to `blob(len)` and saved at `at(0)` (6 000 bytes
    /// spill to the store): the session and the response's headers.
    async fn spill(&self, len: usize) -> (Session<Blob>, HeaderMap) {
        let mut session: Session<Blob> = self.load(&HeaderMap::new(), 0).await;
        session.set(blob(len));
        let (_, response) = self.save(&mut session, 0).await;
        (session, response)
    }
}

/// A store that fails on demand: a memory store behind an `AtomicBool`.
#[derive(Debug)]
struct FlakyStore {
    inner: MemoryStore,
    fail: AtomicBool,
}

impl FlakyStore {
    /// Makes every later call fail (`true`) or pass through (`false`).
    fn set_down(&self, down: bool) {
        self.fail.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), Error> {
        if self.fail.load(Ordering::SeqCst) {
            Err(Error::store(io::Error::other("injected store failure")))
        } else {
            Ok(())
        }
    }
}

impl Store for FlakyStore {
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
}

// ---------------------------------------------------------------------------
// Header helpers: what a browser does with Set-Cookie
// ---------------------------------------------------------------------------

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The one `Set-Cookie` in `headers` (fails the test if there is not
/// exactly one).
fn only_set_cookie(headers: &HeaderMap) -> String {
    let all = set_cookies(headers);
    assert_eq!(all.len(), 1, "expected exactly one Set-Cookie: {all:?}");
    all.into_iter().next().unwrap()
}

/// `name=value` of a `Set-Cookie` line.
fn pair_of(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

/// The value of a `Set-Cookie` line.
fn value_of(set_cookie: &str) -> &str {
    pair_of(set_cookie).split_once('=').unwrap().1
}

/// The attributes of a `Set-Cookie` line.
fn attributes_of(set_cookie: &str) -> Vec<&str> {
    set_cookie.split("; ").skip(1).collect()
}

fn max_age_of(set_cookie: &str) -> u64 {
    attributes_of(set_cookie)
        .iter()
        .find_map(|a| a.strip_prefix("Max-Age="))
        .expect("a Max-Age attribute")
        .parse()
        .unwrap()
}

/// Request headers with one `Cookie` header.
fn cookie_header(cookies: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, HeaderValue::from_str(cookies).unwrap());
    headers
}

/// The next request's headers, carrying the cookie the response set, as a
/// browser sends it back.
fn next_request(response: &HeaderMap) -> HeaderMap {
    cookie_header(pair_of(&only_set_cookie(response)))
}

// ---------------------------------------------------------------------------
// Load and save, unwrapped, each save into a fresh response
// ---------------------------------------------------------------------------

/// The session `request` carries, loaded at `now` without a runtime.
fn load_sync_at<T: DeserializeOwned + Default + 'static>(
    manager: &SessionManager,
    request: &HeaderMap,
    now: SystemTime,
) -> Session<T> {
    manager.load_sync_at(request, now).unwrap()
}

/// Saves `session` at `now` without a runtime: what was saved and the
/// response's headers.
fn save_sync_at<T: Serialize + DeserializeOwned + 'static>(
    manager: &SessionManager,
    session: &mut Session<T>,
    now: SystemTime,
) -> (Saved, HeaderMap) {
    let mut response = HeaderMap::new();
    let saved = manager.save_sync_at(session, &mut response, now).unwrap();
    (saved, response)
}

/// The session `request` carries, loaded at `now`.
async fn load_at<T: DeserializeOwned + Default + 'static>(
    manager: &SessionManager,
    request: &HeaderMap,
    now: SystemTime,
) -> Session<T> {
    manager.load_at(request, now).await.unwrap()
}

/// Saves `session` at `now`: what was saved and the response's headers.
async fn save_at<T: Serialize + DeserializeOwned + 'static>(
    manager: &SessionManager,
    session: &mut Session<T>,
    now: SystemTime,
) -> (Saved, HeaderMap) {
    let mut response = HeaderMap::new();
    let saved = manager.save_at(session, &mut response, now).await.unwrap();
    (saved, response)
}

/// The cookie value a session's save emitted, sealed at `t0`.
fn sealed_cart(manager: &SessionManager, cart: Cart, now: SystemTime) -> String {
    let mut session: Session<Cart> = load_sync_at(manager, &HeaderMap::new(), now);
    session.set(cart);
    let (_, response) = save_sync_at(manager, &mut session, now);
    pair_of(&only_set_cookie(&response)).to_owned()
}

/// Request headers with one `Cookie` header: the `filler` pairs, then
/// `cookie`.
fn cookie_after(mut filler: Vec<String>, cookie: &str) -> HeaderMap {
    filler.push(cookie.to_owned());
    cookie_header(&filler.join("; "))
}

/// A cookie-only manager and the `name=value` of a cookie it sealed for
/// `Cart::sample()` at `at(0)`.
fn manager_and_cookie() -> (SessionManager, String) {
    let manager = manager();
    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    (manager, cookie)
}

/// Flips one character in the middle of a cookie's value.
fn tamper(pair: &str) -> String {
    let mut bytes = pair.as_bytes().to_vec();
    let i = pair.find('=').unwrap() + (pair.len() - pair.find('=').unwrap()) / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn assert_send<T: Send>(_: &T) {}

// ---------------------------------------------------------------------------
// The request/response cycle
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_full_request_response_cycle_sets_a_cookie_only_once_written_and_reads_it_back() {
    let manager = manager();

    // Request 1: no cookie; the handler only reads.
    let request = Request::builder().uri("/").body(()).unwrap();
    let session: Session<Cart> = manager.load(request.headers()).await.unwrap();
    let mut session = session;
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::NoCookie));
    assert_eq!(session.location(), Location::None);
    assert!(session.items.is_empty());
    assert!(!session.is_changed());
    let mut response = Response::new(());
    let saved = manager
        .save(&mut session, response.headers_mut())
        .await
        .unwrap();
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.headers().get(SET_COOKIE).is_none());

    // Request 1 again: this time the handler writes.
    let mut session: Session<Cart> = manager.load(request.headers()).await.unwrap();
    session.user = Some(7);
    session.items.push("book".to_owned());
    assert!(session.is_changed());
    let mut response = Response::new(());
    let saved = manager
        .save(&mut session, response.headers_mut())
        .await
        .unwrap();
    let all: Vec<&HeaderValue> = response.headers().get_all(SET_COOKIE).iter().collect();
    assert_eq!(all.len(), 1, "exactly one Set-Cookie");
    assert!(all[0].is_sensitive(), "Set-Cookie is marked sensitive");
    let line = all[0].to_str().unwrap().to_owned();
    assert!(line.starts_with("__Host-session="), "{line}");
    let attributes = attributes_of(&line);
    for wanted in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} missing in {line}");
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("Domain")),
        "{line}"
    );
    assert_eq!(max_age_of(&line), IDLE.as_secs());
    let Saved::Cookie { size } = saved else {
        panic!("expected an inline cookie, got {saved:?}");
    };
    assert_eq!(size, pair_of(&line).len());
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.cookie_size(), Some(size));
    assert_eq!(session.fresh_reason(), None);

    // Request 2: the browser sends the cookie back.
    let request = Request::builder()
        .uri("/")
        .header(COOKIE, pair_of(&line))
        .body(())
        .unwrap();
    let mut session: Session<Cart> = manager.load(request.headers()).await.unwrap();
    assert!(!session.is_new());
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(
        *session,
        Cart {
            user: Some(7),
            items: vec!["book".to_owned()],
        }
    );
    assert!(session.opened_with().unwrap().is_primary());

    // ...and only reads, so the response sets nothing.
    let mut response = Response::new(());
    let saved = manager
        .save(&mut session, response.headers_mut())
        .await
        .unwrap();
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.headers().get(SET_COOKIE).is_none());
}

// ---------------------------------------------------------------------------
// Change tracking, renewal and re-sealing
// ---------------------------------------------------------------------------

#[test]
fn a_read_only_request_emits_no_set_cookie() {
    let (manager, cookie) = manager_and_cookie();
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(5));
    assert_eq!(session.user, Some(7));
    assert_eq!(session.data().items.len(), 2);
    assert!(!session.is_changed());
    let (saved, response) = save_sync_at(&manager, &mut session, at(5));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());
}

#[test]
fn a_new_session_that_is_never_written_sets_no_cookie_even_when_regenerated() {
    let manager = manager();
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(0));
    session.regenerate();
    let (saved, response) = save_sync_at(&manager, &mut session, at(0));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());
}

#[test]
fn renewal_happens_only_past_the_threshold_and_keeps_data_and_issued_at() {
    // Idle 1 h, default threshold 0.5: renew once 30 min have passed.
    let (manager, cookie) = manager_and_cookie();

    // Just before the threshold: nothing.
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1799));
    assert_eq!(session.times().unwrap().renewed_at, at(0));
    let (saved, response) = save_sync_at(&manager, &mut session, at(1799));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());

    // Just after: a cookie with the same data, issued-at kept, renewed now.
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1801));
    assert!(!session.is_changed());
    let (saved, response) = save_sync_at(&manager, &mut session, at(1801));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    let line = only_set_cookie(&response);
    assert_ne!(pair_of(&line), cookie, "a new cookie");
    assert_eq!(max_age_of(&line), IDLE.as_secs());
    let opened = manager
        .codec()
        .open_at::<Cart>(value_of(&line), at(1801))
        .unwrap();
    assert_eq!(opened.value(), &Cart::sample());
    assert_eq!(opened.times().issued_at, at(0));
    assert_eq!(opened.times().renewed_at, at(1801));

    // The renewed cookie outlives the original's idle deadline.
    let renewed: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(3600 + 60));
    assert_eq!(*renewed, Cart::sample());
    let original: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(3600 + 60));
    assert_eq!(original.fresh_reason(), Some(FreshReason::Expired));
}

#[tokio::test]
async fn renewing_a_stored_session_extends_its_store_entry() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let id = session.store_id().unwrap();
    let first = next_request(&response);

    // Past the threshold, untouched: the pointer cookie and the entry are
    // both renewed, under the same id.
    let mut session: Session<Blob> = fx.load(&first, 1801).await;
    let (saved, response) = fx.save(&mut session, 1801).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    assert_eq!(session.store_id(), Some(id));
    assert_eq!(max_age_of(&only_set_cookie(&response)), IDLE.as_secs());

    // After the first deadline, the renewed cookie still finds its data.
    let session: Session<Blob> = fx.load(&next_request(&response), 3600 + 60).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(6000));
    let session: Session<Blob> = fx.load(&first, 3600 + 60).await;
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));

    // And after the renewed deadline the entry is gone from the store.
    fx.at(1801 + 3600);
    assert_eq!(fx.entry(id).await, None);
}

#[test]
fn a_renewal_threshold_of_zero_renews_on_every_request() {
    let manager = SessionManager::with_codec(codec())
        .renewal_threshold(0.0)
        .build()
        .unwrap();
    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    let (saved, _) = save_sync_at(&manager, &mut session, at(1));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
}

#[test]
fn a_cookie_sealed_under_an_old_key_is_resealed_with_the_primary() {
    let a = Key::generate();
    let b = Key::generate();
    let old = SessionManager::with_codec(codec_with(KeyRing::new([a.clone()]).unwrap()))
        .build()
        .unwrap();
    let rotated =
        SessionManager::with_codec(codec_with(KeyRing::new([b.clone(), a.clone()]).unwrap()))
            .build()
            .unwrap();
    let only_b = codec_with(KeyRing::new([b.clone()]).unwrap());

    let cookie = sealed_cart(&old, Cart::sample(), at(0));
    assert!(
        only_b.open_at::<Cart>(value_of(&cookie), at(10)).is_err(),
        "the old cookie does not open without key A"
    );

    // A read-only request on the rotated server still writes a cookie.
    let mut session: Session<Cart> = load_sync_at(&rotated, &cookie_header(&cookie), at(10));
    let with = session.opened_with().unwrap();
    assert_eq!(with.key_id(), a.id());
    assert!(!with.is_primary());
    assert!(!session.is_changed());
    let (saved, response) = save_sync_at(&rotated, &mut session, at(10));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");

    // The new cookie opens with a ring holding only B.
    let line = only_set_cookie(&response);
    let opened = only_b.open_at::<Cart>(value_of(&line), at(10)).unwrap();
    assert_eq!(opened.value(), &Cart::sample());
    assert_eq!(opened.opened_with().key_id(), b.id());
    assert_eq!(
        opened.times().issued_at,
        at(0),
        "re-sealing keeps issued-at"
    );

    // And the next request, now under the primary, writes nothing.
    let mut session: Session<Cart> = load_sync_at(&rotated, &next_request(&response), at(20));
    assert!(session.opened_with().unwrap().is_primary());
    let (saved, response) = save_sync_at(&rotated, &mut session, at(20));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());
}

#[tokio::test]
async fn a_stored_session_sealed_under_an_old_key_is_resealed_in_the_store_too() {
    let a = Key::generate();
    let b = Key::generate();
    let clock = Clock::new();
    let store = clock.store(16 << 20);
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let manager_for = |keys: Vec<Key>| {
        SessionManager::with_codec(codec_with(KeyRing::new(keys).unwrap()))
            .store(Arc::clone(&shared))
            .build()
            .unwrap()
    };
    let old = manager_for(vec![a.clone()]);
    let rotated = manager_for(vec![b.clone(), a.clone()]);
    let only_b = manager_for(vec![b.clone()]);

    let mut session: Session<Blob> = load_at(&old, &HeaderMap::new(), clock.at(0)).await;
    session.set(blob(6000));
    let (saved, response) = save_at(&old, &mut session, clock.at(0)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let id = session.store_id().unwrap();

    let mut session: Session<Blob> =
        load_at(&rotated, &next_request(&response), clock.at(10)).await;
    assert_eq!(session.opened_with().unwrap().key_id(), a.id());
    let (saved, response) = save_at(&rotated, &mut session, clock.at(10)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    assert_eq!(session.store_id(), Some(id), "same entry, re-sealed");

    let session: Session<Blob> = load_at(&only_b, &next_request(&response), clock.at(20)).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(6000));
    assert_eq!(session.opened_with().unwrap().key_id(), b.id());
}

// ---------------------------------------------------------------------------
// Fresh sessions and their reasons
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_idle_timeout_gives_a_fresh_expired_session() {
    let (manager, cookie) = manager_and_cookie();

    let session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(3599)).await;
    assert_eq!(*session, Cart::sample(), "valid one second before");

    let session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(3600)).await;
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
    assert_eq!(*session, Cart::default());
}

#[tokio::test]
async fn the_absolute_timeout_expires_a_session_that_kept_renewing() {
    // Idle 1 h, absolute 8 h: a request every 50 minutes keeps renewing the
    // idle deadline, but not past eight hours after issue.
    let manager = manager();
    let mut cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let step = 50 * 60;
    let mut t = step;
    while t < ABSOLUTE.as_secs() {
        let mut session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(t)).await;
        assert_eq!(session.fresh_reason(), None, "valid at {t}");
        assert_eq!(session.times().unwrap().issued_at, at(0));
        let (_, response) = save_at(&manager, &mut session, at(t)).await;
        let line = only_set_cookie(&response);
        // Max-Age is the earlier of the two deadlines.
        let left = ABSOLUTE.as_secs() - t;
        assert_eq!(max_age_of(&line), left.min(IDLE.as_secs()), "at {t}");
        cookie = pair_of(&line).to_owned();
        t += step;
    }
    // t = 30 000 s: renewed at 27 000 (idle deadline 30 600), but issued
    // 30 000 s ago, past the 28 800 s absolute timeout.
    let session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(t)).await;
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn a_tampered_cookie_gives_a_fresh_rejected_session() {
    let (manager, cookie) = manager_and_cookie();
    let mut session: Session<Cart> =
        load_sync_at(&manager, &cookie_header(&tamper(&cookie)), at(1));
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::Rejected));
    assert_eq!(*session, Cart::default());
    // The fresh session, untouched, writes nothing.
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());
}

#[test]
fn a_cookie_from_another_key_gives_a_fresh_rejected_session() {
    let other = manager();
    let cookie = sealed_cart(&other, Cart::sample(), at(0));
    let session: Session<Cart> = load_sync_at(&manager(), &cookie_header(&cookie), at(1));
    assert_eq!(session.fresh_reason(), Some(FreshReason::Rejected));
}

#[test]
fn a_cookie_of_another_session_type_gives_a_fresh_undecodable_session() {
    let (manager, cookie) = manager_and_cookie();
    let session: Session<Counter> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::Undecodable));
    assert_eq!(*session, Counter::default());
}

#[test]
fn no_cookie_gives_a_fresh_session_with_no_cookie_as_the_reason() {
    let manager = manager();
    for headers in [
        HeaderMap::new(),
        cookie_header("theme=dark; lang=en"),
        cookie_header("__Host-sessionx=abc; x__Host-session=abc; session=abc"),
    ] {
        let session: Session<Cart> = load_sync_at(&manager, &headers, at(0));
        assert!(session.is_new());
        assert_eq!(session.fresh_reason(), Some(FreshReason::NoCookie));
        assert_eq!(session.location(), Location::None);
        assert_eq!(session.times(), None);
    }
}

#[test]
fn when_every_candidate_fails_the_most_telling_reason_is_reported() {
    let (manager, cookie) = manager_and_cookie();
    let headers = cookie_header(&format!("__Host-session=garbage; {cookie}"));
    let session: Session<Cart> = load_sync_at(&manager, &headers, at(3600));
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn of_several_cookies_with_the_session_name_the_valid_one_wins() {
    let (manager, cookie) = manager_and_cookie();
    let headers = cookie_header(&format!(
        "__Host-session=garbage; theme=dark; {}; {cookie}",
        tamper(&cookie)
    ));
    let session: Session<Cart> = load_sync_at(&manager, &headers, at(1));
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, Cart::sample());

    // Of two valid ones, the first wins.
    let other = Cart {
        user: Some(8),
        items: Vec::new(),
    };
    let second = sealed_cart(&manager, other.clone(), at(0));
    let session: Session<Cart> = load_sync_at(
        &manager,
        &cookie_header(&format!("{second}; {cookie}")),
        at(1),
    );
    assert_eq!(*session, other);
}

#[test]
fn every_cookie_header_is_searched() {
    let (manager, cookie) = manager_and_cookie();
    let mut headers = HeaderMap::new();
    headers.append(
        COOKIE,
        HeaderValue::from_static("theme=dark; __Host-session=garbage"),
    );
    headers.append(COOKIE, HeaderValue::from_static("lang=en"));
    headers.append(COOKIE, HeaderValue::from_str(&cookie).unwrap());
    let session: Session<Cart> = load_sync_at(&manager, &headers, at(1));
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, Cart::sample());
}

#[tokio::test]
async fn a_pointer_to_a_missing_store_entry_gives_a_fresh_session() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    fx.store.delete(&session.store_id().unwrap()).await.unwrap();
    let session: Session<Blob> = fx.load(&next_request(&response), 1).await;
    assert_eq!(session.fresh_reason(), Some(FreshReason::MissingFromStore));

    // A cookie-only manager with the same keys cannot follow the pointer.
    let no_store = SessionManager::with_codec(fx.manager.codec().clone())
        .build()
        .unwrap();
    let session: Session<Blob> = load_sync_at(&no_store, &next_request(&response), fx.at(1));
    assert_eq!(session.fresh_reason(), Some(FreshReason::MissingFromStore));
}

// ---------------------------------------------------------------------------
// Destroy and regenerate
// ---------------------------------------------------------------------------

#[test]
fn destroy_emits_a_removal_cookie_with_the_same_name_path_and_domain() {
    let manager = SessionManager::with_codec(codec_named("session"))
        .path("/app")
        .domain("example.com")
        .build()
        .unwrap();
    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    session.destroy();
    assert!(session.is_destroyed());
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::Removed);
    assert!(response.get(SET_COOKIE).unwrap().is_sensitive());
    let line = only_set_cookie(&response);
    assert_eq!(pair_of(&line), "session=");
    let attributes = attributes_of(&line);
    for wanted in ["Max-Age=0", "Path=/app", "Domain=example.com", "Secure"] {
        assert!(attributes.contains(&wanted), "{wanted} missing in {line}");
    }
    assert_eq!(session.location(), Location::None);
}

#[tokio::test]
async fn destroy_deletes_the_store_entry() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let id = session.store_id().unwrap();
    assert!(fx.entry(id).await.is_some());

    let mut session: Session<Blob> = fx.load(&next_request(&response), 1).await;
    assert_eq!(session.store_id(), Some(id));
    session.destroy();
    let (saved, response) = fx.save(&mut session, 1).await;
    assert_eq!(saved, Saved::Removed);
    let line = only_set_cookie(&response);
    assert_eq!(pair_of(&line), "__Host-session=");
    assert!(attributes_of(&line).contains(&"Max-Age=0"), "{line}");
    assert!(attributes_of(&line).contains(&"Path=/"), "{line}");
    assert_eq!(fx.entry(id).await, None, "store entry deleted");
    assert_eq!(session.store_id(), None);
}

#[test]
fn regenerate_keeps_the_data_and_resets_issued_at_for_a_cookie_session() {
    let (manager, cookie) = manager_and_cookie();
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(100));
    session.regenerate();
    let (saved, response) = save_sync_at(&manager, &mut session, at(100));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(session.times().unwrap().issued_at, at(100));
    let line = only_set_cookie(&response);
    assert_ne!(pair_of(&line), cookie);
    let session: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(101));
    assert_eq!(*session, Cart::sample());
    assert_eq!(session.times().unwrap().issued_at, at(100));
}

#[tokio::test]
async fn regenerate_issues_a_new_store_id_deletes_the_old_entry_and_keeps_the_data() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let old_id = session.store_id().unwrap();

    let mut session: Session<Blob> = fx.load(&next_request(&response), 100).await;
    session.regenerate();
    let (saved, response) = fx.save(&mut session, 100).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let new_id = session.store_id().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(fx.entry(old_id).await, None, "old entry gone");
    assert!(fx.entry(new_id).await.is_some());
    assert_eq!(session.times().unwrap().issued_at, at(100));

    let session: Session<Blob> = fx.load(&next_request(&response), 101).await;
    assert_eq!(*session, blob(6000), "data kept");
    assert_eq!(session.store_id(), Some(new_id));
    assert_eq!(session.times().unwrap().issued_at, at(100));
}

// ---------------------------------------------------------------------------
// Overflow to the store and back
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_growing_session_spills_to_the_store_and_comes_back_when_it_shrinks() {
    let fx = Stored::new();

    // Small: inline.
    let mut session: Session<Blob> = fx.load(&HeaderMap::new(), 0).await;
    session.set(blob(100));
    let (saved, response) = fx.save(&mut session, 0).await;
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(fx.store.entry_count(), 0);

    // Grown past 4096: a pointer cookie under the limit.
    let mut session: Session<Blob> = fx.load(&next_request(&response), 1).await;
    session.set(blob(5000));
    let (saved, response) = fx.save(&mut session, 1).await;
    let Saved::Store { size, stored_bytes } = saved else {
        panic!("expected a store entry, got {saved:?}");
    };
    let line = only_set_cookie(&response);
    assert_eq!(pair_of(&line).len(), size);
    assert!(size <= MAX_COOKIE_BYTES, "{size}");
    assert!(stored_bytes > 5000, "{stored_bytes}");
    assert!(attributes_of(&line).contains(&"HttpOnly"));
    assert_eq!(session.location(), Location::Store);
    let id = session.store_id().unwrap();
    assert_eq!(fx.entry(id).await.unwrap().len(), stored_bytes);

    // The data round-trips through the store on the next request.
    let mut session: Session<Blob> = fx.load(&next_request(&response), 2).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(5000));
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.store_id(), Some(id));

    // Shrunk: back inline, the store entry deleted.
    session.set(blob(100));
    let (saved, response) = fx.save(&mut session, 2).await;
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert!(pair_of(&only_set_cookie(&response)).len() <= MAX_COOKIE_BYTES);
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.store_id(), None);
    assert_eq!(fx.entry(id).await, None, "store entry deleted");

    let session: Session<Blob> = fx.load(&next_request(&response), 3).await;
    assert_eq!(*session, blob(100));
    assert_eq!(session.location(), Location::Cookie);
}

#[tokio::test]
async fn a_map_session_spills_to_the_store_and_comes_back_when_it_shrinks() {
    let fx = Stored::new();
    let mut session: MapSession = fx.load(&HeaderMap::new(), 0).await;
    session.insert("user", &7u64).unwrap();
    session.insert("big", &vec![0x5au8; 6000]).unwrap();
    let (saved, response) = fx.save(&mut session, 0).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    assert!(pair_of(&only_set_cookie(&response)).len() <= MAX_COOKIE_BYTES);
    let id = session.store_id().unwrap();

    let mut session: MapSession = fx.load(&next_request(&response), 1).await;
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.get::<u64>("user").unwrap(), Some(7));
    assert_eq!(
        session.get::<Vec<u8>>("big").unwrap(),
        Some(vec![0x5a; 6000])
    );

    assert!(session.remove("big"));
    let (saved, response) = fx.save(&mut session, 1).await;
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(fx.entry(id).await, None, "store entry deleted");

    let session: MapSession = fx.load(&next_request(&response), 2).await;
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.get::<u64>("user").unwrap(), Some(7));
    assert!(!session.data().contains_key("big"));
}

/// Grows and shrinks a session through every size from 0 to 6 000 bytes,
/// one request each, and checks every cookie emitted against the limit.
async fn sweep_sizes(fx: &Stored, limit: usize) {
    let mut request = HeaderMap::new();
    let mut previous: Option<StoreId> = None;
    let sizes: Vec<usize> = (0..=6000)
        .step_by(75)
        .chain((0..=6000).rev().step_by(75))
        .collect();
    let mut last = 0;
    let (mut inline_saves, mut stored_saves) = (0, 0);
    for (t, len) in (1u64..).zip(sizes) {
        last = t;
        let mut session: Session<Blob> = fx.load(&request, t).await;
        if t > 1 {
            assert_eq!(session.fresh_reason(), None, "at {len}");
        }
        assert_eq!(session.store_id(), previous);
        session.set(blob(len));
        let inline = fx.manager.codec().sealed_size(session.data()).unwrap();
        let (saved, response) = fx.save(&mut session, t).await;
        let line = only_set_cookie(&response);
        let emitted = pair_of(&line).len();
        assert!(emitted <= limit, "{emitted} > {limit} at {len}");
        match saved {
            Saved::Cookie { size } => {
                assert!(inline <= limit, "{inline} inline at {len}");
                assert_eq!(size, emitted);
                assert_eq!(session.location(), Location::Cookie);
                inline_saves += 1;
                if let Some(old) = previous {
                    assert_eq!(fx.entry(old).await, None, "left behind at {len}");
                }
            }
            Saved::Store { size, .. } => {
                assert!(inline > limit, "{inline} spilled at {len}");
                assert_eq!(size, emitted);
                assert_eq!(session.location(), Location::Store);
                stored_saves += 1;
            }
            other => panic!("unexpected {other:?} at {len}"),
        }
        previous = session.store_id();
        request = next_request(&response);
    }
    assert!(
        inline_saves > 10 && stored_saves > 10,
        "{inline_saves} {stored_saves}"
    );
    let session: Session<Blob> = fx.load(&request, last + 1).await;
    assert_eq!(*session, blob(0));
    assert_eq!(fx.store.entry_count(), 0, "no entry left behind");
}

#[tokio::test]
async fn every_emitted_cookie_is_within_the_limit_as_a_session_grows_and_shrinks() {
    sweep_sizes(&Stored::new(), MAX_COOKIE_BYTES).await;
}

#[tokio::test]
async fn a_lowered_size_limit_is_honoured_both_ways() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .size_limit(1024)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .build()
        .unwrap();
    sweep_sizes(&Stored::with_codec(codec), 1024).await;
}

#[tokio::test]
async fn without_a_store_an_oversized_session_is_too_large_and_sets_nothing() {
    let manager = manager();
    let mut session: Session<Blob> = load_at(&manager, &HeaderMap::new(), at(0)).await;
    session.set(blob(5000));
    let mut response = HeaderMap::new();
    let err = manager
        .save_at(&mut session, &mut response, at(0))
        .await
        .unwrap_err();
    let ErrorKind::TooLarge { size, limit } = err.kind() else {
        panic!("expected TooLarge, got {err:?}");
    };
    assert_eq!(limit, MAX_COOKIE_BYTES);
    assert!(size > limit, "{size}");
    assert_eq!(size, manager.codec().sealed_size(session.data()).unwrap());
    assert!(response.is_empty());
    assert_eq!(session.location(), Location::None);

    // The same with a store but `Overflow::Error`.
    let fx_store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(fx_store)
        .overflow(Overflow::Error)
        .build()
        .unwrap();
    let err = manager
        .save_at(&mut session, &mut response, at(0))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }), "{err:?}");
    assert!(response.is_empty());
}

// ---------------------------------------------------------------------------
// Store failures
// ---------------------------------------------------------------------------

fn flaky() -> (Arc<FlakyStore>, SessionManager) {
    let store = Arc::new(FlakyStore {
        inner: MemoryStore::new(),
        fail: AtomicBool::new(false),
    });
    let manager = SessionManager::with_codec(codec())
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .build()
        .unwrap();
    (store, manager)
}

fn assert_store_error(err: &Error) {
    assert_eq!(err.kind(), ErrorKind::Store, "{err:?}");
    assert_eq!(
        err.source().unwrap().to_string(),
        "injected store failure",
        "the store's error is the source"
    );
}

#[tokio::test]
async fn a_failed_store_write_returns_an_error_and_sets_no_cookie() {
    let (store, manager) = flaky();
    store.set_down(true);

    // A new oversized session.
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
    assert!(response.is_empty(), "no cookie pointing at missing data");
    assert_eq!(session.location(), Location::None);

    // A stored session that changes while the store is down.
    store.set_down(false);
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let id = session.store_id().unwrap();
    let request = next_request(&response);
    let mut session: Session<Blob> = manager.load(&request).await.unwrap();
    session.set(blob(7000));
    store.set_down(true);
    let mut response = HeaderMap::new();
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
    assert!(response.is_empty());

    // Shrinking while the store is down: the old entry cannot be deleted,
    // so no cookie is set and the old one still works.
    session.set(blob(10));
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
    assert!(response.is_empty());
    store.set_down(false);
    let session: Session<Blob> = manager.load(&request).await.unwrap();
    assert_eq!(*session, blob(6000));
    assert_eq!(session.store_id(), Some(id));
}

#[tokio::test]
async fn loading_a_pointer_while_the_store_is_down_is_an_error_not_a_fresh_session() {
    let (store, manager) = flaky();
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let request = next_request(&response);

    store.set_down(true);
    let err = manager.load::<Blob>(&request).await.unwrap_err();
    assert_store_error(&err);

    // An inline cookie needs no store, so it loads while the store is down.
    let cookie = sealed_cart(
        &SessionManager::with_codec(manager.codec().clone())
            .build()
            .unwrap(),
        Cart::sample(),
        SystemTime::now(),
    );
    let session: Session<Cart> = manager.load(&cookie_header(&cookie)).await.unwrap();
    assert_eq!(*session, Cart::sample());
}

// ---------------------------------------------------------------------------
// Hostile headers
// ---------------------------------------------------------------------------

fn load_cart(manager: &SessionManager, headers: &HeaderMap) -> Session<Cart> {
    manager.load_sync_at(headers, at(1)).unwrap()
}

/// The sessions loaded from `cookie` placed after `cap - 1` and after `cap`
/// `filler` pairs: just within a cap and just past it.
fn within_and_past(
    manager: &SessionManager,
    cookie: &str,
    cap: usize,
    filler: impl Fn(usize) -> Vec<String>,
) -> (Session<Cart>, Session<Cart>) {
    let within = load_cart(manager, &cookie_after(filler(cap - 1), cookie));
    let past = load_cart(manager, &cookie_after(filler(cap), cookie));
    (within, past)
}

#[test]
fn a_one_mebibyte_cookie_header_gives_a_fresh_session() {
    let manager = manager();
    let huge = format!("junk={}", "x".repeat(1 << 20));
    let session = load_cart(&manager, &cookie_header(&huge));
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));

    let huge = format!("__Host-session={}", "A".repeat(1 << 20));
    let session = load_cart(&manager, &cookie_header(&huge));
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));
}

#[test]
fn ten_thousand_pairs_give_a_fresh_session() {
    let manager = manager();
    let many: Vec<String> = (0..10_000).map(|i| format!("k{i}=v{i}")).collect();
    let session = load_cart(&manager, &cookie_header(&many.join("; ")));
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));

    let forged = vec!["__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; 10_000];
    let session = load_cart(&manager, &cookie_header(&forged.join("; ")));
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));
}

#[test]
fn non_utf8_bytes_give_a_fresh_session_and_do_not_hide_a_later_cookie() {
    let manager = manager();
    let raw: &[u8] = b"__Host-session=\xff\xfe\x80; \xc3\x28=\xa0\xa1; x=\xf0\x28\x8c\x28";
    let session = load_cart(&manager, &{
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_bytes(raw).unwrap());
        h
    });
    assert!(session.is_new());

    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let mut bytes = raw.to_vec();
    bytes.extend_from_slice(b"; ");
    bytes.extend_from_slice(cookie.as_bytes());
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, HeaderValue::from_bytes(&bytes).unwrap());
    let session = load_cart(&manager, &headers);
    assert_eq!(*session, Cart::sample());
}

#[test]
fn degenerate_pairs_give_a_fresh_session() {
    let manager = manager();
    for header in [
        "=",
        "==",
        "=__Host-session",
        ";;;",
        " ; ; ",
        "__Host-session",
        "__Host-session=",
        "__Host-session=\"\"",
        "__Host-session= ; __Host-session=;session",
        "__Host-session=a; __Host-session=b; __Host-session=c",
        "\"__Host-session\"=abc",
    ] {
        let session = load_cart(&manager, &cookie_header(header));
        assert!(session.is_new(), "{header}");
    }
    // Several `Cookie` headers, every one empty-valued.
    let mut headers = HeaderMap::new();
    for _ in 0..100 {
        headers.append(COOKIE, HeaderValue::from_static("__Host-session="));
    }
    assert!(load_cart(&manager, &headers).is_new());
}

#[test]
fn a_session_cookie_past_the_first_64_kib_is_not_examined() {
    let (manager, cookie) = manager_and_cookie();

    // Before the padding: found.
    let pad = format!("pad={}", "x".repeat(MAX_COOKIE_HEADER_BYTES));
    let session = load_cart(&manager, &cookie_header(&format!("{cookie}; {pad}")));
    assert_eq!(*session, Cart::sample());

    // After it: not looked at, and said so.
    let session = load_cart(&manager, &cookie_header(&format!("{pad}; {cookie}")));
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));

    // The budget spans headers.
    let mut headers = HeaderMap::new();
    let half = format!("pad={}", "x".repeat(MAX_COOKIE_HEADER_BYTES / 2));
    headers.append(COOKIE, HeaderValue::from_str(&half).unwrap());
    headers.append(COOKIE, HeaderValue::from_str(&half).unwrap());
    headers.append(COOKIE, HeaderValue::from_str(&cookie).unwrap());
    let session = load_cart(&manager, &headers);
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));
}

#[test]
fn a_session_cookie_past_the_pair_limit_is_not_examined() {
    let (manager, cookie) = manager_and_cookie();
    let pairs = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>();

    let (within, past) = within_and_past(&manager, &cookie, MAX_COOKIE_PAIRS, pairs);
    assert_eq!(*within, Cart::sample());
    assert_eq!(past.fresh_reason(), Some(FreshReason::HeaderTooLarge));
}

#[test]
fn at_most_max_session_candidates_authentic_looking_cookies_are_tried() {
    let (manager, cookie) = manager_and_cookie();
    // The real header and key id with a bad tag: each reaches the AEAD.
    // (Not the last character: that one also carries padding bits.)
    let (name, value) = cookie.split_once('=').unwrap();
    let i = value.len() - 4;
    let flipped = if &value[i..=i] == "A" { "B" } else { "A" };
    let bad = format!("{name}={}{flipped}{}", &value[..i], &value[i + 1..]);
    let forged = |n: usize| vec![bad.clone(); n];

    let (within, past) = within_and_past(&manager, &cookie, MAX_SESSION_CANDIDATES, forged);
    assert_eq!(*within, Cart::sample());
    assert_eq!(past.fresh_reason(), Some(FreshReason::HeaderTooLarge));

    // Garbage fails the cheap checks and costs nothing.
    let garbage = |n: usize| vec!["__Host-session=garbage".to_owned(); n];
    let (within, past) = within_and_past(&manager, &cookie, MAX_SESSION_CANDIDATES, garbage);
    assert_eq!(*within, Cart::sample());
    assert_eq!(*past, Cart::sample());
}

// ---------------------------------------------------------------------------
// Sync use
// ---------------------------------------------------------------------------

#[test]
fn cookie_only_sessions_load_and_save_without_a_runtime() {
    let manager = manager();
    let mut session: Session<Cart> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(Cart::sample());
    let mut response = HeaderMap::new();
    let saved = manager.save_sync(&mut session, &mut response).unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    let session: Session<Cart> = manager.load_sync(&next_request(&response)).unwrap();
    assert_eq!(*session, Cart::sample());
    assert_eq!(session.fresh_reason(), None);
}

#[test]
fn sync_load_and_save_with_a_store_ask_for_async() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .build()
        .unwrap();
    let err = manager.load_sync::<Cart>(&HeaderMap::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreNeedsAsync);

    let mut session: Session<Cart> = self::manager().load_sync(&HeaderMap::new()).unwrap();
    session.set(Cart::sample());
    let mut response = HeaderMap::new();
    let err = manager.save_sync(&mut session, &mut response).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreNeedsAsync);
    assert!(response.is_empty());
}

// ---------------------------------------------------------------------------
// Builder validation
// ---------------------------------------------------------------------------

fn host_codec() -> Codec {
    Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .cookie_name("__Host-session")
        .build()
        .unwrap()
}

fn build_error(builder: sealed_session::SessionManagerBuilder) -> ErrorKind {
    builder.build().unwrap_err().kind()
}

#[test]
fn a_host_prefixed_name_needs_secure_root_path_and_no_domain() {
    let b = || SessionManager::with_codec(host_codec());
    assert!(b().build().is_ok());
    assert_eq!(build_error(b().secure(false)), ErrorKind::CookiePrefix);
    assert_eq!(build_error(b().path("/app")), ErrorKind::CookiePrefix);
    assert_eq!(
        build_error(b().domain("example.com")),
        ErrorKind::CookiePrefix
    );
}

#[test]
fn a_secure_prefixed_name_needs_secure() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .cookie_name("__Secure-session")
        .build()
        .unwrap();
    let b = || SessionManager::with_codec(codec.clone());
    assert!(b().path("/app").domain("example.com").build().is_ok());
    assert_eq!(build_error(b().secure(false)), ErrorKind::CookiePrefix);
}

#[test]
fn same_site_none_or_partitioned_without_secure_is_refused() {
    let b = || SessionManager::with_codec(codec_named("session")).secure(false);
    assert!(b().build().is_ok(), "plain-http development is allowed");
    assert_eq!(
        build_error(b().same_site(SameSite::None)),
        ErrorKind::InsecureAttributes
    );
    assert_eq!(
        build_error(b().partitioned(true)),
        ErrorKind::InsecureAttributes
    );
}

#[test]
fn a_renewal_threshold_outside_zero_to_one_is_refused() {
    for bad in [1.5, -0.1, f64::NAN, f64::INFINITY] {
        assert_eq!(
            build_error(SessionManager::with_codec(codec()).renewal_threshold(bad)),
            ErrorKind::InvalidRenewalThreshold,
            "{bad}"
        );
    }
    for good in [0.0, 0.25, 1.0] {
        assert!(
            SessionManager::with_codec(codec())
                .renewal_threshold(good)
                .build()
                .is_ok()
        );
    }
}

#[test]
fn overflow_to_a_store_without_a_store_is_refused() {
    assert_eq!(
        build_error(SessionManager::with_codec(codec()).overflow(Overflow::Store)),
        ErrorKind::OverflowNeedsStore
    );
}

#[test]
fn bad_path_or_domain_attributes_are_refused() {
    for b in [
        SessionManager::with_codec(codec()).path(""),
        SessionManager::with_codec(codec()).path("/a;b"),
        SessionManager::with_codec(codec()).domain("exa mple.com"),
        SessionManager::with_codec(codec()).path("/".repeat(1025)),
    ] {
        assert_eq!(build_error(b), ErrorKind::InvalidCookieAttribute);
    }
}

#[test]
fn configured_attributes_appear_in_set_cookie() {
    let manager = SessionManager::with_codec(codec())
        .same_site(SameSite::Strict)
        .http_only(false)
        .partitioned(true)
        .persistent(false)
        .build()
        .unwrap();
    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    session.mark_changed();
    let (_, response) = save_sync_at(&manager, &mut session, at(1));
    let line = only_set_cookie(&response);
    let attributes = attributes_of(&line);
    assert!(attributes.contains(&"SameSite=Strict"), "{line}");
    assert!(attributes.contains(&"Partitioned"), "{line}");
    assert!(attributes.contains(&"Secure"), "{line}");
    assert!(!attributes.contains(&"HttpOnly"), "{line}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("Max-Age")),
        "{line}"
    );
}

// ---------------------------------------------------------------------------
// The map session
// ---------------------------------------------------------------------------

#[test]
fn a_map_session_gets_inserts_removes_and_clears() {
    let manager = manager();
    let mut session: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    assert_eq!(session.get::<u64>("user").unwrap(), None);
    assert!(!session.is_changed(), "reading does not mark changed");

    session.insert("user", &42u64).unwrap();
    session.insert("name", "alice").unwrap();
    session.insert("roles", &vec!["admin", "ops"]).unwrap();
    assert!(session.is_changed());
    assert_eq!(session.get::<u64>("user").unwrap(), Some(42));
    assert_eq!(session.get::<String>("name").unwrap(), Some("alice".into()));
    assert_eq!(
        session.get::<Vec<String>>("roles").unwrap(),
        Some(vec!["admin".to_owned(), "ops".to_owned()])
    );
    assert_eq!(session.data().len(), 3);
    assert_eq!(
        session.data().keys().collect::<Vec<_>>(),
        ["name", "roles", "user"]
    );

    let (_, response) = save_sync_at(&manager, &mut session, at(0));
    let request = next_request(&response);

    // Reading and re-inserting identical values: no change, no cookie.
    let mut session: MapSession = load_sync_at(&manager, &request, at(1));
    assert_eq!(session.get::<u64>("user").unwrap(), Some(42));
    assert!(!session.is_changed());
    session.insert("user", &42u64).unwrap();
    session.insert("name", "alice").unwrap();
    assert!(
        !session.is_changed(),
        "identical insert does not mark changed"
    );
    assert!(!session.remove("missing"));
    assert!(
        !session.is_changed(),
        "removing a missing key changes nothing"
    );
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());

    // A different value does.
    session.insert("user", &43u64).unwrap();
    assert!(session.is_changed());

    // Remove, then clear.
    let mut session: MapSession = load_sync_at(&manager, &request, at(1));
    assert!(session.remove("user"));
    assert!(session.is_changed());
    assert_eq!(session.get::<u64>("user").unwrap(), None);
    let (_, response) = save_sync_at(&manager, &mut session, at(1));
    let session: MapSession = load_sync_at(&manager, &next_request(&response), at(2));
    assert!(!session.data().contains_key("user"));
    assert!(session.data().contains_key("name"));

    let mut session: MapSession = load_sync_at(&manager, &request, at(1));
    session.clear();
    assert!(session.is_changed());
    assert!(session.data().is_empty());

    let mut empty: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    empty.clear();
    assert!(!empty.is_changed(), "clearing an empty map changes nothing");
}

#[test]
fn a_map_value_of_the_wrong_type_is_undecodable() {
    let manager = manager();
    let mut session: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    session.insert("user", &42u64).unwrap();
    session.insert("name", "alice").unwrap();
    fn kind<V: std::fmt::Debug>(r: Result<Option<V>, Error>) -> ErrorKind {
        r.unwrap_err().kind()
    }
    assert_eq!(kind(session.get::<String>("user")), ErrorKind::Undecodable);
    assert_eq!(kind(session.get::<bool>("user")), ErrorKind::Undecodable);
    // Decoding a prefix of the value and ignoring the rest is no match
    // either: "alice" is not a u8 (its length byte) plus trailing bytes.
    assert_eq!(kind(session.get::<u8>("name")), ErrorKind::Undecodable);
    assert_eq!(
        kind(session.get::<(u8, u8)>("name")),
        ErrorKind::Undecodable
    );
}

// ---------------------------------------------------------------------------
// The memory store
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_memory_store_holds_its_capacity_under_100_000_inserts() {
    const CAPACITY: u64 = 1 << 20;
    let store = MemoryStore::with_capacity_bytes(CAPACITY);
    assert_eq!(store.capacity_bytes(), CAPACITY);
    let value = vec![0xabu8; 1024];
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    let mut last = StoreId::generate();
    for i in 0..100_000 {
        last = StoreId::generate();
        assert!(store.create(&last, &value, expires_at).await.unwrap());
        if i % 10_000 == 0 {
            assert!(store.weighted_size() <= CAPACITY);
        }
    }
    let _ = last;
    let held = store.weighted_size();
    assert!(held <= CAPACITY, "{held} bytes held, capacity {CAPACITY}");
    assert!(store.entry_count() <= CAPACITY / 1024);
    assert!(store.entry_count() > 0, "the store still holds entries");
}

#[tokio::test]
async fn the_memory_store_does_not_return_expired_entries() {
    let clock = Clock::new();
    let store = clock.store(1 << 20);
    let id = StoreId::generate();
    store.save(&id, b"sealed", at(60)).await.unwrap();
    clock.at(0);
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"sealed"[..])
    );
    clock.at(59);
    assert!(store.load(&id).await.unwrap().is_some());
    clock.at(60);
    assert_eq!(
        store.load(&id).await.unwrap(),
        None,
        "expired at its deadline"
    );
    clock.at(3600);
    assert_eq!(store.load(&id).await.unwrap(), None);
}

#[tokio::test]
async fn memory_store_create_does_not_replace_a_live_entry() {
    let clock = Clock::new();
    let store = clock.store(1 << 20);
    let id = StoreId::generate();
    clock.at(0);
    assert!(store.create(&id, b"first", at(60)).await.unwrap());
    assert!(!store.create(&id, b"second", at(120)).await.unwrap());
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );

    // Once the entry has expired, the id is free again.
    clock.at(60);
    assert!(store.create(&id, b"third", at(120)).await.unwrap());
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"third"[..])
    );

    // save replaces; delete removes.
    store.save(&id, b"fourth", at(120)).await.unwrap();
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"fourth"[..])
    );
    store.delete(&id).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), None);
    store.delete(&id).await.unwrap();
}

// ---------------------------------------------------------------------------
// Thread safety
// ---------------------------------------------------------------------------

#[test]
fn the_manager_is_clone_send_sync_and_stores_work_as_trait_objects() {
    fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_clone_send_sync::<SessionManager>();
    assert_clone_send_sync::<Codec>();
    assert_clone_send_sync::<MemoryStore>();
    assert_clone_send_sync::<Session<Cart>>();
    assert_clone_send_sync::<MapSession>();
    assert_clone_send_sync::<Arc<dyn Store>>();
    assert_send_sync::<dyn Store>();
    assert_send_sync::<Error>();
}

#[tokio::test]
async fn load_and_save_futures_are_send() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .build()
        .unwrap();
    let headers = HeaderMap::new();
    let load = manager.load::<sealed_session::Map>(&headers);
    assert_send(&load);
    drop(load);

    let mut session: MapSession = manager.load(&headers).await.unwrap();
    session.insert("k", &1u8).unwrap();
    let mut response = HeaderMap::new();
    let save = manager.save(&mut session, &mut response);
    assert_send(&save);
    save.await.unwrap();

    // And spawned (which requires `Send + 'static`) on the runtime.
    let spawned = manager.clone();
    let handle = tokio::spawn(async move {
        let mut session: MapSession = spawned.load(&HeaderMap::new()).await?;
        session.insert("big", &vec![1u8; 6000])?;
        let mut response = HeaderMap::new();
        let saved = spawned.save(&mut session, &mut response).await?;
        Ok::<_, Error>((saved, response))
    });
    let (saved, response) = handle.await.unwrap().unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let session: MapSession = manager.load(&next_request(&response)).await.unwrap();
    assert_eq!(
        session.get::<Vec<u8>>("big").unwrap(),
        Some(vec![1u8; 6000])
    );
}

// ---------------------------------------------------------------------------
// Writes nothing the handler asked for: a failure keeps the old cookie
// ---------------------------------------------------------------------------

#[test]
fn a_reseal_under_a_new_primary_that_no_longer_fits_keeps_the_old_cookie() {
    // A session sealed under AES-256-GCM, as close to the limit as it gets.
    let old_key = Key::generate().with_algorithm(sealed_session::Algorithm::Aes256Gcm);
    let old = SessionManager::with_codec(codec_with(KeyRing::new([old_key.clone()]).unwrap()))
        .build()
        .unwrap();
    let fits = (0..4096)
        .rev()
        .find(|&n| old.codec().sealed_size(&blob(n)).unwrap() <= MAX_COOKIE_BYTES)
        .unwrap();
    let mut session: Session<Blob> = load_sync_at(&old, &HeaderMap::new(), at(0));
    session.set(blob(fits));
    let (_, response) = save_sync_at(&old, &mut session, at(0));
    let request = next_request(&response);

    // The documented move to XAES-256-GCM adds 12 bytes of nonce: the
    // re-seal is too large, and nothing the handler did requires it.
    let new_key = Key::generate();
    let rotated = SessionManager::with_codec(codec_with(KeyRing::new([new_key, old_key]).unwrap()))
        .build()
        .unwrap();
    let mut session: Session<Blob> = load_sync_at(&rotated, &request, at(1));
    assert!(!session.opened_with().unwrap().is_primary());
    let (saved, response) = save_sync_at(&rotated, &mut session, at(1));
    assert!(
        matches!(
            saved,
            Saved::Kept {
                cause: ErrorKind::TooLarge { .. }
            }
        ),
        "{saved:?}"
    );
    assert!(response.is_empty(), "the client keeps its cookie");
    // It still opens, and the read-only request did not fail.
    let again: Session<Blob> = load_sync_at(&rotated, &request, at(2));
    assert_eq!(*again, blob(fits));

    // A change the handler made must be written: then it is an error.
    session.set(blob(fits + 1));
    let mut response = HeaderMap::new();
    let err = rotated
        .save_sync_at(&mut session, &mut response, at(2))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }));
}

#[tokio::test]
async fn a_renewal_while_the_store_is_down_keeps_the_old_cookie() {
    let store = Arc::new(FlakyStore {
        inner: MemoryStore::new(),
        fail: AtomicBool::new(false),
    });
    // Renew on every request (the memory store runs on the real clock).
    let manager = SessionManager::with_codec(codec())
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .renewal_threshold(0.0)
        .build()
        .unwrap();
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let request = next_request(&response);

    // The renewal writes the store, which goes down after the load.
    let mut session: Session<Blob> = manager.load(&request).await.unwrap();
    assert!(!session.is_new());
    store.set_down(true);
    let mut response = HeaderMap::new();
    let saved = manager.save(&mut session, &mut response).await.unwrap();
    assert_eq!(
        saved,
        Saved::Kept {
            cause: ErrorKind::Store
        }
    );
    assert!(response.is_empty());
    store.set_down(false);
    let session: Session<Blob> = manager.load(&request).await.unwrap();
    assert_eq!(*session, blob(6000));

    // A change the handler made is still an error when the store is down.
    let mut session = session;
    session.set(blob(6001));
    store.set_down(true);
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
}

#[tokio::test]
async fn the_smallest_size_limit_still_holds_a_pointer_cookie() {
    // Spilling seals the pointer before writing the store; the limit can
    // never be too small for it, because build refuses such limits.
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let err = Codec::builder(ring.clone())
        .size_limit(64)
        .build()
        .unwrap_err();
    let ErrorKind::InvalidSizeLimit { min, .. } = err.kind() else {
        panic!("{err:?}");
    };
    let codec = Codec::builder(ring).size_limit(min).build().unwrap();
    let fx = Stored::with_codec(codec);
    let (session, response) = fx.spill(100).await;
    assert_eq!(session.location(), Location::Store);
    let line = only_set_cookie(&response);
    assert!(pair_of(&line).len() <= min, "{line}");
    let back: Session<Blob> = fx.load(&next_request(&response), 1).await;
    assert_eq!(*back, blob(100));
}

#[tokio::test]
async fn a_stored_session_over_the_maximum_is_too_large() {
    let clock = Clock::new();
    let store: Arc<dyn Store> = Arc::new(clock.store(16 << 20));
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .max_stored_bytes(10_000)
        .build()
        .unwrap();
    let mut session: Session<Blob> = load_at(&manager, &HeaderMap::new(), clock.at(0)).await;
    session.set(blob(20_000));
    let mut response = HeaderMap::new();
    let err = manager
        .save_at(&mut session, &mut response, clock.at(0))
        .await
        .unwrap_err();
    let ErrorKind::TooLarge { size, limit } = err.kind() else {
        panic!("{err:?}");
    };
    assert!(size > 20_000);
    assert_eq!(limit, 10_000);
    assert!(response.is_empty());
    session.set(blob(9_000));
    let (saved, _) = save_at(&manager, &mut session, clock.at(0)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
}

#[test]
fn session_times_are_whole_seconds_like_the_sealed_value() {
    let manager = manager();
    let now = at(0) + Duration::from_millis(999);
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), now);
    session.set(Cart::sample());
    let (_, response) = save_sync_at(&manager, &mut session, now);
    let times = session.times().unwrap();
    assert_eq!(times.issued_at, at(0));
    assert_eq!(times.renewed_at, at(0));
    // What the next request opens agrees with what save reported.
    let opened: Session<Cart> = load_sync_at(&manager, &next_request(&response), now);
    assert_eq!(opened.times(), Some(times));
}

#[test]
fn a_fresh_session_behind_an_oversized_header_is_not_written_over_the_real_one() {
    let (manager, cookie) = manager_and_cookie();
    let pad = format!("pad={}", "x".repeat(MAX_COOKIE_HEADER_BYTES));
    let request = cookie_header(&format!("{pad}; {cookie}"));
    let mut session = load_cart(&manager, &request);
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));
    session.items.push("pen".to_owned());
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::NotOverwritten);
    assert!(response.is_empty(), "the real session is left alone");
    // A login regenerates: that is written.
    session.regenerate();
    let (saved, _) = save_sync_at(&manager, &mut session, at(1));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
}
