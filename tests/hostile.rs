//! Hostile `Cookie` headers: huge, thousands of pairs, many headers,
//! non-UTF-8, tossed cookies. Each gives a fresh session without panicking,
//! and a valid cookie past the caps is not even looked at (so the work stays
//! bounded: at most `MAX_COOKIE_HEADER_BYTES` bytes, `MAX_COOKIE_PAIRS` pairs
//! and `MAX_SESSION_CANDIDATES` AEAD opens per request; just within each
//! cap it still opens), while junk that fails the cheap checks costs none of
//! the AEAD budget. A session the caps hid is reported as `HeaderTooLarge`.
//! These tests check results only; the cost is measured in the benchmarks.
//! The everyday header cases (several session cookies, degenerate pairs,
//! the byte cap's edge) are in `tests/session/headers.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sealed_session::limits::{MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS, MAX_SESSION_CANDIDATES};
use sealed_session::{Codec, FreshReason, Key, KeyRing, MapSession, Session, SessionManager};

const MIB: usize = 1024 * 1024;
const PAIRS: usize = 50_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn manager() -> SessionManager {
    let key = Key::from_bytes(&[7; 32]).unwrap();
    let codec = Codec::builder(KeyRing::new([key]).unwrap())
        .build()
        .unwrap();
    SessionManager::with_codec(codec).build().unwrap()
}

/// A valid `__Host-session=…` pair for `manager`, holding 42.
fn valid_pair(manager: &SessionManager) -> String {
    let mut session = load(manager, &HeaderMap::new());
    *session = 42;
    let mut response = HeaderMap::new();
    manager
        .save_sync_at(&mut session, &mut response, now())
        .unwrap();
    let set_cookie = response[SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// `count` pairs `name=value` (name and value from `pair(i)`), joined by
/// `; `, padded with a last filler pair to exactly `len` bytes.
fn header_bytes(count: usize, len: usize, pair: impl Fn(usize) -> String) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    for i in 0..count {
        if i > 0 {
            out.extend_from_slice(b"; ");
        }
        out.extend_from_slice(pair(i).as_bytes());
    }
    assert!(out.len() + 4 <= len, "pairs take {} bytes", out.len());
    out.extend_from_slice(b"; z=");
    out.resize(len, b'z');
    out
}

fn request(values: impl IntoIterator<Item = Vec<u8>>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(COOKIE, HeaderValue::from_bytes(&value).unwrap());
    }
    headers
}

/// The `u64` session `headers` carry, loaded at `now()`.
fn load(manager: &SessionManager, headers: &HeaderMap) -> Session<u64> {
    manager.load_sync_at(headers, now()).unwrap()
}

fn assert_fresh<T: std::fmt::Debug + Default + PartialEq>(
    session: &Session<T>,
    reason: FreshReason,
) {
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(reason));
    assert_eq!(session.data(), &T::default());
}

/// The sessions loaded from one header of `count` pairs `filler(i)` and
/// then `valid`, joined by `separator`, for `count` = `cap - 1` (just
/// within a cap) and `cap` (just past it). Each header stays under the
/// byte cap, so only the cap under test can be what hides `valid`.
fn within_and_past(
    manager: &SessionManager,
    valid: &str,
    cap: usize,
    separator: &str,
    filler: impl Fn(usize) -> String,
) -> [Session<u64>; 2] {
    [cap - 1, cap].map(|count| {
        let mut pairs: Vec<String> = (0..count).map(&filler).collect();
        pairs.push(valid.to_owned());
        let header = pairs.join(separator);
        assert!(header.len() < MAX_COOKIE_HEADER_BYTES, "{}", header.len());
        load(manager, &request([header.into_bytes()]))
    })
}

/// Asserts that `session` opened the cookie `valid_pair` sealed.
fn assert_opened(session: &Session<u64>) {
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(**session, 42);
}

#[test]
fn valid_pair_opens_among_a_few_other_cookies() {
    let manager = manager();
    let header = format!("theme=dark; {}; lang=en", valid_pair(&manager));
    let session = load(&manager, &request([header.into_bytes()]));
    assert!(!session.is_new());
    assert_eq!(*session, 42);
}

#[test]
fn thousands_of_pairs_give_a_fresh_session() {
    let manager = manager();
    let many: Vec<String> = (0..10_000).map(|i| format!("k{i}=v{i}")).collect();
    let session = load(&manager, &request([many.join("; ").into_bytes()]));
    assert_fresh(&session, FreshReason::HeaderTooLarge);

    // A megabyte of them.
    let header = header_bytes(PAIRS, MIB, |i| format!("k{i:05}=v{i:09}"));
    assert_eq!(header.len(), MIB);
    let headers = request([header]);
    let session = load(&manager, &headers);
    assert_fresh(&session, FreshReason::HeaderTooLarge);
    let map: MapSession = manager.load_sync_at(&headers, now()).unwrap();
    assert!(map.is_new());
}

#[test]
fn thousands_of_forged_session_cookies_give_a_fresh_session() {
    let manager = manager();
    let forged = vec!["__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; 10_000];
    let session = load(&manager, &request([forged.join("; ").into_bytes()]));
    assert_fresh(&session, FreshReason::HeaderTooLarge);

    // Two megabytes of them.
    let header = header_bytes(PAIRS, 2 * MIB, |i| format!("__Host-session=AgI{i:07}"));
    let session = load(&manager, &request([header]));
    assert_fresh(&session, FreshReason::HeaderTooLarge);
}

#[test]
fn valid_cookie_after_50000_pairs_is_not_examined() {
    let manager = manager();
    let valid = valid_pair(&manager);
    let mut header = header_bytes(PAIRS, MIB - valid.len() - 2, |i| format!("k{i:05}=v{i:09}"));
    header.extend_from_slice(b"; ");
    header.extend_from_slice(valid.as_bytes());
    assert_eq!(header.len(), MIB);
    let session = load(&manager, &request([header]));
    assert_fresh(&session, FreshReason::HeaderTooLarge);
}

#[test]
fn valid_cookie_opens_within_the_pair_cap_and_is_not_examined_past_it() {
    // Well inside the byte cap, but after MAX_COOKIE_PAIRS short pairs
    // (two kinds of filler, with and without a space after `;`).
    let manager = manager();
    let valid = valid_pair(&manager);
    let [within, past] = within_and_past(&manager, &valid, MAX_COOKIE_PAIRS, ";", |_| {
        "a=b".to_owned()
    });
    assert_opened(&within);
    assert_fresh(&past, FreshReason::HeaderTooLarge);
    let [within, past] = within_and_past(&manager, &valid, MAX_COOKIE_PAIRS, "; ", |i| {
        format!("k{i}=v")
    });
    assert_opened(&within);
    assert_fresh(&past, FreshReason::HeaderTooLarge);
}

/// `valid` with a character of its tag changed (not the last, which also
/// carries padding bits): the real header and key id, a bad tag. It passes
/// every cheap check and fails only at the AEAD.
fn bad_tag(valid: &str) -> String {
    let (name, value) = valid.split_once('=').unwrap();
    let i = value.len() - 4;
    let flipped = if &value[i..=i] == "A" { "B" } else { "A" };
    format!("{name}={}{flipped}{}", &value[..i], &value[i + 1..])
}

#[test]
fn valid_cookie_opens_within_the_aead_budget_and_is_not_opened_past_it() {
    let manager = manager();
    let valid = valid_pair(&manager);
    let forged = bad_tag(&valid);
    let [within, past] = within_and_past(&manager, &valid, MAX_SESSION_CANDIDATES, "; ", |_| {
        forged.clone()
    });
    assert_opened(&within);
    // The budget ran out with a candidate left: said as such.
    assert_fresh(&past, FreshReason::HeaderTooLarge);
}

#[test]
fn tossed_cookies_up_to_a_browsers_per_host_limit_do_not_hide_the_real_one() {
    // A sibling domain can set about 180 cookies that a browser sends before
    // the real one: each forged with the real key id (they reach the AEAD).
    let manager = manager();
    let valid = valid_pair(&manager);
    let forged = vec![bad_tag(&valid); 180].join("; ");
    let header = format!("{forged}; {valid}");
    let session = load(&manager, &request([header.into_bytes()]));
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(*session, 42);
}

#[test]
fn junk_session_cookies_cost_no_aead_budget() {
    // Junk that fails the cheap checks (not base64, wrong version, unknown
    // key id, too short) does not count, however much of it comes first.
    let manager = manager();
    let valid = valid_pair(&manager);
    let (name, value) = valid.split_once('=').unwrap();
    let unknown_key = format!("{name}=AgIAAAAA{}", &value[8..]);
    let junk = [
        format!("{name}=!!not base64!!"),
        format!("{name}=AwIAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        unknown_key,
        format!("{name}=Ag"),
    ];
    let count = MAX_SESSION_CANDIDATES * 3;
    assert!(count < MAX_COOKIE_PAIRS);
    let forged: Vec<&str> = junk
        .iter()
        .map(String::as_str)
        .cycle()
        .take(count)
        .collect();
    let header = format!("{}; {valid}", forged.join(";"));
    assert!(header.len() < MAX_COOKIE_HEADER_BYTES, "{}", header.len());
    let session = load(&manager, &request([header.into_bytes()]));
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(*session, 42);

    // As many garbage values as the budget holds, and one more.
    let garbage = |_| format!("{name}=garbage");
    let [within, past] = within_and_past(&manager, &valid, MAX_SESSION_CANDIDATES, "; ", garbage);
    assert_opened(&within);
    assert_opened(&past);
}

#[test]
fn values_that_are_not_utf8_are_refused_unopened_and_cost_no_budget() {
    let manager = manager();
    let valid = valid_pair(&manager);
    // The session's name with obs-text bytes: not a session, and no AEAD
    // open spent on it, however many come before a valid one.
    let mut header = Vec::new();
    for _ in 0..MAX_SESSION_CANDIDATES * 3 {
        header.extend_from_slice(b"__Host-session=\xff\xfe\x80AAAA; ");
    }
    let lone = load(&manager, &request([header.clone()]));
    assert_fresh(&lone, FreshReason::Rejected);
    header.extend_from_slice(valid.as_bytes());
    let session = load(&manager, &request([header]));
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(*session, 42);
}

#[test]
fn valid_cookie_after_many_cookie_headers_is_not_examined() {
    // 10 000 separate `Cookie` headers (the byte budget is shared across
    // headers and every header counts at least one pair), then a valid one.
    let manager = manager();
    let mut values: Vec<Vec<u8>> = (0..10_000)
        .map(|i| format!("k{i}=v").into_bytes())
        .collect();
    values.push(valid_pair(&manager).into_bytes());
    let session = load(&manager, &request(values));
    assert_fresh(&session, FreshReason::HeaderTooLarge);
}

#[test]
fn empty_cookie_headers_count_against_the_pair_cap() {
    let manager = manager();
    let mut values: Vec<Vec<u8>> = vec![Vec::new(); MAX_COOKIE_PAIRS];
    values.push(valid_pair(&manager).into_bytes());
    let session = load(&manager, &request(values));
    assert_fresh(&session, FreshReason::HeaderTooLarge);
}

#[test]
fn megabyte_of_non_utf8_bytes_gives_a_fresh_session() {
    let manager = manager();
    // obs-text bytes (0x80..=0xFF), which HeaderValue accepts, with pair
    // separators and the session's name mixed in.
    let mut header = Vec::with_capacity(MIB);
    let mut i = 0u32;
    while header.len() < MIB {
        header.extend_from_slice(b"__Host-session=\xff\xfe");
        header.push(0x80 | (i % 128) as u8);
        header.extend_from_slice(b"; \xc3=\x28;");
        i += 1;
    }
    let session = load(&manager, &request([header]));
    // Values that are not base64url (UTF-8 or not) are refused by the
    // decoder's alphabet check, before any AEAD; the megabyte is over the
    // byte cap.
    assert_fresh(&session, FreshReason::HeaderTooLarge);
}

#[test]
fn one_megabyte_pair_gives_a_fresh_session_whatever_its_name() {
    let manager = manager();
    let junk = format!("junk={}", "x".repeat(MIB));
    let session = load(&manager, &request([junk.into_bytes()]));
    assert_fresh(&session, FreshReason::HeaderTooLarge);

    // The session's name and a megabyte of base64url: rejected by the
    // length check before it is decoded.
    let mut header = b"__Host-session=".to_vec();
    header.resize(MIB, b'A');
    let session = load(&manager, &request([header]));
    assert_fresh(&session, FreshReason::HeaderTooLarge);
}

#[test]
fn the_byte_cap_is_exact_and_no_header_past_it_is_looked_at() {
    let manager = manager();
    let valid = valid_pair(&manager);
    // Headers of exactly the cap are read whole: the session in one opens,
    // and one without a session hides nothing.
    let exact = header_bytes(1, MAX_COOKIE_HEADER_BYTES, |_| valid.clone());
    assert_opened(&load(&manager, &request([exact])));
    let filler = header_bytes(1, MAX_COOKIE_HEADER_BYTES, |i| format!("k{i}=v"));
    assert_fresh(
        &load(&manager, &request([filler.clone()])),
        FreshReason::NoCookie,
    );
    // One byte more, and the rest is not examined.
    let over = header_bytes(1, MAX_COOKIE_HEADER_BYTES + 1, |i| format!("k{i}=v"));
    assert_fresh(
        &load(&manager, &request([over])),
        FreshReason::HeaderTooLarge,
    );
    // With the budget spent, a further header is not looked at, not even
    // to see that it is empty.
    assert_fresh(
        &load(&manager, &request([filler, Vec::new()])),
        FreshReason::HeaderTooLarge,
    );
}
