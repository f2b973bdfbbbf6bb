//! One obvious setup: `SessionManager::builder(ring)` takes every setting
//! and reports every conflict at its one `build()`; the lower layers stay
//! usable on their own.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Duration;

use http::HeaderMap;
use sealed_session::{Codec, ErrorKind, Key, KeyRing, SessionManager};

fn ring() -> KeyRing {
    KeyRing::new([Key::generate()]).unwrap()
}

fn kind(result: Result<SessionManager, sealed_session::Error>) -> ErrorKind {
    result.unwrap_err().kind()
}

#[test]
fn one_builder_takes_codec_settings_and_cookie_attributes() {
    let manager = SessionManager::builder(ring())
        .cookie_name("sid")
        .idle_timeout(Duration::from_secs(600))
        .absolute_timeout(Duration::from_secs(3600))
        .size_limit(2048)
        .path("/app")
        .secure(false)
        .build()
        .unwrap();
    let codec = manager.codec();
    assert_eq!(codec.cookie_name(), "sid");
    assert_eq!(codec.idle_timeout(), Duration::from_secs(600));
    assert_eq!(codec.absolute_timeout(), Duration::from_secs(3600));
    assert_eq!(codec.size_limit(), 2048);

    let mut session = manager.load_sync::<u32>(&HeaderMap::new()).unwrap();
    *session = 1;
    let mut response = HeaderMap::new();
    manager.save_sync(&mut session, &mut response).unwrap();
    let line = response["set-cookie"].to_str().unwrap();
    assert!(line.starts_with("sid="), "{line}");
    assert!(
        line.contains("Path=/app") && !line.contains("Secure"),
        "{line}"
    );
}

#[test]
fn a_conflict_between_codec_and_attributes_is_reported_at_the_one_build() {
    // The default name is `__Host-session`: it needs Secure, Path=/ and no
    // Domain, and the one build() says so.
    assert_eq!(
        kind(SessionManager::builder(ring()).secure(false).build()),
        ErrorKind::CookiePrefix
    );
    assert_eq!(
        kind(SessionManager::builder(ring()).path("/app").build()),
        ErrorKind::CookiePrefix
    );
    assert_eq!(
        kind(
            SessionManager::builder(ring())
                .domain("example.com")
                .build()
        ),
        ErrorKind::CookiePrefix
    );
    // Codec errors come from the same build().
    assert_eq!(
        kind(
            SessionManager::builder(ring())
                .idle_timeout(Duration::from_secs(10))
                .absolute_timeout(Duration::from_secs(5))
                .build()
        ),
        ErrorKind::TimeoutsOutOfOrder
    );
    assert_eq!(
        kind(SessionManager::builder(ring()).cookie_name("a b").build()),
        ErrorKind::InvalidCookieName
    );
}

#[test]
fn codec_settings_on_a_ready_made_codec_are_an_error() {
    let codec = Codec::builder(ring()).cookie_name("sid").build().unwrap();
    // The lower layer on its own works as before.
    let manager = SessionManager::with_codec(codec.clone()).build().unwrap();
    assert_eq!(manager.codec().cookie_name(), "sid");
    // A codec setting given twice is not silently dropped.
    let err = SessionManager::with_codec(codec)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CodecAlreadyBuilt);
    assert!(err.to_string().contains("SessionManager::builder"), "{err}");
}
