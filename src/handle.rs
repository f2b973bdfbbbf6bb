//! What the adapters share: the [`SessionHandle`] a request's handler reads
//! and changes, the [`SessionError`] a failure response carries, and the
//! steps both adapters take around the manager. The tower layer
//! (`tower.rs`) and the actix-web middleware (`actix_web.rs`) re-export the
//! public items, so each adapter's users find everything in one module.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::manager::SessionManager;
use crate::session::map::Map;
use crate::session::{FreshReason, Session};

/// The body of the `503` answered when the store cannot be read.
pub(crate) const LOAD_FAILED_BODY: &str = "session store unavailable";

/// The body of the `500` answered when the session cannot be saved.
pub(crate) const SAVE_FAILED_BODY: &str = "session could not be saved";

/// The content type of either failure body.
pub(crate) const FAILURE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Saves the handle's session into `headers`. The session is taken out so
/// no lock is held across the save, and put back after it.
pub(crate) async fn save_into<T>(
    manager: &SessionManager,
    handle: &SessionHandle<T>,
    headers: &mut HeaderMap,
    server_error: bool,
) -> Result<crate::Saved, Error>
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let mut session = handle.take();
    // A server error's changes are not saved; a destroy or a regenerate
    // always is.
    if server_error && !session.is_destroyed() && !session.is_regenerating() {
        handle.put_back(session);
        return Ok(crate::Saved::Unchanged);
    }
    let saved = manager.save(&mut session, headers).await;
    handle.put_back(session);
    saved
}

/// After a handler error: when the session was destroyed, saves it into a
/// throwaway header map, which deletes its store entry (there is no response
/// to carry the removal cookie). Best effort: the handler's error is what
/// the caller gets, so a store failure here is dropped.
pub(crate) async fn delete_if_destroyed<T>(manager: &SessionManager, handle: &SessionHandle<T>)
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let mut session = handle.take();
    if session.is_destroyed() {
        let _ = manager.save(&mut session, &mut HeaderMap::new()).await;
    }
    handle.put_back(session);
}

/// The session types the layers in front of a request provide (their
/// `type_name`s, free to copy), for the extractor's message.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionLayers(pub(crate) Vec<&'static str>);

/// Where an adapter's session wrapper goes, for the message when a handler
/// asks for a session no wrapper provides.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) struct Wrapper {
    /// The wrapper's type name: `SessionLayer`, `SessionMiddleware`.
    pub(crate) name: &'static str,
    /// The call that adds it: `.layer`, `.wrap`.
    pub(crate) method: &'static str,
    /// What it is added to: `the router`, `the App`.
    pub(crate) target: &'static str,
}

/// Writes what a handler taking `SessionHandle<session>` lacks when the
/// wrappers in front of it provide `present`, and what to change: the
/// rejection message of every adapter's extractor.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) fn describe_missing(
    f: &mut fmt::Formatter<'_>,
    session: &str,
    present: &[&'static str],
    wrapper: &Wrapper,
) -> fmt::Result {
    let wanted = short_type_name(session);
    let Wrapper {
        name,
        method,
        target,
    } = wrapper;
    match present {
        [] => write!(
            f,
            "this handler takes SessionHandle<{wanted}>, but no {name} runs in front \
             of this route: add {method}({name}::<{wanted}>::new(manager)) to {target}"
        ),
        present => {
            let listed: Vec<String> = present
                .iter()
                .map(|p| format!("{name}<{}>", short_type_name(p)))
                .collect();
            write!(
                f,
                "this handler takes SessionHandle<{wanted}>, but this route has {}: \
                 take SessionHandle<{}> in the handler, or add \
                 {name}::<{wanted}>::new(manager) for a second session",
                listed.join(" and "),
                present
                    .first()
                    .map(|p| short_type_name(p))
                    .unwrap_or_default()
            )
        }
    }
}

/// A type name without module paths (`Vec<String>`, not
/// `alloc::vec::Vec<alloc::string::String>`), for messages.
#[cfg(any(feature = "axum", feature = "actix-web"))]
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

/// A shared handle to the request's [`Session<T>`], put in the request's
/// extensions by the tower layer (`tower::SessionLayer`) or the actix-web
/// middleware (`actix_web::SessionMiddleware`).
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
    session: Arc<Mutex<Session<T>>>,
}

/// A handle to a map session (string keys, typed values).
pub type MapSessionHandle = SessionHandle<Map>;

impl<T> SessionHandle<T> {
    /// A handle owning `session`. The layer and the middleware make these;
    /// handlers and tests outside them may too.
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

    pub(crate) fn put_back(&self, session: Session<T>) {
        *self.lock() = session;
    }
}

impl<T: Default> SessionHandle<T> {
    /// Takes the session out, leaving an empty stand-in.
    pub(crate) fn take(&self) -> Session<T> {
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
