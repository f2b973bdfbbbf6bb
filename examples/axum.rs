//! A minimal axum app with sessions: a typed session for a visit counter,
//! behind `SessionLayer`, with per-route configuration: an admin sub-router
//! with its own layer (another cookie, a shorter idle timeout, and saving
//! on `5xx`), and routes that never touch the session (no cookie opened, no
//! store read, no `Set-Cookie`).
//!
//! ```sh
//! cargo run --example axum --features axum   # then open http://127.0.0.1:3001/
//! ```
//!
//! For the full tour (sign-in, a cart that spills to the store, key
//! rotation), run `cargo run -p sealed-session-demo`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use sealed_session::axum::{SessionHandle, SessionLayer};
use sealed_session::store::MemoryStore;
use sealed_session::{Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Visits {
    count: u64,
}

/// Takes the session as an extractor; `update` runs a closure on it, so
/// nothing is held across an `.await`.
async fn index(session: SessionHandle<Visits>) -> String {
    let count = session.update(|s| {
        s.count += 1;
        s.count
    });
    format!("You have been here {count} time(s).\n")
}

/// Counts in the admin cookie, then saves at once (the store entry, if the
/// session lives there, is written before the handler goes on), as
/// express-session's `req.session.save()`.
async fn admin(session: SessionHandle<Visits>) -> Result<String, StatusCode> {
    let count = session.update(|s| {
        s.count += 1;
        s.count
    });
    session
        .save()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(format!("Admin page, visit {count}.\n"))
}

/// Fails after counting: the admin layer saves on `5xx`, so the count
/// still goes up (the default layer would drop it).
async fn admin_fail(session: SessionHandle<Visits>) -> StatusCode {
    session.update(|s| s.count += 1);
    StatusCode::INTERNAL_SERVER_ERROR
}

/// Never takes the session: the layer loads nothing for it.
async fn health() -> &'static str {
    "ok\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production, load keys from a secret store, e.g.
    // `KeyRing::from_env("SESSION_KEYS")`.
    let manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
        // Sessions too large for a cookie go here instead of failing.
        .store(Arc::new(MemoryStore::new()))
        .build()?;
    // The admin area: its own cookie, key and idle timeout.
    let admin_manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
        .cookie_name("__Host-admin")
        .idle_timeout(Duration::from_secs(15 * 60))
        .build()?;

    // The admin layer is closer to its routes than the outer one, so its
    // session replaces the outer one there; the outer one, never asked
    // for on those routes, is never loaded and writes nothing.
    let admin_routes = Router::new()
        .route("/", get(admin))
        .route("/fail", get(admin_fail))
        .layer(SessionLayer::<Visits>::new(admin_manager).save_on_server_error(true));

    let app = Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .nest("/admin", admin_routes)
        .layer(SessionLayer::<Visits>::new(manager));

    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 3001))).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// In the app's own tests: fails before a deploy when `Visits` changes in a
/// way the sessions already out there cannot be opened as, and says which
/// migration to declare. The lock file is committed beside the code.
#[cfg(test)]
#[test]
#[allow(clippy::unwrap_used, reason = "a test: a failure must print and stop")]
fn old_sessions_open_as_the_current_session_type() {
    use sealed_session::Codec;
    use sealed_session::schema_lock::SchemaLock;

    // The codec the app's managers build (no migrations declared yet).
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap();
    SchemaLock::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/axum.schema"))
        .check::<Visits>(&codec)
        .unwrap();
}
