//! The sealed-session demo: an axum app with a visit counter, sign-in and
//! sign-out, a cart that outgrows its cookie and spills to the store, and a
//! key-rotation view.
//!
//! ```sh
//! cargo run -p sealed-session-demo   # then open http://127.0.0.1:3000/
//! ```
//!
//! `/metrics` serves the session counters in the Prometheus text format and
//! the key page shows the rotation's progress from them (the default
//! `metrics` feature; `--no-default-features` runs the demo without them).
//!
//! Environment:
//!
//! - `PORT`: the port on 127.0.0.1 (default 3000).
//! - `SESSION_KEYS`: comma-separated keys, primary first (`[algorithm:]base64`,
//!   as `cargo run --example seal -- --keygen` prints). Unset, two keys are
//!   generated for this run, so sessions end when the demo stops.
//! - `REDIS_URL`: keep spilled sessions in Redis instead of memory (needs
//!   `--features redis`).
//! - `SESSION_INSECURE_COOKIE=1`: drop the cookie's `Secure` attribute, for a
//!   browser that refuses Secure cookies over plain-HTTP localhost.

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use sealed_session::revocation::Registry;
use sealed_session::store::{MemoryStore, Store};
use sealed_session::{Key, KeyRing};

mod app;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 3000,
    };

    let keys = match std::env::var("SESSION_KEYS") {
        Ok(list) => {
            let keys = list
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(Key::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("SESSION_KEYS: {e}"))?;
            // Checks the ring (no duplicates, not empty) before serving.
            KeyRing::new(keys.iter().cloned()).map_err(|e| format!("SESSION_KEYS: {e}"))?;
            println!("keys: {} from SESSION_KEYS, primary first", keys.len());
            keys
        }
        Err(_) => {
            println!(
                "keys: SESSION_KEYS is unset, so two keys were generated for this run \
                 (sessions end when the demo stops). In production, load keys from a \
                 secret store."
            );
            vec![Key::generate(), Key::generate()]
        }
    };

    let (store, store_name) = store().await?;

    // Cookies stay Secure (and `__Host-` prefixed) by default, even over
    // plain HTTP: Chromium and Firefox treat http://127.0.0.1 and
    // http://localhost as trustworthy origins and keep Secure cookies from
    // them (checked in headless Chromium by tests/browser.rs). A browser that
    // drops them would show the counter stuck at 1; for it, and only on a
    // development machine, SESSION_INSECURE_COOKIE=1 turns Secure off.
    let secure = std::env::var_os("SESSION_INSECURE_COOKIE").is_none_or(|v| v != "1");
    if secure {
        println!(
            "cookie: {} with Secure; browsers accept it on http://127.0.0.1 because loopback \
             is a trustworthy origin (set SESSION_INSECURE_COOKIE=1 if yours does not)",
            app::cookie_name(true)
        );
    } else {
        println!(
            "cookie: {} WITHOUT Secure (SESSION_INSECURE_COOKIE=1): plain-HTTP development \
             only, never in production",
            app::cookie_name(false)
        );
    }

    let registry = registry().await?;
    let router = app::router(app::Config {
        keys,
        store,
        store_name,
        secure,
        registry,
    })?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port} ({e}); set PORT to another port")
        })?;
    println!(
        "sealed-session demo on http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );
    axum::serve(listener, router).await?;
    Ok(())
}

/// The store for sessions that outgrow the cookie: Redis when `REDIS_URL`
/// is set (with the `redis` feature), otherwise the embedded in-memory store.
async fn store() -> Result<(Arc<dyn Store>, &'static str), Box<dyn Error>> {
    let Ok(url) = std::env::var("REDIS_URL") else {
        println!("store: in memory (set REDIS_URL to use Redis)");
        return Ok((Arc::new(MemoryStore::new()), "in-memory"));
    };
    redis_store(&url).await
}

#[cfg(feature = "redis")]
async fn redis_store(url: &str) -> Result<(Arc<dyn Store>, &'static str), Box<dyn Error>> {
    let store = sealed_session::store::RedisStore::builder(url)
        .connect()
        .await
        .map_err(|e| match e.source() {
            // The URL is not echoed: it may hold a password.
            Some(cause) => format!("REDIS_URL: {e}: {cause}"),
            None => format!("REDIS_URL: {e}"),
        })?;
    println!("store: Redis (REDIS_URL)");
    Ok((Arc::new(store), "Redis"))
}

#[cfg(not(feature = "redis"))]
async fn redis_store(_url: &str) -> Result<(Arc<dyn Store>, &'static str), Box<dyn Error>> {
    Err("REDIS_URL is set, but this build has no Redis store: run \
         `cargo run -p sealed-session-demo --features redis`, or unset REDIS_URL for the \
         in-memory store"
        .into())
}

/// The revocation registry: shared through Redis when `REDIS_URL` is set
/// (with the `redis` feature), so "sign out everywhere" reaches every demo
/// server on that Redis within a second; otherwise in this process.
async fn registry() -> Result<Registry, Box<dyn Error>> {
    match std::env::var("REDIS_URL") {
        #[cfg(feature = "redis")]
        Ok(url) => {
            let store = sealed_session::store::RedisStore::builder(url)
                .connect()
                .await
                .map_err(|e| format!("REDIS_URL: {e}"))?;
            let registry = Registry::shared(sealed_session::store::RedisRevocations::new(&store))
                .start()
                .await
                .map_err(|e| format!("revocation registry on REDIS_URL: {e}"))?;
            println!("revocations: shared through Redis (REDIS_URL), refreshed every second");
            Ok(registry)
        }
        _ => {
            println!("revocations: in this process");
            Ok(Registry::in_memory())
        }
    }
}

/// The session type's schema lock: `cargo test -p sealed-session-demo`
/// fails here, before a deploy, when `DemoSession` changes in a way the
/// sessions already out there cannot be opened as (and says which
/// migration to declare).
#[cfg(test)]
mod schema_lock {
    #![allow(clippy::unwrap_used, reason = "a test: a failure must print and stop")]

    use std::sync::Arc;

    use sealed_session::Key;
    use sealed_session::revocation::Registry;
    use sealed_session::schema_lock::SchemaLock;
    use sealed_session::store::MemoryStore;

    use crate::app::{Config, DemoSession, manager};

    #[test]
    fn old_sessions_open_as_the_current_session_type() {
        let config = Config {
            keys: vec![Key::generate()],
            store: Arc::new(MemoryStore::new()),
            store_name: "memory",
            secure: true,
            registry: Registry::in_memory(),
        };
        let manager = manager(config.keys.clone(), &config).unwrap();
        SchemaLock::new(concat!(env!("CARGO_MANIFEST_DIR"), "/session.schema"))
            .check::<DemoSession>(manager.codec())
            .unwrap();
    }
}
