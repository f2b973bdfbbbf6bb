//! A minimal axum app with sessions: a typed session for a visit counter,
//! behind `SessionLayer`.
//!
//! ```sh
//! cargo run --example axum --features axum   # then open http://127.0.0.1:3001/
//! ```
//!
//! For the full tour (sign-in, a cart that spills to the store, key
//! rotation), run `cargo run --example demo --features axum,metrics`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production, load keys from a secret store, e.g.
    // `KeyRing::from_env("SESSION_KEYS")`.
    let manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
        // Sessions too large for a cookie go here instead of failing.
        .store(Arc::new(MemoryStore::new()))
        .build()?;

    let app = Router::new()
        .route("/", get(index))
        .layer(SessionLayer::<Visits>::new(manager));

    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 3001))).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
