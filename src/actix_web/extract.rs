//! The extractors ([`SessionHandle<T>`], [`LazySession<T>`]) and their
//! rejections.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::actix_web::dev::Payload;
use ::actix_web::http::StatusCode;
use ::actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::SessionMiddleware;
use super::{LazySession, SessionError, SessionHandle, failure};
use crate::handle::{LocalSession, Sessions, Subject, SubjectResult, Wrapper, describe_missing};

/// Loads the session (on the first extraction in the request; later ones
/// share it).
impl<T> FromRequest for SessionHandle<T>
where
    T: DeserializeOwned + Default + 'static,
{
    type Error = SessionRejection;
    type Future = ExtractFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let lazy = match lazy_session::<T>(request) {
            Ok(lazy) => lazy,
            Err(missing) => return ExtractFuture::now(Err(missing.into())),
        };
        match lazy.handle_now() {
            Some(loaded) => ExtractFuture::now(loaded.map_err(SessionRejection::Unavailable)),
            None => ExtractFuture::later(async move {
                lazy.handle().await.map_err(SessionRejection::Unavailable)
            }),
        }
    }
}

/// The future of this module's [`SessionHandle`] and [`SignedIn`]
/// extractors: finished when made if nothing has to wait (the session
/// already loaded, or a manager without a store), else a boxed future
/// that waits on the store.
pub struct ExtractFuture<O> {
    state: Extraction<O>,
}

enum Extraction<O> {
    /// Finished; `None` once taken.
    Now(Option<O>),
    /// Waits on the store.
    Later(Pin<Box<dyn Future<Output = O>>>),
}

impl<O> ExtractFuture<O> {
    fn now(output: O) -> Self {
        Self {
            state: Extraction::Now(Some(output)),
        }
    }

    fn later(future: impl Future<Output = O> + 'static) -> Self {
        Self {
            state: Extraction::Later(Box::pin(future)),
        }
    }
}

// Neither state is pinned in place: the output is moved out, the waiting
// future is pinned in its box.
impl<O> Unpin for ExtractFuture<O> {}

impl<O> Future for ExtractFuture<O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        match &mut self.get_mut().state {
            // Polled again after it finished: a misuse of the future,
            // which never finishes twice.
            Extraction::Now(output) => output.take().map_or(Poll::Pending, Poll::Ready),
            Extraction::Later(future) => future.as_mut().poll(cx),
        }
    }
}

impl<O> fmt::Debug for ExtractFuture<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            Extraction::Now(Some(_)) => "ready",
            Extraction::Now(None) => "taken",
            Extraction::Later(_) => "waiting",
        };
        f.debug_struct("ExtractFuture")
            .field("state", &state)
            .finish()
    }
}

/// The session, not yet loaded: for a handler that loads it only on some
/// paths ([`LazySession::handle`]).
impl<T: 'static> FromRequest for LazySession<T> {
    type Error = MissingSessionMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(lazy_session(request))
    }
}

/// The request's [`LazySession<T>`], or what is missing.
fn lazy_session<T: 'static>(
    request: &HttpRequest,
) -> Result<LazySession<T>, MissingSessionMiddleware> {
    let extensions = request.extensions();
    let sessions = extensions.get::<Sessions<dyn LocalSession>>();
    sessions
        .and_then(Sessions::find)
        .ok_or_else(|| MissingSessionMiddleware {
            session: std::any::type_name::<T>(),
            present: sessions.map(Sessions::names).unwrap_or_default(),
        })
}

/// The signed-in subject, for handlers that need someone signed in: the
/// subject of the session ([`SessionHandle::login`]) of the innermost
/// [`SessionMiddleware`] in front of the route, whatever its session type.
/// Extraction loads the session if no one has, and answers `401
/// Unauthorized` when no one is signed in ([`SignedInRejection`]); take an
/// `Option<SignedIn>` for handlers that serve both.
///
/// # Examples
///
/// ```
/// use sealed_session::actix_web::SignedIn;
///
/// async fn account(SignedIn(user): SignedIn) -> String {
///     format!("signed in as {user}")
/// }
/// # let _ = account;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn(pub String);

impl FromRequest for SignedIn {
    type Error = SignedInRejection;
    type Future = ExtractFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let innermost = request
            .extensions()
            .get::<Sessions<dyn LocalSession>>()
            .map(Sessions::innermost);
        let Some(innermost) = innermost else {
            return ExtractFuture::now(Err(SignedInRejection::MissingMiddleware));
        };
        match innermost.subject() {
            Subject::Now(subject) => ExtractFuture::now(signed_in(subject)),
            Subject::Later(future) => ExtractFuture::later(async move { signed_in(future.await) }),
        }
    }
}

/// The extraction of a [`SignedIn`] from the session's subject.
fn signed_in(subject: SubjectResult) -> Result<SignedIn, SignedInRejection> {
    match subject {
        Ok(Some(subject)) => Ok(SignedIn(subject)),
        Ok(None) => Err(SignedInRejection::NotSignedIn),
        Err(error) => Err(SignedInRejection::Unavailable(error)),
    }
}

/// Why a [`SignedIn`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignedInRejection {
    /// The session has no subject: `401 Unauthorized`, the plain-text body
    /// `sign in first`.
    NotSignedIn,
    /// The session could not be loaded: as
    /// [`SessionRejection::Unavailable`].
    Unavailable(SessionError),
    /// No [`SessionMiddleware`] wraps the route: `500`.
    MissingMiddleware,
}

impl fmt::Display for SignedInRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSignedIn => f.write_str("sign in first"),
            Self::Unavailable(error) => fmt::Display::fmt(error, f),
            Self::MissingMiddleware => f.write_str(
                "this handler takes SignedIn, but no SessionMiddleware runs in front of this \
                 route: add .wrap(SessionMiddleware::<YourSession>::new(manager)) to the App",
            ),
        }
    }
}

impl std::error::Error for SignedInRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable(error) => Some(error),
            _ => None,
        }
    }
}

impl ResponseError for SignedInRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable(error) => failure(StatusCode::SERVICE_UNAVAILABLE, error.clone()),
            _ => HttpResponse::build(self.status_code())
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
        }
    }
}

/// Why a [`SessionHandle<T>`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionRejection {
    /// No [`SessionMiddleware<T>`] with that `T` wraps the route: `500`
    /// with a message saying what to change.
    MissingMiddleware(MissingSessionMiddleware),
    /// The session could not be loaded (the store cannot be read): `503
    /// Service Unavailable`, the plain-text body `session store
    /// unavailable`, and the [`SessionError`] in the response's extensions,
    /// as the middleware answered before it loaded lazily.
    Unavailable(SessionError),
}

impl From<MissingSessionMiddleware> for SessionRejection {
    fn from(missing: MissingSessionMiddleware) -> Self {
        Self::MissingMiddleware(missing)
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingMiddleware(missing) => fmt::Display::fmt(missing, f),
            Self::Unavailable(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MissingMiddleware(missing) => Some(missing),
            Self::Unavailable(error) => Some(error),
        }
    }
}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MissingMiddleware(missing) => missing.status_code(),
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::MissingMiddleware(missing) => missing.error_response(),
            Self::Unavailable(error) => failure(StatusCode::SERVICE_UNAVAILABLE, error.clone()),
        }
    }
}

/// The extractor's error when a handler asks for a [`SessionHandle<T>`] but
/// no [`SessionMiddleware<T>`] with that `T` wraps the route. Responds
/// `500` with a plain-text message naming the session type asked for, the
/// middleware the route has, and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSessionMiddleware {
    session: &'static str,
    present: Vec<&'static str>,
}

impl fmt::Display for MissingSessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe_missing(
            f,
            self.session,
            &self.present,
            &Wrapper {
                name: "SessionMiddleware",
                method: ".wrap",
                target: "the App",
            },
        )
    }
}

impl std::error::Error for MissingSessionMiddleware {}

/// `500 Internal Server Error` with the message as a plain-text body: a
/// routing mistake, not the client's.
impl ResponseError for MissingSessionMiddleware {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}
