//! What every lifecycle test uses: the clock, cookies between requests,
//! loads and saves run to completion on this thread.

use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sealed_session::{Key, Session, SessionManager};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) const S: Duration = Duration::from_secs(1);
pub(crate) const HOUR: Duration = Duration::from_secs(3600);
pub(crate) const DAY: Duration = Duration::from_secs(86_400);

/// The test clock: `offset` after a fixed start.
pub(crate) fn at(offset: Duration) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + offset
}

thread_local! {
    static RUNTIME: RefCell<tokio::runtime::Runtime> = RefCell::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap(),
    );
}

/// Runs `future` to completion on this thread.
pub(crate) fn join<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.borrow().block_on(future))
}

/// A request carrying `header` as its `Cookie` header.
pub(crate) fn request(header: &str) -> HeaderMap {
    let mut request = HeaderMap::new();
    request.insert(COOKIE, HeaderValue::from_str(header).unwrap());
    request
}

/// The `name=value` the response's `Set-Cookie` sets, or `None` when it
/// sets none or removes the cookie.
pub(crate) fn cookie_of(response: &HeaderMap) -> Option<String> {
    let line = response.get(SET_COOKIE)?.to_str().unwrap();
    let pair = line.split(';').next().unwrap();
    (!pair.ends_with('=')).then(|| pair.to_owned())
}

pub(crate) fn load<T: DeserializeOwned + Default + 'static>(
    manager: &SessionManager,
    request: &HeaderMap,
    now: SystemTime,
) -> Session<T> {
    join(manager.load_at(request, now)).unwrap()
}

/// Saves the session at `now`: the response headers.
pub(crate) fn save<T: Serialize + DeserializeOwned + 'static>(
    manager: &SessionManager,
    session: &mut Session<T>,
    now: SystemTime,
) -> HeaderMap {
    let mut response = HeaderMap::new();
    join(manager.save_at(session, &mut response, now)).unwrap();
    response
}

mod v1 {
    #![allow(dead_code)]
    include!("../vectors/v1.rs");

    /// The first vector's algorithm, key, cookie name, cookie value and
    /// issue time (seconds).
    pub(crate) fn first() -> (&'static str, &'static str, &'static str, &'static str, u64) {
        let v = VECTORS.first().unwrap();
        (v.algorithm, v.key, v.cookie_name, v.cookie, v.issued_at)
    }
}

/// The shape of the frozen vectors' payload (`tests/vectors/v1.rs`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default, PartialEq, Eq)]
pub(crate) struct LegacyPayload {
    user_id: u64,
    name: String,
    role: LegacyRole,
    last_page: Option<String>,
    csrf: [u8; 8],
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Default, PartialEq, Eq)]
enum LegacyRole {
    #[default]
    Member,
    Admin,
}

/// The first frozen version-1 vector: its key, cookie name, cookie value
/// and issue time.
pub(crate) fn legacy_v1_cookie() -> (Key, &'static str, &'static str, SystemTime) {
    let (algorithm, key, name, cookie, issued_at) = v1::first();
    let algorithm: sealed_session::Algorithm = algorithm.parse().unwrap();
    let key = Key::from_base64(key).unwrap().with_algorithm(algorithm);
    (
        key,
        name,
        cookie,
        UNIX_EPOCH + Duration::from_secs(issued_at),
    )
}
