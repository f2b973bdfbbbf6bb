//! The tower layer (feature `tower`) through its public API: a
//! [`SessionLayer`] around a plain tower service, driven by hand. The
//! cookie round trip, the failure responses (`500` on a failed save, `503`
//! on a failed load, with the cause in the response's extensions), handler
//! errors (unsaved, except that a destroyed session's store entry is
//! deleted), the map session, and `Debug` output that shows no session data.
//! Loading on first use: a service that never asks for the session costs
//! no store read and no decryption and gets no `Set-Cookie`; one that asks
//! twice loads once; a save in the middle of the service writes the store
//! before it returns and its cookie goes out once; a save dropped half-way
//! keeps the session.
//!
//! Every store here answers synchronously, so each future is ready on its
//! first poll and no runtime is needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::future::{Future, Ready};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use flaky_store::FlakyStore;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, Request, Response, StatusCode};
use sealed_session::store::Store;
use sealed_session::tower::{
    LazySession, SessionError, SessionHandle, SessionLayer, SessionService,
};
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
    /// Runs of `handler`.
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

impl<T: DeserializeOwned + Default + Send + Sync + 'static> Service<Request<()>> for App<T> {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = Ready<Result<Response<Body>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let lazy = &LazySession::<T>::from_extensions(request.extensions()).unwrap();
        let handle = match ready_now(lazy.handle()) {
            Ok(handle) => handle,
            // What a raw service does with a load failure is its own
            // choice; this one answers 503 with the cause, without running
            // the handler.
            Err(error) => {
                let mut response = Response::new(Body::from("unavailable"));
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                response.extensions_mut().insert(error);
                return std::future::ready(Ok(response));
            }
        };
        self.calls.fetch_add(1, Ordering::SeqCst);
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

/// The output of a future that is ready at once (the stores here answer
/// synchronously).
fn ready_now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("future was not ready"),
    }
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
    let mut future = std::pin::pin!(service.call(request));
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

    // The raw service gets the load's error from `LazySession::handle` and
    // answers; the layer saves nothing for a session that did not load.
    let before = calls.load(Ordering::SeqCst);
    let loading = send(&mut growing, Some(&pair)).unwrap();
    assert_eq!(loading.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(loading.headers().get(SET_COOKIE).is_none());
    let failure = loading.extensions().get::<SessionError>().unwrap();
    assert_eq!(failure.error().kind(), ErrorKind::Store);
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
    let handle = SessionHandle::new(manager(None), session);
    handle.lock().set(123_456);
    let debug = format!("{handle:?}");
    assert!(!debug.contains("123456"), "{debug}");
    assert!(debug.contains("changed: true"), "{debug}");
}

/// A raw service running `f` on the request's [`LazySession`].
struct Raw<T, F> {
    f: F,
    session: PhantomData<fn() -> T>,
}

impl<T, F: Clone> Clone for Raw<T, F> {
    fn clone(&self) -> Self {
        Self {
            f: self.f.clone(),
            session: PhantomData,
        }
    }
}

impl<T, F> Service<Request<()>> for Raw<T, F>
where
    T: Send + Sync + 'static,
    F: Fn(&LazySession<T>) -> Response<Body>,
{
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = Ready<Result<Response<Body>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let lazy = &LazySession::<T>::from_extensions(request.extensions()).unwrap();
        std::future::ready(Ok((self.f)(lazy)))
    }
}

/// One request carrying `cookie` through the layer around `f`.
fn send_raw<T, F>(manager: &SessionManager, f: F, cookie: Option<&str>) -> Response<Body>
where
    T: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
    F: Fn(&LazySession<T>) -> Response<Body> + Clone + Send + 'static,
{
    let mut service = SessionLayer::<T>::new(manager.clone()).layer(Raw {
        f,
        session: PhantomData,
    });
    let mut request = Request::new(());
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert(COOKIE, cookie.parse().unwrap());
    }
    ready_now(service.call(request)).unwrap()
}

#[test]
fn a_service_that_never_asks_reads_no_store_opens_no_cookie_and_sets_none() {
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let stored = send(&mut service(&manager, grow), None).unwrap();
    let pointer = cookie_pair(stored.headers()).unwrap();
    let loads = store.loads();
    let untouched = |lazy: &LazySession<Vec<u8>>| {
        assert!(!lazy.is_loaded());
        Response::new(Body::from("static page"))
    };

    // A pointer cookie: a load would read the store.
    let response = send_raw(&manager, untouched, Some(&pointer));
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert_eq!(store.loads(), loads, "no store read");

    // Store down: nothing fails, as nothing reads it.
    store.set_down(true);
    let response = send_raw(&manager, untouched, Some(&pointer));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(store.loads(), loads);
    store.set_down(false);

    // A cookie that does not open: a load would answer it with a removal
    // cookie (`clear_invalid_cookies`), so no removal means no open.
    let junk = "__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let response = send_raw(&manager, untouched, Some(junk));
    assert!(response.headers().get(SET_COOKIE).is_none());
    let loaded = send_raw(
        &manager,
        |lazy: &LazySession<Vec<u8>>| {
            let handle = ready_now(lazy.handle()).unwrap();
            Response::new(Body::from(format!("{:?}", handle.lock().fresh_reason())))
        },
        Some(junk),
    );
    assert_eq!(loaded.body(), "Some(Rejected)");
    let removal = loaded.headers()[SET_COOKIE].to_str().unwrap();
    assert!(removal.contains("Max-Age=0"), "{removal}");
}

#[test]
fn a_service_that_asks_twice_loads_once() {
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let stored = send(&mut service(&manager, grow), None).unwrap();
    let pointer = cookie_pair(stored.headers()).unwrap();
    let loads = store.loads();
    let response = send_raw(
        &manager,
        |lazy: &LazySession<Vec<u8>>| {
            let first = ready_now(lazy.handle()).unwrap();
            first.update(|s| s.push(1));
            let second = ready_now(lazy.clone().handle()).unwrap();
            Response::new(Body::from(second.read(|s| s.len()).to_string()))
        },
        Some(&pointer),
    );
    assert_eq!(response.body(), "5001", "one session, shared");
    assert_eq!(store.loads(), loads + 1, "one store read");
}

#[test]
fn a_load_failure_is_kept_for_the_request() {
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let stored = send(&mut service(&manager, grow), None).unwrap();
    let pointer = cookie_pair(stored.headers()).unwrap();
    store.set_down(true);
    let loads = store.loads();
    let response = send_raw(
        &manager,
        |lazy: &LazySession<Vec<u8>>| {
            assert!(!lazy.is_loaded());
            let first = ready_now(lazy.handle()).unwrap_err();
            assert!(lazy.is_loaded(), "a failed load is a load");
            let second = ready_now(lazy.handle()).unwrap_err();
            assert!(lazy.loaded().unwrap().is_err());
            assert_eq!(first.error().kind(), ErrorKind::Store);
            assert_eq!(second.error().kind(), ErrorKind::Store);
            Response::new(Body::from("store down"))
        },
        Some(&pointer),
    );
    assert_eq!(store.loads(), loads + 1, "not retried");
    assert_eq!(response.body(), "store down");
    assert!(response.headers().get(SET_COOKIE).is_none());
}

#[test]
fn a_save_in_the_service_writes_the_store_before_it_returns_and_one_cookie_goes_out() {
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(Arc::clone(&store)));
    let seen = Arc::clone(&store);
    let response = send_raw(
        &manager,
        move |lazy: &LazySession<Vec<u8>>| {
            let handle = ready_now(lazy.handle()).unwrap();
            handle.update(|s| s.set(vec![7; 5000]));
            assert_eq!(seen.len(), 0);
            let saved = ready_now(handle.save()).unwrap();
            assert!(matches!(saved, sealed_session::Saved::Store { .. }));
            assert_eq!(seen.len(), 1, "written before the service returns");
            Response::new(Body::new())
        },
        None,
    );
    assert_eq!(response.headers().get_all(SET_COOKIE).iter().count(), 1);
    let pointer = cookie_pair(response.headers()).unwrap();
    let read = send(
        &mut service(&manager, |s: &mut Session<Vec<u8>>| Ok(s.len().to_string())),
        Some(&pointer),
    );
    assert_eq!(read.unwrap().body(), "5000");
}

/// A store whose writes never finish, for a save dropped half-way.
#[derive(Debug)]
struct StuckStore;

impl Store for StuckStore {
    fn create<'a>(
        &'a self,
        _: &'a sealed_session::store::StoreId,
        _: &'a [u8],
        _: std::time::SystemTime,
    ) -> sealed_session::store::StoreFuture<'a, bool> {
        Box::pin(std::future::pending())
    }

    fn load<'a>(
        &'a self,
        _: &'a sealed_session::store::StoreId,
    ) -> sealed_session::store::StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    fn save<'a>(
        &'a self,
        _: &'a sealed_session::store::StoreId,
        _: &'a [u8],
        _: std::time::SystemTime,
    ) -> sealed_session::store::StoreFuture<'a, ()> {
        Box::pin(std::future::pending())
    }

    fn delete<'a>(
        &'a self,
        _: &'a sealed_session::store::StoreId,
    ) -> sealed_session::store::StoreFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

#[test]
fn a_save_dropped_half_way_keeps_the_session_and_lets_the_next_one_in() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap();
    let manager = SessionManager::with_codec(codec)
        .store(Arc::new(StuckStore) as Arc<dyn Store>)
        .build()
        .unwrap();
    let response = send_raw(
        &manager,
        |lazy: &LazySession<Vec<u8>>| {
            let handle = ready_now(lazy.handle()).unwrap();
            handle.update(|s| s.set(vec![7; 5000]));
            {
                // Spills to the store, whose write never finishes: dropped
                // there, as a handler's timeout would drop it.
                let mut save = pin!(handle.save());
                let pending = save.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                assert!(pending.is_pending());
            }
            assert_eq!(handle.read(|s| s.len()), 5000, "not lost to the stand-in");
            // The save's turn ended with it: a reload gets in (and, with
            // nothing saved and no cookie, gives a fresh session).
            ready_now(handle.reload()).unwrap();
            assert_eq!(handle.read(|s| s.len()), 0);
            Response::new(Body::new())
        },
        None,
    );
    assert!(response.headers().get(SET_COOKIE).is_none());
}
