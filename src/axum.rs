//! Sessions in axum: the layer and the extractors, in one place.
//!
//! Add a [`SessionLayer<T>`] to the router, then take a [`SessionHandle<T>`]
//! (or a [`MapSessionHandle`] for a map session) as a handler argument, with
//! the same `T`. Read and change the session with
//! [`SessionHandle::read`] and [`SessionHandle::update`], which hold nothing
//! across an `.await`. Extraction fails with `500 Internal Server Error` and
//! a plain-text message ([`MissingSessionLayer`]) when no layer for that
//! session type runs in front of the handler: a routing mistake, not a
//! client's, and the message says which layers the route has and what to
//! change.
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

use crate::handle::{SessionLayers, Wrapper, describe_missing};
pub use crate::tower::{MapSessionHandle, SessionError, SessionHandle, SessionLayer};

impl<S, T> FromRequestParts<S> for SessionHandle<T>
where
    S: Send + Sync,
    T: Send + 'static,
{
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| MissingSessionLayer {
                session: std::any::type_name::<T>(),
                present: parts
                    .extensions
                    .get::<SessionLayers>()
                    .map(|l| l.0.clone())
                    .unwrap_or_default(),
            })
    }
}

/// The rejection when a handler asks for a [`SessionHandle<T>`] but no
/// [`SessionLayer<T>`] with that `T` wraps the route. Responds `500` with a
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
