//! A session held in the store (through a pointer cookie), over the memory
//! store on an injected clock: a pointer to a missing entry, destroy and
//! regenerate, renewal extending the entry, and re-sealing the entry after
//! a key rotation.

use std::sync::Arc;

use http::HeaderMap;
use sealed_session::store::Store;
use sealed_session::{FreshReason, Key, KeyRing, Saved, Session, SessionManager};

use crate::fixtures::{
    Blob, Clock, IDLE, Stored, at, attributes_of, blob, codec_with, load_at, load_sync_at,
    max_age_of, next_request, only_set_cookie, pair_of, save_at,
};

#[tokio::test]
async fn a_pointer_to_a_missing_store_entry_gives_a_fresh_session() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    fx.store.delete(&session.store_id().unwrap()).await.unwrap();
    let session: Session<Blob> = fx.load(&next_request(&response), 1).await;
    assert_eq!(session.fresh_reason(), Some(FreshReason::MissingFromStore));

    // A cookie-only manager with the same keys cannot follow the pointer.
    let no_store = SessionManager::with_codec(fx.manager.codec().clone())
        .build()
        .unwrap();
    let session: Session<Blob> = load_sync_at(&no_store, &next_request(&response), fx.at(1));
    assert_eq!(session.fresh_reason(), Some(FreshReason::MissingFromStore));
}

#[tokio::test]
async fn destroy_deletes_the_store_entry() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let id = session.store_id().unwrap();
    assert!(fx.entry(id).await.is_some());

    let mut session: Session<Blob> = fx.load(&next_request(&response), 1).await;
    assert_eq!(session.store_id(), Some(id));
    session.destroy();
    let (saved, response) = fx.save(&mut session, 1).await;
    assert_eq!(saved, Saved::Removed);
    let line = only_set_cookie(&response);
    assert_eq!(pair_of(&line), "__Host-session=");
    assert!(attributes_of(&line).contains(&"Max-Age=0"), "{line}");
    assert!(attributes_of(&line).contains(&"Path=/"), "{line}");
    assert_eq!(fx.entry(id).await, None, "store entry deleted");
    assert_eq!(session.store_id(), None);
}

#[tokio::test]
async fn regenerate_issues_a_new_store_id_deletes_the_old_entry_and_keeps_the_data() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let old_id = session.store_id().unwrap();

    let mut session: Session<Blob> = fx.load(&next_request(&response), 100).await;
    session.regenerate();
    let (saved, response) = fx.save(&mut session, 100).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let new_id = session.store_id().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(fx.entry(old_id).await, None, "old entry gone");
    assert!(fx.entry(new_id).await.is_some());
    assert_eq!(session.times().unwrap().issued_at(), at(100));

    let session: Session<Blob> = fx.load(&next_request(&response), 101).await;
    assert_eq!(*session, blob(6000), "data kept");
    assert_eq!(session.store_id(), Some(new_id));
    assert_eq!(session.times().unwrap().issued_at(), at(100));
}

#[tokio::test]
async fn renewing_a_stored_session_extends_its_store_entry() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let id = session.store_id().unwrap();
    let first = next_request(&response);

    // Past the threshold, untouched: the pointer cookie and the entry are
    // both renewed, under the same id; the entry's value is not written
    // again, only its deadline moves (`Store::touch`).
    let mut session: Session<Blob> = fx.load(&first, 1801).await;
    let (saved, response) = fx.save(&mut session, 1801).await;
    assert!(matches!(saved, Saved::Touched { .. }), "{saved:?}");
    assert_eq!(session.store_id(), Some(id));
    assert_eq!(max_age_of(&only_set_cookie(&response)), IDLE.as_secs());

    // After the first deadline, the renewed cookie still finds its data.
    let session: Session<Blob> = fx.load(&next_request(&response), 3600 + 60).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(6000));
    let session: Session<Blob> = fx.load(&first, 3600 + 60).await;
    assert_eq!(session.fresh_reason(), Some(FreshReason::Expired));

    // And after the renewed deadline the entry is gone from the store.
    fx.at(1801 + 3600);
    assert_eq!(fx.entry(id).await, None);
}

/// The entry went (evicted, or the store lost it) between the load and the
/// renewal: `touch` finds nothing, so the whole value is written again
/// rather than a pointer to nothing.
#[tokio::test]
async fn a_renewal_whose_entry_vanished_writes_the_value_again() {
    let fx = Stored::new();
    let (session, response) = fx.spill(6000).await;
    let id = session.store_id().unwrap();
    let mut session: Session<Blob> = fx.load(&next_request(&response), 1801).await;
    fx.store.delete(&id).await.unwrap();
    let (saved, response) = fx.save(&mut session, 1801).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let session: Session<Blob> = fx.load(&next_request(&response), 1802).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(6000));
}

#[tokio::test]
async fn a_stored_session_sealed_under_an_old_key_is_resealed_in_the_store_too() {
    let a = Key::generate();
    let b = Key::generate();
    let clock = Clock::new();
    let store = clock.store(16 << 20);
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let manager_for = |keys: Vec<Key>| {
        SessionManager::with_codec(codec_with(KeyRing::new(keys).unwrap()))
            .store(Arc::clone(&shared))
            .build()
            .unwrap()
    };
    let old = manager_for(vec![a.clone()]);
    let rotated = manager_for(vec![b.clone(), a.clone()]);
    let only_b = manager_for(vec![b.clone()]);

    let mut session: Session<Blob> = load_at(&old, &HeaderMap::new(), clock.at(0)).await;
    session.set(blob(6000));
    let (saved, response) = save_at(&old, &mut session, clock.at(0)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let id = session.store_id().unwrap();

    let mut session: Session<Blob> =
        load_at(&rotated, &next_request(&response), clock.at(10)).await;
    assert_eq!(session.opened_with().unwrap().key_id(), a.id());
    let (saved, response) = save_at(&rotated, &mut session, clock.at(10)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    assert_eq!(session.store_id(), Some(id), "same entry, re-sealed");

    let session: Session<Blob> = load_at(&only_b, &next_request(&response), clock.at(20)).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(6000));
    assert_eq!(session.opened_with().unwrap().key_id(), b.id());
}
