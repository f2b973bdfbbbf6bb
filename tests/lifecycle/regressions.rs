//! One test per promise that broke where two features met (each named
//! after the promise it keeps), through the public API on the injected
//! clock.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use sealed_session::revocation::Registry;
use sealed_session::store::MemoryStore;
use sealed_session::{Codec, Expiry, FreshReason, Key, KeyRing, Saved, Session, SessionManager};

use crate::fixtures::{DAY, HOUR, S, at, cookie_of, join, load, request, save};

/// A manager that allows "remember me" for 30 days, with a registry.
fn remember_me_manager(registry: &Registry) -> SessionManager {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .idle_timeout(DAY)
        .absolute_timeout(14 * DAY)
        .expiry_limits(7 * DAY, 30 * DAY)
        .build()
        .unwrap();
    SessionManager::with_codec(codec)
        .registry(registry.clone())
        .build()
        .unwrap()
}

/// Signs in at `now` (regenerate, subject, expiry), from the session the
/// request carries: the cookie the response sets.
fn sign_in(
    manager: &SessionManager,
    from: &HeaderMap,
    subject: &str,
    expiry: Option<Expiry>,
    now: std::time::SystemTime,
) -> String {
    let mut session: Session<u32> = load(manager, from, now);
    session.regenerate();
    session.set_subject(subject).unwrap();
    match expiry {
        Some(expiry) => session.set_expiry(expiry),
        None => session.clear_expiry(),
    }
    let response = save(manager, &mut session, now);
    cookie_of(&response).unwrap()
}

#[test]
fn a_revocation_lives_as_long_as_the_remember_me_cookie_it_revokes() {
    let registry = Registry::in_memory();
    let manager = remember_me_manager(&registry);
    let remembered = sign_in(
        &manager,
        &HeaderMap::new(),
        "user:1",
        Some(Expiry::persistent(7 * DAY, 30 * DAY)),
        at(Duration::ZERO),
    );
    // Later, on the same device, a sign-in without "remember me".
    let mut session: Session<u32> = load(&manager, &request(&remembered), at(DAY));
    assert!(!session.is_new());
    session.regenerate();
    session.set_expiry(Expiry::browser_session(HOUR, DAY));
    save(&manager, &mut session, at(DAY));

    // The copy of the 30-day cookie (idle 7 days; once revoked it can never
    // be renewed) stays dead while it could open, purges included: the
    // revocation no longer ends with the day-long login that replaced it.
    for day in [2, 4, 6] {
        registry.purge_at(at(day * DAY));
        let replay: Session<u32> = load(&manager, &request(&remembered), at(day * DAY));
        assert_eq!(
            replay.fresh_reason(),
            Some(FreshReason::Revoked),
            "day {day}"
        );
    }
}

#[test]
fn a_destroy_after_clearing_the_expiry_still_revokes_the_remembered_copy() {
    let registry = Registry::in_memory();
    let manager = remember_me_manager(&registry);
    let mut cookie = sign_in(
        &manager,
        &HeaderMap::new(),
        "user:1",
        Some(Expiry::persistent(7 * DAY, 30 * DAY)),
        at(Duration::ZERO),
    );
    // Used every six days, so it lives past the codec's 14 days.
    for day in [6, 12] {
        let mut session: Session<u32> = load(&manager, &request(&cookie), at(day * DAY));
        cookie = cookie_of(&save(&manager, &mut session, at(day * DAY))).expect("renewed");
    }
    let copy = cookie.clone();
    let mut session: Session<u32> = load(&manager, &request(&cookie), at(12 * DAY + HOUR));
    session.clear_expiry();
    session.destroy();
    save(&manager, &mut session, at(12 * DAY + HOUR));
    for day in [15, 18] {
        registry.purge_at(at(day * DAY));
        let replay: Session<u32> = load(&manager, &request(&copy), at(day * DAY));
        assert_eq!(
            replay.fresh_reason(),
            Some(FreshReason::Revoked),
            "day {day}"
        );
    }
}

#[test]
fn the_device_list_follows_the_subject() {
    let registry = Registry::in_memory();
    let manager = remember_me_manager(&registry);
    let sessions = |subject: &str| {
        let found = join(registry.sessions_at(subject, at(2 * HOUR))).unwrap();
        found.iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let cookie = sign_in(
        &manager,
        &HeaderMap::new(),
        "user:d",
        None,
        at(Duration::ZERO),
    );
    let id = load::<u32>(&manager, &request(&cookie), at(S))
        .id()
        .unwrap();
    assert_eq!(sessions("user:d"), [id]);

    // The subject changes from D to E: a new id, listed under E only, and
    // the cookie that carried D stops opening (D can no longer reach it).
    let before = cookie.clone();
    let mut session: Session<u32> = load(&manager, &request(&cookie), at(HOUR));
    session.set_subject("user:e").unwrap();
    session.set_label("Firefox on Linux").unwrap();
    let cookie = cookie_of(&save(&manager, &mut session, at(HOUR))).unwrap();
    let new_id = session.id().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(sessions("user:d"), []);
    assert_eq!(sessions("user:e"), [new_id]);
    let old: Session<u32> = load(&manager, &request(&before), at(HOUR + S));
    assert_eq!(old.fresh_reason(), Some(FreshReason::Revoked));

    // Cleared (a sign-out that keeps the session): listed nowhere.
    let mut session: Session<u32> = load(&manager, &request(&cookie), at(HOUR + S));
    session.clear_subject();
    save(&manager, &mut session, at(HOUR + S));
    assert_eq!(sessions("user:e"), []);
    assert_eq!(sessions("user:d"), []);
}

/// Seen in the backend's own records: the registry's list hides revoked
/// ids, so a record left under the old subject would not show through it.
#[cfg(feature = "shared-registry")]
#[test]
fn a_destroy_after_a_change_of_subject_leaves_no_list_holding_the_session() {
    use sealed_session::revocation::{MemoryBackend, RevocationBackend as _};

    let backend = MemoryBackend::new();
    let registry = join(Registry::shared(backend.clone()).start()).unwrap();
    let manager = remember_me_manager(&registry);
    let cookie = sign_in(
        &manager,
        &HeaderMap::new(),
        "user:d",
        None,
        at(Duration::ZERO),
    );
    join(registry.flush()).unwrap();
    let raw = |subject| join(backend.sessions(subject, at(HOUR))).unwrap();
    assert_eq!(raw("user:d").len(), 1, "recorded at login");

    let mut session: Session<u32> = load(&manager, &request(&cookie), at(HOUR));
    session.set_subject("user:e").unwrap();
    session.destroy();
    save(&manager, &mut session, at(HOUR));
    join(registry.flush()).unwrap();
    for subject in ["user:d", "user:e"] {
        assert!(raw(subject).is_empty(), "{subject}: {:?}", raw(subject));
    }
}

#[test]
fn a_session_is_renewed_on_its_own_idle_timeout() {
    let registry = Registry::in_memory();
    let manager = remember_me_manager(&registry);
    let mut cookie = sign_in(
        &manager,
        &HeaderMap::new(),
        "user:1",
        Some(Expiry::browser_session(HOUR, DAY)),
        at(Duration::ZERO),
    );
    // Read-only visits every 40 minutes, for most of a day: each one
    // opens, and the session renews itself on the way.
    let mut now = Duration::ZERO;
    while now + 40 * 60 * S < DAY - HOUR {
        now += 40 * 60 * S;
        let mut session: Session<u32> = load(&manager, &request(&cookie), at(now));
        assert!(!session.is_new(), "signed out after {now:?}");
        let response = save(&manager, &mut session, at(now));
        if let Some(renewed) = cookie_of(&response) {
            cookie = renewed;
        }
    }
    // And it ends at its own absolute deadline.
    let late: Session<u32> = load(&manager, &request(&cookie), at(DAY));
    assert_eq!(late.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn a_legacy_cookie_keeps_its_id_so_a_destroy_revokes_it() {
    // The frozen version-1 vector of tests/vectors/v1.rs, opened by a
    // manager that carries legacy cookies across an upgrade.
    let (key, name, value, issued_at) = crate::fixtures::legacy_v1_cookie();
    let codec = Codec::builder(KeyRing::new([key]).unwrap())
        .cookie_name(name)
        .open_legacy_v1(true)
        .build()
        .unwrap();
    let registry = Registry::in_memory();
    let manager = SessionManager::with_codec(codec)
        .registry(registry)
        .build()
        .unwrap();
    let cookie = format!("{name}={value}");
    let now = issued_at + Duration::from_secs(60);
    let first = manager
        .load_sync_at::<crate::fixtures::LegacyPayload>(&request(&cookie), now)
        .unwrap();
    let again = manager
        .load_sync_at::<crate::fixtures::LegacyPayload>(&request(&cookie), now)
        .unwrap();
    assert!(!first.is_new());
    assert_eq!(first.id(), again.id(), "the same cookie, the same id");

    let mut session = again;
    session.destroy();
    let mut response = HeaderMap::new();
    manager
        .save_sync_at(&mut session, &mut response, now)
        .unwrap();
    let replay = manager
        .load_sync_at::<crate::fixtures::LegacyPayload>(&request(&cookie), now)
        .unwrap();
    assert_eq!(replay.fresh_reason(), Some(FreshReason::Revoked));
}

#[test]
fn stale_pointer_cookies_ahead_of_the_live_one_hide_it_and_never_clear_it() {
    let store = Arc::new(MemoryStore::new().with_clock(|| at(Duration::ZERO)));
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .store(store)
        .clear_invalid_cookies(true)
        .build()
        .unwrap();
    let big = || vec![7u8; 6000];
    // Five spilled sessions; the first four then end, leaving their
    // pointer cookies behind (as an old `Path` would keep them).
    let mut pointers = Vec::new();
    for i in 0..5u32 {
        let mut session: Session<Vec<u8>> = load(&manager, &HeaderMap::new(), at(i * S));
        session.set(big());
        pointers.push(cookie_of(&save(&manager, &mut session, at(i * S))).unwrap());
    }
    for stale in &pointers[..4] {
        let mut session: Session<Vec<u8>> = load(&manager, &request(stale), at(10 * S));
        session.destroy();
        save(&manager, &mut session, at(10 * S));
    }
    let live = &pointers[4];
    let header = pointers.join("; ");

    let mut session: Session<Vec<u8>> = load(&manager, &request(&header), at(20 * S));
    assert_eq!(session.fresh_reason(), Some(FreshReason::HeaderTooLarge));
    let mut response = HeaderMap::new();
    let saved = join(manager.save_at(&mut session, &mut response, at(20 * S))).unwrap();
    assert_eq!(saved, Saved::Unchanged, "not cleared");
    assert!(response.is_empty());
    // A handler that writes to the stand-in does not write over it either.
    session.set(vec![1]);
    let saved = join(manager.save_at(&mut session, &mut response, at(20 * S))).unwrap();
    assert_eq!(saved, Saved::NotOverwritten);
    assert!(response.is_empty());
    // The live session is still there for a request that reaches it.
    let alone: Session<Vec<u8>> = load(&manager, &request(live), at(21 * S));
    assert_eq!(*alone, big());
}

/// Found by the model (1 000 000 cases): pointers of a subject signed out
/// everywhere carried no subject, so each cost a store read before it was
/// refused, and four of them hid the live session.
#[test]
fn pointers_of_a_subject_signed_out_everywhere_cost_no_store_read() {
    let registry = Registry::in_memory();
    let store = Arc::new(MemoryStore::new().with_clock(|| at(Duration::ZERO)));
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .store(store)
        .registry(registry.clone())
        .clear_invalid_cookies(true)
        .build()
        .unwrap();
    let big = |n: u8| vec![n; 6000];
    let mut session: Session<Vec<u8>> = load(&manager, &HeaderMap::new(), at(Duration::ZERO));
    session.set_subject("user:a").unwrap();
    let mut cookie = cookie_of(&save(&manager, &mut session, at(Duration::ZERO))).unwrap();
    let mut stale = Vec::new();
    for n in 0..4u8 {
        let mut session: Session<Vec<u8>> = load(&manager, &request(&cookie), at(S));
        assert_eq!(session.subject(), Some("user:a"));
        session.set(big(n));
        cookie = cookie_of(&save(&manager, &mut session, at(S))).unwrap();
        stale.push(cookie.clone());
    }
    manager.sign_out_everywhere_at("user:a", at(2 * S)).unwrap();
    let mut fresh: Session<Vec<u8>> = load(&manager, &HeaderMap::new(), at(3 * S));
    fresh.set(big(9));
    let live = cookie_of(&save(&manager, &mut fresh, at(3 * S))).unwrap();

    stale.push(live);
    let session: Session<Vec<u8>> = load(&manager, &request(&stale.join("; ")), at(4 * S));
    assert_eq!(session.fresh_reason(), None, "the live session loads");
    assert_eq!(session.subject(), None);
    assert!(*session == big(9), "the live session's data");
}

/// Found by the model (issue 25): once "sign out everywhere" entries lived
/// only the idle timeout, a device-list record (which lags its session by
/// up to a renewal interval) outlived the entry that hid it, and the list
/// showed a signed-out session for a while. The entry now lives a renewal
/// interval longer.
#[test]
fn a_device_list_never_shows_a_session_signed_out_everywhere() {
    let registry = Registry::in_memory();
    let manager = remember_me_manager(&registry);
    // Remembered: a week idle.
    sign_in(
        &manager,
        &HeaderMap::new(),
        "user:f",
        Some(Expiry::persistent(7 * DAY, 30 * DAY)),
        at(Duration::ZERO),
    );
    manager.sign_out_everywhere_at("user:f", at(S)).unwrap();
    for day in [0, 1, 6, 7, 8, 9, 10, 11, 12] {
        let now = at(day * DAY + HOUR);
        registry.purge_at(now);
        let listed = join(registry.sessions_at("user:f", now)).unwrap();
        assert!(listed.is_empty(), "day {day}: {listed:?}");
    }
}
