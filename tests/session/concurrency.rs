//! Two requests of one user changing one stored session: by default the
//! last writer wins; with optimistic concurrency the second writer is told
//! (`ErrorKind::Conflict`) and its changes are not written.

use std::sync::Arc;

use http::HeaderMap;
use sealed_session::store::Store;
use sealed_session::{ErrorKind, Saved, Session, SessionManager};

use crate::fixtures::{Blob, Clock, blob, codec, next_request, save_at};

/// A manager over a memory store on an injected clock, with or without
/// optimistic concurrency, and a stored session saved at `at(0)`: the
/// manager, the clock and the request carrying the session.
async fn stored(optimistic: bool) -> (SessionManager, Clock, HeaderMap) {
    let clock = Clock::new();
    let store: Arc<dyn Store> = Arc::new(clock.store(16 << 20));
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .optimistic_concurrency(optimistic)
        .build()
        .unwrap();
    let mut session: Session<Blob> = manager
        .load_at(&HeaderMap::new(), clock.at(0))
        .await
        .unwrap();
    session.set(blob(6000));
    let (saved, response) = save_at(&manager, &mut session, clock.at(0)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    (manager, clock, next_request(&response))
}

/// Sets the blob's first byte: a change that keeps the session stored.
fn mark(session: &mut Session<Blob>, byte: u8) {
    let mut value = session.data().clone();
    value.bytes[0] = byte;
    session.set(value);
}

async fn first_byte(manager: &SessionManager, request: &HeaderMap, clock: &Clock) -> u8 {
    let session: Session<Blob> = manager.load_at(request, clock.at(2)).await.unwrap();
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    session.data().bytes[0]
}

#[tokio::test]
async fn by_default_the_last_writer_wins() {
    let (manager, clock, request) = stored(false).await;
    let mut a: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    let mut b: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    mark(&mut a, 1);
    mark(&mut b, 2);
    let (first, _) = save_at(&manager, &mut a, clock.at(1)).await;
    let (second, _) = save_at(&manager, &mut b, clock.at(1)).await;
    assert!(matches!(first, Saved::Store { .. }), "{first:?}");
    assert!(matches!(second, Saved::Store { .. }), "{second:?}");
    // A's change is silently gone: the documented default.
    assert_eq!(first_byte(&manager, &request, &clock).await, 2);
}

#[tokio::test]
async fn with_optimistic_concurrency_the_second_writer_gets_a_conflict() {
    let (manager, clock, request) = stored(true).await;
    let mut a: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    let mut b: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    mark(&mut a, 1);
    mark(&mut b, 2);
    let (first, _) = save_at(&manager, &mut a, clock.at(1)).await;
    assert!(matches!(first, Saved::Store { .. }), "{first:?}");
    let mut response = HeaderMap::new();
    let err = manager
        .save_at(&mut b, &mut response, clock.at(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        response.is_empty(),
        "no cookie for a write that did not happen"
    );
    assert_eq!(
        first_byte(&manager, &request, &clock).await,
        1,
        "A's change holds"
    );

    // B reloads (seeing A's change) and retries: it goes through.
    let mut b: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    assert_eq!(b.data().bytes[0], 1);
    mark(&mut b, 2);
    let (retried, _) = save_at(&manager, &mut b, clock.at(1)).await;
    assert!(matches!(retried, Saved::Store { .. }), "{retried:?}");
    assert_eq!(first_byte(&manager, &request, &clock).await, 2);
}

#[tokio::test]
async fn a_session_saved_twice_in_one_request_expects_its_own_last_write() {
    let (manager, clock, request) = stored(true).await;
    let mut session: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    for byte in [1, 2, 3] {
        mark(&mut session, byte);
        let (saved, _) = save_at(&manager, &mut session, clock.at(1)).await;
        assert!(
            matches!(saved, Saved::Store { .. }),
            "save {byte}: {saved:?}"
        );
    }
    assert_eq!(first_byte(&manager, &request, &clock).await, 3);
}

#[tokio::test]
async fn a_write_after_another_request_ended_the_session_is_a_conflict() {
    let (manager, clock, request) = stored(true).await;
    let mut stale: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    let mut logout: Session<Blob> = manager.load_at(&request, clock.at(1)).await.unwrap();
    logout.destroy();
    save_at(&manager, &mut logout, clock.at(1)).await;
    mark(&mut stale, 9);
    let err = manager
        .save_at(&mut stale, &mut HeaderMap::new(), clock.at(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "the logout is not undone");
}

#[tokio::test]
async fn a_renewal_needs_no_comparison_and_keeps_the_expectation() {
    let (manager, clock, request) = stored(true).await;
    // Past the renewal threshold (half the hour), unchanged: a touch.
    let mut session: Session<Blob> = manager.load_at(&request, clock.at(1801)).await.unwrap();
    let (saved, response) = save_at(&manager, &mut session, clock.at(1801)).await;
    assert!(matches!(saved, Saved::Touched { .. }), "{saved:?}");
    // The same request changes it afterwards: its expectation still holds.
    mark(&mut session, 5);
    let (saved, _) = save_at(&manager, &mut session, clock.at(1801)).await;
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let session: Session<Blob> = manager
        .load_at(&next_request(&response), clock.at(1802))
        .await
        .unwrap();
    assert_eq!(session.data().bytes[0], 5);
}
