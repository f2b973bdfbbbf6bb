//! A tower [`Layer`] that gives each request its session, loaded on first
//! use, and saves it after the inner service.
//!
//! [`SessionLayer<T>`] wraps a service. For each request it
//!
//! 1. copies the request's `Cookie` header values (clones of shared bytes,
//!    nothing decoded) into a [`LazySession<T>`], registered in the
//!    request's extensions (one value there, whatever the number of
//!    layers; nothing else is allocated for a request that never takes
//!    the session but the session's own slot),
//! 2. calls the inner service, which loads the session when it asks for it
//!    ([`LazySession::handle`], or an axum handler taking a
//!    [`SessionHandle<T>`]): the cookie is opened and the store read with
//!    [`SessionManager::load`] then, at most once per request,
//! 3. and when the inner service returns a response, saves the session
//!    with [`SessionManager::save`] **if it was loaded**, which appends a
//!    `Set-Cookie` only when something needs writing.
//!
//! A route that never asks for the session costs no decryption and no
//! store read, and its response gets no `Set-Cookie` from the layer. That
//! also means no renewal of the idle deadline, no re-seal after a key
//! rotation and no clearing of an unusable cookie
//! ([`SessionManagerBuilder::clear_invalid_cookies`]) on such a route:
//! those happen on the requests that load the session.
//!
//! All session behaviour (change tracking, renewal, re-sealing after a
//! rotation, spilling to the store, regenerate and destroy) is the
//! manager's; the layer only moves the session between the request and the
//! response. A handler can also save or reload in the middle
//! ([`SessionHandle::save`], [`SessionHandle::reload`]); the response still
//! carries at most one `Set-Cookie` for the session.
//!
//! Layers nest: a [`SessionLayer<T>`] on a sub-router (another manager,
//! cookie or [`SessionLayer::save_on_server_error`]) replaces, for its
//! routes, the [`LazySession<T>`] of a layer further out with the same `T`;
//! the outer one is then never loaded, so it reads and writes nothing.
//!
//! # Failures
//!
//! The layer never answers with a response that silently lacks the cookie it
//! should carry:
//!
//! - **Load fails** (only when the store cannot be read):
//!   [`LazySession::handle`] returns the [`SessionError`], and the axum
//!   extractor rejects the request with `503 Service Unavailable`, the
//!   plain-text body `session store unavailable` and the [`SessionError`]
//!   in the response's extensions, so the handler is not called. Only
//!   routes that use the session fail; the layer saves nothing for them.
//! - **Save fails** (the store cannot be written, or a session too large for
//!   the cookie on a manager without a store, [`ErrorKind::TooLarge`]): the
//!   inner service's response is dropped and replaced by `500 Internal Server
//!   Error` with the plain-text body `session could not be saved` (carrying
//!   the cookie of a save made during the handler, if there was one: the
//!   store already holds what it points to).
//!
//! The bodies say nothing about the cause. Either error response carries a
//! [`SessionError`] in its extensions: an outer layer (axum's
//! `middleware::map_response`, or any tower layer) can log the cause and
//! replace the response with the application's own error page; see
//! [`SessionError`].
//!
//! # Raw tower services
//!
//! A service that is not an axum handler gets its [`LazySession<T>`] from
//! the request's extensions with [`LazySession::from_extensions`] and
//! awaits [`LazySession::handle`]; on an error it answers as it sees fit
//! (the `503` above is the axum extractor's).
//!
//! # Server errors
//!
//! A response with a `5xx` status saves nothing the handler did, by
//! default: a handler that failed half-way should not persist half its
//! changes (as tower-sessions and express-session do). That includes a
//! [`regenerate`](crate::Session::regenerate) and a new subject: a login
//! that sets the subject and then fails leaves the client with the cookie
//! it came with, as signed out as before, never a rotated session carrying
//! half a login. One exception always goes through: a session the handler
//! **destroyed** is removed and its id revoked (a sign-out is not undone by
//! a failing page). Turn this off with
//! [`SessionLayer::save_on_server_error`]. What the handler saved itself
//! ([`SessionHandle::save`]) stays saved: its cookie goes out with the
//! `5xx`.
//!
//! A handler that returns an error (`Err(S::Error)`) gets no save: the error
//! passes through unchanged, and changes to the session are dropped. One
//! exception: a session the handler **destroyed** still has its store entry
//! deleted, so the server side of the session is gone. A tower error carries
//! no response, so no removal cookie can be sent with it (nor the cookie of
//! a save during the handler); the client keeps its cookie, which now
//! points at nothing (or, for a session held entirely in the cookie, stays
//! valid until it expires). Return a response rather than an error where a
//! destroy must reach the browser (axum handlers always return responses,
//! so this only concerns raw tower services). A store failure during that
//! delete is not reported: the handler's error is.
//! [`Session::regenerate`] on an error path is not applied either: the old
//! identity and its entry stay as they were.
//!
//! [`ErrorKind::TooLarge`]: crate::ErrorKind::TooLarge
//! [`SessionManagerBuilder::clear_invalid_cookies`]: crate::SessionManagerBuilder::clear_invalid_cookies

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tower::{Layer, Service};
use http::{Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use pin_project_lite::pin_project;

use crate::handle::{
    After, CookieValue, FAILURE_CONTENT_TYPE, Finish, LOAD_FAILED_BODY, RequestCookies, Respond,
    SAVE_FAILED_BODY, SendSession, Sessions, finish,
};
pub use crate::handle::{LazySession, MapSessionHandle, SessionError, SessionHandle};
use crate::manager::SessionManager;
#[cfg(doc)]
use crate::session::Session;
#[cfg(doc)]
use crate::session::map::Map;

/// A [`Layer`] that gives every request a [`Session<T>`], loaded on first
/// use ([`LazySession<T>`]), and saves it on the response if it was loaded.
/// See the [module docs](self) for the order of events and the failure
/// responses.
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
    /// (default `false`: only a destroy is saved then; see the
    /// [module docs](self#server-errors)).
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

pin_project! {
    /// The future a [`SessionService`] returns: the inner service's future,
    /// then, when the handler loaded the session, its save. Nothing is
    /// boxed for a request whose handler never took the session, nor for
    /// the save of a manager without a store (done in place); a save that
    /// may wait on the store is boxed.
    pub struct ResponseFuture<F, T, B, E> {
        #[pin]
        state: After<F, Saving<T>, Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>>,
    }
}

impl<F, T, B, E> fmt::Debug for ResponseFuture<F, T, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("state", &self.state)
            .finish()
    }
}

impl<F, T, B, E> Future for ResponseFuture<F, T, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    T: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
    B: From<&'static str> + Send + 'static,
    E: Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().state.poll_after(cx)
    }
}

/// The layer's finish: the save of a session the handler loaded.
struct Saving<T> {
    lazy: LazySession<T>,
    save_on_server_error: bool,
}

impl<T, B, E> Finish<Result<Response<B>, E>> for Saving<T>
where
    T: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
    B: From<&'static str> + Send + 'static,
    E: Send + 'static,
{
    type Output = Result<Response<B>, E>;
    type Later = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn finish(&self, result: Result<Response<B>, E>) -> Result<Self::Output, Self::Later> {
        finish(&self.lazy, result, self.save_on_server_error)
            .map_err(|later| Box::pin(later) as Self::Later)
    }
}

impl<B: From<&'static str>> Respond for Response<B> {
    type Headers = http::HeaderMap;
    type Out = Self;

    fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }

    fn headers_mut(&mut self) -> &mut http::HeaderMap {
        Response::headers_mut(self)
    }

    fn answer(self) -> Self {
        self
    }

    fn save_failed(self, error: SessionError, earlier: Option<http::HeaderValue>) -> Self {
        let mut failed = failure(StatusCode::INTERNAL_SERVER_ERROR, error);
        if let Some(earlier) = earlier {
            failed
                .headers_mut()
                .append(http::header::SET_COOKIE, earlier);
        }
        failed
    }
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    // Held while a destroyed session's store entry is deleted after an error.
    S::Error: Send + 'static,
    T: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
    ResBody: From<&'static str> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, T, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let cookies = RequestCookies::collect(
            request
                .headers()
                .get_all(http::header::COOKIE)
                .iter()
                .map(|value| CookieValue::Http(value.clone())),
        );
        let lazy = LazySession::<T>::new(self.manager.clone(), cookies);
        // One value in the extensions for every layer in front of the
        // handler: a layer further out registered its sessions already.
        let extensions = request.extensions_mut();
        match extensions.get_mut::<Sessions<dyn SendSession>>() {
            Some(sessions) => sessions.push_innermost(lazy.erased_send()),
            None => {
                extensions.insert(Sessions::new(lazy.erased_send()));
            }
        }
        // The inner service was driven to readiness (`poll_ready`): it is
        // called now, and only its future is kept.
        let saving = Saving {
            lazy,
            save_on_server_error: self.save_on_server_error,
        };
        ResponseFuture {
            state: After::new(self.inner.call(request), saving),
        }
    }
}

/// The `503` (load failed) or `500` (save failed) response, with `error`
/// in its extensions.
pub(crate) fn failure<B: From<&'static str>>(
    status: StatusCode,
    error: SessionError,
) -> Response<B> {
    let body = if status == StatusCode::SERVICE_UNAVAILABLE {
        LOAD_FAILED_BODY
    } else {
        SAVE_FAILED_BODY
    };
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(FAILURE_CONTENT_TYPE),
    );
    response.extensions_mut().insert(error);
    response
}
