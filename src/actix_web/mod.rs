//! Sessions in actix-web: a middleware that gives each request its
//! session, loaded on first use, and saves it after the handler, and
//! extractors for handlers.
//!
//! Wrap the app (or a scope) in [`SessionMiddleware<T>`], then take a
//! [`SessionHandle<T>`] (or a [`MapSessionHandle`] for a map session) as a
//! handler argument, with the same `T`. Read and change the session with
//! [`SessionHandle::read`] and [`SessionHandle::update`]. The middleware
//! keeps only the request's `Cookie` values in a [`LazySession<T>`] in the
//! request's extensions; the extractor loads the session from them (opens
//! the cookie, reads the store) the first time a handler asks, at most
//! once per request. A route whose handler never takes the session costs
//! no decryption and no store read, and gets no `Set-Cookie` from the
//! middleware (so no renewal, no re-seal after a key rotation, and no
//! clearing of an unusable cookie there either: those happen where the
//! session is loaded). After the handler, the middleware saves the session
//! if it was loaded. Take a [`LazySession<T>`] instead to load only on
//! some paths. [`SessionHandle::save`] and [`SessionHandle::reload`] save
//! or reload in the middle of a handler; the response still carries at
//! most one `Set-Cookie` for the session.
//!
//! The middleware behaves as the tower layer (`sealed_session::tower`)
//! does, with the same responses:
//!
//! - **Load fails** (the store cannot be read): the extractor fails with
//!   [`SessionRejection::Unavailable`], so the handler is not called; the
//!   response is `503 Service Unavailable` with the plain-text body
//!   `session store unavailable`. Only routes that take the session fail.
//! - **Save fails** (the store cannot be written, or a session too large for
//!   the cookie on a manager without a store): the handler's response is
//!   dropped and replaced by `500 Internal Server Error` with the plain-text
//!   body `session could not be saved` (carrying the cookie of a save made
//!   during the handler, if there was one).
//! - Either response carries a [`SessionError`] in its extensions
//!   (`HttpResponse::extensions`), the hook for logging the cause and
//!   answering with the application's own page from an outer middleware.
//! - A handler's error (a `Responder` error or an extractor's rejection) is
//!   a response in actix-web, so the session is saved on it like on any
//!   other response. An inner *service* that fails (`Err` from a
//!   middleware further in) gets no save: the error passes through, and a
//!   session the handler destroyed still has its store entry deleted.
//! - A handler taking a `SessionHandle<T>` that no `SessionMiddleware<T>`
//!   wraps fails extraction with `500` and a plain-text message
//!   ([`MissingSessionMiddleware`]) naming the middleware the route has and
//!   what to change.
//! - A `SessionMiddleware<T>` on a scope replaces, for the scope's routes,
//!   the session of one with the same `T` further out, which is then never
//!   loaded and writes nothing: per-scope configuration.
//!
//! # Your own error page
//!
//! An outer middleware finds the cause in the response and can answer with
//! the application's page instead (`wrap_fn` added after the session
//! middleware runs outside it):
//!
//! ```
//! use actix_web::dev::Service as _;
//! use actix_web::{App, HttpResponse};
//! use sealed_session::actix_web::{SessionError, SessionMiddleware};
//! use sealed_session::{Key, KeyRing, Map, SessionManager};
//!
//! let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;
//! let app = App::new()
//!     .wrap(SessionMiddleware::<Map>::new(manager))
//!     .wrap_fn(|request, service| {
//!         let response = service.call(request);
//!         async move {
//!             let response = response.await?;
//!             let failure = response.response().extensions().get::<SessionError>().cloned();
//!             let Some(failure) = failure else {
//!                 return Ok(response.map_into_left_body());
//!             };
//!             eprintln!("session: {}", failure.error());
//!             let page = HttpResponse::build(response.status())
//!                 .body("Sorry: please try again in a moment.");
//!             Ok(response.into_response(page).map_into_right_body())
//!         }
//!     });
//! # let _ = app;
//! # Ok::<(), sealed_session::Error>(())
//! ```
//!
//! # Cost
//!
//! actix-web 4 carries `http` 0.2 headers and the manager writes `http`
//! 1.x ones. The middleware keeps clones of the request's `Cookie` values
//! (at most [`MAX_COOKIE_HEADER_BYTES`] of them and one more, so an
//! oversized header is still seen as one), which the load reads as bytes
//! with no conversion, and copies back only the `Set-Cookie` the manager
//! writes.
//!
//! # Examples
//!
//! ```
//! use actix_web::{App, web};
//! use sealed_session::actix_web::{SessionHandle, SessionMiddleware};
//! use sealed_session::{Key, KeyRing, SessionManager};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! async fn visits(session: SessionHandle<Visits>) -> String {
//!     let count = session.update(|s| {
//!         s.count += 1;
//!         s.count
//!     });
//!     format!("visit number {count}")
//! }
//!
//! // In production, load keys from a secret store (`KeyRing::from_env`).
//! let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;
//! let app = App::new()
//!     .wrap(SessionMiddleware::<Visits>::new(manager))
//!     .route("/", web::get().to(visits));
//! # let _ = app;
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;
use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use ::actix_web::body::{EitherBody, MessageBody};
use ::actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use ::actix_web::http::StatusCode;
use ::actix_web::http::header as actix_header;
use ::actix_web::{HttpMessage, HttpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use pin_project_lite::pin_project;

use crate::handle::{
    After, CookieValue, FAILURE_CONTENT_TYPE, Finish, LOAD_FAILED_BODY, LocalSession,
    RequestCookies, Respond, SAVE_FAILED_BODY, Sessions, finish,
};
pub use crate::handle::{LazySession, MapSessionHandle, SessionError, SessionHandle};
#[cfg(doc)]
use crate::limits::MAX_COOKIE_HEADER_BYTES;
use crate::manager::{SessionManager, SetCookies};

mod extract;

#[cfg(doc)]
use crate::session::{Session, map::Map};
pub use extract::{
    ExtractFuture, MissingSessionMiddleware, SessionRejection, SignedIn, SignedInRejection,
};

/// Middleware (an actix-web [`Transform`]) that gives every request a
/// [`Session<T>`], loaded on first use ([`LazySession<T>`]), and saves it
/// on the response if it was loaded. See the [module docs](self) for the
/// failure responses.
///
/// `T` is the session type (any `Serialize + DeserializeOwned + Default`);
/// use [`Map`] for a map session. Handlers take a [`SessionHandle<T>`] with
/// the same `T`.
///
/// # Examples
///
/// ```
/// use sealed_session::actix_web::SessionMiddleware;
/// use sealed_session::{Key, KeyRing, Map, SessionManager};
///
/// // In production, load keys from a secret store (`KeyRing::from_env`).
/// let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;
/// let app = actix_web::App::new().wrap(SessionMiddleware::<Map>::new(manager));
/// # let _ = app;
/// # Ok::<(), sealed_session::Error>(())
/// ```
pub struct SessionMiddleware<T> {
    manager: SessionManager,
    save_on_server_error: bool,
    session: PhantomData<fn() -> T>,
}

impl<T> SessionMiddleware<T> {
    /// Middleware loading and saving sessions of type `T` with `manager`.
    pub fn new(manager: SessionManager) -> Self {
        Self {
            manager,
            save_on_server_error: false,
            session: PhantomData,
        }
    }

    /// Whether a response with a `5xx` status saves the session's changes
    /// (default `false`: only a destroy is saved then, as in the tower
    /// layer; a regenerate and every other change are dropped).
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

impl<T> Clone for SessionMiddleware<T> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            save_on_server_error: self.save_on_server_error,
            session: PhantomData,
        }
    }
}

impl<T> fmt::Debug for SessionMiddleware<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("session", &std::any::type_name::<T>())
            .field("manager", &self.manager)
            .finish()
    }
}

impl<S, B, T> Transform<S, ServiceRequest> for SessionMiddleware<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ::actix_web::Error> + 'static,
    B: MessageBody + 'static,
    T: Serialize + DeserializeOwned + Default + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ::actix_web::Error;
    type Transform = SessionService<S, T>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            inner: Rc::new(service),
            manager: self.manager.clone(),
            save_on_server_error: self.save_on_server_error,
            session: PhantomData,
        }))
    }
}

/// The [`Service`] made by [`SessionMiddleware`].
pub struct SessionService<S, T> {
    inner: Rc<S>,
    manager: SessionManager,
    save_on_server_error: bool,
    session: PhantomData<fn() -> T>,
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

/// What a [`SessionService`] answers.
type Answer<B> = Result<ServiceResponse<EitherBody<B>>, ::actix_web::Error>;

pin_project! {
    /// The future a [`SessionService`] returns: the inner service's future,
    /// then, when the handler loaded the session, its save. Nothing is
    /// boxed for a request whose handler never took the session, nor for
    /// the save of a manager without a store (done in place); a save that
    /// may wait on the store is boxed.
    pub struct ResponseFuture<F, T, B> {
        #[pin]
        state: After<F, Saving<T>, Pin<Box<dyn Future<Output = Answer<B>>>>>,
    }
}

impl<F, T, B> fmt::Debug for ResponseFuture<F, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("state", &self.state)
            .finish()
    }
}

impl<F, T, B> Future for ResponseFuture<F, T, B>
where
    F: Future<Output = Result<ServiceResponse<B>, ::actix_web::Error>>,
    T: Serialize + DeserializeOwned + Default + 'static,
    B: MessageBody + 'static,
{
    type Output = Answer<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().state.poll_after(cx)
    }
}

/// The middleware's finish: the save of a session the handler loaded.
struct Saving<T> {
    lazy: LazySession<T>,
    save_on_server_error: bool,
}

impl<T, B> Finish<Result<ServiceResponse<B>, ::actix_web::Error>> for Saving<T>
where
    T: Serialize + DeserializeOwned + Default + 'static,
    B: MessageBody + 'static,
{
    type Output = Answer<B>;
    type Later = Pin<Box<dyn Future<Output = Answer<B>>>>;

    fn finish(
        &self,
        result: Result<ServiceResponse<B>, ::actix_web::Error>,
    ) -> Result<Answer<B>, Self::Later> {
        finish(&self.lazy, result, self.save_on_server_error)
            .map_err(|later| Box::pin(later) as Self::Later)
    }
}

/// The save writes into the response's own headers: each line is checked
/// and stored once, as `http` 0.2.
impl<B> Respond for ServiceResponse<B> {
    type Headers = actix_header::HeaderMap;
    type Out = ServiceResponse<EitherBody<B>>;

    fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }

    fn headers_mut(&mut self) -> &mut actix_header::HeaderMap {
        ServiceResponse::headers_mut(self)
    }

    fn answer(self) -> Self::Out {
        self.map_into_left_body()
    }

    fn save_failed(self, error: SessionError, earlier: Option<http::HeaderValue>) -> Self::Out {
        let (request, _dropped) = self.into_parts();
        let mut failed = failure(StatusCode::INTERNAL_SERVER_ERROR, error);
        if let Some(earlier) = earlier {
            failed.headers_mut().append_value(&earlier);
        }
        ServiceResponse::new(request, failed).map_into_right_body()
    }
}

impl<S, B, T> Service<ServiceRequest> for SessionService<S, T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ::actix_web::Error> + 'static,
    B: MessageBody + 'static,
    T: Serialize + DeserializeOwned + Default + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ::actix_web::Error;
    type Future = ResponseFuture<S::Future, T, B>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        // The request's `Cookie` values, kept (not converted) for a load
        // that may never come.
        let cookies = RequestCookies::collect(
            request
                .headers()
                .get_all(actix_header::COOKIE)
                .map(|value| CookieValue::Actix(value.clone())),
        );
        let lazy = LazySession::<T>::new(self.manager.clone(), cookies);
        {
            // One value in the extensions for every middleware in front of
            // the handler: one further out registered its sessions already.
            let mut extensions = request.extensions_mut();
            match extensions.get_mut::<Sessions<dyn LocalSession>>() {
                Some(sessions) => sessions.push_innermost(lazy.erased_local()),
                None => {
                    extensions.insert(Sessions::new(lazy.erased_local()));
                }
            }
        }
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
fn failure(status: StatusCode, error: SessionError) -> HttpResponse {
    let body = if status == StatusCode::SERVICE_UNAVAILABLE {
        LOAD_FAILED_BODY
    } else {
        SAVE_FAILED_BODY
    };
    let mut response = HttpResponse::build(status)
        .content_type(FAILURE_CONTENT_TYPE)
        .body(body);
    response.extensions_mut().insert(error);
    response
}
