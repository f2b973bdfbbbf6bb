//! The axum rows: the bare app, tower-sessions, axum-extra's
//! `PrivateCookieJar`, and this crate (cookie only, and spilled).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::{AppSession, KEY};

type App = (&'static str, bool, Router);

pub fn apps() -> Result<Vec<App>, String> {
    Ok(vec![
        ("none", false, bare()),
        ("tower-sessions", true, tower_sessions_app()),
        ("axum-extra", true, axum_extra_app()),
        ("sealed-session", true, sealed(false)?),
        ("sealed-session-spilled", true, sealed(true)?),
    ])
}

/// Serves `app` on a loopback port from a thread of its own, on a
/// current-thread tokio runtime, for the rest of the process.
pub fn serve(app: Router) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, app).await.expect("serves");
        });
    });
    Ok(addr)
}

async fn health() -> &'static str {
    "ok"
}

fn bare() -> Router {
    Router::new()
        .route("/login", get(|| async { "signed in" }))
        .route("/me", get(|| async { "hello alice" }))
        .route("/visit", get(|| async { "visit 1" }))
        .route("/health", get(health))
}

fn greet(user: &str) -> (StatusCode, String) {
    if user.is_empty() {
        (StatusCode::UNAUTHORIZED, "who are you?".to_owned())
    } else {
        (StatusCode::OK, format!("hello {user}"))
    }
}

fn alice() -> AppSession {
    AppSession {
        user: "alice".to_owned(),
        ..AppSession::default()
    }
}

fn tower_sessions_app() -> Router {
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn login(session: Session) -> Result<&'static str, StatusCode> {
        session
            .insert(KEY, alice())
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok("signed in")
    }
    async fn me(session: Session) -> Result<(StatusCode, String), StatusCode> {
        let data: Option<AppSession> = session
            .get(KEY)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok(greet(&data.unwrap_or_default().user))
    }
    async fn visit(session: Session) -> Result<String, StatusCode> {
        let mut data: AppSession = session
            .get(KEY)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
            .unwrap_or_default();
        data.visits += 1;
        let visits = data.visits;
        session
            .insert(KEY, data)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok(format!("visit {visits}"))
    }
    Router::new()
        .route("/login", get(login))
        .route("/me", get(me))
        .route("/visit", get(visit))
        .route("/health", get(health))
        .layer(SessionManagerLayer::new(MemoryStore::default()))
}

fn axum_extra_app() -> Router {
    use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar};

    fn read(jar: &PrivateCookieJar) -> AppSession {
        jar.get(KEY)
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_default()
    }
    fn write(jar: PrivateCookieJar, data: &AppSession) -> Result<PrivateCookieJar, StatusCode> {
        let json = serde_json::to_string(data).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        let mut cookie = Cookie::new(KEY, json);
        cookie.set_http_only(true);
        cookie.set_secure(true);
        cookie.set_path("/");
        cookie.set_same_site(axum_extra::extract::cookie::SameSite::Lax);
        Ok(jar.add(cookie))
    }
    async fn login(jar: PrivateCookieJar) -> Result<(PrivateCookieJar, &'static str), StatusCode> {
        Ok((write(jar, &alice())?, "signed in"))
    }
    async fn me(jar: PrivateCookieJar) -> (StatusCode, String) {
        greet(&read(&jar).user)
    }
    async fn visit(jar: PrivateCookieJar) -> Result<(PrivateCookieJar, String), StatusCode> {
        let mut data = read(&jar);
        data.visits += 1;
        let body = format!("visit {}", data.visits);
        Ok((write(jar, &data)?, body))
    }
    Router::new()
        .route("/login", get(login))
        .route("/me", get(me))
        .route("/visit", get(visit))
        .route("/health", get(health))
        .with_state(Key::generate())
}

fn sealed(spilled: bool) -> Result<Router, String> {
    use sealed_session::axum::{SessionHandle, SessionLayer};
    use sealed_session::store::MemoryStore;
    use sealed_session::{Key, KeyRing, SessionManager};

    async fn visit(session: SessionHandle<AppSession>) -> String {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        format!("visit {visits}")
    }
    let ring = KeyRing::new([Key::generate()]).map_err(|e| e.to_string())?;
    let mut builder = SessionManager::builder(ring);
    if spilled {
        // The smallest limit a manager with a store takes (a pointer's
        // cookie); with its notes, every session of the row is larger.
        builder = builder.store(Arc::new(MemoryStore::new())).size_limit(183);
    }
    let manager = builder.build().map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route(
            "/login",
            get(move |session: SessionHandle<AppSession>| async move {
                let notes = if spilled {
                    "n".repeat(100)
                } else {
                    String::new()
                };
                session.update(|s| **s = AppSession { notes, ..alice() });
                "signed in"
            }),
        )
        .route(
            "/me",
            get(move |session: SessionHandle<AppSession>| async move {
                session.read(|s| {
                    // The row must be what it says: a signed-in session in
                    // the store exactly when spilled.
                    if !s.user.is_empty() && s.store_id().is_some() != spilled {
                        (StatusCode::INTERNAL_SERVER_ERROR, "spilled?".to_owned())
                    } else {
                        greet(&s.user)
                    }
                })
            }),
        )
        .route("/visit", get(visit))
        .route("/health", get(health))
        .layer(SessionLayer::<AppSession>::new(manager)))
}
