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
use std::task::{Context, Poll};

use ::tower::{Layer, Service};
use http::{Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::handle::{
    FAILURE_CONTENT_TYPE, LOAD_FAILED_BODY, SAVE_FAILED_BODY, SessionLayers, delete_if_destroyed,
    save_into,
};
pub use crate::handle::{MapSessionHandle, SessionError, SessionHandle};
use crate::manager::SessionManager;
#[cfg(doc)]
use crate::session::Session;
#[cfg(doc)]
use crate::session::map::Map;

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
            let skip = response.status().is_server_error() && !save_on_server_error;
            match save_into(&manager, &handle, response.headers_mut(), skip).await {
                Ok(_) => Ok(response),
                Err(e) => Ok(failure(StatusCode::INTERNAL_SERVER_ERROR, e)),
            }
        })
    }
}

fn failure<B: From<&'static str>>(status: StatusCode, error: Error) -> Response<B> {
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
    response.extensions_mut().insert(SessionError::new(error));
    response
}
