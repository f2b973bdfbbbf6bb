//! Deadlines, renewal and key rotation for a session held in the cookie:
//! the idle and absolute timeouts, renewal only past the threshold (and on
//! every request at threshold zero), and re-sealing a cookie opened with an
//! old key under the primary.

use sealed_session::{FreshReason, Key, KeyRing, Saved, Session, SessionManager};

use crate::fixtures::{
    ABSOLUTE, Cart, IDLE, at, codec, codec_with, cookie_header, load_at, load_sync_at, manager,
    manager_and_cookie, max_age_of, next_request, only_set_cookie, pair_of, save_at, save_sync_at,
    sealed_cart, value_of,
};

#[tokio::test]
async fn the_idle_timeout_gives_a_fresh_expired_session() {
    let (manager, cookie) = manager_and_cookie();

    let session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(3599)).await;
    assert_eq!(*session, Cart::sample(), "valid one second before");

    let session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(3600)).await;
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
    assert_eq!(*session, Cart::default());
}

#[tokio::test]
async fn the_absolute_timeout_expires_a_session_that_kept_renewing() {
    // Idle 1 h, absolute 8 h: a request every 50 minutes keeps renewing the
    // idle deadline, but not past eight hours after issue.
    let manager = manager();
    let mut cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let step = 50 * 60;
    let mut t = step;
    while t < ABSOLUTE.as_secs() {
        let mut session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(t)).await;
        assert_eq!(session.fresh_reason(), None, "valid at {t}");
        assert_eq!(session.times().unwrap().issued_at(), at(0));
        let (_, response) = save_at(&manager, &mut session, at(t)).await;
        let line = only_set_cookie(&response);
        // Max-Age is the earlier of the two deadlines.
        let left = ABSOLUTE.as_secs() - t;
        assert_eq!(max_age_of(&line), left.min(IDLE.as_secs()), "at {t}");
        cookie = pair_of(&line).to_owned();
        t += step;
    }
    // t = 30 000 s: renewed at 27 000 (idle deadline 30 600), but issued
    // 30 000 s ago, past the 28 800 s absolute timeout.
    let session: Session<Cart> = load_at(&manager, &cookie_header(&cookie), at(t)).await;
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn renewal_happens_only_past_the_threshold_and_keeps_data_and_issued_at() {
    // Idle 1 h, default threshold 0.5: renew once 30 min have passed.
    let (manager, cookie) = manager_and_cookie();

    // Just before the threshold: nothing.
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1799));
    assert_eq!(session.times().unwrap().renewed_at(), at(0));
    let (saved, response) = save_sync_at(&manager, &mut session, at(1799));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());

    // Just after: a cookie with the same data, issued-at kept, renewed now.
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1801));
    assert!(!session.is_changed());
    let (saved, response) = save_sync_at(&manager, &mut session, at(1801));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    let line = only_set_cookie(&response);
    assert_ne!(pair_of(&line), cookie, "a new cookie");
    assert_eq!(max_age_of(&line), IDLE.as_secs());
    let opened = manager
        .codec()
        .open_at::<Cart>(value_of(&line), at(1801))
        .unwrap();
    assert_eq!(opened.value(), &Cart::sample());
    assert_eq!(opened.times().issued_at(), at(0));
    assert_eq!(opened.times().renewed_at(), at(1801));

    // The renewed cookie outlives the original's idle deadline.
    let renewed: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(3600 + 60));
    assert_eq!(*renewed, Cart::sample());
    let original: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(3600 + 60));
    assert_eq!(original.fresh_reason(), Some(FreshReason::Expired));
}

#[test]
fn a_renewal_threshold_of_zero_renews_on_every_request() {
    let manager = SessionManager::with_codec(codec())
        .renewal_threshold(0.0)
        .build()
        .unwrap();
    let cookie = sealed_cart(&manager, Cart::sample(), at(0));
    let mut session: Session<Cart> = load_sync_at(&manager, &cookie_header(&cookie), at(1));
    let (saved, _) = save_sync_at(&manager, &mut session, at(1));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
}

#[test]
fn a_cookie_sealed_under_an_old_key_is_resealed_with_the_primary() {
    let a = Key::generate();
    let b = Key::generate();
    let old = SessionManager::with_codec(codec_with(KeyRing::new([a.clone()]).unwrap()))
        .build()
        .unwrap();
    let rotated =
        SessionManager::with_codec(codec_with(KeyRing::new([b.clone(), a.clone()]).unwrap()))
            .build()
            .unwrap();
    let only_b = codec_with(KeyRing::new([b.clone()]).unwrap());

    let cookie = sealed_cart(&old, Cart::sample(), at(0));
    assert!(
        only_b.open_at::<Cart>(value_of(&cookie), at(10)).is_err(),
        "the old cookie does not open without key A"
    );

    // A read-only request on the rotated server still writes a cookie.
    let mut session: Session<Cart> = load_sync_at(&rotated, &cookie_header(&cookie), at(10));
    let with = session.opened_with().unwrap();
    assert_eq!(with.key_id(), a.id());
    assert!(!with.is_primary());
    assert!(!session.is_changed());
    let (saved, response) = save_sync_at(&rotated, &mut session, at(10));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");

    // The new cookie opens with a ring holding only B.
    let line = only_set_cookie(&response);
    let opened = only_b.open_at::<Cart>(value_of(&line), at(10)).unwrap();
    assert_eq!(opened.value(), &Cart::sample());
    assert_eq!(opened.opened_with().key_id(), b.id());
    assert_eq!(
        opened.times().issued_at(),
        at(0),
        "re-sealing keeps issued-at"
    );

    // And the next request, now under the primary, writes nothing.
    let mut session: Session<Cart> = load_sync_at(&rotated, &next_request(&response), at(20));
    assert!(session.opened_with().unwrap().is_primary());
    let (saved, response) = save_sync_at(&rotated, &mut session, at(20));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());
}
