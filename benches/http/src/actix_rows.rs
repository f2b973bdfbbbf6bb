//! The actix-web rows: the bare app, actix-session's `CookieSessionStore`,
//! and this crate.

use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::{AppSession, KEY};

/// The rows, and whether each keeps sessions.
pub const NAMES: [(&str, bool); 3] = [
    ("none", false),
    ("actix-session", true),
    ("sealed-session", true),
];

fn greet(user: &str) -> HttpResponse {
    if user.is_empty() {
        HttpResponse::Unauthorized().body("who are you?")
    } else {
        HttpResponse::Ok().body(format!("hello {user}"))
    }
}

fn alice() -> AppSession {
    AppSession {
        user: "alice".to_owned(),
        ..AppSession::default()
    }
}

async fn health() -> &'static str {
    "ok"
}

mod peer {
    use actix_session::Session;
    use actix_web::HttpResponse;

    use super::{AppSession, KEY, StatusCode, alice, greet};

    fn failed() -> HttpResponse {
        HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub async fn login(session: Session) -> HttpResponse {
        match session.insert(KEY, alice()) {
            Ok(()) => HttpResponse::Ok().body("signed in"),
            Err(_) => failed(),
        }
    }

    pub async fn me(session: Session) -> HttpResponse {
        match session.get::<AppSession>(KEY) {
            Ok(data) => greet(&data.unwrap_or_default().user),
            Err(_) => failed(),
        }
    }

    pub async fn visit(session: Session) -> HttpResponse {
        let Ok(data) = session.get::<AppSession>(KEY) else {
            return failed();
        };
        let mut data = data.unwrap_or_default();
        data.visits += 1;
        let body = format!("visit {}", data.visits);
        match session.insert(KEY, data) {
            Ok(()) => HttpResponse::Ok().body(body),
            Err(_) => failed(),
        }
    }
}

mod ours {
    use actix_web::HttpResponse;
    use sealed_session::actix_web::SessionHandle;

    use super::{AppSession, alice, greet};

    pub async fn login(session: SessionHandle<AppSession>) -> HttpResponse {
        session.update(|s| **s = alice());
        HttpResponse::Ok().body("signed in")
    }

    pub async fn me(session: SessionHandle<AppSession>) -> HttpResponse {
        session.read(|s| greet(&s.user))
    }

    pub async fn visit(session: SessionHandle<AppSession>) -> HttpResponse {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        HttpResponse::Ok().body(format!("visit {visits}"))
    }
}

/// Serves row `name` on a loopback port with one worker, from a thread of
/// its own, for the rest of the process.
pub fn serve(name: &'static str) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let manager = {
        use sealed_session::{Key, KeyRing, SessionManager};
        let ring = KeyRing::new([Key::generate()]).map_err(|e| e.to_string())?;
        SessionManager::builder(ring)
            .build()
            .map_err(|e| e.to_string())?
    };
    let peer_key = actix_web::cookie::Key::generate();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let server = HttpServer::new(move || {
            let routes = web::scope("").route("/health", web::get().to(health));
            match name {
                "actix-session" => App::new().service(
                    routes
                        .route("/login", web::get().to(peer::login))
                        .route("/me", web::get().to(peer::me))
                        .route("/visit", web::get().to(peer::visit))
                        .wrap(actix_session::SessionMiddleware::new(
                            actix_session::storage::CookieSessionStore::default(),
                            peer_key.clone(),
                        )),
                ),
                "sealed-session" => App::new().service(
                    routes
                        .route("/login", web::get().to(ours::login))
                        .route("/me", web::get().to(ours::me))
                        .route("/visit", web::get().to(ours::visit))
                        .wrap(
                            sealed_session::actix_web::SessionMiddleware::<AppSession>::new(
                                manager.clone(),
                            ),
                        ),
                ),
                _ => App::new().service(
                    routes
                        .route("/login", web::get().to(|| async { "signed in" }))
                        .route("/me", web::get().to(|| async { "hello alice" }))
                        .route("/visit", web::get().to(|| async { "visit 1" })),
                ),
            }
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listens")
        .run();
        system.block_on(server).expect("serves");
    });
    Ok(addr)
}
