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
//!   is not called, and the response is `503 Service Unavailable` with the
//!   plain-text body `session store unavailable`.
//! - **Save fails** (the store cannot be written, or a session too large for
//!   the cookie on a manager without a store, [`ErrorKind::TooLarge`]): the
//!   inner service's response is dropped and replaced by `500 Internal Server
//!   Error` with the plain-text body `session could not be saved`.
//!
//! The bodies say nothing about the cause. Either error response carries a
//! [`SessionError`] in its extensions: an outer layer (axum's
//! `middleware::map_response`, or any tower layer) can log the cause and
//! replace the response with the application's own error page; see
//! [`SessionError`].
//!
//! # Server errors
//!
//! A response with a `5xx` status is not saved by default: a handler that
//! failed half-way should not persist half its changes (as tower-sessions
//! and express-session do). Two exceptions always go through: a session the
//! handler **destroyed** (a logout is not undone by a failing page) or
//! **regenerated** (the old identity must not survive). Turn this off with
//! [`SessionLayer::save_on_server_error`].
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
/// use [`Map`] for a map session (there is no default: the handler's
/// [`SessionHandle<T>`] must name the same `T`).
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
pub struct SessionLayer<T> {
    manager: SessionManager,
    save_on_server_error: bool,
    session: PhantomData<fn() -> T>,
}

impl<T> SessionLayer<T> {
    /// A layer loading and saving sessions of type `T` with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        Self {
            manager,
            save_on_server_error: false,
            session: PhantomData,
        }
    }

    /// Whether a response with a `5xx` status saves the session's changes
    /// (default `false`: only a destroy or a regenerate is saved then; see
    /// the [module docs](self#server-errors)).
    #[must_use]
    pub fn save_on_server_error(mut self, save: bool) -> Self {
        self.save_on_server_error = save;
        self
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }
}

impl<T> Clone for SessionLayer<T> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            save_on_server_error: self.save_on_server_error,
            session: PhantomData,
        }
    }
}

impl<T> fmt::Debug for SessionLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("session", &std::any::type_name::<T>())
            .field("manager", &self.manager)
            .field("save_on_server_error", &self.save_on_server_error)
            .finish()
    }
}

impl<S, T> Layer<S> for SessionLayer<T> {
    type Service = SessionService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
            save_on_server_error: self.save_on_server_error,
            session: PhantomData,
        }
    }
}

/// The [`Service`] made by [`SessionLayer`].
///
/// It is a `Service` when the inner service's future and error are `Send`
/// (the error is held while a destroyed session's store entry is deleted;
/// see the [module docs](self)).
pub struct SessionService<S, T> {
    inner: S,
    manager: SessionManager,
    save_on_server_error: bool,
    session: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for SessionService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            manager: self.manager.clone(),
            save_on_server_error: self.save_on_server_error,
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
    ResBody: From<&'static str> + Send + 'static,
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
        let save_on_server_error = self.save_on_server_error;
        Box::pin(async move {
            let session = match manager.load::<T>(request.headers()).await {
                Ok(session) => session,
                Err(e) => return Ok(failure(StatusCode::SERVICE_UNAVAILABLE, e)),
            };
            let handle = SessionHandle::new(session);
            request.extensions_mut().insert(handle.clone());
            // Which session types the layers in front of the handler
            // provide, for the extractor's message when a handler asks for
            // another one.
            let layers = request.extensions_mut();
            match layers.get_mut::<SessionLayers>() {
                Some(present) => present.0.push(std::any::type_name::<T>()),
                None => {
                    layers.insert(SessionLayers(vec![std::any::type_name::<T>()]));
                }
            }
            let mut response = match inner.call(request).await {
                Ok(response) => response,
                Err(e) => {
                    delete_if_destroyed(&manager, &handle).await;
                    return Err(e);
                }
            };
            // Take the session out so no lock is held across the save.
            let mut session = handle.take();
            if response.status().is_server_error()
                && !save_on_server_error
                && !session.is_destroyed()
                && !session.is_regenerating()
            {
                handle.put_back(session);
                return Ok(response);
            }
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

fn failure<B: From<&'static str>>(status: StatusCode, error: Error) -> Response<B> {
    let body = if status == StatusCode::SERVICE_UNAVAILABLE {
        "session store unavailable"
    } else {
        "session could not be saved"
    };
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
        .extensions_mut()
        .insert(SessionError(Arc::new(error)));
    response
}

/// The session types the layers in front of a request provide (their
/// `type_name`s, free to copy), for the extractor's message.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionLayers(pub(crate) Vec<&'static str>);

/// A type name without module paths (`Vec<String>`, not
/// `alloc::vec::Vec<alloc::string::String>`), for messages.
#[cfg(feature = "axum")]
pub(crate) fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            short.push_str(segment.rsplit("::").next().unwrap_or_default());
            segment.clear();
            short.push(c);
        }
    }
    short.push_str(segment.rsplit("::").next().unwrap_or_default());
    short
}

/// The error behind a `503` or `500` response from [`SessionService`], in
/// that response's extensions: the hook for logging it and for answering
/// with the application's own error page.
///
/// # Examples
///
/// ```
/// use sealed_session::tower::SessionError;
///
/// /// For axum's `middleware::map_response`, outside the session layer:
/// /// log the cause, answer with the app's own page.
/// async fn session_failure_page<B: From<&'static str>>(
///     response: http::Response<B>,
/// ) -> http::Response<B> {
///     let Some(failure) = response.extensions().get::<SessionError>() else {
///         return response;
///     };
///     eprintln!("session: {}", failure.error());
///     let mut page = http::Response::new(B::from("Sorry: please try again in a moment."));
///     *page.status_mut() = response.status();
///     page
/// }
/// # let _ = session_failure_page::<String>;
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
/// Clones share one session. Read it with [`SessionHandle::read`] and
/// change it with [`SessionHandle::update`]: each takes a closure, so no
/// lock can be held across an `.await` (a handler that did would not be
/// `Send`, and axum reports that only as an opaque "Handler is not
/// implemented"). [`SessionHandle::lock`] is there for code that needs the
/// guard itself: let it go before the next `.await`. Changes made after the
/// inner service has returned its response are not saved (while the layer
/// saves, a clone kept elsewhere sees an empty stand-in).
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
/// async fn count_visit(handle: SessionHandle<Visits>) -> u32 {
///     let count = handle.update(|session| {
///         session.count += 1; // through the session, to `Visits`
///         session.count
///     });
///     some_io().await; // nothing of the session is held here
///     count
/// }
/// # async fn some_io() {}
/// ```
pub struct SessionHandle<T> {
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

    /// Runs `f` on the session, read-only, and returns what it returns.
    pub fn read<R>(&self, f: impl FnOnce(&Session<T>) -> R) -> R {
        f(&self.lock())
    }

    /// Runs `f` on the session, which it may change, and returns what it
    /// returns.
    pub fn update<R>(&self, f: impl FnOnce(&mut Session<T>) -> R) -> R {
        f(&mut self.lock())
    }

    /// Locks the session for reading or changing it. Prefer
    /// [`SessionHandle::read`] and [`SessionHandle::update`]: the guard
    /// must not be held across an `.await`.
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
        let mut guard = self.lock();
        let stand_in = Session::fresh(FreshReason::NoCookie, guard.codec().clone());
        std::mem::replace(&mut *guard, stand_in)
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
