//! Failures: a store that is down (the shared `FlakyStore`) makes a write
//! that matters an error and never emits a cookie pointing at missing data;
//! a renewal or re-seal that cannot be written (store down, or no longer
//! fits) keeps the client's old cookie instead of failing a read-only
//! request.

use std::error::Error as _;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;
use sealed_session::limits::MAX_COOKIE_BYTES;
use sealed_session::store::Store;
use sealed_session::{Error, ErrorKind, Key, KeyRing, Location, Saved, Session, SessionManager};

use crate::fixtures::{
    Blob, Cart, at, blob, codec, codec_with, cookie_header, load_sync_at, next_request,
    save_sync_at, sealed_cart,
};
use crate::flaky_store::FlakyStore;

fn flaky() -> (Arc<FlakyStore>, SessionManager) {
    let store = Arc::new(FlakyStore::default());
    let manager = SessionManager::with_codec(codec())
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .build()
        .unwrap();
    (store, manager)
}

fn assert_store_error(err: &Error) {
    assert_eq!(err.kind(), ErrorKind::Store, "{err:?}");
    assert_eq!(
        err.source().unwrap().to_string(),
        "injected store failure",
        "the store's error is the source"
    );
}

#[tokio::test]
async fn a_failed_store_write_returns_an_error_and_sets_no_cookie() {
    let (store, manager) = flaky();
    store.set_down(true);

    // A new oversized session.
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
    assert!(response.is_empty(), "no cookie pointing at missing data");
    assert_eq!(session.location(), Location::None);

    // A stored session that changes while the store is down.
    store.set_down(false);
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let id = session.store_id().unwrap();
    let request = next_request(&response);
    let mut session: Session<Blob> = manager.load(&request).await.unwrap();
    session.set(blob(7000));
    store.set_down(true);
    let mut response = HeaderMap::new();
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
    assert!(response.is_empty());

    // Shrinking while the store is down: the old entry cannot be deleted,
    // so no cookie is set and the old one still works.
    session.set(blob(10));
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
    assert!(response.is_empty());
    store.set_down(false);
    let session: Session<Blob> = manager.load(&request).await.unwrap();
    assert_eq!(*session, blob(6000));
    assert_eq!(session.store_id(), Some(id));
}

#[tokio::test]
async fn loading_a_pointer_while_the_store_is_down_is_an_error_not_a_fresh_session() {
    let (store, manager) = flaky();
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let request = next_request(&response);

    store.set_down(true);
    let err = manager.load::<Blob>(&request).await.unwrap_err();
    assert_store_error(&err);

    // An inline cookie needs no store, so it loads while the store is down.
    let cookie = sealed_cart(
        &SessionManager::with_codec(manager.codec().clone())
            .build()
            .unwrap(),
        Cart::sample(),
        SystemTime::now(),
    );
    let session: Session<Cart> = manager.load(&cookie_header(&cookie)).await.unwrap();
    assert_eq!(*session, Cart::sample());
}

#[test]
fn a_reseal_under_a_new_primary_that_no_longer_fits_keeps_the_old_cookie() {
    // A session sealed under AES-256-GCM, as close to the limit as it gets.
    let old_key = Key::generate().with_algorithm(sealed_session::Algorithm::Aes256Gcm);
    let old = SessionManager::with_codec(codec_with(KeyRing::new([old_key.clone()]).unwrap()))
        .build()
        .unwrap();
    let fits = (0..4096)
        .rev()
        .find(|&n| old.codec().sealed_size(&blob(n)).unwrap() <= MAX_COOKIE_BYTES)
        .unwrap();
    let mut session: Session<Blob> = load_sync_at(&old, &HeaderMap::new(), at(0));
    session.set(blob(fits));
    let (_, response) = save_sync_at(&old, &mut session, at(0));
    let request = next_request(&response);

    // The documented move to XAES-256-GCM adds 12 bytes of nonce: the
    // re-seal is too large, and nothing the handler did requires it.
    let new_key = Key::generate();
    let rotated = SessionManager::with_codec(codec_with(KeyRing::new([new_key, old_key]).unwrap()))
        .build()
        .unwrap();
    let mut session: Session<Blob> = load_sync_at(&rotated, &request, at(1));
    assert!(!session.opened_with().unwrap().is_primary());
    let (saved, response) = save_sync_at(&rotated, &mut session, at(1));
    assert!(
        matches!(
            saved,
            Saved::Kept {
                cause: ErrorKind::TooLarge { .. }
            }
        ),
        "{saved:?}"
    );
    assert!(response.is_empty(), "the client keeps its cookie");
    // It still opens, and the read-only request did not fail.
    let again: Session<Blob> = load_sync_at(&rotated, &request, at(2));
    assert_eq!(*again, blob(fits));

    // A change the handler made must be written: then it is an error.
    session.set(blob(fits + 1));
    let mut response = HeaderMap::new();
    let err = rotated
        .save_sync_at(&mut session, &mut response, at(2))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }));
}

#[tokio::test]
async fn a_renewal_while_the_store_is_down_keeps_the_old_cookie() {
    let store = Arc::new(FlakyStore::default());
    // Renew on every request (the flaky store runs on the real clock).
    let manager = SessionManager::with_codec(codec())
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .renewal_threshold(0.0)
        .build()
        .unwrap();
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let request = next_request(&response);

    // The renewal writes the store, which goes down after the load.
    let mut session: Session<Blob> = manager.load(&request).await.unwrap();
    assert!(!session.is_new());
    store.set_down(true);
    let mut response = HeaderMap::new();
    let saved = manager.save(&mut session, &mut response).await.unwrap();
    assert_eq!(
        saved,
        Saved::Kept {
            cause: ErrorKind::Store
        }
    );
    assert!(response.is_empty());
    store.set_down(false);
    let session: Session<Blob> = manager.load(&request).await.unwrap();
    assert_eq!(*session, blob(6000));

    // A change the handler made is still an error when the store is down.
    let mut session = session;
    session.set(blob(6001));
    store.set_down(true);
    let err = manager.save(&mut session, &mut response).await.unwrap_err();
    assert_store_error(&err);
}

#[tokio::test]
async fn a_regenerate_or_login_whose_write_fails_is_an_error_never_a_kept_old_identity() {
    let (store, manager) = flaky();
    let mut session: Session<Blob> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(blob(6000));
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let request = next_request(&response);

    // Unchanged data, a new identity asked for: the write is required (a
    // kept old cookie would keep the identity the handler meant to drop).
    for login in [false, true] {
        let mut session: Session<Blob> = manager.load(&request).await.unwrap();
        if login {
            session.login("user:1").unwrap();
        } else {
            session.regenerate();
        }
        store.set_down(true);
        let mut response = HeaderMap::new();
        let err = manager.save(&mut session, &mut response).await.unwrap_err();
        assert_store_error(&err);
        assert!(response.is_empty());
        store.set_down(false);
    }
}
