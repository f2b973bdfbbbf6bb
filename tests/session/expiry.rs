//! A session's own expiry ("remember me", browser-session cookies), sealed
//! inside it: the server enforces it, `Max-Age` and the store entry's
//! deadline follow it, the codec's limits cap it (also for cookies sealed
//! before a limit was lowered), and a registry's revocation of a long
//! session lasts as long as the session could.

use std::time::Duration;

use http::HeaderMap;
use sealed_session::revocation::Registry;
use sealed_session::{Codec, Expiry, FreshReason, Key, KeyRing, Session, SessionManager};

use crate::fixtures::{
    ABSOLUTE, Cart, IDLE, at, attributes_of, load_sync_at, max_age_of, next_request,
    only_set_cookie, save_sync_at,
};

const DAY: Duration = Duration::from_secs(86_400);

/// Idle 1 h and absolute 8 h by default; "remember me" allowed up to a
/// week idle and thirty days absolute.
fn codec_with(ring: KeyRing, max_idle: Duration, max_absolute: Duration) -> Codec {
    Codec::builder(ring)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .expiry_limits(max_idle, max_absolute)
        .build()
        .unwrap()
}

fn remember_me_manager(ring: &KeyRing) -> SessionManager {
    SessionManager::with_codec(codec_with(ring.clone(), 7 * DAY, 30 * DAY))
        .build()
        .unwrap()
}

/// A session logged in at `at(0)` with `expiry`: the next request.
fn login(manager: &SessionManager, expiry: Expiry) -> (Session<Cart>, HeaderMap) {
    let mut session: Session<Cart> = load_sync_at(manager, &HeaderMap::new(), at(0));
    session.set(Cart::sample());
    session.set_expiry(expiry);
    let (_, response) = save_sync_at(manager, &mut session, at(0));
    (session, response)
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

#[test]
fn remember_me_outlives_the_default_timeouts_and_max_age_follows_it() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let manager = remember_me_manager(&ring);
    let (_, response) = login(&manager, Expiry::persistent(7 * DAY, 30 * DAY));
    // Max-Age is the session's own idle deadline, not the codec's hour.
    assert_eq!(max_age_of(&only_set_cookie(&response)), secs(7 * DAY));

    // Four days later: past the default idle (1 h) and absolute (8 h), and
    // past half of its own idle timeout (renewal follows the session's own).
    let mut session: Session<Cart> =
        load_sync_at(&manager, &next_request(&response), at(secs(4 * DAY)));
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(
        session.expiry(),
        Some(Expiry::persistent(7 * DAY, 30 * DAY))
    );
    // The renewal keeps the expiry; its Max-Age counts from the renewal.
    let (_, renewed) = save_sync_at(&manager, &mut session, at(secs(4 * DAY)));
    assert_eq!(max_age_of(&only_set_cookie(&renewed)), secs(7 * DAY));

    // Renewed every few days it lives thirty days from login, then ends;
    // Max-Age shrinks to the absolute deadline on the way.
    let mut request = next_request(&renewed);
    for day in [8, 14, 20, 26] {
        let now = at(secs(day * DAY));
        let mut session: Session<Cart> = load_sync_at(&manager, &request, now);
        assert!(!session.is_new(), "day {day}: {:?}", session.fresh_reason());
        let (_, response) = save_sync_at(&manager, &mut session, now);
        let max_age = max_age_of(&only_set_cookie(&response));
        assert_eq!(
            max_age,
            secs(7 * DAY).min(secs((30 - day) * DAY)),
            "day {day}"
        );
        request = next_request(&response);
    }
    let session: Session<Cart> = load_sync_at(&manager, &request, at(secs(30 * DAY)));
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn a_browser_session_cookie_has_no_max_age_and_its_own_timeouts_hold() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let manager = remember_me_manager(&ring);
    let short = Expiry::browser_session(Duration::from_secs(600), Duration::from_secs(3600));
    let (_, response) = login(&manager, short);
    let line = only_set_cookie(&response);
    assert!(
        !attributes_of(&line)
            .iter()
            .any(|a| a.starts_with("Max-Age")),
        "{line}"
    );
    // Its own idle timeout (10 min), shorter than the codec's hour.
    let request = next_request(&response);
    let session: Session<Cart> = load_sync_at(&manager, &request, at(599));
    assert!(!session.is_new());
    let session: Session<Cart> = load_sync_at(&manager, &request, at(600));
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn clear_expiry_goes_back_to_the_codec_and_the_managers_cookie_kind() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let manager = remember_me_manager(&ring);
    let (_, response) = login(&manager, Expiry::browser_session(IDLE, ABSOLUTE));
    let mut session: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(1));
    session.clear_expiry();
    assert!(session.is_changed());
    assert_eq!(session.expiry(), None);
    let (_, response) = save_sync_at(&manager, &mut session, at(1));
    // The manager's default: persistent, up to the codec's idle timeout.
    assert_eq!(max_age_of(&only_set_cookie(&response)), secs(IDLE));
    // Setting the same expiry twice changes nothing.
    let mut session: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(2));
    session.set_expiry(Expiry::persistent(DAY, 2 * DAY));
    let (_, response) = save_sync_at(&manager, &mut session, at(2));
    let mut session: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(3));
    session.set_expiry(Expiry::persistent(DAY, 2 * DAY));
    assert!(!session.is_changed());
}

#[test]
fn the_codecs_limits_cap_an_expiry_when_sealing_and_when_opening() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    // By default a session can be shortened, not lengthened.
    let strict = SessionManager::with_codec(
        Codec::builder(ring.clone())
            .idle_timeout(IDLE)
            .absolute_timeout(ABSOLUTE)
            .build()
            .unwrap(),
    )
    .build()
    .unwrap();
    let (session, response) = login(&strict, Expiry::persistent(7 * DAY, 30 * DAY));
    assert_eq!(session.expiry(), Some(Expiry::persistent(IDLE, ABSOLUTE)));
    assert_eq!(max_age_of(&only_set_cookie(&response)), secs(IDLE));
    let late: Session<Cart> = load_sync_at(&strict, &next_request(&response), at(secs(IDLE)));
    assert_eq!(late.fresh_reason(), Some(FreshReason::Expired));

    // A thirty-day cookie sealed under generous limits, opened after the
    // limits were lowered (same keys): the lower limits hold.
    let generous = remember_me_manager(&ring);
    let (_, response) = login(&generous, Expiry::persistent(7 * DAY, 30 * DAY));
    let request = next_request(&response);
    assert!(!load_sync_at::<Cart>(&generous, &request, at(secs(2 * DAY))).is_new());
    let lowered = SessionManager::with_codec(codec_with(ring, DAY, 2 * DAY))
        .build()
        .unwrap();
    let session: Session<Cart> = load_sync_at(&lowered, &request, at(secs(2 * DAY)));
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
    let session: Session<Cart> = load_sync_at(&lowered, &request, at(secs(DAY) - 1));
    assert!(!session.is_new());
    assert_eq!(session.expiry(), Some(Expiry::persistent(DAY, 2 * DAY)));
}

#[test]
fn limits_below_the_codecs_own_timeouts_are_refused() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    for (idle, absolute) in [
        (IDLE - Duration::from_secs(1), ABSOLUTE),
        (IDLE, ABSOLUTE - Duration::from_secs(1)),
        (3 * DAY, 2 * DAY),
    ] {
        let err = Codec::builder(ring.clone())
            .idle_timeout(IDLE)
            .absolute_timeout(ABSOLUTE)
            .expiry_limits(idle, absolute)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), sealed_session::ErrorKind::TimeoutsOutOfOrder);
    }
}

#[test]
fn limits_equal_to_the_codecs_own_timeouts_are_accepted() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let codec = codec_with(ring, IDLE, ABSOLUTE);
    assert_eq!(codec.max_idle_timeout(), IDLE);
    assert_eq!(codec.max_absolute_timeout(), ABSOLUTE);
    // And a limit whose idle equals its absolute.
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let codec = codec_with(ring, ABSOLUTE, ABSOLUTE);
    assert_eq!(codec.max_idle_timeout(), ABSOLUTE);
}

#[test]
fn regenerate_keeps_the_expiry() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let manager = remember_me_manager(&ring);
    let remember = Expiry::persistent(7 * DAY, 30 * DAY);
    let (_, response) = login(&manager, remember);
    let mut session: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(10));
    let before = session.id();
    session.regenerate();
    let (_, response) = save_sync_at(&manager, &mut session, at(10));
    assert_ne!(session.id(), before);
    let session: Session<Cart> =
        load_sync_at(&manager, &next_request(&response), at(secs(2 * DAY)));
    assert_eq!(session.expiry(), Some(remember));
}

#[test]
fn a_destroyed_remember_me_session_stays_revoked_for_its_whole_life() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let registry = Registry::in_memory();
    let manager = SessionManager::with_codec(codec_with(ring, 7 * DAY, 30 * DAY))
        .registry(registry.clone())
        .build()
        .unwrap();
    let (_, response) = login(&manager, Expiry::persistent(7 * DAY, 30 * DAY));
    let copy = next_request(&response);
    let mut session: Session<Cart> = load_sync_at(&manager, &copy, at(60));
    session.destroy();
    save_sync_at(&manager, &mut session, at(60));
    // Past the codec's default absolute timeout (8 h) the copy would still
    // open if the revocation lasted only that long.
    let replayed: Session<Cart> = load_sync_at(&manager, &copy, at(secs(6 * DAY)));
    assert_eq!(replayed.fresh_reason(), Some(FreshReason::Revoked));
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn a_stored_remember_me_session_keeps_its_entry_as_long_as_it_lives() {
    use sealed_session::Saved;

    use crate::fixtures::{Stored, blob};
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let fx = Stored::with_codec(codec_with(ring, 7 * DAY, 30 * DAY));
    let mut session = fx.load::<crate::fixtures::Blob>(&HeaderMap::new(), 0).await;
    session.set(blob(6000));
    session.set_expiry(Expiry::persistent(7 * DAY, 30 * DAY));
    let (saved, response) = fx.save(&mut session, 0).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    assert_eq!(max_age_of(&only_set_cookie(&response)), secs(7 * DAY));
    // Two days on (the store's clock too): the pointer and the entry both
    // hold, though the codec's own timeouts passed long ago.
    let session = fx
        .load::<crate::fixtures::Blob>(&next_request(&response), secs(2 * DAY))
        .await;
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(session.data(), &blob(6000));
    assert_eq!(
        session.expiry(),
        Some(Expiry::persistent(7 * DAY, 30 * DAY))
    );
}
