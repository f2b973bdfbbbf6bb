//! The axum side, in-process through a real `Router`: extractors from the
//! `axum` module, a session type mismatch answered with a message that says
//! what to change, and a handler that awaits between reads and writes.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, StatusCode};
use sealed_session::axum::{MapSessionHandle, SessionHandle, SessionLayer};
use sealed_session::{Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};
use tower::Service as _;

#[derive(Default, Serialize, Deserialize)]
struct AppSession {
    visits: u32,
}

fn manager() -> SessionManager {
    SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap()
}

async fn body_text(response: http::Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn get_page(app: &mut Router, cookie: Option<&str>) -> http::Response<Body> {
    let mut request = Request::get("/");
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    app.call(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

/// Counts visits, with an `.await` between reading and writing: `update`
/// holds no lock across it, so the handler is `Send` and compiles as an
/// axum handler.
async fn visits(session: SessionHandle<AppSession>) -> String {
    let before = session.read(|s| s.visits);
    tokio::task::yield_now().await;
    let now = session.update(|s| {
        s.visits = before + 1;
        s.visits
    });
    tokio::task::yield_now().await;
    format!("{now}")
}

#[tokio::test]
async fn a_handler_awaits_between_read_and_update() {
    let mut app = Router::new()
        .route("/", get(visits))
        .layer(SessionLayer::<AppSession>::new(manager()));
    let first = get_page(&mut app, None).await;
    let cookie = first.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(body_text(first).await, "1");
    let second = get_page(&mut app, Some(&cookie)).await;
    assert_eq!(body_text(second).await, "2");
}

#[tokio::test]
async fn a_handle_of_another_session_type_says_what_to_change() {
    async fn map_handler(session: MapSessionHandle) -> String {
        session.read(|s| s.len().to_string())
    }
    let mut app = Router::new()
        .route("/", get(map_handler))
        .layer(SessionLayer::<AppSession>::new(manager()));
    let response = get_page(&mut app, None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let message = body_text(response).await;
    assert!(
        message.contains("takes SessionHandle<Map>")
            && message.contains("this route has SessionLayer<AppSession>")
            && message.contains("take SessionHandle<AppSession>"),
        "{message}"
    );
    assert!(
        !message.contains("sealed_session::"),
        "no private paths: {message}"
    );
}

#[tokio::test]
async fn a_route_without_a_layer_says_which_layer_to_add() {
    let mut app = Router::new().route("/", get(visits));
    let response = get_page(&mut app, None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let message = body_text(response).await;
    assert!(
        message.contains("add .layer(SessionLayer::<AppSession>::new(manager))"),
        "{message}"
    );
}
