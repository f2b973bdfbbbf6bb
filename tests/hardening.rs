//! Regression tests for the hardening issue, through the public API: each
//! test is named after the attack or failure it pins.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt::Debug;
use std::time::Duration;

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::store::StoreId;
use sealed_session::{
    Algorithm, Codec, ErrorKind, Key, KeyRing, MapSession, Session, SessionManager,
};
use serde::{Deserialize, Serialize};

/// What must never appear in a log line.
const MARKER: &str = "s3cr3t-csrf-token";

/// Session data holding a secret; it derives `Debug`, so a `Debug` that
/// printed the data would print the marker.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct Secrets {
    csrf: String,
}

impl Secrets {
    fn marked() -> Self {
        Self {
            csrf: MARKER.to_owned(),
        }
    }
}

/// Session data with no `Debug` at all.
#[derive(Serialize, Deserialize, Clone, Default)]
struct NoDebug {
    csrf: String,
}

fn codec() -> Codec {
    Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap()
}

fn manager() -> SessionManager {
    SessionManager::with_codec(codec()).build().unwrap()
}

/// Both `Debug` forms of `value`, asserting neither holds the marker.
fn assert_no_marker(value: &impl Debug) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(!text.contains(MARKER), "debug leaks session data: {text}");
        assert!(!text.contains("csrf"), "debug leaks field names: {text}");
    }
}

/// The `Cookie` request header that returns the cookie `headers` set.
fn cookie_header(headers: &HeaderMap) -> HeaderMap {
    let set_cookie = headers[SET_COOKIE].to_str().unwrap();
    let pair = set_cookie.split(';').next().unwrap();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, pair.parse().unwrap());
    request
}

// ---------------------------------------------------------------------------
// Session data in `Debug`
// ---------------------------------------------------------------------------

#[test]
fn session_debug_does_not_leak_data() {
    let manager = manager();
    let mut session: Session<Secrets> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(Secrets::marked());
    assert_no_marker(&session);
    let text = format!("{session:?}");
    assert!(text.contains("changed: true"), "{text}");
    assert!(text.ends_with(".. }"), "non-exhaustive: {text}");

    // Opened from a cookie: metadata about the key is shown, still no data.
    let mut response = HeaderMap::new();
    manager.save_sync(&mut session, &mut response).unwrap();
    let opened: Session<Secrets> = manager.load_sync(&cookie_header(&response)).unwrap();
    assert_eq!(opened.data(), &Secrets::marked());
    assert_no_marker(&opened);
    assert!(format!("{opened:?}").contains("opened_with"));
}

#[test]
fn session_debug_needs_no_debug_on_the_data() {
    let mut session: Session<NoDebug> = manager().load_sync(&HeaderMap::new()).unwrap();
    session.csrf = MARKER.to_owned();
    assert_no_marker(&session);
}

#[test]
fn map_debug_does_not_leak_data() {
    let manager = manager();
    let mut session: MapSession = manager.load_sync(&HeaderMap::new()).unwrap();
    session.insert("csrf", MARKER).unwrap();
    session.insert("user", &7u64).unwrap();
    assert_no_marker(&session);
    assert_no_marker(session.data());
    let text = format!("{:?}", session.data());
    assert_eq!(text, "Map { len: 2, .. }");
}

#[test]
fn opened_debug_does_not_leak_data() {
    let codec = codec();
    let sealed = codec.seal(&Secrets::marked()).unwrap();
    let opened = codec.open::<Secrets>(sealed.value()).unwrap();
    assert_eq!(opened.value(), &Secrets::marked());
    assert_no_marker(&opened);
    assert!(format!("{opened:?}").contains("opened_with"));

    let sealed = codec
        .seal(&NoDebug {
            csrf: MARKER.to_owned(),
        })
        .unwrap();
    let opened = codec.open::<NoDebug>(sealed.value()).unwrap();
    assert_no_marker(&opened);
}

#[cfg(feature = "tower")]
#[test]
fn session_handle_debug_does_not_leak_data() {
    use sealed_session::tower::SessionHandle;
    let manager = manager();
    let mut session: Session<Secrets> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(Secrets::marked());
    let handle = SessionHandle::new(manager, session);
    assert_no_marker(&handle);
}

// ---------------------------------------------------------------------------
// Cookie prefixes are matched case-insensitively, as browsers do
// ---------------------------------------------------------------------------

fn named(name: &str) -> sealed_session::SessionManagerBuilder {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .cookie_name(name)
        .build()
        .unwrap();
    SessionManager::with_codec(codec)
}

fn prefix_error(builder: sealed_session::SessionManagerBuilder) -> ErrorKind {
    builder.build().unwrap_err().kind()
}

#[test]
fn rejects_uppercase_host_prefix_without_secure() {
    assert_eq!(
        prefix_error(named("__HOST-s").secure(false)),
        ErrorKind::CookiePrefix
    );
    assert_eq!(
        prefix_error(named("__HOST-s").path("/app")),
        ErrorKind::CookiePrefix
    );
    assert_eq!(
        prefix_error(named("__HOST-s").domain("example.com")),
        ErrorKind::CookiePrefix
    );
    assert!(named("__HOST-s").build().is_ok());
}

#[test]
fn rejects_uppercase_secure_prefix_without_secure() {
    assert_eq!(
        prefix_error(named("__SECURE-s").secure(false)),
        ErrorKind::CookiePrefix
    );
    assert!(named("__SECURE-s").path("/app").build().is_ok());
}

#[test]
fn rejects_mixed_case_prefixes_without_secure() {
    for name in ["__host-s", "__HoSt-s", "__secure-s", "__sEcUrE-s"] {
        assert_eq!(
            prefix_error(named(name).secure(false)),
            ErrorKind::CookiePrefix,
            "{name}"
        );
    }
    assert_eq!(
        prefix_error(named("__hOsT-s").path("/app")),
        ErrorKind::CookiePrefix
    );
    // Names that only resemble a prefix are not held to it.
    for name in ["__Hostess", "_Host-s", "x__Secure-s"] {
        assert!(named(name).secure(false).build().is_ok(), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Renewal threshold arithmetic cannot panic
// ---------------------------------------------------------------------------

fn codec_with_idle(idle: Duration, absolute: Duration) -> Codec {
    Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .idle_timeout(idle)
        .absolute_timeout(absolute)
        .build()
        .unwrap()
}

#[test]
fn huge_idle_timeout_with_full_threshold_is_an_error_not_a_panic() {
    let codec = codec_with_idle(Duration::MAX, Duration::MAX);
    let built = SessionManager::with_codec(codec.clone())
        .renewal_threshold(1.0)
        .build();
    assert_eq!(built.unwrap_err().kind(), ErrorKind::RenewalOverflow);
    // Thresholds whose share fits still build, and renewal still works.
    for fraction in [0.0, 0.5, 0.9] {
        let manager = SessionManager::with_codec(codec.clone())
            .renewal_threshold(fraction)
            .build()
            .unwrap();
        let mut session: Session<u32> = manager.load_sync(&HeaderMap::new()).unwrap();
        session.set(1);
        let mut response = HeaderMap::new();
        manager.save_sync(&mut session, &mut response).unwrap();
        let again: Session<u32> = manager.load_sync(&cookie_header(&response)).unwrap();
        assert_eq!(*again, 1);
    }
}

#[test]
fn nan_or_infinite_renewal_threshold_is_rejected() {
    let codec = codec_with_idle(Duration::MAX, Duration::MAX);
    for fraction in [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.1,
        1.1,
    ] {
        let built = SessionManager::with_codec(codec.clone())
            .renewal_threshold(fraction)
            .build();
        assert_eq!(
            built.unwrap_err().kind(),
            ErrorKind::InvalidRenewalThreshold,
            "{fraction}"
        );
    }
}

// ---------------------------------------------------------------------------
// `Algorithm::ALL` is a slice, so adding an algorithm is not a breaking change
// ---------------------------------------------------------------------------

#[test]
fn algorithm_all_is_a_slice_of_every_known_wire_id() {
    let all: &'static [Algorithm] = Algorithm::ALL;
    let known: Vec<Algorithm> = (0..=u8::MAX).filter_map(Algorithm::from_wire_id).collect();
    assert_eq!(all, known.as_slice());
    for &algorithm in all {
        assert_eq!(algorithm.name().parse::<Algorithm>().unwrap(), algorithm);
    }
}

// ---------------------------------------------------------------------------
// A store id is a bearer credential: `Display` redacts it
// ---------------------------------------------------------------------------

#[test]
fn store_id_display_is_redacted() {
    let id = StoreId::generate();
    let hex = id.to_hex();
    assert_eq!(hex.len(), 32);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let shown = [
        id.to_string(),
        format!("{id}"),
        format!("{id:?}"),
        format!("{id:#?}"),
    ];
    for text in &shown {
        // Not the whole id, nor any 9 of its hex digits in a row.
        assert!(!text.contains(&hex), "{text}");
        for window in hex.as_bytes().windows(9) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!text.contains(window), "{text} shows {window}");
        }
    }
    assert_eq!(id.to_string(), format!("{}…", &hex[..8]));
    assert_eq!(format!("{id:?}"), format!("StoreId({}…)", &hex[..8]));
    assert_eq!(StoreId::from_bytes(id.to_bytes()).to_hex(), hex);
}
