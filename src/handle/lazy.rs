//! Loading on first use: the [`LazySession`] the tower layer and the
//! actix-web middleware register in a request's extensions ([`Sessions`],
//! one value for every wrapper in front of the handler) in place of a
//! loaded session, and the request's `Cookie` values it keeps for the load.

use std::any::Any;
use std::fmt;
#[cfg(any(feature = "axum", feature = "actix-web"))]
use std::future::Future;
#[cfg(any(feature = "axum", feature = "actix-web"))]
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::{SessionError, SessionHandle, Shared};
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
/// (`actix_web::SessionMiddleware`) register in the request's extensions.
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
/// paths; raw tower services get it with `LazySession::from_extensions`.
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
    inner: Arc<Shared<T>>,
}

impl<T> LazySession<T> {
    /// A session to be loaded with `manager` from `cookies`.
    pub(crate) fn new(manager: SessionManager, cookies: RequestCookies) -> Self {
        Self {
            inner: Arc::new(Shared::unloaded(manager, cookies)),
        }
    }

    /// What the load gave, if the session was loaded (or failed to load);
    /// `None` when nothing asked for it. Loads nothing.
    pub fn loaded(&self) -> Option<Result<SessionHandle<T>, SessionError>> {
        self.inner.loaded()
    }

    /// Whether the session was loaded, successfully or not.
    pub fn is_loaded(&self) -> bool {
        self.loaded().is_some()
    }
}

#[cfg(feature = "tower")]
impl<T: 'static> LazySession<T> {
    /// The request's session of type `T`, from the request's extensions,
    /// where the [`SessionLayer<T>`](crate::tower::SessionLayer) in front
    /// of the service put it (the innermost, when several with this `T`
    /// are nested); `None` when no layer with this `T` runs in front. What
    /// a raw tower service calls; axum handlers take the extractor.
    ///
    /// # Examples
    ///
    /// ```
    /// use sealed_session::tower::LazySession;
    ///
    /// async fn visits<B>(request: http::Request<B>) -> Option<u32> {
    ///     let lazy = LazySession::<u32>::from_extensions(request.extensions())?;
    ///     let session = lazy.handle().await.ok()?;
    ///     Some(session.update(|visits| {
    ///         **visits += 1;
    ///         **visits
    ///     }))
    /// }
    /// # let _ = visits::<()>;
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        extensions.get::<Sessions<dyn SendSession>>()?.find()
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
        if let Some(loaded) = self.handle_now() {
            return loaded;
        }
        let _turn = self.inner.loading().enter().await;
        // Loaded by the caller this one waited for.
        if let Some(loaded) = self.loaded() {
            return loaded;
        }
        let loaded = self
            .inner
            .manager()
            .load_cookie_values::<T>(self.inner.cookies().values())
            .await;
        self.inner.keep(loaded)
    }

    /// [`LazySession::handle`] without waiting, when it need not wait:
    /// the session already loaded, or a manager without a store (whose
    /// load never waits) and no other load under way. `None` when the
    /// load must be awaited.
    pub(crate) fn handle_now(&self) -> Option<Result<SessionHandle<T>, SessionError>> {
        if let Some(loaded) = self.loaded() {
            return Some(loaded);
        }
        let manager = self.inner.manager();
        if manager.store().is_some() {
            return None;
        }
        let _turn = self.inner.loading().try_enter()?;
        if let Some(loaded) = self.loaded() {
            return Some(loaded);
        }
        let loaded = manager.load_cookie_values_sync::<T>(self.inner.cookies().values());
        Some(self.inner.keep(loaded))
    }
}

impl<T> LazySession<T>
where
    T: DeserializeOwned + Default + 'static,
{
    /// This session, erased for a tower request's [`Sessions`].
    #[cfg(feature = "tower")]
    pub(crate) fn erased_send(&self) -> Arc<dyn SendSession>
    where
        T: Send + Sync,
    {
        Arc::clone(&self.inner) as Arc<dyn SendSession>
    }

    /// This session, erased for an actix-web request's [`Sessions`].
    #[cfg(feature = "actix-web")]
    pub(crate) fn erased_local(&self) -> Arc<dyn LocalSession> {
        Arc::clone(&self.inner) as Arc<dyn LocalSession>
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

/// A request's session of any type, as a wrapper registers it in the
/// request's [`Sessions`]: what an extractor finds by type, and what a
/// `SignedIn` extractor asks for the subject, whatever the type.
pub(crate) trait AnySession: Any {
    /// The session type's name, for the extractors' messages.
    #[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
    fn type_name(&self) -> &'static str;

    /// Puts this session's [`LazySession<T>`] in `out` when `out` is an
    /// `Option<LazySession<T>>` (with this session's `T`); leaves any other
    /// `out` alone.
    fn lazy_into(self: Arc<Self>, out: &mut dyn Any);
}

impl<T: 'static> AnySession for Shared<T> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn lazy_into(self: Arc<Self>, out: &mut dyn Any) {
        if let Some(out) = out.downcast_mut::<Option<LazySession<T>>>() {
            *out = Some(LazySession { inner: self });
        }
    }
}

/// What a subject lookup gives: who is signed in, or the load's error.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) type SubjectResult = Result<Option<String>, SessionError>;

/// A session in a tower stack, whose subject lookup is `Send`.
#[cfg(feature = "tower")]
pub(crate) trait SendSession: AnySession + Send + Sync {
    /// The subject, loading the session if no one has: without waiting
    /// when it can ([`LazySession::handle_now`]), else in the future.
    #[cfg(feature = "axum")]
    fn subject(self: Arc<Self>) -> Subject<Pin<Box<dyn Future<Output = SubjectResult> + Send>>>;
}

#[cfg(feature = "tower")]
impl<T> SendSession for Shared<T>
where
    T: DeserializeOwned + Default + Send + Sync + 'static,
{
    #[cfg(feature = "axum")]
    fn subject(self: Arc<Self>) -> Subject<Pin<Box<dyn Future<Output = SubjectResult> + Send>>> {
        let lazy = LazySession { inner: self };
        match lazy.handle_now() {
            Some(loaded) => Subject::Now(loaded.map(|handle| handle.subject())),
            None => Subject::Later(Box::pin(subject_of(lazy))),
        }
    }
}

/// A session under actix-web, whose subject lookup is a local future.
#[cfg(feature = "actix-web")]
pub(crate) trait LocalSession: AnySession {
    /// As `SendSession::subject`, with a local future.
    fn subject(self: Arc<Self>) -> Subject<Pin<Box<dyn Future<Output = SubjectResult>>>>;
}

#[cfg(feature = "actix-web")]
impl<T> LocalSession for Shared<T>
where
    T: DeserializeOwned + Default + 'static,
{
    fn subject(self: Arc<Self>) -> Subject<Pin<Box<dyn Future<Output = SubjectResult>>>> {
        let lazy = LazySession { inner: self };
        match lazy.handle_now() {
            Some(loaded) => Subject::Now(loaded.map(|handle| handle.subject())),
            None => Subject::Later(Box::pin(subject_of(lazy))),
        }
    }
}

/// A subject lookup: done, or a future `F` to await.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) enum Subject<F> {
    /// Found without waiting.
    Now(SubjectResult),
    /// Found when `F` finishes.
    Later(F),
}

#[cfg(feature = "axum")]
impl<F: Future<Output = SubjectResult> + Unpin> Subject<F> {
    /// The subject.
    pub(crate) async fn get(self) -> SubjectResult {
        match self {
            Self::Now(subject) => subject,
            Self::Later(future) => future.await,
        }
    }
}

/// The subject of the session `lazy` loads (loading it if no one has).
#[cfg(any(feature = "axum", feature = "actix-web"))]
async fn subject_of<T>(lazy: LazySession<T>) -> SubjectResult
where
    T: DeserializeOwned + Default + 'static,
{
    lazy.handle().await.map(|handle| handle.subject())
}

/// The sessions the wrappers in front of a request provide, innermost
/// first: the one value a wrapper puts in the request's extensions (one
/// heap block there, whatever the number of wrappers). `D` is the erased
/// session: `dyn SendSession` for tower, `dyn LocalSession` for
/// actix-web.
pub(crate) struct Sessions<D: ?Sized> {
    /// The innermost wrapper's session: the one `SignedIn` reads, and the
    /// one found first for its type.
    innermost: Arc<D>,
    /// The sessions of wrappers further out, nearest first (no allocation
    /// for one wrapper, the common case).
    outer: Vec<Arc<D>>,
}

impl<D: ?Sized> Clone for Sessions<D> {
    fn clone(&self) -> Self {
        Self {
            innermost: Arc::clone(&self.innermost),
            outer: self.outer.clone(),
        }
    }
}

impl<D: ?Sized + AnySession> Sessions<D> {
    /// The sessions of a request whose only wrapper is `session`'s.
    pub(crate) fn new(session: Arc<D>) -> Self {
        Self {
            innermost: session,
            outer: Vec::new(),
        }
    }

    /// Adds the session of a wrapper nearer the handler than those here.
    pub(crate) fn push_innermost(&mut self, session: Arc<D>) {
        let further = std::mem::replace(&mut self.innermost, session);
        self.outer.insert(0, further);
    }

    /// The innermost wrapper's session.
    // Read only by the `SignedIn` extractors (tower alone has none).
    #[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
    pub(crate) fn innermost(&self) -> Arc<D> {
        Arc::clone(&self.innermost)
    }

    /// The session of type `T` nearest the handler, if a wrapper provides
    /// one.
    pub(crate) fn find<T: 'static>(&self) -> Option<LazySession<T>> {
        let mut found: Option<LazySession<T>> = None;
        for session in std::iter::once(&self.innermost).chain(&self.outer) {
            D::lazy_into(Arc::clone(session), &mut found);
            if found.is_some() {
                break;
            }
        }
        found
    }

    /// The session types provided, outermost first, for the extractors'
    /// messages.
    #[cfg(any(feature = "axum", feature = "actix-web"))]
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = std::iter::once(&self.innermost)
            .chain(&self.outer)
            .map(|session| session.type_name())
            .collect();
        names.reverse();
        names
    }
}
