//! A tower [`Layer`] that loads the session before the inner service and
//! saves it after.
//!
//! [`SessionLayer<T>`] wraps a service. For each request it
//!
//! 1. loads a [`Session<T>`] from the request's cookies with
//!    [`SessionManager::load`],
//! 2. puts a [`SessionHandle<T>`] to it in the request's extensions,
//! 3. calls the inner service, and when that returns a response,
//! 4. saves the session with [`SessionManager::save`], which appends a
//!    `Set-Cookie` to the response only when something needs writing.
//!
//! All session behaviour (change tracking, renewal, re-sealing after a
//! rotation, spilling to the store, regenerate and destroy) is the
//! manager's; the layer only moves the session between the request and the
//! response.
//!
//! # Failures
//!
//! The layer never answers with a response that silently lacks the cookie it
//! should carry:
//!
//! - **Load fails** (only when the store cannot be read): the inner service
//!   is not called, and the response is `503 Service Unavailable` with an
//!   empty body.
//! - **Save fails** (the store cannot be written, or a session too large for
//!   the cookie on a manager without a store, [`ErrorKind::TooLarge`]): the
//!   inner service's response is dropped and replaced by `500 Internal Server
//!   Error` with an empty body.
//!
//! Either error response carries a [`SessionError`] in its extensions, so an
//! outer layer can log the cause.
//!
//! A handler that returns an error (`Err(S::Error)`) gets no save: the error
//! passes through unchanged, and changes to the session are dropped. One
//! exception: a session the handler **destroyed** still has its store entry
//! deleted, so the server side of the session is gone. A tower error carries
//! no response, so no removal cookie can be sent with it; the client keeps
//! its cookie, which now points at nothing (or, for a session held entirely
//! in the cookie, stays valid until it expires). Return a response rather
//! than an error where a destroy must reach the browser (axum handlers
//! always return responses, so this only concerns raw tower services). A
//! store failure during that delete is not reported: the handler's error is.
//! [`Session::regenerate`] on an error path is not applied either: the old
//! identity and its entry stay as they were.
//!
//! [`ErrorKind::TooLarge`]: crate::ErrorKind::TooLarge

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use ::tower::{Layer, Service};
use http::{HeaderMap, Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::manager::SessionManager;
use crate::session::map::Map;
use crate::session::{FreshReason, Session};

/// A [`Layer`] that gives every request a [`Session<T>`] and saves it on the
/// response. See the [module docs](self) for the order of events and the
/// failure responses.
///
/// `T` is the session type (any `Serialize + DeserializeOwned + Default`);
/// use [`Map`] (the default) for a map session.
///
/// # Examples
///
/// ```
/// use sealed_session::tower::SessionLayer;
/// use sealed_session::{Codec, Key, KeyRing, SessionManager};
///
/// // In production, load keys from a secret store (`KeyRing::from_env`).
/// let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
/// let manager = SessionManager::with_codec(codec).build()?;
/// let layer = SessionLayer::<u32>::new(manager);
/// # let _ = layer;
/// # Ok::<(), sealed_session::Error>(())
/// ```
pub struct SessionLayer<T = Map> {
    manager: SessionManager,
    session: PhantomData<fn() -> T>,
}

impl<T> SessionLayer<T> {
    /// A layer loading and saving sessions of type `T` with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        Self {
            manager,
            session: PhantomData,
        }
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }
}

impl<T> Clone for SessionLayer<T> {
    fn clone(&self) -> Self {
        Self::new(self.manager.clone())
    }
}

impl<T> fmt::Debug for SessionLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("session", &std::any::type_name::<T>())
            .field("manager", &self.manager)
            .finish()
    }
}

impl<S, T> Layer<S> for SessionLayer<T> {
    type Service = SessionService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
            session: PhantomData,
        }
    }
}

/// The [`Service`] made by [`SessionLayer`].
///
/// It is a `Service` when the inner service's future and error are `Send`
/// (the error is held while a destroyed session's store entry is deleted;
/// see the [module docs](self)).
pub struct SessionService<S, T = Map> {
    inner: S,
    manager: SessionManager,
    session: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for SessionService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            manager: self.manager.clone(),
            session: PhantomData,
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for SessionService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("session", &std::any::type_name::<T>())
            .field("inner", &self.inner)
            .field("manager", &self.manager)
            .finish()
    }
}

/// The future a [`SessionService`] returns.
pub type ResponseFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    // Held while a destroyed session's store entry is deleted after an error.
    S::Error: Send,
    T: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this request; the
        // fresh clone stays behind for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let manager = self.manager.clone();
        Box::pin(async move {
            let session = match manager.load::<T>(request.headers()).await {
                Ok(session) => session,
                Err(e) => return Ok(failure(StatusCode::SERVICE_UNAVAILABLE, e)),
            };
            let handle = SessionHandle::new(session);
            request.extensions_mut().insert(handle.clone());
            let mut response = match inner.call(request).await {
                Ok(response) => response,
                Err(e) => {
                    delete_if_destroyed(&manager, &handle).await;
                    return Err(e);
                }
            };
            // Take the session out so no lock is held across the save.
            let mut session = handle.take();
            let saved = manager.save(&mut session, response.headers_mut()).await;
            handle.put_back(session);
            match saved {
                Ok(_) => Ok(response),
                Err(e) => Ok(failure(StatusCode::INTERNAL_SERVER_ERROR, e)),
            }
        })
    }
}

/// After a handler error: when the session was destroyed, saves it into a
/// throwaway header map, which deletes its store entry (there is no response
/// to carry the removal cookie). Best effort: the handler's error is what
/// the caller gets, so a store failure here is dropped.
async fn delete_if_destroyed<T>(manager: &SessionManager, handle: &SessionHandle<T>)
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let mut session = handle.take();
    if session.is_destroyed() {
        let _ = manager.save(&mut session, &mut HeaderMap::new()).await;
    }
    handle.put_back(session);
}

fn failure<B: Default>(status: StatusCode, error: Error) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = status;
    response
        .extensions_mut()
        .insert(SessionError(Arc::new(error)));
    response
}

/// The error behind a `503` or `500` response from [`SessionService`], in
/// that response's extensions, for logging.
///
/// # Examples
///
/// ```
/// use sealed_session::tower::SessionError;
///
/// fn log_session_failure<B>(response: &http::Response<B>) {
///     if let Some(failure) = response.extensions().get::<SessionError>() {
///         eprintln!("session: {}", failure.error());
///     }
/// }
/// # log_session_failure(&http::Response::new(()));
/// ```
#[derive(Debug, Clone)]
pub struct SessionError(Arc<Error>);

impl SessionError {
    /// The load or save error.
    pub fn error(&self) -> &Error {
        &self.0
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// A shared handle to the request's [`Session<T>`], put in the request's
/// extensions by [`SessionService`].
///
/// Clones share one session. Lock it, read or change the session, and let
/// the guard go before the next `.await` (the guard is a std
/// [`MutexGuard`]; holding it across an await makes the handler's future
/// non-`Send`, which most servers reject at compile time). Changes made
/// after the inner service has returned its response are not saved (while
/// the layer saves, a clone kept elsewhere sees an empty stand-in).
///
/// With the `axum` feature it is an extractor.
///
/// # Examples
///
/// ```
/// use sealed_session::tower::SessionHandle;
/// # #[derive(Default, serde::Serialize, serde::Deserialize)]
/// # struct Visits { count: u32 }
///
/// fn count_visit(handle: &SessionHandle<Visits>) -> u32 {
///     let mut session = handle.lock();
///     session.count += 1; // through the guard and the session, to `Visits`
///     session.count
/// }
/// ```
pub struct SessionHandle<T = Map> {
    session: Arc<Mutex<Session<T>>>,
}

/// A handle to a map session (string keys, typed values).
pub type MapSessionHandle = SessionHandle<Map>;

impl<T> SessionHandle<T> {
    /// A handle owning `session`. The layer makes these; handlers and tests
    /// outside a layer may too.
    pub fn new(session: Session<T>) -> Self {
        Self {
            session: Arc::new(Mutex::new(session)),
        }
    }

    /// Locks the session for reading or changing it.
    ///
    /// A lock poisoned by a panicking holder is taken over rather than
    /// passed on as a panic: the session is plain data and stays usable.
    pub fn lock(&self) -> MutexGuard<'_, Session<T>> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put_back(&self, session: Session<T>) {
        *self.lock() = session;
    }
}

impl<T: Default> SessionHandle<T> {
    /// Takes the session out, leaving an empty stand-in.
    fn take(&self) -> Session<T> {
        std::mem::replace(&mut *self.lock(), Session::fresh(FreshReason::NoCookie))
    }
}

impl<T> Clone for SessionHandle<T> {
    fn clone(&self) -> Self {
        Self {
            session: Arc::clone(&self.session),
        }
    }
}

impl<T> fmt::Debug for SessionHandle<T> {
    /// Shows where the session lives, not its data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let session = self.lock();
        f.debug_struct("SessionHandle")
            .field("session", &std::any::type_name::<T>())
            .field("location", &session.location())
            .field("changed", &session.is_changed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::HashMap;
    use std::future::Ready;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::Waker;
    use std::time::SystemTime;

    use http::HeaderMap;

    use super::*;
    use crate::store::{Store, StoreFuture, StoreId};
    use crate::{Codec, ErrorKind, Key, KeyRing};

    type Body = String;
    type Handler<T> = fn(&mut Session<T>) -> Result<String, &'static str>;

    /// An inner service running `handler` on the request's session.
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

    /// A store in a map that can be switched off.
    #[derive(Debug, Default)]
    struct FlakyStore {
        entries: Mutex<HashMap<StoreId, Vec<u8>>>,
        down: AtomicBool,
    }

    impl FlakyStore {
        fn result<R: Send + 'static>(&self, ok: impl FnOnce() -> R) -> StoreFuture<'_, R> {
            let result = if self.down.load(Ordering::SeqCst) {
                Err(Error::store("store is down"))
            } else {
                Ok(ok())
            };
            Box::pin(std::future::ready(result))
        }
    }

    impl Store for FlakyStore {
        fn create<'a>(
            &'a self,
            id: &'a StoreId,
            value: &'a [u8],
            _: SystemTime,
        ) -> StoreFuture<'a, bool> {
            self.result(|| {
                let mut entries = self.entries.lock().unwrap();
                if entries.contains_key(id) {
                    return false;
                }
                entries.insert(*id, value.to_vec());
                true
            })
        }

        fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
            self.result(|| self.entries.lock().unwrap().get(id).cloned())
        }

        fn save<'a>(
            &'a self,
            id: &'a StoreId,
            value: &'a [u8],
            _: SystemTime,
        ) -> StoreFuture<'a, ()> {
            self.result(|| {
                self.entries.lock().unwrap().insert(*id, value.to_vec());
            })
        }

        fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
            self.result(|| {
                self.entries.lock().unwrap().remove(id);
            })
        }
    }

    fn manager(store: Option<Arc<FlakyStore>>) -> SessionManager {
        let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
            .build()
            .unwrap();
        let builder = SessionManager::with_codec(codec);
        match store {
            Some(store) => builder.store(store),
            None => builder,
        }
        .build()
        .unwrap()
    }

    fn service<T>(manager: &SessionManager, handler: Handler<T>) -> SessionService<App<T>, T> {
        let app = App {
            handler,
            calls: Arc::new(AtomicUsize::new(0)),
        };
        SessionLayer::new(manager.clone()).layer(app)
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
                .insert(http::header::COOKIE, cookie.parse().unwrap());
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
        let value = headers.get(http::header::SET_COOKIE)?.to_str().ok()?;
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
        assert!(first.headers()[http::header::SET_COOKIE].is_sensitive());
        let second = send(&mut service, Some(&pair)).unwrap();
        assert_eq!(second.body(), "2");
    }

    #[test]
    fn untouched_new_session_sets_no_cookie() {
        let mut service = service(&manager(None), read);
        let response = send(&mut service, None).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get(http::header::SET_COOKIE).is_none());
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
        assert!(response.headers().get(http::header::SET_COOKIE).is_none());
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
        let mut growing = service(&manager, grow);
        let stored = send(&mut growing, None).unwrap();
        assert_eq!(stored.status(), StatusCode::OK);
        let pair = cookie_pair(stored.headers()).unwrap();
        assert_eq!(store.entries.lock().unwrap().len(), 1);

        store.down.store(true, Ordering::SeqCst);
        let saving = send(&mut growing, None).unwrap();
        assert_eq!(saving.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(saving.headers().get(http::header::SET_COOKIE).is_none());
        let failure = saving.extensions().get::<SessionError>().unwrap();
        assert_eq!(failure.error().kind(), ErrorKind::Store);

        let calls = Arc::clone(&growing.inner.calls);
        let before = calls.load(Ordering::SeqCst);
        let loading = send(&mut growing, Some(&pair)).unwrap();
        assert_eq!(loading.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(loading.extensions().get::<SessionError>().is_some());
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
        assert_eq!(store.entries.lock().unwrap().len(), 1);

        let mut destroying = service(&manager, destroy_then_fail);
        let result = send(&mut destroying, Some(&pair));
        assert_eq!(result.unwrap_err(), "handler failed", "error unchanged");
        assert!(store.entries.lock().unwrap().is_empty(), "entry deleted");

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
        let before: Vec<StoreId> = store.entries.lock().unwrap().keys().copied().collect();

        let result = send(&mut service(&manager, regenerate_then_fail), Some(&pair));
        assert_eq!(result.unwrap_err(), "handler failed");
        let after: Vec<StoreId> = store.entries.lock().unwrap().keys().copied().collect();
        assert_eq!(before, after);
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
        let handle = SessionHandle::new(Session::<u32>::fresh(FreshReason::NoCookie));
        handle.lock().set(123_456);
        let debug = format!("{handle:?}");
        assert!(!debug.contains("123456"), "{debug}");
        assert!(debug.contains("changed: true"), "{debug}");
    }
}
