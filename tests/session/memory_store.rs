//! The memory store itself.

use std::time::{Duration, SystemTime};

use sealed_session::store::{MemoryStore, Store, StoreId};

use crate::fixtures::{Clock, at};

#[tokio::test]
async fn the_memory_store_holds_its_capacity_under_100_000_inserts() {
    const CAPACITY: u64 = 1 << 20;
    let store = MemoryStore::with_capacity_bytes(CAPACITY);
    assert_eq!(store.capacity_bytes(), CAPACITY);
    let value = vec![0xabu8; 1024];
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    let mut last = StoreId::generate();
    for i in 0..100_000 {
        last = StoreId::generate();
        assert!(store.create(&last, &value, expires_at).await.unwrap());
        if i % 10_000 == 0 {
            assert!(store.weighted_size() <= CAPACITY);
        }
    }
    let _ = last;
    let held = store.weighted_size();
    assert!(held <= CAPACITY, "{held} bytes held, capacity {CAPACITY}");
    assert!(store.entry_count() <= CAPACITY / 1024);
    assert!(store.entry_count() > 0, "the store still holds entries");
}

#[tokio::test]
async fn the_memory_store_does_not_return_expired_entries() {
    let clock = Clock::new();
    let store = clock.store(1 << 20);
    let id = StoreId::generate();
    store.save(&id, b"sealed", at(60)).await.unwrap();
    clock.at(0);
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"sealed"[..])
    );
    clock.at(59);
    assert!(store.load(&id).await.unwrap().is_some());
    clock.at(60);
    assert_eq!(
        store.load(&id).await.unwrap(),
        None,
        "expired at its deadline"
    );
    clock.at(3600);
    assert_eq!(store.load(&id).await.unwrap(), None);
}

#[tokio::test]
async fn memory_store_create_does_not_replace_a_live_entry() {
    let clock = Clock::new();
    let store = clock.store(1 << 20);
    let id = StoreId::generate();
    clock.at(0);
    assert!(store.create(&id, b"first", at(60)).await.unwrap());
    assert!(!store.create(&id, b"second", at(120)).await.unwrap());
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );

    // Once the entry has expired, the id is free again.
    clock.at(60);
    assert!(store.create(&id, b"third", at(120)).await.unwrap());
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"third"[..])
    );

    // save replaces; delete removes.
    store.save(&id, b"fourth", at(120)).await.unwrap();
    assert_eq!(
        store.load(&id).await.unwrap().as_deref(),
        Some(&b"fourth"[..])
    );
    store.delete(&id).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), None);
    store.delete(&id).await.unwrap();
}
