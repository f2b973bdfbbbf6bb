//! Reading the `Cookie` header(s): several cookies with the session's
//! name (the valid one wins, else the most telling reason), every header
//! searched, degenerate and non-UTF-8 pairs, the byte cap's edge, and a
//! session hidden by the caps never overwritten. Hostile headers at scale,
//! and the edges of the pair and AEAD caps, are in `tests/hostile.rs`.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sealed_session::limits::MAX_COOKIE_HEADER_BYTES;
use sealed_session::{FreshReason, Saved, Session, SessionManager};

use crate::fixtures::{
    Cart, at, cookie_header, load_sync_at, manager, manager_and_cookie, save_sync_at, sealed_cart,
    tamper,
};

fn load_cart(manager: &SessionManager, headers: &HeaderMap) -> Session<Cart> {
    manager.load_sync_at(headers, at(1)).unwrap()
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
