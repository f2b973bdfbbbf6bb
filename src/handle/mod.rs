//! What the adapters share: the [`SessionHandle`] a request's handler reads
//! and changes, the [`LazySession`] that loads it on first use, the
//! [`SessionError`] a failure response carries, and the steps both adapters
//! take around the manager. The tower layer (`tower.rs`) and the actix-web
//! middleware (`actix_web.rs`) re-export the public items, so each
//! adapter's users find everything in one module.

mod after;
mod finish;
mod gate;
mod lazy;
mod messages;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use self::after::{After, Finish};
pub(crate) use self::finish::{Respond, finish};
use self::gate::Gate;
pub use self::lazy::LazySession;
#[cfg(feature = "actix-web")]
pub(crate) use self::lazy::LocalSession;
#[cfg(feature = "tower")]
pub(crate) use self::lazy::SendSession;
pub(crate) use self::lazy::{CookieValue, RequestCookies, Sessions};
#[cfg(feature = "actix-web")]
pub(crate) use self::lazy::{Subject, SubjectResult};
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) use self::messages::{Wrapper, describe_missing};
use crate::error::{Error, ErrorKind};
use crate::manager::{Saved, SessionManager};
use crate::session::map::Map;
use crate::session::{FreshReason, Session};

/// The body of the `503` answered when the store cannot be read.
pub(crate) const LOAD_FAILED_BODY: &str = "session store unavailable";

/// The body of the `500` answered when the session cannot be saved.
pub(crate) const SAVE_FAILED_BODY: &str = "session could not be saved";

/// The content type of either failure body.
pub(crate) const FAILURE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The error behind a `503` or `500` response from the tower layer or the
/// actix-web middleware, in that response's extensions: the hook for
/// logging it and for answering with the application's own error page.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tower")]
/// use sealed_session::tower::SessionError;
/// # #[cfg(not(feature = "tower"))]
/// # use sealed_session::actix_web::SessionError;
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
    pub(crate) fn new(error: Error) -> Self {
        Self(Arc::new(error))
    }

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

/// A shared handle to the request's [`Session<T>`], given to handlers by
/// the tower layer (`tower::SessionLayer`) and the actix-web middleware
/// (`actix_web::SessionMiddleware`) through [`LazySession::handle`], which
/// loads the session the first time it is asked for.
///
/// Clones share one session and are cheap (one reference count). Read it
/// with [`SessionHandle::read`] and change it with
/// [`SessionHandle::update`]: each takes a closure, so no lock can be held
/// across an `.await` (a handler that did would not be `Send`, and axum
/// reports that only as an opaque "Handler is not implemented").
/// [`SessionHandle::lock`] is there for code that needs the guard itself:
/// let it go before the next `.await`. Changes made after the inner service
/// has returned its response are not saved.
///
/// [`SessionHandle::save`] writes the session during the handler (the
/// store entry now, the cookie with the response) and
/// [`SessionHandle::reload`] reads it again, dropping unsaved changes, as
/// express-session's `req.session.save()` and `reload()`. While either
/// runs (and while the layer saves after the handler), the session is out
/// of the handle and a clone used from another task sees an empty
/// stand-in, whose changes are lost: await them before touching the
/// session elsewhere.
///
/// With the `axum` feature it is an axum extractor, with the `actix-web`
/// feature an actix-web one.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tower")]
/// use sealed_session::tower::SessionHandle;
/// # #[cfg(not(feature = "tower"))]
/// # use sealed_session::actix_web::SessionHandle;
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
    shared: Arc<Shared<T>>,
}

/// A request's session, shared by its [`LazySession`] and every
/// [`SessionHandle`] to it: one allocation per request, made by the
/// wrapper, which the load fills in.
pub(crate) struct Shared<T> {
    manager: SessionManager,
    /// The request's `Cookie` values, which the load and
    /// [`SessionHandle::reload`] (when nothing was saved during the
    /// handler) read.
    cookies: RequestCookies,
    /// Held while loading, so a second caller waits for the first load.
    loading: Gate,
    /// The loaded session: set once, by the load. A [`SessionHandle`]
    /// exists only once it is set.
    session: OnceLock<Mutex<Session<T>>>,
    /// The load's error, when the store could not be read: set once,
    /// instead of `session`.
    failed: OnceLock<SessionError>,
    /// The `Set-Cookie` of the last save during the handler, kept for the
    /// response.
    written: Mutex<Option<HeaderValue>>,
    /// Held by a save or a reload, so they run one after another.
    busy: Gate,
}

impl<T> Shared<T> {
    /// A request's session, not loaded yet.
    pub(crate) fn unloaded(manager: SessionManager, cookies: RequestCookies) -> Self {
        Self {
            manager,
            cookies,
            loading: Gate::default(),
            session: OnceLock::new(),
            failed: OnceLock::new(),
            written: Mutex::new(None),
            busy: Gate::default(),
        }
    }

    pub(crate) fn manager(&self) -> &SessionManager {
        &self.manager
    }

    pub(crate) fn cookies(&self) -> &RequestCookies {
        &self.cookies
    }

    pub(crate) fn loading(&self) -> &Gate {
        &self.loading
    }

    /// What the load gave, if it ran: a handle to the session, or the
    /// load's error.
    pub(crate) fn loaded(self: &Arc<Self>) -> Option<Result<SessionHandle<T>, SessionError>> {
        if self.session.get().is_some() {
            return Some(Ok(SessionHandle {
                shared: Arc::clone(self),
            }));
        }
        self.failed.get().map(|error| Err(error.clone()))
    }

    /// Keeps what the load gave (the first load's, if two ran), for every
    /// later caller, and returns it.
    pub(crate) fn keep(
        self: &Arc<Self>,
        loaded: Result<Session<T>, Error>,
    ) -> Result<SessionHandle<T>, SessionError> {
        match loaded {
            Ok(session) => {
                let _ = self.session.set(Mutex::new(session));
            }
            Err(e) => {
                let _ = self.failed.set(SessionError::new(e));
            }
        }
        self.loaded()
            .unwrap_or_else(|| Err(SessionError::new(Error::new(ErrorKind::Store))))
    }
}

/// A handle to a map session (string keys, typed values).
pub type MapSessionHandle = SessionHandle<Map>;

impl<T> SessionHandle<T> {
    /// The manager that loaded the session and saves it.
    pub fn manager(&self) -> &SessionManager {
        &self.shared.manager
    }

    /// The `Set-Cookie` the last [`SessionHandle::save`] wrote, if any.
    pub(crate) fn written(&self) -> Option<HeaderValue> {
        self.shared
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// `T: Default` as everywhere a session is made: a session starts empty.
impl<T: Default> SessionHandle<T> {
    /// A handle owning `session`, saved and reloaded with `manager`, as for
    /// a request with no cookie: [`SessionHandle::reload`] before any
    /// [`SessionHandle::save`] gives a fresh session. The layer and the
    /// middleware make their handles through [`LazySession::handle`];
    /// tests of handlers may make one with this.
    pub fn new(manager: SessionManager, session: Session<T>) -> Self {
        let shared = Shared::unloaded(manager, RequestCookies::default());
        let _ = shared.session.set(Mutex::new(session));
        Self {
            shared: Arc::new(shared),
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
        self.shared
            .session
            // Set before any handle to it is made; a fresh session if it
            // ever were not.
            .get_or_init(|| {
                let codec = self.shared.manager.codec().clone();
                Mutex::new(Session::fresh(FreshReason::NoCookie, codec))
            })
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Who is signed in: the session's subject
    /// ([`Session::subject`]), if any.
    pub fn subject(&self) -> Option<String> {
        self.read(|s| s.subject().map(str::to_owned))
    }

    /// Signs `subject` in ([`Session::login`]): the subject sealed in the
    /// session, a new id, and (with a registry) the session on the
    /// subject's device list, in one call.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSubject`](crate::ErrorKind::InvalidSubject) for
    /// an empty or over-long subject; the session is then unchanged.
    pub fn login(&self, subject: impl Into<String>) -> Result<(), Error> {
        self.update(|s| s.login(subject))
    }

    /// Signs out ([`Session::logout`]): the session ends, and with a
    /// registry its id is revoked, so a copied cookie stops opening.
    pub fn logout(&self) {
        self.update(Session::logout);
    }

    /// Signs the session's subject out everywhere
    /// ([`SessionManager::sign_out_everywhere`]), this session included.
    /// Does nothing to the registry when no one is signed in.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::RegistryNeeded`](crate::ErrorKind::RegistryNeeded)
    /// when the manager has no revocation registry; the session is then
    /// unchanged.
    pub fn logout_everywhere(&self) -> Result<(), Error> {
        if let Some(subject) = self.subject() {
            self.manager().sign_out_everywhere(&subject)?;
        }
        self.logout();
        Ok(())
    }

    pub(crate) fn put_back(&self, session: Session<T>) {
        *self.lock() = session;
    }
}

impl<T: Default> SessionHandle<T> {
    /// Takes the session out, leaving an empty stand-in, until the returned
    /// guard is dropped: also when a save's future is dropped half-way
    /// (a handler's `select!` or timeout), so the session is never lost to
    /// the stand-in.
    pub(crate) fn take(&self) -> Taken<'_, T> {
        let mut guard = self.lock();
        let stand_in = Session::fresh(FreshReason::NoCookie, guard.codec().clone());
        let session = std::mem::replace(&mut *guard, stand_in);
        Taken {
            handle: self,
            session: Some(session),
        }
    }
}

/// The session taken out of a [`SessionHandle`] while it is saved; put
/// back when dropped.
pub(crate) struct Taken<'a, T: Default> {
    handle: &'a SessionHandle<T>,
    /// `Some` until dropped.
    session: Option<Session<T>>,
}

impl<T: Default> Taken<'_, T> {
    /// The session taken out.
    fn session(&mut self) -> Option<&mut Session<T>> {
        self.session.as_mut()
    }
}

impl<T: Default> Drop for Taken<'_, T> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.handle.put_back(session);
        }
    }
}

impl<T> SessionHandle<T>
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    /// Saves the session now, in the middle of the handler, as
    /// express-session's `req.session.save()`: a store entry is written
    /// before this returns (so another request, or a job, sees it), and the
    /// `Set-Cookie` is kept and sent with the response. The layer's save
    /// after the handler then writes only what changed since; when it
    /// writes a newer cookie, that one replaces the kept one: the response
    /// never carries two `Set-Cookie` for the session.
    ///
    /// A save that wrote a cookie also decides what
    /// [`SessionHandle::reload`] reads. The kept cookie goes out with any
    /// response, `5xx` included (the store already holds what it points
    /// to), but not with a tower service's `Err`, which has no response.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::save`]: [`ErrorKind::TooLarge`] (no store),
    /// [`ErrorKind::Serialize`], [`ErrorKind::Store`]. The session keeps
    /// its changes, and the layer tries again after the handler.
    ///
    /// [`ErrorKind::TooLarge`]: crate::ErrorKind::TooLarge
    /// [`ErrorKind::Serialize`]: crate::ErrorKind::Serialize
    /// [`ErrorKind::Store`]: crate::ErrorKind::Store
    pub async fn save(&self) -> Result<Saved, Error> {
        let _turn = self.shared.busy.enter().await;
        let mut headers = HeaderMap::new();
        let mut taken = self.take();
        let saved = match taken.session() {
            Some(session) => self.shared.manager.save(session, &mut headers).await,
            None => Ok(Saved::Unchanged),
        };
        drop(taken);
        if let Some(line) = headers.get_all(SET_COOKIE).iter().next_back() {
            *self
                .shared
                .written
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(line.clone());
        }
        saved
    }

    /// Loads the session again, dropping its unsaved changes, as
    /// express-session's `req.session.reload()`: from the cookie the last
    /// [`SessionHandle::save`] wrote, else from the request's cookies. A
    /// save that removed the session (after [`Session::destroy`]) reloads
    /// as a fresh session.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::load`]: [`ErrorKind::Store`] when the store
    /// cannot be read; the session is then left as it was.
    ///
    /// [`ErrorKind::Store`]: crate::ErrorKind::Store
    pub async fn reload(&self) -> Result<(), Error> {
        let _turn = self.shared.busy.enter().await;
        let session = match self.written() {
            Some(line) => {
                let cookies = cookie_of(&line);
                self.shared.manager.load(&cookies).await?
            }
            None => {
                let cookies = self.shared.cookies.values();
                self.shared.manager.load_cookie_values(cookies).await?
            }
        };
        self.put_back(session);
        Ok(())
    }
}

/// The `Cookie` header a browser sends back after `set_cookie` (a line the
/// manager wrote): its `name=value`, or nothing for a removal.
fn cookie_of(set_cookie: &HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let bytes = set_cookie.as_bytes();
    let pair = bytes.split(|b| *b == b';').next().unwrap_or_default();
    let removal = pair
        .iter()
        .position(|b| *b == b'=')
        .is_none_or(|at| at.saturating_add(1) == pair.len());
    if !removal && let Ok(value) = HeaderValue::from_bytes(pair) {
        headers.insert(COOKIE, value);
    }
    headers
}

impl<T> Clone for SessionHandle<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Default> fmt::Debug for SessionHandle<T> {
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
