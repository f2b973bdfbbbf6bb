//! The axum side, in-process through a real `Router`: extractors from the
//! `axum` module, a session type mismatch answered with a message that says
//! what to change, and a handler that awaits between reads and writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

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

/// A request to `path` carrying `cookie`.
async fn call(app: &mut Router, path: &str, cookie: Option<&str>) -> http::Response<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    app.call(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn pair(response: &http::Response<Body>) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn a_5xx_response_saves_no_change_but_keeps_a_destroy() {
    async fn count_then_fail(session: SessionHandle<AppSession>) -> StatusCode {
        session.update(|s| s.visits += 100);
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn logout_then_fail(session: SessionHandle<AppSession>) -> StatusCode {
        session.update(|s| s.destroy());
        StatusCode::BAD_GATEWAY
    }
    let routes = || {
        Router::new()
            .route("/", get(visits))
            .route("/fail", get(count_then_fail))
            .route("/logout-fail", get(logout_then_fail))
    };
    let mut app = routes().layer(SessionLayer::<AppSession>::new(manager()));
    let first = call(&mut app, "/", None).await;
    let cookie = pair(&first).unwrap();

    let failed = call(&mut app, "/fail", Some(&cookie)).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        pair(&failed).is_none(),
        "a failed request's changes are not saved"
    );
    assert_eq!(
        body_text(call(&mut app, "/", Some(&cookie)).await).await,
        "2"
    );

    let logout = call(&mut app, "/logout-fail", Some(&cookie)).await;
    assert_eq!(logout.status(), StatusCode::BAD_GATEWAY);
    let removal = logout.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        removal.contains("Max-Age=0"),
        "the destroy still reaches the browser: {removal}"
    );

    // Opted in: a 5xx saves like any response.
    let mut saving =
        routes().layer(SessionLayer::<AppSession>::new(manager()).save_on_server_error(true));
    let first = call(&mut saving, "/", None).await;
    let cookie = pair(&first).unwrap();
    let failed = call(&mut saving, "/fail", Some(&cookie)).await;
    let cookie = pair(&failed).expect("saved on a 5xx when asked");
    assert_eq!(
        body_text(call(&mut saving, "/", Some(&cookie)).await).await,
        "102"
    );
}

/// The auth session, in its own cookie.
#[derive(Default, Serialize, Deserialize)]
struct Auth {
    user: Option<String>,
}

/// The cart session, in another cookie.
#[derive(Default, Serialize, Deserialize)]
struct Cart {
    items: Vec<u32>,
}

#[tokio::test]
async fn an_auth_session_and_a_cart_session_live_side_by_side() {
    async fn login(auth: SessionHandle<Auth>) -> &'static str {
        auth.update(|s| {
            s.regenerate();
            s.user = Some("ada".to_owned());
        });
        "signed in"
    }
    async fn add(cart: SessionHandle<Cart>, auth: SessionHandle<Auth>) -> String {
        let items = cart.update(|s| {
            s.items.push(7);
            s.items.len()
        });
        let user = auth.read(|s| s.user.clone()).unwrap_or_default();
        format!("{user}:{items}")
    }
    let ring = || KeyRing::new([Key::generate()]).unwrap();
    let auth = SessionManager::builder(ring())
        .cookie_name("__Host-auth")
        .build()
        .unwrap();
    let cart = SessionManager::builder(ring())
        .cookie_name("__Host-cart")
        .build()
        .unwrap();
    // Per-route configuration: the cart layer wraps only the cart route;
    // the auth layer wraps everything.
    let mut app = Router::new()
        .route("/cart/add", get(add))
        .layer(SessionLayer::<Cart>::new(cart))
        .route("/login", get(login))
        .layer(SessionLayer::<Auth>::new(auth));

    let signed_in = call(&mut app, "/login", None).await;
    let auth_cookie = pair(&signed_in).unwrap();
    assert!(auth_cookie.starts_with("__Host-auth="));
    let added = call(&mut app, "/cart/add", Some(&auth_cookie)).await;
    let set: Vec<String> = added
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    assert_eq!(set.len(), 1, "only the cart changed: {set:?}");
    assert!(set[0].starts_with("__Host-cart="));
    let both = format!("{auth_cookie}; {}", set[0]);
    let again = call(&mut app, "/cart/add", Some(&both)).await;
    assert_eq!(body_text(again).await, "ada:2");
}
