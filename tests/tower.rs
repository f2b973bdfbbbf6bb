//! The tower layer (feature `tower`) through its public API: a
//! [`SessionLayer`] around a plain tower service, driven by hand. The
//! cookie round trip, the failure responses (`500` on a failed save, `503`
//! on a failed load, with the cause in the response's extensions), handler
//! errors (unsaved, except that a destroyed session's store entry is
//! deleted), the map session, and `Debug` output that shows no session data.
//!
//! Every store here answers synchronously, so each future is ready on its
//! first poll and no runtime is needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::future::Ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use flaky_store::FlakyStore;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, Request, Response, StatusCode};
use sealed_session::store::Store;
use sealed_session::tower::{SessionError, SessionHandle, SessionLayer, SessionService};
use sealed_session::{Codec, ErrorKind, Key, KeyRing, Map, Session, SessionManager};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

type Body = String;
type Handler<T> = fn(&mut Session<T>) -> Result<String, &'static str>;

/// An inner service running `handler` on the request's session, counting
/// its calls.
struct App<T> {
    handler: Handler<T>,
    calls: Arc<AtomicUsize>,
}

impl<T> Clone for App<T> {
    fn clone(&self) -> Self {
        Self {
            handler: self.handler,
            calls: Arc::clone(&self.calls),
        }
    }
}

impl<T: Send + 'static> Service<Request<()>> for App<T> {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = Ready<Result<Response<Body>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let handle = request.extensions().get::<SessionHandle<T>>().unwrap();
        let body = (self.handler)(&mut handle.lock());
        std::future::ready(body.map(Response::new))
    }
}

fn manager(store: Option<Arc<FlakyStore>>) -> SessionManager {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap();
    let builder = SessionManager::with_codec(codec);
    match store {
        Some(store) => builder.store(store as Arc<dyn Store>),
        None => builder,
    }
    .build()
    .unwrap()
}

/// The layer around an [`App`] running `handler`.
fn service<T>(manager: &SessionManager, handler: Handler<T>) -> SessionService<App<T>, T> {
    counted_service(manager, handler).0
}

/// As [`service`], and the count of the app's calls.
fn counted_service<T>(
    manager: &SessionManager,
    handler: Handler<T>,
) -> (SessionService<App<T>, T>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = App {
        handler,
        calls: Arc::clone(&calls),
    };
    (SessionLayer::new(manager.clone()).layer(app), calls)
}

/// Every future here is ready at once: the stores answer synchronously.
fn send<T>(
    service: &mut SessionService<App<T>, T>,
    cookie: Option<&str>,
) -> Result<Response<Body>, &'static str>
where
    T: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
{
    let mut request = Request::new(());
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert(COOKIE, cookie.parse().unwrap());
    }
    let mut future = service.call(request);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("future was not ready"),
    }
}

fn cookie_pair(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(SET_COOKIE)?.to_str().ok()?;
    Some(value.split(';').next()?.to_owned())
}

fn count(session: &mut Session<u32>) -> Result<String, &'static str> {
    **session += 1;
    Ok(session.to_string())
}

fn read(session: &mut Session<u32>) -> Result<String, &'static str> {
    Ok(session.to_string())
}

fn grow(session: &mut Session<Vec<u8>>) -> Result<String, &'static str> {
    session.set(vec![7; 5000]);
    Ok(String::new())
}

#[test]
fn counts_visits_through_the_cookie() {
    let manager = manager(None);
    let mut service = service(&manager, count);
    let first = send(&mut service, None).unwrap();
    assert_eq!(first.body(), "1");
    let pair = cookie_pair(first.headers()).unwrap();
    assert!(first.headers()[SET_COOKIE].is_sensitive());
    let second = send(&mut service, Some(&pair)).unwrap();
    assert_eq!(second.body(), "2");
}

#[test]
fn untouched_new_session_sets_no_cookie() {
    let mut service = service(&manager(None), read);
    let response = send(&mut service, None).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(SET_COOKIE).is_none());
}

#[test]
fn tampered_cookie_gives_a_fresh_session_not_an_error() {
    let mut service = service(&manager(None), count);
    let response = send(&mut service, Some("session=AAAA")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "1");
}

#[test]
fn too_large_without_store_is_500_without_cookie() {
    let mut service = service(&manager(None), grow);
    let response = send(&mut service, None).unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let failure = response.extensions().get::<SessionError>().unwrap();
    assert!(matches!(
        failure.error().kind(),
        ErrorKind::TooLarge { limit: 4096, .. }
    ));
}

#[test]
fn store_down_on_save_is_500_and_on_load_is_503() {
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let (mut growing, calls) = counted_service(&manager, grow);
    let stored = send(&mut growing, None).unwrap();
    assert_eq!(stored.status(), StatusCode::OK);
    let pair = cookie_pair(stored.headers()).unwrap();
    assert_eq!(store.len(), 1);

    store.set_down(true);
    let saving = send(&mut growing, None).unwrap();
    assert_eq!(saving.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(saving.headers().get(SET_COOKIE).is_none());
    let failure = saving.extensions().get::<SessionError>().unwrap();
    assert_eq!(failure.error().kind(), ErrorKind::Store);
    // A default body that says what failed, not why.
    assert_eq!(saving.body(), "session could not be saved");
    assert_eq!(
        saving.headers()["content-type"],
        "text/plain; charset=utf-8"
    );

    let before = calls.load(Ordering::SeqCst);
    let loading = send(&mut growing, Some(&pair)).unwrap();
    assert_eq!(loading.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(loading.extensions().get::<SessionError>().is_some());
    assert_eq!(loading.body(), "session store unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), before, "handler not called");
}

#[test]
fn handler_error_passes_through_unsaved() {
    fn fail(session: &mut Session<u32>) -> Result<String, &'static str> {
        **session += 1;
        Err("handler failed")
    }
    let mut service = service(&manager(None), fail);
    assert_eq!(send(&mut service, None).unwrap_err(), "handler failed");
}

#[test]
fn destroy_on_error_path_deletes_the_store_entry() {
    fn destroy_then_fail(session: &mut Session<Vec<u8>>) -> Result<String, &'static str> {
        session.destroy();
        Err("handler failed")
    }
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let stored = send(&mut service(&manager, grow), None).unwrap();
    let pair = cookie_pair(stored.headers()).unwrap();
    assert_eq!(store.len(), 1);

    let mut destroying = service(&manager, destroy_then_fail);
    let result = send(&mut destroying, Some(&pair));
    assert_eq!(result.unwrap_err(), "handler failed", "error unchanged");
    assert_eq!(store.len(), 0, "entry deleted");

    // The cookie now points at nothing: a fresh session, not the data.
    fn reason(session: &mut Session<Vec<u8>>) -> Result<String, &'static str> {
        Ok(format!("{:?} {}", session.fresh_reason(), session.len()))
    }
    let after = send(&mut service(&manager, reason), Some(&pair)).unwrap();
    assert_eq!(after.body(), "Some(MissingFromStore) 0");
}

#[test]
fn regenerate_on_error_path_keeps_the_old_entry() {
    fn regenerate_then_fail(session: &mut Session<Vec<u8>>) -> Result<String, &'static str> {
        session.regenerate();
        Err("handler failed")
    }
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let stored = send(&mut service(&manager, grow), None).unwrap();
    let pair = cookie_pair(stored.headers()).unwrap();
    let before = store.ids();

    let result = send(&mut service(&manager, regenerate_then_fail), Some(&pair));
    assert_eq!(result.unwrap_err(), "handler failed");
    assert_eq!(before, store.ids());
}

#[test]
fn map_session_handle_works_with_the_layer() {
    fn remember(session: &mut Session<Map>) -> Result<String, &'static str> {
        let seen = session.get::<u64>("n").unwrap().unwrap_or(0);
        session.insert("n", &(seen + 1)).unwrap();
        Ok(seen.to_string())
    }
    let mut service = service(&manager(None), remember);
    let first = send(&mut service, None).unwrap();
    let pair = cookie_pair(first.headers()).unwrap();
    assert_eq!(send(&mut service, Some(&pair)).unwrap().body(), "1");
}

#[test]
fn session_error_debug_does_not_leak_data() {
    fn oversized_secret(session: &mut Session<String>) -> Result<String, &'static str> {
        session.set("s3cr3t-csrf-token".repeat(400));
        Ok(String::new())
    }
    let mut service = service(&manager(None), oversized_secret);
    let response = send(&mut service, None).unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let failure = response.extensions().get::<SessionError>().unwrap();
    for text in [
        format!("{failure:?}"),
        format!("{failure:#?}"),
        failure.to_string(),
    ] {
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}

#[test]
fn debug_shows_no_session_data() {
    // A new session, as the layer loads for a request without a cookie.
    let session: Session<u32> = manager(None).load_sync(&HeaderMap::new()).unwrap();
    let handle = SessionHandle::new(session);
    handle.lock().set(123_456);
    let debug = format!("{handle:?}");
    assert!(!debug.contains("123456"), "{debug}");
    assert!(debug.contains("changed: true"), "{debug}");
}
