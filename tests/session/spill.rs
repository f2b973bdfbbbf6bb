//! Overflow to the store and back: a session that outgrows the cookie
//! spills to the memory store behind a pointer cookie and comes back inline
//! when it shrinks; every emitted cookie stays within the (configurable)
//! limit; without a store, or with `Overflow::Error`, too large is an
//! error; the smallest limit still holds a pointer; stored sessions have a
//! maximum size.

use std::sync::Arc;

use http::HeaderMap;
use sealed_session::limits::MAX_COOKIE_BYTES;
use sealed_session::store::{MemoryStore, Store, StoreId};
use sealed_session::{
    Codec, ErrorKind, Key, KeyRing, Location, MapSession, Overflow, Saved, Session, SessionManager,
};

use crate::fixtures::{
    ABSOLUTE, Blob, Clock, IDLE, Stored, at, attributes_of, blob, codec, load_at, manager,
    next_request, only_set_cookie, pair_of, save_at,
};

#[tokio::test]
async fn a_growing_session_spills_to_the_store_and_comes_back_when_it_shrinks() {
    let fx = Stored::new();

    // Small: inline.
    let mut session: Session<Blob> = fx.load(&HeaderMap::new(), 0).await;
    session.set(blob(100));
    let (saved, response) = fx.save(&mut session, 0).await;
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(fx.store.entry_count(), 0);

    // Grown past 4096: a pointer cookie under the limit.
    let mut session: Session<Blob> = fx.load(&next_request(&response), 1).await;
    session.set(blob(5000));
    let (saved, response) = fx.save(&mut session, 1).await;
    let Saved::Store { size, stored_bytes } = saved else {
        panic!("expected a store entry, got {saved:?}");
    };
    let line = only_set_cookie(&response);
    assert_eq!(pair_of(&line).len(), size);
    assert!(size <= MAX_COOKIE_BYTES, "{size}");
    assert!(stored_bytes > 5000, "{stored_bytes}");
    assert!(attributes_of(&line).contains(&"HttpOnly"));
    assert_eq!(session.location(), Location::Store);
    let id = session.store_id().unwrap();
    assert_eq!(fx.entry(id).await.unwrap().len(), stored_bytes);

    // The data round-trips through the store on the next request.
    let mut session: Session<Blob> = fx.load(&next_request(&response), 2).await;
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, blob(5000));
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.store_id(), Some(id));

    // Shrunk: back inline, the store entry deleted.
    session.set(blob(100));
    let (saved, response) = fx.save(&mut session, 2).await;
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert!(pair_of(&only_set_cookie(&response)).len() <= MAX_COOKIE_BYTES);
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.store_id(), None);
    assert_eq!(fx.entry(id).await, None, "store entry deleted");

    let session: Session<Blob> = fx.load(&next_request(&response), 3).await;
    assert_eq!(*session, blob(100));
    assert_eq!(session.location(), Location::Cookie);
}

#[tokio::test]
async fn a_map_session_spills_to_the_store_and_comes_back_when_it_shrinks() {
    let fx = Stored::new();
    let mut session: MapSession = fx.load(&HeaderMap::new(), 0).await;
    session.insert("user", &7u64).unwrap();
    session.insert("big", &vec![0x5au8; 6000]).unwrap();
    let (saved, response) = fx.save(&mut session, 0).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    assert!(pair_of(&only_set_cookie(&response)).len() <= MAX_COOKIE_BYTES);
    let id = session.store_id().unwrap();

    let mut session: MapSession = fx.load(&next_request(&response), 1).await;
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.get::<u64>("user").unwrap(), Some(7));
    assert_eq!(
        session.get::<Vec<u8>>("big").unwrap(),
        Some(vec![0x5a; 6000])
    );

    assert!(session.remove("big"));
    let (saved, response) = fx.save(&mut session, 1).await;
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_eq!(fx.entry(id).await, None, "store entry deleted");

    let session: MapSession = fx.load(&next_request(&response), 2).await;
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.get::<u64>("user").unwrap(), Some(7));
    assert!(!session.data().contains_key("big"));
}

/// Grows and shrinks a session through every size from 0 to 6 000 bytes,
/// one request each, and checks every cookie emitted against the limit.
async fn sweep_sizes(fx: &Stored, limit: usize) {
    let mut request = HeaderMap::new();
    let mut previous: Option<StoreId> = None;
    let sizes: Vec<usize> = (0..=6000)
        .step_by(75)
        .chain((0..=6000).rev().step_by(75))
        .collect();
    let mut last = 0;
    let (mut inline_saves, mut stored_saves) = (0, 0);
    for (t, len) in (1u64..).zip(sizes) {
        last = t;
        let mut session: Session<Blob> = fx.load(&request, t).await;
        if t > 1 {
            assert_eq!(session.fresh_reason(), None, "at {len}");
        }
        assert_eq!(session.store_id(), previous);
        session.set(blob(len));
        let inline = fx.manager.codec().sealed_size(session.data()).unwrap();
        let (saved, response) = fx.save(&mut session, t).await;
        let line = only_set_cookie(&response);
        let emitted = pair_of(&line).len();
        assert!(emitted <= limit, "{emitted} > {limit} at {len}");
        match saved {
            Saved::Cookie { size } => {
                assert!(inline <= limit, "{inline} inline at {len}");
                assert_eq!(size, emitted);
                assert_eq!(session.location(), Location::Cookie);
                inline_saves += 1;
                if let Some(old) = previous {
                    assert_eq!(fx.entry(old).await, None, "left behind at {len}");
                }
            }
            Saved::Store { size, .. } => {
                assert!(inline > limit, "{inline} spilled at {len}");
                assert_eq!(size, emitted);
                assert_eq!(session.location(), Location::Store);
                stored_saves += 1;
            }
            other => panic!("unexpected {other:?} at {len}"),
        }
        previous = session.store_id();
        request = next_request(&response);
    }
    assert!(
        inline_saves > 10 && stored_saves > 10,
        "{inline_saves} {stored_saves}"
    );
    let session: Session<Blob> = fx.load(&request, last + 1).await;
    assert_eq!(*session, blob(0));
    assert_eq!(fx.store.entry_count(), 0, "no entry left behind");
}

#[tokio::test]
async fn every_emitted_cookie_is_within_the_limit_as_a_session_grows_and_shrinks() {
    sweep_sizes(&Stored::new(), MAX_COOKIE_BYTES).await;
}

#[tokio::test]
async fn a_lowered_size_limit_is_honoured_both_ways() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .size_limit(1024)
        .idle_timeout(IDLE)
        .absolute_timeout(ABSOLUTE)
        .build()
        .unwrap();
    sweep_sizes(&Stored::with_codec(codec), 1024).await;
}

#[tokio::test]
async fn without_a_store_an_oversized_session_is_too_large_and_sets_nothing() {
    let manager = manager();
    let mut session: Session<Blob> = load_at(&manager, &HeaderMap::new(), at(0)).await;
    session.set(blob(5000));
    let mut response = HeaderMap::new();
    let err = manager
        .save_at(&mut session, &mut response, at(0))
        .await
        .unwrap_err();
    let ErrorKind::TooLarge { size, limit } = err.kind() else {
        panic!("expected TooLarge, got {err:?}");
    };
    assert_eq!(limit, MAX_COOKIE_BYTES);
    assert!(size > limit, "{size}");
    assert_eq!(size, manager.codec().sealed_size(session.data()).unwrap());
    assert!(response.is_empty());
    assert_eq!(session.location(), Location::None);

    // The same with a store but `Overflow::Error`.
    let fx_store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(fx_store)
        .overflow(Overflow::Error)
        .build()
        .unwrap();
    let err = manager
        .save_at(&mut session, &mut response, at(0))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }), "{err:?}");
    assert!(response.is_empty());
}

#[tokio::test]
async fn the_smallest_size_limit_still_holds_a_pointer_cookie() {
    // Spilling seals the pointer before writing the store; the limit can
    // never be too small for it, because build refuses such limits.
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let err = Codec::builder(ring.clone())
        .size_limit(64)
        .build()
        .unwrap_err();
    let ErrorKind::InvalidSizeLimit { min, .. } = err.kind() else {
        panic!("{err:?}");
    };
    let codec = Codec::builder(ring).size_limit(min).build().unwrap();
    let fx = Stored::with_codec(codec);
    let (session, response) = fx.spill(100).await;
    assert_eq!(session.location(), Location::Store);
    let line = only_set_cookie(&response);
    assert!(pair_of(&line).len() <= min, "{line}");
    let back: Session<Blob> = fx.load(&next_request(&response), 1).await;
    assert_eq!(*back, blob(100));
}

#[tokio::test]
async fn a_stored_session_over_the_maximum_is_too_large() {
    let clock = Clock::new();
    let store: Arc<dyn Store> = Arc::new(clock.store(16 << 20));
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .max_stored_bytes(10_000)
        .build()
        .unwrap();
    let mut session: Session<Blob> = load_at(&manager, &HeaderMap::new(), clock.at(0)).await;
    session.set(blob(20_000));
    let mut response = HeaderMap::new();
    let err = manager
        .save_at(&mut session, &mut response, clock.at(0))
        .await
        .unwrap_err();
    let ErrorKind::TooLarge { size, limit } = err.kind() else {
        panic!("{err:?}");
    };
    assert!(size > 20_000);
    assert_eq!(limit, 10_000);
    assert!(response.is_empty());
    session.set(blob(9_000));
    let (saved, _) = save_at(&manager, &mut session, clock.at(0)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
}
