//! Every session carries a random id (stable across renewals, re-seals and
//! spills, new on regenerate) and, when the application sets one, a
//! subject: both sealed inside the value.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::limits::MAX_SUBJECT_BYTES;
use sealed_session::{ErrorKind, Key, KeyRing, Session, SessionManager};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn manager() -> SessionManager {
    SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .idle_timeout(Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn next_request(response: &HeaderMap) -> HeaderMap {
    let line = response[SET_COOKIE].to_str().unwrap();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, line.split(';').next().unwrap().parse().unwrap());
    request
}

fn save(manager: &SessionManager, session: &mut Session<String>, now: SystemTime) -> HeaderMap {
    let mut response = HeaderMap::new();
    manager.save_sync_at(session, &mut response, now).unwrap();
    response
}

#[test]
fn a_session_id_is_given_at_the_first_save_and_kept_across_renewals() {
    let manager = manager();
    let mut session: Session<String> = manager.load_sync_at(&HeaderMap::new(), at(0)).unwrap();
    assert_eq!(session.id(), None, "no id before the first save");
    session.set("cart".to_owned());
    let response = save(&manager, &mut session, at(0));
    let id = session.id().unwrap();

    // Past the renewal threshold: a new cookie, the same id.
    let mut session: Session<String> = manager
        .load_sync_at(&next_request(&response), at(2000))
        .unwrap();
    assert_eq!(session.id(), Some(id));
    let renewed = save(&manager, &mut session, at(2000));
    assert!(renewed.contains_key(SET_COOKIE));
    let session: Session<String> = manager
        .load_sync_at(&next_request(&renewed), at(2001))
        .unwrap();
    assert_eq!(session.id(), Some(id));
}

#[test]
fn regenerate_gives_a_new_session_id_and_destroy_forgets_it() {
    let manager = manager();
    let mut session: Session<String> = manager.load_sync_at(&HeaderMap::new(), at(0)).unwrap();
    session.set("x".to_owned());
    let response = save(&manager, &mut session, at(0));
    let first = session.id().unwrap();

    let mut session: Session<String> = manager
        .load_sync_at(&next_request(&response), at(1))
        .unwrap();
    session.regenerate();
    let response = save(&manager, &mut session, at(1));
    let second = session.id().unwrap();
    assert_ne!(first, second);
    let loaded: Session<String> = manager
        .load_sync_at(&next_request(&response), at(2))
        .unwrap();
    assert_eq!(loaded.id(), Some(second));

    let mut session = loaded;
    session.destroy();
    save(&manager, &mut session, at(3));
    assert_eq!(session.id(), None);
}

#[test]
fn the_subject_is_sealed_and_comes_back() {
    let manager = manager();
    let mut session: Session<String> = manager.load_sync_at(&HeaderMap::new(), at(0)).unwrap();
    session.set_subject("user:42").unwrap();
    assert!(session.is_changed(), "a new subject is a change");
    let response = save(&manager, &mut session, at(0));
    let mut session: Session<String> = manager
        .load_sync_at(&next_request(&response), at(1))
        .unwrap();
    assert_eq!(session.subject(), Some("user:42"));

    // Setting the same subject again is no change; clearing it is.
    session.set_subject("user:42").unwrap();
    assert!(!session.is_changed());
    session.clear_subject();
    assert!(session.is_changed());
    let response = save(&manager, &mut session, at(1));
    let session: Session<String> = manager
        .load_sync_at(&next_request(&response), at(2))
        .unwrap();
    assert_eq!(session.subject(), None);

    // Nothing of it in Debug.
    let mut session = session;
    session.set_subject("user:secret-subject-42").unwrap();
    assert!(!format!("{session:?}").contains("secret-subject"));
}

#[test]
fn a_subject_must_be_one_to_max_bytes() {
    let manager = manager();
    let mut session: Session<String> = manager.load_sync_at(&HeaderMap::new(), at(0)).unwrap();
    for bad in [String::new(), "x".repeat(MAX_SUBJECT_BYTES + 1)] {
        assert_eq!(
            session.set_subject(bad).unwrap_err().kind(),
            ErrorKind::InvalidSubject
        );
    }
    assert!(!session.is_changed());
    session.set_subject("x".repeat(MAX_SUBJECT_BYTES)).unwrap();
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn a_spilled_session_keeps_its_id_and_subject() {
    use std::sync::Arc;

    use sealed_session::Location;
    use sealed_session::store::{MemoryStore, Store};

    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .store(store)
        .build()
        .unwrap();
    let mut session: Session<String> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set("x".repeat(6000));
    session.set_subject("user:7").unwrap();
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    let id = session.id().unwrap();

    let mut loaded: Session<String> = manager.load(&next_request(&response)).await.unwrap();
    assert_eq!(loaded.id(), Some(id));
    assert_eq!(loaded.subject(), Some("user:7"));

    // Back into the cookie: still the same session.
    loaded.set("small".to_owned());
    let mut response = HeaderMap::new();
    manager.save(&mut loaded, &mut response).await.unwrap();
    assert_eq!(loaded.location(), Location::Cookie);
    let back: Session<String> = manager.load(&next_request(&response)).await.unwrap();
    assert_eq!(back.id(), Some(id));
    assert_eq!(back.subject(), Some("user:7"));
}

#[test]
fn the_codec_gives_each_sealed_value_its_own_session_id() {
    let manager = manager();
    let codec = manager.codec();
    let a = codec.seal(&"a".to_owned()).unwrap();
    let b = codec.seal(&"a".to_owned()).unwrap();
    let a = codec.open::<String>(a.value()).unwrap();
    let b = codec.open::<String>(b.value()).unwrap();
    assert_ne!(a.session_id(), b.session_id());
    assert_eq!(a.subject(), None);
}
