//! Configuration errors: `SessionManagerBuilder::build` refuses cookie
//! prefixes without their rules, insecure attribute combinations, a renewal
//! threshold outside 0..=1, overflow to a missing store and malformed paths
//! or domains.

use sealed_session::{Codec, ErrorKind, Key, KeyRing, Overflow, SameSite, SessionManager};

use crate::fixtures::{codec, codec_named};

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
