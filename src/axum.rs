//! axum extractors for sessions loaded by [`SessionLayer`](crate::tower::SessionLayer).
//!
//! Add a [`SessionLayer<T>`](crate::tower::SessionLayer) to the router, then take a
//! [`SessionHandle<T>`] (or a [`MapSessionHandle`] for a map session) as a
//! handler argument. Extraction fails with `500 Internal Server Error` and a
//! plain-text message ([`MissingSessionLayer`]) when no layer for that
//! session type runs in front of the handler: a routing mistake, not a
//! client's.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, routing::get};
//! use sealed_session::tower::{SessionHandle, SessionLayer};
//! use sealed_session::{Codec, Key, KeyRing, SessionManager};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! async fn visits(session: SessionHandle<Visits>) -> String {
//!     let mut session = session.lock();
//!     session.count += 1;
//!     format!("visit number {}", session.count)
//! }
//!
//! // In production, load keys from a secret store (`KeyRing::from_env`).
//! let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
//! let manager = SessionManager::with_codec(codec).build()?;
//! let app: Router = Router::new()
//!     .route("/", get(visits))
//!     .layer(SessionLayer::<Visits>::new(manager));
//! # let _ = app;
//! # Ok::<(), sealed_session::Error>(())
//! ```
//!
//! [`MapSessionHandle`]: crate::tower::MapSessionHandle

use std::fmt;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::tower::SessionHandle;

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
            .ok_or(MissingSessionLayer {
                session: std::any::type_name::<T>(),
            })
    }
}

/// The rejection when a handler asks for a [`SessionHandle<T>`] but no
/// [`SessionLayer<T>`](crate::tower::SessionLayer) with that `T` wraps the route. Responds `500` with a
/// message naming the session type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSessionLayer {
    session: &'static str,
}

impl fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no session for this request: add SessionLayer<{}> to the router, \
             around this route",
            self.session
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
        };
        assert_eq!(
            rejection.to_string(),
            "no session for this request: add SessionLayer<u32> to the router, around this route"
        );
        assert_eq!(
            rejection.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
