//! The axum side, in-process through a real `Router`: extractors from the
//! `axum` module, a session type mismatch answered with a message that says
//! what to change, and a handler that awaits between reads and writes.
//! Lazy loading: a route that never takes the session reads no store, opens
//! no cookie and sets none, and a store that is down fails only the routes
//! that take it. Saving and reloading in the middle of a handler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::sync::Arc;

use flaky_store::FlakyStore;
use sealed_session::Saved;
use sealed_session::axum::SessionError;

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

/// Managers of the auth session and the cart session, each with its own
/// key and cookie.
fn auth_and_cart_managers() -> (SessionManager, SessionManager) {
    let manager = |name: &str| {
        SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
            .cookie_name(name)
            .build()
            .unwrap()
    };
    (manager("__Host-auth"), manager("__Host-cart"))
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
    let (auth, cart) = auth_and_cart_managers();
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

/// A session that spills to the store when `blob` is large.
#[derive(Default, Serialize, Deserialize)]
struct Stored {
    visits: u32,
    blob: Vec<u8>,
}

fn stored_manager(store: &Arc<FlakyStore>) -> SessionManager {
    SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .store(Arc::clone(store) as Arc<dyn sealed_session::store::Store>)
        .build()
        .unwrap()
}

async fn grow(session: SessionHandle<Stored>) -> String {
    session.update(|s| {
        s.blob = vec![7; 5000];
        s.visits += 1;
    });
    String::new()
}

async fn show(session: SessionHandle<Stored>) -> String {
    session.read(|s| format!("{} {}", s.visits, s.blob.len()))
}

fn set_cookies(response: &http::Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_route_without_the_session_reads_no_store_opens_no_cookie_and_sets_none() {
    let store = Arc::new(FlakyStore::default());
    let mut app = Router::new()
        .route("/grow", get(grow))
        .route("/show", get(show))
        .route("/static", get(|| async { "static" }))
        .layer(SessionLayer::<Stored>::new(stored_manager(&store)));
    let grown = call(&mut app, "/grow", None).await;
    let pointer = pair(&grown).unwrap();
    let loads = store.loads();

    let page = call(&mut app, "/static", Some(&pointer)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(set_cookies(&page).is_empty());
    assert_eq!(store.loads(), loads, "no store read");
    let shown = call(&mut app, "/show", Some(&pointer)).await;
    assert_eq!(store.loads(), loads + 1, "the session route reads it");
    assert_eq!(body_text(shown).await, "1 5000");

    // A cookie that does not open is answered with a removal cookie when
    // loaded; a route that does not load it does not open it.
    let junk = "__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let page = call(&mut app, "/static", Some(junk)).await;
    assert!(set_cookies(&page).is_empty());
    let shown = call(&mut app, "/show", Some(junk)).await;
    assert!(set_cookies(&shown)[0].contains("Max-Age=0"));
}

#[tokio::test]
async fn a_store_that_is_down_fails_only_the_routes_that_take_the_session() {
    let store = Arc::new(FlakyStore::default());
    let mut app = Router::new()
        .route("/grow", get(grow))
        .route("/show", get(show))
        .route("/static", get(|| async { "static" }))
        .layer(SessionLayer::<Stored>::new(stored_manager(&store)));
    let pointer = pair(&call(&mut app, "/grow", None).await).unwrap();
    store.set_down(true);

    let page = call(&mut app, "/static", Some(&pointer)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(body_text(page).await, "static");

    let failed = call(&mut app, "/show", Some(&pointer)).await;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        failed.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(set_cookies(&failed).is_empty());
    let cause = failed.extensions().get::<SessionError>().unwrap();
    assert_eq!(cause.error().kind(), sealed_session::ErrorKind::Store);
    assert_eq!(body_text(failed).await, "session store unavailable");

    store.set_down(false);
    let shown = call(&mut app, "/show", Some(&pointer)).await;
    assert_eq!(body_text(shown).await, "1 5000");
}

#[tokio::test]
async fn a_save_in_the_handler_writes_the_store_before_it_returns() {
    let store = Arc::new(FlakyStore::default());
    let seen = Arc::clone(&store);
    // Saves, then changes nothing more: the saved cookie goes out.
    let save_only = move |session: SessionHandle<Stored>| async move {
        session.update(|s| s.blob = vec![1; 5000]);
        let before = seen.len();
        let saved = session.save().await.unwrap();
        assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
        format!("{before} {}", seen.len())
    };
    let seen = Arc::clone(&store);
    // Saves, then changes more: the final save's newer cookie replaces it.
    let save_then_change = move |session: SessionHandle<Stored>| async move {
        session.update(|s| s.blob = vec![2; 5000]);
        session.save().await.unwrap();
        let after_save = seen.len();
        session.update(|s| s.visits = 42);
        format!("{after_save}")
    };
    let mut app = Router::new()
        .route("/save", get(save_only))
        .route("/save-then-change", get(save_then_change))
        .route("/show", get(show))
        .layer(SessionLayer::<Stored>::new(stored_manager(&store)));

    let saved = call(&mut app, "/save", None).await;
    assert_eq!(set_cookies(&saved).len(), 1, "{:?}", set_cookies(&saved));
    let pointer = pair(&saved).unwrap();
    assert_eq!(
        body_text(saved).await,
        "0 1",
        "written before the handler returned"
    );
    assert_eq!(
        body_text(call(&mut app, "/show", Some(&pointer)).await).await,
        "0 5000"
    );

    let changed = call(&mut app, "/save-then-change", Some(&pointer)).await;
    assert_eq!(
        set_cookies(&changed).len(),
        1,
        "{:?}",
        set_cookies(&changed)
    );
    let newer = pair(&changed).unwrap();
    assert_eq!(body_text(changed).await, "1");
    assert_eq!(
        body_text(call(&mut app, "/show", Some(&newer)).await).await,
        "42 5000"
    );
}

#[tokio::test]
async fn reload_discards_unsaved_changes() {
    // From the request's cookie: nothing was saved in this request.
    async fn change_then_reload(session: SessionHandle<AppSession>) -> String {
        session.update(|s| s.visits = 99);
        session.reload().await.unwrap();
        session.read(|s| s.visits).to_string()
    }
    // From the cookie just saved.
    async fn save_change_reload(session: SessionHandle<AppSession>) -> String {
        session.update(|s| s.visits = 5);
        session.save().await.unwrap();
        session.update(|s| s.visits = 99);
        session.reload().await.unwrap();
        session.read(|s| s.visits).to_string()
    }
    // After a destroy was saved: a fresh session.
    async fn destroy_reload(session: SessionHandle<AppSession>) -> String {
        session.update(|s| s.destroy());
        session.save().await.unwrap();
        session.reload().await.unwrap();
        session.read(|s| format!("{} {:?}", s.visits, s.fresh_reason()))
    }
    let mut app = Router::new()
        .route("/", get(visits))
        .route("/reload", get(change_then_reload))
        .route("/save-reload", get(save_change_reload))
        .route("/destroy-reload", get(destroy_reload))
        .layer(SessionLayer::<AppSession>::new(manager()));
    let cookie = pair(&call(&mut app, "/", None).await).unwrap();

    let reloaded = call(&mut app, "/reload", Some(&cookie)).await;
    assert!(set_cookies(&reloaded).is_empty(), "nothing to write");
    assert_eq!(body_text(reloaded).await, "1");

    let saved = call(&mut app, "/save-reload", Some(&cookie)).await;
    assert_eq!(set_cookies(&saved).len(), 1);
    let newer = pair(&saved).unwrap();
    assert_eq!(body_text(saved).await, "5");
    assert_eq!(
        body_text(call(&mut app, "/", Some(&newer)).await).await,
        "6"
    );

    let destroyed = call(&mut app, "/destroy-reload", Some(&cookie)).await;
    let lines = set_cookies(&destroyed);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("Max-Age=0"), "{lines:?}");
    assert_eq!(body_text(destroyed).await, "0 Some(NoCookie)");
}

#[tokio::test]
async fn a_saved_cookie_goes_out_with_a_5xx() {
    async fn save_then_fail(session: SessionHandle<AppSession>) -> StatusCode {
        session.update(|s| s.visits = 7);
        session.save().await.unwrap();
        session.update(|s| s.visits = 100);
        StatusCode::INTERNAL_SERVER_ERROR
    }
    let mut app = Router::new()
        .route("/", get(visits))
        .route("/fail", get(save_then_fail))
        .layer(SessionLayer::<AppSession>::new(manager()));
    let failed = call(&mut app, "/fail", None).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(set_cookies(&failed).len(), 1);
    let cookie = pair(&failed).unwrap();
    // What was saved, not the change after it.
    assert_eq!(
        body_text(call(&mut app, "/", Some(&cookie)).await).await,
        "8"
    );
}

#[tokio::test]
async fn a_sub_router_layer_replaces_the_outer_one_for_its_routes() {
    let ring = || KeyRing::new([Key::generate()]).unwrap();
    let outer = SessionManager::builder(ring()).build().unwrap();
    let admin = SessionManager::builder(ring())
        .cookie_name("__Host-admin")
        .build()
        .unwrap();
    async fn fail(session: SessionHandle<AppSession>) -> StatusCode {
        session.update(|s| s.visits += 1);
        StatusCode::INTERNAL_SERVER_ERROR
    }
    let admin_routes = Router::new()
        .route("/", get(visits))
        .route("/fail", get(fail))
        .layer(SessionLayer::<AppSession>::new(admin).save_on_server_error(true));
    let mut app = Router::new()
        .route("/", get(visits))
        .route("/health", get(|| async { "ok" }))
        .nest("/admin", admin_routes)
        .layer(SessionLayer::<AppSession>::new(outer));

    let page = call(&mut app, "/", None).await;
    let lines = set_cookies(&page);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("__Host-session="), "{lines:?}");

    let admin_page = call(&mut app, "/admin/fail", None).await;
    assert_eq!(admin_page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let lines = set_cookies(&admin_page);
    assert_eq!(lines.len(), 1, "only the admin session: {lines:?}");
    assert!(lines[0].starts_with("__Host-admin="), "{lines:?}");
    let admin_cookie = pair(&admin_page).unwrap();
    let again = call(&mut app, "/admin", Some(&admin_cookie)).await;
    assert_eq!(body_text(again).await, "2", "saved on the 5xx");

    let health = call(&mut app, "/health", Some(&admin_cookie)).await;
    assert!(set_cookies(&health).is_empty());
}

#[tokio::test]
async fn a_login_that_fails_half_way_does_not_log_in() {
    // The handler rotates the id, sets the subject and a role, then fails:
    // nothing of it is saved, and the cookie the client came with still
    // opens as the anonymous session it was.
    async fn login_then_fail(session: SessionHandle<AppSession>) -> StatusCode {
        session.update(|s| {
            s.regenerate();
            s.set_subject("user:1").unwrap();
            s.visits = 1_000; // the "role"
        });
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn whoami(session: SessionHandle<AppSession>) -> String {
        session.read(|s| format!("{:?} {}", s.subject(), s.visits))
    }
    let registry = sealed_session::revocation::Registry::in_memory();
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .registry(registry.clone())
        .build()
        .unwrap();
    let mut app = Router::new()
        .route("/", get(visits))
        .route("/login", get(login_then_fail))
        .route("/whoami", get(whoami))
        .layer(SessionLayer::<AppSession>::new(manager));
    let cookie = pair(&call(&mut app, "/", None).await).unwrap();

    let failed = call(&mut app, "/login", Some(&cookie)).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(pair(&failed).is_none(), "no cookie for half a login");
    let me = call(&mut app, "/whoami", Some(&cookie)).await;
    assert_eq!(body_text(me).await, "None 1", "still the anonymous session");
    let listed = registry.sessions("user:1").await.unwrap();
    assert!(listed.is_empty(), "no device recorded: {listed:?}");
}

/// What a handler does before it answers, as bits: 1 changes the data,
/// 2 sets a subject, 4 regenerates, 8 sets an expiry, 16 destroys.
async fn act(
    session: SessionHandle<AppSession>,
    axum::extract::Path((actions, status)): axum::extract::Path<(u8, u16)>,
) -> StatusCode {
    session.update(|s| {
        if actions & 1 != 0 {
            s.visits += 100;
        }
        if actions & 2 != 0 {
            s.set_subject("user:9").unwrap();
        }
        if actions & 4 != 0 {
            s.regenerate();
        }
        if actions & 8 != 0 {
            s.set_expiry(sealed_session::Expiry::browser_session(
                std::time::Duration::from_secs(600),
                std::time::Duration::from_secs(3600),
            ));
        }
        if actions & 16 != 0 {
            s.destroy();
        }
    });
    StatusCode::from_u16(status).unwrap()
}

async fn state(session: SessionHandle<AppSession>) -> String {
    session.read(|s| format!("{:?} {:?} {}", s.id(), s.subject(), s.visits))
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 64,
        failure_persistence: None,
        ..Default::default()
    })]

    /// The documented rule, for every mix of changes: a `5xx` persists a
    /// destroy (removal cookie, the old cookie revoked) and nothing else;
    /// any other status persists what the handler did.
    #[test]
    fn a_failed_response_persists_exactly_the_documented_rule(
        actions in 0u8..32,
        status in proptest::prop_oneof![
            proptest::strategy::Just(200u16),
            proptest::strategy::Just(500u16),
            proptest::strategy::Just(503u16),
        ],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let registry = sealed_session::revocation::Registry::in_memory();
            let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
                .registry(registry)
                .build()
                .unwrap();
            let mut app = Router::new()
                .route("/", get(visits))
                .route("/act/{actions}/{status}", get(act))
                .route("/state", get(state))
                .layer(SessionLayer::<AppSession>::new(manager));
            let cookie = pair(&call(&mut app, "/", None).await).unwrap();
            let before = body_text(call(&mut app, "/state", Some(&cookie)).await).await;

            let path = format!("/act/{actions}/{status}");
            let response = call(&mut app, &path, Some(&cookie)).await;
            assert_eq!(response.status().as_u16(), status);
            let set = response
                .headers()
                .get(SET_COOKIE)
                .map(|v| v.to_str().unwrap().to_owned());
            let destroyed = actions & 16 != 0;
            let failed = status >= 500;
            let after = body_text(call(&mut app, "/state", Some(&cookie)).await).await;
            if destroyed {
                let line = set.expect("a destroy always reaches the browser");
                assert!(line.contains("Max-Age=0"), "{line}");
                assert_eq!(after, "None None 0", "the old cookie is revoked");
            } else if failed {
                assert_eq!(set, None, "a 5xx persists nothing but a destroy");
                assert_eq!(after, before, "the old cookie opens as it was");
            } else {
                let new = pair(&response);
                let changed = actions & (1 | 2 | 4 | 8) != 0;
                assert_eq!(new.is_some(), changed, "a cookie only for a change");
                if let Some(new) = new {
                    let now = body_text(call(&mut app, "/state", Some(&new)).await).await;
                    assert!(now.ends_with(if actions & 1 != 0 { " 101" } else { " 1" }), "{now}");
                    assert_eq!(now.contains("user:9"), actions & 2 != 0, "{now}");
                }
            }
        });
    }
}

/// Sign-in, sign-out and sign out everywhere as single calls, and the
/// `SignedIn` extractor: the whole identity API an app needs.
mod identity {
    use axum::Router;
    use axum::routing::get;
    use http::StatusCode;
    use sealed_session::axum::{SessionHandle, SessionLayer, SignedIn};
    use sealed_session::revocation::Registry;
    use sealed_session::{Key, KeyRing, SessionManager};

    use super::{AppSession, body_text, call, pair};

    async fn login(session: SessionHandle<AppSession>) -> StatusCode {
        match session.login("user:42") {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }

    async fn login_invalid(session: SessionHandle<AppSession>) -> String {
        let refused = session.login("").is_err();
        format!("refused={refused} subject={:?}", session.subject())
    }

    async fn me(SignedIn(user): SignedIn) -> String {
        user
    }

    async fn maybe(user: Option<SignedIn>) -> String {
        user.map_or_else(|| "nobody".to_owned(), |SignedIn(user)| user)
    }

    async fn logout(session: SessionHandle<AppSession>) {
        session.logout();
    }

    async fn everywhere(session: SessionHandle<AppSession>) -> StatusCode {
        match session.logout_everywhere() {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn app(registry: Option<Registry>) -> Router {
        let mut manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap());
        if let Some(registry) = registry {
            manager = manager.registry(registry);
        }
        Router::new()
            .route("/login", get(login))
            .route("/login-invalid", get(login_invalid))
            .route("/me", get(me))
            .route("/maybe", get(maybe))
            .route("/logout", get(logout))
            .route("/everywhere", get(everywhere))
            .layer(SessionLayer::<AppSession>::new(manager.build().unwrap()))
    }

    #[tokio::test]
    async fn sign_in_and_out_are_one_call_and_signed_in_answers_401_without_one() {
        let mut app = app(Some(Registry::in_memory()));
        let anonymous = call(&mut app, "/me", None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(body_text(anonymous).await, "sign in first");
        assert_eq!(
            body_text(call(&mut app, "/maybe", None).await).await,
            "nobody"
        );

        let signed_in = call(&mut app, "/login", None).await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let cookie = pair(&signed_in).unwrap();
        let me = call(&mut app, "/me", Some(&cookie)).await;
        assert_eq!(me.status(), StatusCode::OK);
        assert_eq!(body_text(me).await, "user:42");
        assert_eq!(
            body_text(call(&mut app, "/maybe", Some(&cookie)).await).await,
            "user:42"
        );

        // Signing in again gives a new id: the cookie from before the
        // sign-in no longer names this session.
        let again = call(&mut app, "/login", Some(&cookie)).await;
        let renewed = pair(&again).unwrap();
        assert_ne!(renewed, cookie);

        let out = call(&mut app, "/logout", Some(&renewed)).await;
        assert!(pair(&out).unwrap().ends_with('='), "{:?}", pair(&out));
        // A copy of the signed-in cookie does not open after sign-out.
        let replay = call(&mut app, "/me", Some(&renewed)).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
        let replay = call(&mut app, "/me", Some(&cookie)).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn an_invalid_subject_changes_nothing() {
        let mut app = app(None);
        let response = call(&mut app, "/login-invalid", None).await;
        assert_eq!(body_text(response).await, "refused=true subject=None");
    }

    #[tokio::test]
    async fn sign_out_everywhere_ends_the_other_devices_too() {
        let mut app = app(Some(Registry::in_memory()));
        let laptop = pair(&call(&mut app, "/login", None).await).unwrap();
        let phone = pair(&call(&mut app, "/login", None).await).unwrap();
        assert_eq!(
            call(&mut app, "/me", Some(&phone)).await.status(),
            StatusCode::OK
        );
        let out = call(&mut app, "/everywhere", Some(&laptop)).await;
        assert_eq!(out.status(), StatusCode::OK);
        for device in [&laptop, &phone] {
            let response = call(&mut app, "/me", Some(device)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }

    #[tokio::test]
    async fn sign_out_everywhere_without_a_registry_is_an_error_not_a_silent_no_op() {
        let mut app = app(None);
        let laptop = pair(&call(&mut app, "/login", None).await).unwrap();
        let out = call(&mut app, "/everywhere", Some(&laptop)).await;
        assert_eq!(out.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // Nothing was ended: the session is as it was.
        assert_eq!(
            call(&mut app, "/me", Some(&laptop)).await.status(),
            StatusCode::OK
        );
    }
}

/// Two layers of different session types in front of one route: the
/// extractors find each by type, `SignedIn` reads the innermost layer's
/// session (even when someone is signed in further out), and a handler
/// asking for a third type is told both, outermost first.
#[tokio::test]
async fn nested_layers_of_two_types_reach_the_handler_and_signed_in_reads_the_innermost() {
    use sealed_session::Map;
    use sealed_session::axum::SignedIn;

    async fn login(auth: SessionHandle<Auth>) -> StatusCode {
        match auth.login("ada") {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }
    async fn both(cart: SessionHandle<Cart>, auth: SessionHandle<Auth>) -> String {
        let items = cart.update(|s| {
            s.items.push(1);
            s.items.len()
        });
        format!("{}:{items}", auth.subject().unwrap_or_default())
    }
    async fn me(user: Option<SignedIn>) -> String {
        user.map_or_else(|| "nobody".to_owned(), |SignedIn(user)| user)
    }
    async fn wrong(map: SessionHandle<Map>) -> String {
        map.read(|s| s.len().to_string())
    }
    let (auth, cart) = auth_and_cart_managers();
    let mut app = Router::new()
        .route("/both", get(both))
        .route("/me", get(me))
        .route("/wrong", get(wrong))
        .layer(SessionLayer::<Cart>::new(cart))
        .route("/login", get(login))
        .route("/me-outer", get(me))
        .layer(SessionLayer::<Auth>::new(auth));

    let signed_in = call(&mut app, "/login", None).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let auth_cookie = pair(&signed_in).unwrap();
    let outer = call(&mut app, "/me-outer", Some(&auth_cookie)).await;
    assert_eq!(body_text(outer).await, "ada");
    let inner = call(&mut app, "/me", Some(&auth_cookie)).await;
    assert_eq!(
        body_text(inner).await,
        "nobody",
        "the cart session, innermost, has no subject"
    );
    let both_page = call(&mut app, "/both", Some(&auth_cookie)).await;
    assert_eq!(set_cookies(&both_page).len(), 1, "only the cart changed");
    assert_eq!(body_text(both_page).await, "ada:1");
    let wrong_page = call(&mut app, "/wrong", Some(&auth_cookie)).await;
    assert_eq!(wrong_page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body_text(wrong_page).await,
        "this handler takes SessionHandle<Map>, but this route has SessionLayer<Auth> and \
         SessionLayer<Cart>: take SessionHandle<Auth> in the handler, or add \
         SessionLayer::<Map>::new(manager) for a second session"
    );
}
