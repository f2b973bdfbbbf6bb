//! The extractors ([`SessionHandle<T>`], [`LazySession<T>`]) and their
//! rejections.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;

use ::actix_web::dev::Payload;
use ::actix_web::http::StatusCode;
use ::actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::SessionMiddleware;
use super::{LazySession, LocalSubjectLoader, SessionError, SessionHandle, failure};
use crate::handle::{CurrentSubject, SessionLayers, Wrapper, describe_missing};
use std::rc::Rc;

/// Loads the session (on the first extraction in the request; later ones
/// share it).
impl<T> FromRequest for SessionHandle<T>
where
    T: DeserializeOwned + Default + 'static,
{
    type Error = SessionRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let lazy = lazy_session::<T>(request);
        Box::pin(async move {
            match lazy?.handle().await {
                Ok(handle) => Ok(handle),
                Err(error) => Err(SessionRejection::Unavailable(error)),
            }
        })
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
    extensions
        .get::<LazySession<T>>()
        .cloned()
        .ok_or_else(|| MissingSessionMiddleware {
            session: std::any::type_name::<T>(),
            present: extensions
                .get::<SessionLayers>()
                .map(SessionLayers::to_vec)
                .unwrap_or_default(),
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
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let current = request
            .extensions()
            .get::<CurrentSubject<Rc<LocalSubjectLoader>>>()
            .cloned();
        Box::pin(async move {
            let current = current.ok_or(SignedInRejection::MissingMiddleware)?;
            match (current.0)().await {
                Ok(Some(subject)) => Ok(Self(subject)),
                Ok(None) => Err(SignedInRejection::NotSignedIn),
                Err(error) => Err(SignedInRejection::Unavailable(error)),
            }
        })
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
