//! The request/response cycle: a cookie is set only once the session is
//! written and read back on the next request; change tracking; fresh
//! sessions and their reasons; destroy and regenerate of a session held in
//! the cookie; the configured cookie attributes; whole-second times.

use std::time::Duration;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response};
use sealed_session::{FreshReason, Location, SameSite, Saved, Session, SessionManager};

use crate::fixtures::{
    Cart, Counter, IDLE, at, attributes_of, codec, codec_named, cookie_header, load_sync_at,
    manager, manager_and_cookie, max_age_of, next_request, only_set_cookie, pair_of, save_sync_at,
    sealed_cart, tamper,
};

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
fn a_tampered_cookie_gives_a_fresh_rejected_session() {
    let (manager, cookie) = manager_and_cookie();
    let mut session: Session<Cart> =
        load_sync_at(&manager, &cookie_header(&tamper(&cookie)), at(1));
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::Rejected));
    assert_eq!(*session, Cart::default());
    // The fresh session, untouched, writes only a removal cookie for the
    // bad one, once.
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::Cleared);
    let removal = response["set-cookie"].to_str().unwrap();
    let name = manager.codec().cookie_name();
    assert!(removal.starts_with(&format!("{name}=;")), "{removal}");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    let (again, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(again, Saved::Unchanged);
    assert!(response.is_empty());
}

#[test]
fn bad_cookies_are_cleared_once_unless_a_new_session_is_written_or_clearing_is_off() {
    let (manager, cookie) = manager_and_cookie();
    // Expired: cleared.
    let mut expired: Session<Cart> =
        load_sync_at(&manager, &cookie_header(&cookie), at(10 * 24 * 3600));
    assert_eq!(expired.fresh_reason(), Some(FreshReason::Expired));
    assert_eq!(
        save_sync_at(&manager, &mut expired, at(10 * 24 * 3600)).0,
        Saved::Cleared
    );
    // A handler that writes a new session replaces the bad cookie instead.
    let mut replaced: Session<Cart> =
        load_sync_at(&manager, &cookie_header(&tamper(&cookie)), at(1));
    *replaced = Cart::sample();
    let (saved, response) = save_sync_at(&manager, &mut replaced, at(1));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(response.get_all("set-cookie").iter().count(), 1);
    // No cookie at all: nothing to clear.
    let mut none: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(1));
    assert_eq!(save_sync_at(&manager, &mut none, at(1)).0, Saved::Unchanged);
    // Switched off: the bad cookie is left alone.
    let keep = sealed_session::SessionManager::with_codec(manager.codec().clone())
        .clear_invalid_cookies(false)
        .build()
        .unwrap();
    let mut session: Session<Cart> = load_sync_at(&keep, &cookie_header(&tamper(&cookie)), at(1));
    let (saved, response) = save_sync_at(&keep, &mut session, at(1));
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
fn a_cookie_of_another_session_type_gives_a_fresh_session_with_an_unknown_schema() {
    let (manager, cookie) = manager_and_cookie();
    let session: Session<Counter> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::UnknownSchema));
    assert_eq!(*session, Counter::default());
}

#[test]
fn a_cookie_of_an_unknown_schema_is_never_cleared() {
    // During a rolling deploy it may be a newer build's session: an older
    // build must leave it for the newer one.
    let (manager, cookie) = manager_and_cookie();
    let mut session: Session<Counter> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    assert_eq!(session.fresh_reason(), Some(FreshReason::UnknownSchema));
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());
    // The build that knows its schema still opens it.
    let cart: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(2));
    assert_eq!(cart.fresh_reason(), None);
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

#[test]
fn regenerate_keeps_the_data_and_resets_issued_at_for_a_cookie_session() {
    let (manager, cookie) = manager_and_cookie();
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(100));
    session.regenerate();
    let (saved, response) = save_sync_at(&manager, &mut session, at(100));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(session.times().unwrap().issued_at(), at(100));
    let line = only_set_cookie(&response);
    assert_ne!(pair_of(&line), cookie);
    let session: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(101));
    assert_eq!(*session, Cart::sample());
    assert_eq!(session.times().unwrap().issued_at(), at(100));
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

#[test]
fn session_times_are_what_the_sealed_value_holds() {
    let manager = manager();
    let now = at(0) + Duration::from_micros(999_999);
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), now);
    session.set(Cart::sample());
    let (_, response) = save_sync_at(&manager, &mut session, now);
    let times = session.times().unwrap();
    // Issued-at to the millisecond, renewed-at to the second.
    assert_eq!(times.issued_at(), at(0) + Duration::from_millis(999));
    assert_eq!(times.renewed_at(), at(0));
    // What the next request opens agrees with what save reported.
    let opened: Session<Cart> = load_sync_at(&manager, &next_request(&response), now);
    assert_eq!(opened.times(), Some(times));
}

#[test]
fn labels_and_subjects_out_of_bounds_are_refused_and_change_nothing() {
    use sealed_session::ErrorKind;
    use sealed_session::limits::{MAX_LABEL_BYTES, MAX_SUBJECT_BYTES};

    let manager = manager();
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(0));
    for label in [String::new(), "l".repeat(MAX_LABEL_BYTES + 1)] {
        let err = session.set_label(label).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidLabel);
    }
    session.set_label("l".repeat(MAX_LABEL_BYTES)).unwrap();
    for subject in [String::new(), "s".repeat(MAX_SUBJECT_BYTES + 1)] {
        let err = session.login(subject).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSubject);
        assert_eq!(session.subject(), None);
        assert!(
            !session.is_regenerating(),
            "a refused login changes nothing"
        );
    }
    session.login("s".repeat(MAX_SUBJECT_BYTES)).unwrap();
    assert!(session.is_regenerating());
}

#[test]
fn a_session_s_debug_shows_its_state_but_not_its_data_or_subject() {
    let manager = manager();
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(0));
    *session = Cart::sample();
    session.login("user:secret-subject").unwrap();
    let shown = format!("{session:?}");
    assert!(shown.starts_with("Session {"), "{shown}");
    assert!(shown.contains("has_subject: true"), "{shown}");
    assert!(shown.contains("regenerate: true"), "{shown}");
    assert!(!shown.contains("secret-subject"), "{shown}");
    assert!(!shown.contains(&format!("{:?}", Cart::sample())), "{shown}");
}

#[cfg(feature = "memory")]
#[test]
fn the_manager_says_which_store_it_has() {
    use std::sync::Arc;

    use sealed_session::store::MemoryStore;

    assert!(manager().store().is_none());
    let with_store = SessionManager::with_codec(codec())
        .store(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    assert_eq!(with_store.store().map(|s| s.kind()), Some("memory"));
}
