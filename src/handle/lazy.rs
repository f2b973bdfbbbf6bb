//! Loading on first use: the [`LazySession`] the tower layer and the
//! actix-web middleware put in a request's extensions in place of a loaded
//! session, and the request's `Cookie` values it keeps for the load.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;

use super::gate::Gate;
use super::{SessionError, SessionHandle};
use crate::limits::MAX_COOKIE_HEADER_BYTES;
use crate::manager::SessionManager;

/// One `Cookie` header value, as the framework carries it: a clone of
/// shared bytes, read as bytes by the load (never converted).
#[derive(Clone)]
pub(crate) enum CookieValue {
    /// An `http` 1.x value (tower, axum).
    #[cfg(feature = "tower")]
    Http(http::HeaderValue),
    /// An `http` 0.2 value (actix-web 4).
    #[cfg(feature = "actix-web")]
    Actix(::actix_web::http::header::HeaderValue),
}

impl CookieValue {
    fn as_bytes(&self) -> &[u8] {
        match self {
            #[cfg(feature = "tower")]
            Self::Http(value) => value.as_bytes(),
            #[cfg(feature = "actix-web")]
            Self::Actix(value) => value.as_bytes(),
        }
    }
}

/// A request's `Cookie` header values, kept for a load that may never
/// come: every one until [`MAX_COOKIE_HEADER_BYTES`] are kept, and the one
/// that crosses that cap, so the manager sees an oversized header as
/// oversized (it reads no further than the cap itself) and a hostile
/// request with thousands of headers costs bounded work.
#[derive(Clone, Default)]
pub(crate) struct RequestCookies {
    /// The first value, inline: one `Cookie` header, the common case,
    /// allocates nothing here.
    first: Option<CookieValue>,
    rest: Vec<CookieValue>,
}

impl RequestCookies {
    /// Keeps `values` (the request's `Cookie` headers, in order) up to the
    /// cap.
    pub(crate) fn collect(values: impl IntoIterator<Item = CookieValue>) -> Self {
        let mut cookies = Self::default();
        let mut kept = 0usize;
        for value in values {
            if kept > MAX_COOKIE_HEADER_BYTES {
                break;
            }
            kept = kept.saturating_add(value.as_bytes().len());
            if cookies.first.is_none() {
                cookies.first = Some(value);
            } else {
                cookies.rest.push(value);
            }
        }
        cookies
    }

    /// The values' bytes, in header order: what the manager reads, with
    /// no conversion to an `http` 1.x map.
    pub(crate) fn values(&self) -> impl Iterator<Item = &[u8]> {
        self.first
            .iter()
            .chain(&self.rest)
            .map(CookieValue::as_bytes)
    }
}

/// The request's session, loaded on first use: what the tower layer
/// (`tower::SessionLayer`) and the actix-web middleware
/// (`actix_web::SessionMiddleware`) put in the request's extensions.
///
/// The wrapper keeps only the request's `Cookie` header values (clones of
/// shared bytes); [`LazySession::handle`] loads the session (opening the
/// cookie, reading the store when it points there) the first time it is
/// called, and every later call, from any clone, gets the same
/// [`SessionHandle`] (or the same load error) without loading again. A
/// request whose handler never asks costs no decryption and no store read,
/// and its response gets no `Set-Cookie` from the wrapper.
///
/// Handlers in axum and actix-web usually take a [`SessionHandle<T>`]
/// instead, which calls this. Take `LazySession<T>` to load only on some
/// paths; raw tower services find it in the request's extensions.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tower")]
/// use sealed_session::tower::LazySession;
/// # #[cfg(not(feature = "tower"))]
/// # use sealed_session::actix_web::LazySession;
/// # #[derive(Default, serde::Serialize, serde::Deserialize)]
/// # struct Cart { items: Vec<u32> }
///
/// /// Loads the session only for a request that adds something.
/// async fn add(lazy: &LazySession<Cart>, item: Option<u32>) -> Result<usize, String> {
///     let Some(item) = item else {
///         return Ok(0); // no cookie opened, no store read
///     };
///     let session = lazy.handle().await.map_err(|e| e.to_string())?;
///     Ok(session.update(|s| {
///         s.items.push(item);
///         s.items.len()
///     }))
/// }
/// # let _ = add;
/// ```
pub struct LazySession<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    manager: SessionManager,
    cookies: RequestCookies,
    /// Held while loading, so a second caller waits for the first load.
    loading: Gate,
    loaded: Mutex<Option<Result<SessionHandle<T>, SessionError>>>,
}

impl<T> LazySession<T> {
    /// A session to be loaded with `manager` from `cookies`.
    pub(crate) fn new(manager: SessionManager, cookies: RequestCookies) -> Self {
        Self {
            inner: Arc::new(Inner {
                manager,
                cookies,
                loading: Gate::default(),
                loaded: Mutex::new(None),
            }),
        }
    }

    /// What the load gave, if the session was loaded (or failed to load);
    /// `None` when nothing asked for it. Loads nothing.
    pub fn loaded(&self) -> Option<Result<SessionHandle<T>, SessionError>> {
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the session was loaded, successfully or not.
    pub fn is_loaded(&self) -> bool {
        self.loaded().is_some()
    }
}

impl<T> LazySession<T>
where
    T: DeserializeOwned + Default + 'static,
{
    /// The request's session: loaded by the first call, from the request's
    /// cookies, with [`SessionManager::load`]; the same handle (or error)
    /// for every later call. A call made while another loads waits for
    /// that load.
    ///
    /// # Errors
    ///
    /// The load's error, only when the store cannot be read
    /// ([`ErrorKind::Store`](crate::ErrorKind::Store)); it is kept, so the
    /// request does not retry. A cookie that does not open is no error: the
    /// session is fresh and [`Session::fresh_reason`](crate::Session::fresh_reason)
    /// says why.
    pub async fn handle(&self) -> Result<SessionHandle<T>, SessionError> {
        if let Some(loaded) = self.loaded() {
            return loaded;
        }
        let _turn = self.inner.loading.enter().await;
        // Loaded by the caller this one waited for.
        if let Some(loaded) = self.loaded() {
            return loaded;
        }
        let manager = &self.inner.manager;
        let cookies = &self.inner.cookies;
        let loaded = match manager.load_cookie_values::<T>(cookies.values()).await {
            Ok(session) => Ok(SessionHandle::loaded(
                manager.clone(),
                cookies.clone(),
                session,
            )),
            Err(e) => Err(SessionError::new(e)),
        };
        *self
            .inner
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(loaded.clone());
        loaded
    }
}

impl<T> Clone for LazySession<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for LazySession<T> {
    /// Shows whether the session was loaded, not its data or cookies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.loaded() {
            None => "not loaded",
            Some(Ok(_)) => "loaded",
            Some(Err(_)) => "load failed",
        };
        f.debug_struct("LazySession")
            .field("session", &std::any::type_name::<T>())
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// The request's signed-in subject, whatever the session type: what the
/// session layers put in the request's extensions beside the
/// [`LazySession<T>`] (the innermost layer's wins, as for the session), for
/// the adapters' `SignedIn` extractors.
/// `P` is the pointer to it: an `Arc` for tower, an `Rc` for actix-web.
#[derive(Clone)]
pub(crate) struct CurrentSubject<P>(pub(crate) P);

/// The subject of the session `lazy` loads (loading it if no one has).
pub(crate) async fn subject_of<T>(lazy: LazySession<T>) -> Result<Option<String>, SessionError>
where
    T: DeserializeOwned + Default + 'static,
{
    lazy.handle().await.map(|handle| handle.subject())
}
