//! Arbitrary bytes split at newlines into `Cookie` header values (invalid
//! values skipped), loaded by a manager without a store. Nothing the fuzzer
//! writes authenticates, so every load gives a fresh, empty session whose
//! reason is one a client can cause without a key.

#![no_main]

use fuzz_support::{FuzzSession, cookie_manager, now};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sealed_session::{FreshReason, Location, Map, Session};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for part in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(COOKIE, value);
        }
    }
    let manager = cookie_manager();
    let typed = manager
        .load_sync_at::<FuzzSession>(&headers, now())
        .expect("a load without a store never fails");
    check(&typed);
    assert_eq!(typed.data(), &FuzzSession::default());
    let map = manager
        .load_sync_at::<Map>(&headers, now())
        .expect("a load without a store never fails");
    check(&map);
    assert!(map.data().is_empty());
});

fn check<T>(session: &Session<T>) {
    assert!(session.is_new());
    assert_eq!(session.location(), Location::None);
    assert!(session.opened_with().is_none());
    assert!(session.times().is_none());
    assert!(!session.is_changed());
    // Expired, Undecodable and MissingFromStore need a value that
    // authenticated; HeaderTooLarge needs only a long header.
    assert!(
        matches!(
            session.fresh_reason(),
            Some(FreshReason::NoCookie | FreshReason::Rejected | FreshReason::HeaderTooLarge)
        ),
        "unexpected reason {:?}",
        session.fresh_reason()
    );
}
