//! The one set of fixtures: session types, codecs and managers, the
//! `Stored` harness (a manager over a memory store on an injected clock),
//! what a browser does with `Set-Cookie`, and load/save without the
//! `Result`s.

#[cfg(feature = "memory")]
use std::sync::Arc;
#[cfg(feature = "memory")]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
#[cfg(feature = "memory")]
use sealed_session::store::{MemoryStore, Store, StoreId};
use sealed_session::{Codec, Key, KeyRing, Saved, Session, SessionManager};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Session types, codecs, managers
// ---------------------------------------------------------------------------

/// A typical small session.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cart {
    pub(crate) user: Option<u64>,
    pub(crate) items: Vec<String>,
}

impl Cart {
    pub(crate) fn sample() -> Self {
        Self {
            user: Some(7),
            items: vec!["book".to_owned(), "lamp".to_owned()],
        }
    }
}

/// Another session type, whose postcard a `Cart` cookie is not.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counter {
    pub(crate) hits: u64,
}

/// A session whose size a test controls.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Blob {
    pub(crate) note: String,
    pub(crate) bytes: Vec<u8>,
}

/// A blob with `len` payload bytes (a fixed pattern: postcard does not
/// compress, so its size is what matters).
pub(crate) fn blob(len: usize) -> Blob {
    Blob {
        note: format!("blob of {len}"),
        bytes: (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect(),
    }
}

pub(crate) const IDLE: Duration = Duration::from_secs(60 * 60);
pub(crate) const ABSOLUTE: Duration = Duration::from_secs(8 * 60 * 60);
pub(crate) const T0_SECS: u64 = 1_700_000_000;

/// `secs` seconds after a whole-second instant well after the epoch.
pub(crate) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0_SECS + secs)
}

pub(crate) fn codec_with(ring: KeyRing) -> Codec {
    Codec::builder(ring)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .build()
        .unwrap()
}

pub(crate) fn codec() -> Codec {
    codec_with(KeyRing::new([Key::generate()]).unwrap())
}

/// As [`codec`], under a cookie name without the `__Host-` prefix (for
/// paths, domains and plain-http development).
pub(crate) fn codec_named(name: &str) -> Codec {
    Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .cookie_name(name)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .build()
        .unwrap()
}

/// A cookie-only manager (no store), idle 1 h, absolute 8 h.
pub(crate) fn manager() -> SessionManager {
    SessionManager::with_codec(codec()).build().unwrap()
}

// ---------------------------------------------------------------------------
// The memory store on an injected clock (feature `memory`)
// ---------------------------------------------------------------------------

/// A clock shared by a test and its stores, in seconds after the epoch.
#[cfg(feature = "memory")]
#[derive(Clone)]
pub(crate) struct Clock(Arc<AtomicU64>);

#[cfg(feature = "memory")]
impl Clock {
    pub(crate) fn new() -> Self {
        Self(Arc::new(AtomicU64::new(T0_SECS)))
    }

    /// Moves the clock to `at(secs)` and returns that instant.
    pub(crate) fn at(&self, secs: u64) -> SystemTime {
        self.0.store(T0_SECS + secs, Ordering::SeqCst);
        at(secs)
    }

    pub(crate) fn store(&self, capacity: u64) -> MemoryStore {
        let now = Arc::clone(&self.0);
        MemoryStore::with_capacity_bytes(capacity)
            .with_clock(move || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst)))
    }
}

/// A manager over a memory store that runs on an injected clock; `store` is
/// a handle on the same entries, for checking them.
#[cfg(feature = "memory")]
pub(crate) struct Stored {
    pub(crate) clock: Clock,
    pub(crate) store: MemoryStore,
    pub(crate) manager: SessionManager,
}

#[cfg(feature = "memory")]
impl Stored {
    pub(crate) fn new() -> Self {
        Self::with_codec(codec())
    }

    pub(crate) fn with_codec(codec: Codec) -> Self {
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

    pub(crate) fn at(&self, secs: u64) -> SystemTime {
        self.clock.at(secs)
    }

    pub(crate) async fn entry(&self, id: StoreId) -> Option<Vec<u8>> {
        self.store.load(&id).await.unwrap()
    }

    /// Loads the session `request` carries, with the clock moved to
    /// `at(secs)`.
    pub(crate) async fn load<T: DeserializeOwned + Default + 'static>(
        &self,
        request: &HeaderMap,
        secs: u64,
    ) -> Session<T> {
        load_at(&self.manager, request, self.at(secs)).await
    }

    /// Saves `session` with the clock moved to `at(secs)`: what was saved
    /// and the response's headers.
    pub(crate) async fn save<T: Serialize + DeserializeOwned + 'static>(
        &self,
        session: &mut Session<T>,
        secs: u64,
    ) -> (Saved, HeaderMap) {
        save_at(&self.manager, session, self.at(secs)).await
    }

    /// A new session set to `blob(len)` and saved at `at(0)` (6 000 bytes
    /// spill to the store): the session and the response's headers.
    pub(crate) async fn spill(&self, len: usize) -> (Session<Blob>, HeaderMap) {
        let mut session: Session<Blob> = self.load(&HeaderMap::new(), 0).await;
        session.set(blob(len));
        let (_, response) = self.save(&mut session, 0).await;
        (session, response)
    }
}

// ---------------------------------------------------------------------------
// Header helpers: what a browser does with Set-Cookie
// ---------------------------------------------------------------------------

pub(crate) fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The one `Set-Cookie` in `headers` (fails the test if there is not
/// exactly one).
pub(crate) fn only_set_cookie(headers: &HeaderMap) -> String {
    let all = set_cookies(headers);
    assert_eq!(all.len(), 1, "expected exactly one Set-Cookie: {all:?}");
    all.into_iter().next().unwrap()
}

/// `name=value` of a `Set-Cookie` line.
pub(crate) fn pair_of(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

/// The value of a `Set-Cookie` line.
pub(crate) fn value_of(set_cookie: &str) -> &str {
    pair_of(set_cookie).split_once('=').unwrap().1
}

/// The attributes of a `Set-Cookie` line.
pub(crate) fn attributes_of(set_cookie: &str) -> Vec<&str> {
    set_cookie.split("; ").skip(1).collect()
}

pub(crate) fn max_age_of(set_cookie: &str) -> u64 {
    attributes_of(set_cookie)
        .iter()
        .find_map(|a| a.strip_prefix("Max-Age="))
        .expect("a Max-Age attribute")
        .parse()
        .unwrap()
}

/// Request headers with one `Cookie` header.
pub(crate) fn cookie_header(cookies: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, HeaderValue::from_str(cookies).unwrap());
    headers
}

/// The next request's headers, carrying the cookie the response set, as a
/// browser sends it back.
pub(crate) fn next_request(response: &HeaderMap) -> HeaderMap {
    cookie_header(pair_of(&only_set_cookie(response)))
}

// ---------------------------------------------------------------------------
// Load and save, unwrapped, each save into a fresh response
// ---------------------------------------------------------------------------

/// The session `request` carries, loaded at `now` without a runtime.
pub(crate) fn load_sync_at<T: DeserializeOwned + Default + 'static>(
    manager: &SessionManager,
    request: &HeaderMap,
    now: SystemTime,
) -> Session<T> {
    manager.load_sync_at(request, now).unwrap()
}

/// Saves `session` at `now` without a runtime: what was saved and the
/// response's headers.
pub(crate) fn save_sync_at<T: Serialize + DeserializeOwned + 'static>(
    manager: &SessionManager,
    session: &mut Session<T>,
    now: SystemTime,
) -> (Saved, HeaderMap) {
    let mut response = HeaderMap::new();
    let saved = manager.save_sync_at(session, &mut response, now).unwrap();
    (saved, response)
}

/// The session `request` carries, loaded at `now`.
pub(crate) async fn load_at<T: DeserializeOwned + Default + 'static>(
    manager: &SessionManager,
    request: &HeaderMap,
    now: SystemTime,
) -> Session<T> {
    manager.load_at(request, now).await.unwrap()
}

/// Saves `session` at `now`: what was saved and the response's headers.
pub(crate) async fn save_at<T: Serialize + DeserializeOwned + 'static>(
    manager: &SessionManager,
    session: &mut Session<T>,
    now: SystemTime,
) -> (Saved, HeaderMap) {
    let mut response = HeaderMap::new();
    let saved = manager.save_at(session, &mut response, now).await.unwrap();
    (saved, response)
}

/// The cookie value a session's save emitted, sealed at `t0`.
pub(crate) fn sealed_cart(manager: &SessionManager, cart: Cart, now: SystemTime) -> String {
    let mut session: Session<Cart> = load_sync_at(manager, &HeaderMap::new(), now);
    session.set(cart);
    let (_, response) = save_sync_at(manager, &mut session, now);
    pair_of(&only_set_cookie(&response)).to_owned()
}

/// A cookie-only manager and the `name=value` of a cookie it sealed for
/// `Cart::sample()` at `at(0)`.
pub(crate) fn manager_and_cookie() -> (SessionManager, String) {
    let manager = manager();
    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    (manager, cookie)
}

/// Flips one character in the middle of a cookie's value.
pub(crate) fn tamper(pair: &str) -> String {
    let mut bytes = pair.as_bytes().to_vec();
    let i = pair.find('=').unwrap() + (pair.len() - pair.find('=').unwrap()) / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}
