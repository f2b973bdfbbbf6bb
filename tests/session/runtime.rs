//! With and without an async runtime: cookie-only sessions load and save
//! synchronously, a manager with a store asks for async, the manager and
//! sessions are `Clone + Send + Sync`, and load and save futures are `Send`.
//! The tests over a store use the memory store (feature `memory`).

use std::sync::Arc;

use http::HeaderMap;
#[cfg(feature = "memory")]
use sealed_session::ErrorKind;
#[cfg(feature = "memory")]
use sealed_session::store::MemoryStore;
use sealed_session::store::Store;
use sealed_session::{Codec, Error, MapSession, Saved, Session, SessionManager};

#[cfg(feature = "memory")]
use crate::fixtures::codec;
use crate::fixtures::{Cart, manager, next_request};

#[cfg(feature = "memory")]
fn assert_send<T: Send>(_: &T) {}

#[test]
fn cookie_only_sessions_load_and_save_without_a_runtime() {
    let manager = manager();
    let mut session: Session<Cart> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(Cart::sample());
    let mut response = HeaderMap::new();
    let saved = manager.save_sync(&mut session, &mut response).unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    let session: Session<Cart> = manager.load_sync(&next_request(&response)).unwrap();
    assert_eq!(*session, Cart::sample());
    assert_eq!(session.fresh_reason(), None);
}

#[cfg(feature = "memory")]
#[test]
fn sync_load_and_save_with_a_store_ask_for_async() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .build()
        .unwrap();
    let err = manager.load_sync::<Cart>(&HeaderMap::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreNeedsAsync);

    let mut session: Session<Cart> = self::manager().load_sync(&HeaderMap::new()).unwrap();
    session.set(Cart::sample());
    let mut response = HeaderMap::new();
    let err = manager.save_sync(&mut session, &mut response).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreNeedsAsync);
    assert!(response.is_empty());
}

#[test]
fn the_manager_is_clone_send_sync_and_stores_work_as_trait_objects() {
    fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_clone_send_sync::<SessionManager>();
    assert_clone_send_sync::<Codec>();
    #[cfg(feature = "memory")]
    assert_clone_send_sync::<MemoryStore>();
    assert_clone_send_sync::<Session<Cart>>();
    assert_clone_send_sync::<MapSession>();
    assert_clone_send_sync::<Arc<dyn Store>>();
    assert_send_sync::<dyn Store>();
    assert_send_sync::<Error>();
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn load_and_save_futures_are_send() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .build()
        .unwrap();
    let headers = HeaderMap::new();
    let load = manager.load::<sealed_session::Map>(&headers);
    assert_send(&load);
    drop(load);

    let mut session: MapSession = manager.load(&headers).await.unwrap();
    session.insert("k", &1u8).unwrap();
    let mut response = HeaderMap::new();
    let save = manager.save(&mut session, &mut response);
    assert_send(&save);
    save.await.unwrap();

    // And spawned (which requires `Send + 'static`) on the runtime.
    let spawned = manager.clone();
    let handle = tokio::spawn(async move {
        let mut session: MapSession = spawned.load(&HeaderMap::new()).await?;
        session.insert("big", &vec![1u8; 6000])?;
        let mut response = HeaderMap::new();
        let saved = spawned.save(&mut session, &mut response).await?;
        Ok::<_, Error>((saved, response))
    });
    let (saved, response) = handle.await.unwrap().unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let session: MapSession = manager.load(&next_request(&response)).await.unwrap();
    assert_eq!(
        session.get::<Vec<u8>>("big").unwrap(),
        Some(vec![1u8; 6000])
    );
}
