//! A minimal actix-web app with sessions: a typed session for a visit
//! counter, behind `SessionMiddleware`. The actix-web twin of
//! `examples/axum.rs`.
//!
//! ```sh
//! cargo run --example actix --features actix-web   # then open http://127.0.0.1:3002/
//! ```
//!
//! For the full tour (sign-in, a cart that spills to the store, key
//! rotation), run `cargo run -p sealed-session-demo`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use sealed_session::actix_web::{SessionHandle, SessionMiddleware};
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

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production, load keys from a secret store, e.g.
    // `KeyRing::from_env("SESSION_KEYS")`.
    let manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
        // Sessions too large for a cookie go here instead of failing.
        .store(Arc::new(MemoryStore::new()))
        .build()?;

    // actix-web builds the App once per worker thread; the manager is a
    // cheap clone sharing one key ring and store.
    let server = HttpServer::new(move || {
        App::new()
            .wrap(SessionMiddleware::<Visits>::new(manager.clone()))
            .route("/", web::get().to(index))
    })
    .bind((Ipv4Addr::LOCALHOST, 3002))?;
    for address in server.addrs() {
        println!("listening on http://{address}/");
    }
    server.run().await?;
    Ok(())
}
