//! CSRF tokens through the public API: stable for a session across
//! requests, refused for another session, changed by `regenerate()`, still
//! valid after a key rotation, and a new session that hands out a token is
//! written so the token holds on the next request.

use http::HeaderMap;
use sealed_session::{Key, KeyRing, Session, SessionManager};

use crate::fixtures::{Cart, at, load_sync_at, next_request, save_sync_at};

fn manager_over(keys: Vec<Key>) -> SessionManager {
    SessionManager::builder(KeyRing::new(keys).unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_new_sessions_token_holds_on_the_next_request_and_only_for_that_session() {
    let manager = manager_over(vec![Key::generate()]);
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(0));
    let token = session.csrf_token();
    assert_eq!(token.len(), 27);
    assert!(
        session.is_changed(),
        "the new session must be written for the token to hold"
    );
    let (_, response) = save_sync_at(&manager, &mut session, at(0));
    let request = next_request(&response);

    let mut again: Session<Cart> = load_sync_at(&manager, &request, at(1));
    assert!(again.verify_csrf(&token));
    assert_eq!(again.csrf_token(), token, "stable for the session's life");
    assert!(
        !again.is_changed(),
        "an existing session's token writes nothing"
    );

    let other: Session<Cart> = {
        let mut s: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(2));
        let _ = s.csrf_token();
        s
    };
    assert!(!other.verify_csrf(&token), "another session's token");
    let fresh: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(2));
    assert!(
        !fresh.verify_csrf(&token),
        "a session without an id accepts no token"
    );
    for junk in ["", "x", &token[..26], &format!("{token}A")] {
        assert!(!again.verify_csrf(junk), "{junk:?}");
    }
}

#[test]
fn regenerate_rotates_the_token() {
    let manager = manager_over(vec![Key::generate()]);
    let mut session: Session<Cart> = load_sync_at(&manager, &HeaderMap::new(), at(0));
    let before = session.csrf_token();
    let (_, response) = save_sync_at(&manager, &mut session, at(0));
    let mut signed_in: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(1));
    signed_in.regenerate();
    let (_, response) = save_sync_at(&manager, &mut signed_in, at(1));
    let mut after: Session<Cart> = load_sync_at(&manager, &next_request(&response), at(2));
    assert!(!after.verify_csrf(&before), "the token from before login");
    let new = after.csrf_token();
    assert_ne!(new, before);
    assert!(after.verify_csrf(&new));
}

#[test]
fn tokens_survive_a_key_rotation_while_the_old_key_is_in_the_ring() {
    let old = Key::generate();
    let new = Key::generate();
    let before = manager_over(vec![old.clone()]);
    let mut session: Session<Cart> = load_sync_at(&before, &HeaderMap::new(), at(0));
    let token = session.csrf_token();
    let (_, response) = save_sync_at(&before, &mut session, at(0));
    let request = next_request(&response);

    let rotated = manager_over(vec![new.clone(), old]);
    let session: Session<Cart> = load_sync_at(&rotated, &request, at(1));
    assert!(session.verify_csrf(&token));
    let retired = manager_over(vec![new]);
    let session: Session<Cart> = load_sync_at(&retired, &request, at(1));
    assert!(
        session.is_new(),
        "the old key is gone: so is the session, and its token"
    );
    assert!(!session.verify_csrf(&token));
}
