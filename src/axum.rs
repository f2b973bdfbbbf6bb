//! Sessions in axum: the layer and the extractors, in one place.
//!
//! Add a [`SessionLayer<T>`] to the router, then take a [`SessionHandle<T>`]
//! (or a [`MapSessionHandle`] for a map session) as a handler argument, with
//! the same `T`. Read and change the session with
//! [`SessionHandle::read`] and [`SessionHandle::update`], which hold nothing
//! across an `.await`. The extractor loads the session (on the first
//! extraction in a request; the layer itself loads nothing), so a handler
//! that does not take it costs no decryption and no store read; take a
//! [`LazySession<T>`] to load only on some paths. Extraction fails
//! ([`SessionRejection`]) with `503 Service Unavailable` when the store
//! cannot be read, and with `500 Internal Server Error` and a plain-text
//! message ([`MissingSessionLayer`]) when no layer for that session type
//! runs in front of the handler: a routing mistake, not a client's, and the
//! message says which layers the route has and what to change.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::get};
//! use sealed_session::axum::{SessionHandle, SessionLayer};
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
//! let app: Router = Router::new()
//!     .route("/", get(visits))
//!     .layer(SessionLayer::<Visits>::new(manager));
//! # let _ = app;
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::handle::{SendSession, Sessions, Wrapper, describe_missing};
pub use crate::tower::{LazySession, MapSessionHandle, SessionError, SessionHandle, SessionLayer};

/// Loads the session (on the first extraction in the request; later ones
/// share it).
impl<S, T> FromRequestParts<S> for SessionHandle<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default + Send + Sync + 'static,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lazy = LazySession::<T>::from_request_parts(parts, state).await?;
        let loaded = match lazy.handle_now() {
            Some(loaded) => loaded,
            None => lazy.handle().await,
        };
        loaded.map_err(SessionRejection::Unavailable)
    }
}

/// The session, not yet loaded: for a handler that loads it only on some
/// paths ([`LazySession::handle`]).
impl<S, T> FromRequestParts<S> for LazySession<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let sessions = parts.extensions.get::<Sessions<dyn SendSession>>();
        sessions
            .and_then(Sessions::find)
            .ok_or_else(|| MissingSessionLayer {
                session: std::any::type_name::<T>(),
                present: sessions.map(Sessions::names).unwrap_or_default(),
            })
    }
}

/// The signed-in subject, for handlers that need someone signed in: the
/// subject of the session ([`SessionHandle::login`]) of the innermost
/// [`SessionLayer`] in front of the route, whatever its session type.
/// Extraction loads the session if no one has, and answers `401
/// Unauthorized` when no one is signed in ([`SignedInRejection`]).
///
/// # Examples
///
/// ```
/// use sealed_session::axum::SignedIn;
///
/// async fn account(SignedIn(user): SignedIn) -> String {
///     format!("signed in as {user}")
/// }
/// # let _ = account;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn(pub String);

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
{
    type Rejection = SignedInRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let innermost = parts
            .extensions
            .get::<Sessions<dyn SendSession>>()
            .map(Sessions::innermost)
            .ok_or(SignedInRejection::MissingLayer)?;
        match innermost.subject().get().await {
            Ok(Some(subject)) => Ok(Self(subject)),
            Ok(None) => Err(SignedInRejection::NotSignedIn),
            Err(error) => Err(SignedInRejection::Unavailable(error)),
        }
    }
}

/// Why a [`SignedIn`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignedInRejection {
    /// The session has no subject: `401 Unauthorized`, the plain-text body
    /// `sign in first`. Wrap the handler's route differently (or take an
    /// `Option<SignedIn>`) to redirect to a sign-in page instead.
    NotSignedIn,
    /// The session could not be loaded: as
    /// [`SessionRejection::Unavailable`].
    Unavailable(SessionError),
    /// No [`SessionLayer`] wraps the route: `500`.
    MissingLayer,
}

impl fmt::Display for SignedInRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSignedIn => f.write_str("sign in first"),
            Self::Unavailable(error) => fmt::Display::fmt(error, f),
            Self::MissingLayer => f.write_str(
                "this handler takes SignedIn, but no SessionLayer runs in front of this route: \
                 add .layer(SessionLayer::<YourSession>::new(manager)) to the router",
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

impl IntoResponse for SignedInRejection {
    fn into_response(self) -> Response {
        match self {
            Self::NotSignedIn => (StatusCode::UNAUTHORIZED, self.to_string()).into_response(),
            Self::Unavailable(error) => SessionRejection::Unavailable(error).into_response(),
            Self::MissingLayer => {
                (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
            }
        }
    }
}

/// An optional [`SignedIn`]: `None` when no one is signed in, for handlers
/// that serve both.
impl<S> axum_core::extract::OptionalFromRequestParts<S> for SignedIn
where
    S: Send + Sync,
{
    type Rejection = SignedInRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(signed_in) => Ok(Some(signed_in)),
            Err(SignedInRejection::NotSignedIn) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Why a [`SessionHandle<T>`] could not be extracted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionRejection {
    /// No [`SessionLayer<T>`] with that `T` wraps the route: `500` with a
    /// message saying what to change.
    MissingLayer(MissingSessionLayer),
    /// The session could not be loaded (the store cannot be read): `503
    /// Service Unavailable`, the plain-text body `session store
    /// unavailable`, and the [`SessionError`] in the response's extensions,
    /// as the layer answered before it loaded lazily.
    Unavailable(SessionError),
}

impl From<MissingSessionLayer> for SessionRejection {
    fn from(missing: MissingSessionLayer) -> Self {
        Self::MissingLayer(missing)
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer(missing) => fmt::Display::fmt(missing, f),
            Self::Unavailable(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for SessionRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MissingLayer(missing) => Some(missing),
            Self::Unavailable(error) => Some(error),
        }
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            Self::MissingLayer(missing) => missing.into_response(),
            Self::Unavailable(error) => {
                crate::tower::failure(StatusCode::SERVICE_UNAVAILABLE, error)
            }
        }
    }
}

/// The rejection when a handler asks for a [`SessionHandle<T>`] (or a
/// [`LazySession<T>`]) but no [`SessionLayer<T>`] with that `T` wraps the
/// route. Responds `500` with a
/// message naming the session type asked for, the layers the route has, and
/// what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSessionLayer {
    session: &'static str,
    present: Vec<&'static str>,
}

impl fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe_missing(
            f,
            self.session,
            &self.present,
            &Wrapper {
                name: "SessionLayer",
                method: ".layer",
                target: "the router",
            },
        )
    }
}

impl std::error::Error for MissingSessionLayer {}

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn rejection_names_the_session_type() {
        let rejection = MissingSessionLayer {
            session: std::any::type_name::<u32>(),
            present: Vec::new(),
        };
        assert_eq!(
            rejection.to_string(),
            "this handler takes SessionHandle<u32>, but no SessionLayer runs in front of this \
             route: add .layer(SessionLayer::<u32>::new(manager)) to the router"
        );
        assert_eq!(
            rejection.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn rejection_names_the_layers_present_without_module_paths() {
        let rejection = MissingSessionLayer {
            session: std::any::type_name::<crate::Map>(),
            present: vec![std::any::type_name::<Vec<String>>()],
        };
        let message = rejection.to_string();
        assert_eq!(
            message,
            "this handler takes SessionHandle<Map>, but this route has SessionLayer<Vec<String>>: \
             take SessionHandle<Vec<String>> in the handler, or add \
             SessionLayer::<Map>::new(manager) for a second session"
        );
        assert!(!message.contains("::map::"), "no private paths: {message}");
    }
}
