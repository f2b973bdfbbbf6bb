//! Helpers the store tests share: server URLs from the environment, unique
//! names, a manager over a store, and cookies carried between requests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use sealed_session::store::Store;
use sealed_session::{Codec, Key, KeyRing, SessionManager};

/// The value of `name`, or a panic saying how to start the servers.
pub(crate) fn server_url(name: &str) -> String {
    match std::env::var(name) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{name} is not set: this test needs a real server; run \
             `source scripts/services.sh && start_services` first, or leave out \
             --include-ignored / --ignored"
        ),
    }
}

/// A name no other test in this run (or an earlier run) uses.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random: u32 = rand::random();
    format!("{prefix}_{nanos:x}_{random:08x}")
}

/// A manager over `store` with an insecure cookie (plain-HTTP tests).
pub(crate) fn manager(store: Arc<dyn Store>) -> SessionManager {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let codec = Codec::builder(ring).cookie_name("sid").build().unwrap();
    SessionManager::with_codec(codec)
        .store(store)
        .secure(false)
        .build()
        .unwrap()
}

/// The request headers a browser sends back after `response`.
pub(crate) fn cookie_from(response: &HeaderMap) -> HeaderMap {
    let set_cookie = response
        .get("set-cookie")
        .expect("response sets a cookie")
        .to_str()
        .unwrap();
    let pair = set_cookie.split(';').next().unwrap();
    let mut request = HeaderMap::new();
    request.insert("cookie", pair.parse().unwrap());
    request
}

/// `len` bytes that do not compress or repeat.
pub(crate) fn noise(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    bytes
}
