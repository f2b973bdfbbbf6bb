//! The actix-web middleware and extractors (feature `actix-web`), through
//! actix-web's own test service: the cookie round trip, spilling to the
//! memory store and back, the re-seal after a key rotation, regenerate and
//! destroy, a tampered cookie, the failure responses when the store is down
//! (the tower layer's `503` and `500`), a service error after a destroy,
//! the extractor's message when no middleware provides the session, and
//! the `Cookie` conversion's cap. Lazy loading: a route that never takes
//! the session reads no store, opens no cookie and sets none, and a store
//! that is down fails only the routes that take it. Saving and reloading in
//! the middle of a handler.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use flaky_store::FlakyStore;
use sealed_session::actix_web::{MapSessionHandle, SessionError, SessionHandle, SessionMiddleware};
use sealed_session::store::{MemoryStore, Store};
use sealed_session::{ErrorKind, Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct AppSession {
    visits: u32,
    blob: Vec<u8>,
}

fn manager_with(ring: KeyRing, store: Option<Arc<dyn Store>>) -> SessionManager {
    let builder = SessionManager::builder(ring);
    match store {
        Some(store) => builder.store(store),
        None => builder,
    }
    .build()
    .unwrap()
}

fn manager(store: Option<Arc<dyn Store>>) -> SessionManager {
    manager_with(KeyRing::new([Key::generate()]).unwrap(), store)
}

/// What a handler saw, as its body says it: `visits location reason`.
fn describe(session: &SessionHandle<AppSession>) -> String {
    session.read(|s| {
        format!(
            "{} {:?} {:?} {}",
            s.visits,
            s.location(),
            s.fresh_reason(),
            s.blob.len()
        )
    })
}

async fn count(session: SessionHandle<AppSession>) -> String {
    session.update(|s| s.visits += 1);
    describe(&session)
}

async fn read(session: SessionHandle<AppSession>) -> String {
    describe(&session)
}

async fn grow(session: SessionHandle<AppSession>) -> String {
    session.update(|s| s.blob = vec![7; 5000]);
    describe(&session)
}

async fn shrink(session: SessionHandle<AppSession>) -> String {
    session.update(|s| s.blob.clear());
    describe(&session)
}

async fn regenerate(session: SessionHandle<AppSession>) -> String {
    session.update(|s| s.regenerate());
    describe(&session)
}

async fn destroy(session: SessionHandle<AppSession>) -> String {
    session.update(|s| s.destroy());
    String::new()
}

/// The session's store id, as text, for comparing across requests.
async fn store_id(session: SessionHandle<AppSession>) -> String {
    session.read(|s| format!("{:?}", s.store_id()))
}

/// Every route of these tests, behind the middleware.
fn app(
    manager: &SessionManager,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    App::new()
        .wrap(SessionMiddleware::<AppSession>::new(manager.clone()))
        .route("/count", web::get().to(count))
        .route("/read", web::get().to(read))
        .route("/grow", web::get().to(grow))
        .route("/shrink", web::get().to(shrink))
        .route("/regenerate", web::get().to(regenerate))
        .route("/destroy", web::get().to(destroy))
        .route("/store-id", web::get().to(store_id))
}

fn get(path: &str, cookie: Option<&str>) -> TestRequest {
    let request = TestRequest::get().uri(path);
    match cookie {
        Some(cookie) => request.insert_header((COOKIE, cookie)),
        None => request,
    }
}

/// The `name=value` of the response's `Set-Cookie`, if it has one.
fn cookie_pair<B>(response: &ServiceResponse<B>) -> Option<String> {
    let value = response.headers().get(SET_COOKIE)?.to_str().ok()?;
    Some(value.split(';').next()?.to_owned())
}

fn set_cookie<B>(response: &ServiceResponse<B>) -> String {
    response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

async fn body<B: actix_web::body::MessageBody>(response: ServiceResponse<B>) -> String {
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn counts_visits_through_the_cookie() {
    let app = test::init_service(app(&manager(None))).await;
    let first = test::call_service(&app, get("/count", None).to_request()).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get(SET_COOKIE).unwrap().is_sensitive());
    let line = set_cookie(&first);
    assert!(line.contains("HttpOnly; Secure; SameSite=Lax"), "{line}");
    let pair = cookie_pair(&first).unwrap();
    assert_eq!(body(first).await, "1 None Some(NoCookie) 0");

    let second = test::call_service(&app, get("/count", Some(&pair)).to_request()).await;
    assert_eq!(body(second).await, "2 Cookie None 0");
}

#[actix_web::test]
async fn reading_an_untouched_session_sets_no_cookie() {
    let app = test::init_service(app(&manager(None))).await;
    let fresh = test::call_service(&app, get("/read", None).to_request()).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert!(fresh.headers().get(SET_COOKIE).is_none());

    let counted = test::call_service(&app, get("/count", None).to_request()).await;
    let pair = cookie_pair(&counted).unwrap();
    let reread = test::call_service(&app, get("/read", Some(&pair)).to_request()).await;
    assert!(reread.headers().get(SET_COOKIE).is_none());
    assert_eq!(body(reread).await, "1 Cookie None 0");
}

#[actix_web::test]
async fn spills_to_the_memory_store_and_comes_back() {
    let store = Arc::new(MemoryStore::new());
    let app = test::init_service(app(&manager(Some(store.clone())))).await;

    let grown = test::call_service(&app, get("/grow", None).to_request()).await;
    assert_eq!(grown.status(), StatusCode::OK);
    let pointer = cookie_pair(&grown).unwrap();
    assert!(pointer.len() < 400, "a pointer, not 5000 bytes: {pointer}");
    assert_eq!(store.entry_count(), 1);

    let loaded = test::call_service(&app, get("/count", Some(&pointer)).to_request()).await;
    let pointer = cookie_pair(&loaded).unwrap();
    assert_eq!(body(loaded).await, "1 Store None 5000");

    let shrunk = test::call_service(&app, get("/shrink", Some(&pointer)).to_request()).await;
    let inline = cookie_pair(&shrunk).unwrap();
    assert_eq!(store.entry_count(), 0, "the entry left the store");
    let back = test::call_service(&app, get("/read", Some(&inline)).to_request()).await;
    assert_eq!(body(back).await, "1 Cookie None 0");

    // The old pointer cookie points at nothing now.
    let stale = test::call_service(&app, get("/read", Some(&pointer)).to_request()).await;
    assert_eq!(body(stale).await, "0 None Some(MissingFromStore) 0");
}

#[actix_web::test]
async fn a_cookie_sealed_with_an_old_key_is_resealed_with_the_new_one() {
    let old = Key::generate();
    let new = Key::generate();
    let before = manager_with(KeyRing::new([old.clone()]).unwrap(), None);
    let after = manager_with(KeyRing::new([new.clone(), old.clone()]).unwrap(), None);

    let app_before = test::init_service(app(&before)).await;
    let counted = test::call_service(&app_before, get("/count", None).to_request()).await;
    let old_pair = cookie_pair(&counted).unwrap();

    // Reading alone: the session did not change, yet it is re-sealed.
    let app_after = test::init_service(app(&after)).await;
    let read = test::call_service(&app_after, get("/read", Some(&old_pair)).to_request()).await;
    let new_pair = cookie_pair(&read).expect("re-sealed on a read");
    assert_eq!(body(read).await, "1 Cookie None 0");
    let new_value = new_pair.split_once('=').unwrap().1;
    let opened = after.codec().open::<AppSession>(new_value).unwrap();
    assert_eq!(opened.opened_with().key_id(), new.id());
    assert!(opened.opened_with().is_primary());

    // Once re-sealed, a read writes nothing.
    let again = test::call_service(&app_after, get("/read", Some(&new_pair)).to_request()).await;
    assert!(again.headers().get(SET_COOKIE).is_none());
}

#[actix_web::test]
async fn regenerate_moves_the_session_to_a_new_store_entry() {
    let store = Arc::new(MemoryStore::new());
    let app = test::init_service(app(&manager(Some(store.clone())))).await;
    let grown = test::call_service(&app, get("/grow", None).to_request()).await;
    let old_pointer = cookie_pair(&grown).unwrap();
    let old_id = test::call_service(&app, get("/store-id", Some(&old_pointer)).to_request()).await;
    let old_id = body(old_id).await;

    let regenerated =
        test::call_service(&app, get("/regenerate", Some(&old_pointer)).to_request()).await;
    let new_pointer = cookie_pair(&regenerated).unwrap();
    assert_eq!(body(regenerated).await, "0 Store None 5000", "data kept");
    let new_id = test::call_service(&app, get("/store-id", Some(&new_pointer)).to_request()).await;
    let new_id = body(new_id).await;
    assert!(new_id.starts_with("Some("), "{new_id}");
    assert_ne!(old_id, new_id);
    assert_eq!(store.entry_count(), 1, "the old entry is deleted");

    let stale = test::call_service(&app, get("/read", Some(&old_pointer)).to_request()).await;
    assert_eq!(body(stale).await, "0 None Some(MissingFromStore) 0");
}

#[actix_web::test]
async fn destroy_sends_a_removal_cookie_and_deletes_the_entry() {
    let store = Arc::new(MemoryStore::new());
    let app = test::init_service(app(&manager(Some(store.clone())))).await;
    let grown = test::call_service(&app, get("/grow", None).to_request()).await;
    let pointer = cookie_pair(&grown).unwrap();
    assert_eq!(store.entry_count(), 1);

    let destroyed = test::call_service(&app, get("/destroy", Some(&pointer)).to_request()).await;
    assert_eq!(destroyed.status(), StatusCode::OK);
    let line = set_cookie(&destroyed);
    assert!(line.starts_with("__Host-session=;"), "{line}");
    assert!(line.contains("Max-Age=0"), "{line}");
    assert_eq!(store.entry_count(), 0);
}

#[actix_web::test]
async fn a_tampered_cookie_gives_a_fresh_session_not_an_error() {
    let app = test::init_service(app(&manager(None))).await;
    let counted = test::call_service(&app, get("/count", None).to_request()).await;
    let pair = cookie_pair(&counted).unwrap();
    // Flip one character of the sealed value's tail.
    let mut tampered = pair.into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    let response = test::call_service(&app, get("/count", Some(&tampered)).to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(cookie_pair(&response).is_some(), "a new session is written");
    assert_eq!(body(response).await, "1 None Some(Rejected) 0");
}

#[actix_web::test]
async fn too_large_without_a_store_is_500_without_a_cookie() {
    let app = test::init_service(app(&manager(None))).await;
    let response = test::call_service(&app, get("/grow", None).to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let kind = response
        .response()
        .extensions()
        .get::<SessionError>()
        .unwrap()
        .error()
        .kind();
    assert!(matches!(kind, ErrorKind::TooLarge { limit: 4096, .. }));
    assert_eq!(body(response).await, "session could not be saved");
}

#[actix_web::test]
async fn store_down_on_save_is_500_and_on_load_is_503() {
    let store = Arc::new(FlakyStore::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = test::init_service(app(&manager(Some(store.clone()))).route(
        "/counted",
        web::get().to(move |session: SessionHandle<AppSession>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { describe(&session) }
        }),
    ))
    .await;
    let grown = test::call_service(&app, get("/grow", None).to_request()).await;
    assert_eq!(grown.status(), StatusCode::OK);
    let pointer = cookie_pair(&grown).unwrap();
    assert_eq!(store.len(), 1);

    store.set_down(true);
    let saving = test::call_service(&app, get("/grow", None).to_request()).await;
    assert_eq!(saving.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(saving.headers().get(SET_COOKIE).is_none());
    assert_eq!(
        saving.headers().get(CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    let failure = saving
        .response()
        .extensions()
        .get::<SessionError>()
        .cloned()
        .unwrap();
    assert_eq!(failure.error().kind(), ErrorKind::Store);
    assert_eq!(body(saving).await, "session could not be saved");

    let loading = test::call_service(&app, get("/counted", Some(&pointer)).to_request()).await;
    assert_eq!(loading.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        loading.headers().get(CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    assert!(
        loading
            .response()
            .extensions()
            .get::<SessionError>()
            .is_some()
    );
    assert_eq!(body(loading).await, "session store unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "handler not called");

    // Back up: the same cookie loads, and the handler runs.
    store.set_down(false);
    let loaded = test::call_service(&app, get("/counted", Some(&pointer)).to_request()).await;
    assert_eq!(body(loaded).await, "0 Store None 5000");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn a_handler_error_is_a_response_and_its_session_is_saved() {
    async fn fail(session: SessionHandle<AppSession>) -> Result<String, actix_web::error::Error> {
        session.update(|s| s.visits += 1);
        Err(actix_web::error::ErrorBadRequest("bad form"))
    }
    let manager = manager(None);
    let app = test::init_service(app(&manager).route("/fail", web::get().to(fail))).await;
    let response = test::call_service(&app, get("/fail", None).to_request()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let pair = cookie_pair(&response).expect("saved with the error response");
    let reread = test::call_service(&app, get("/read", Some(&pair)).to_request()).await;
    assert_eq!(body(reread).await, "1 Cookie None 0");
}

#[actix_web::test]
async fn a_service_error_after_destroy_still_deletes_the_entry() {
    let store = Arc::new(FlakyStore::default());
    let manager = manager(Some(store.clone()));
    // Between the middleware and the handler: a service that fails after
    // the handler ran (the session middleware is added last, so outermost).
    let app = test::init_service(
        App::new()
            .wrap_fn(|request, service| {
                let response = service.call(request);
                async move {
                    let response = response.await?;
                    if response.request().path() == "/destroy" {
                        return Err(actix_web::error::ErrorBadGateway("inner service failed"));
                    }
                    Ok(response)
                }
            })
            .wrap(SessionMiddleware::<AppSession>::new(manager.clone()))
            .route("/grow", web::get().to(grow))
            .route("/destroy", web::get().to(destroy)),
    )
    .await;
    let grown = test::call_service(&app, get("/grow", None).to_request()).await;
    let pointer = cookie_pair(&grown).unwrap();
    assert_eq!(store.len(), 1);

    let result = test::try_call_service(&app, get("/destroy", Some(&pointer)).to_request()).await;
    let Err(error) = result else {
        panic!("the inner error should pass through");
    };
    assert_eq!(error.to_string(), "inner service failed");
    assert_eq!(store.len(), 0, "entry deleted");
}

#[actix_web::test]
async fn the_map_session_works_with_the_middleware() {
    async fn remember(session: MapSessionHandle) -> String {
        session.update(|s| {
            let seen = s.get::<u64>("n").unwrap().unwrap_or(0);
            s.insert("n", &(seen + 1)).unwrap();
            seen.to_string()
        })
    }
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::<sealed_session::Map>::new(manager(None)))
            .route("/", web::get().to(remember)),
    )
    .await;
    let first = test::call_service(&app, get("/", None).to_request()).await;
    let pair = cookie_pair(&first).unwrap();
    let second = test::call_service(&app, get("/", Some(&pair)).to_request()).await;
    assert_eq!(body(second).await, "1");
}

#[actix_web::test]
async fn a_route_without_the_middleware_says_which_to_add() {
    let app = test::init_service(App::new().route("/", web::get().to(read))).await;
    let response = test::call_service(&app, get("/", None).to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers().get(CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    let message = body(response).await;
    assert_eq!(
        message,
        "this handler takes SessionHandle<AppSession>, but no SessionMiddleware runs in front \
         of this route: add .wrap(SessionMiddleware::<AppSession>::new(manager)) to the App"
    );
}

#[actix_web::test]
async fn a_handle_of_another_session_type_says_what_to_change() {
    async fn map_handler(session: MapSessionHandle) -> String {
        session.read(|s| s.len().to_string())
    }
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::<AppSession>::new(manager(None)))
            .route("/", web::get().to(map_handler)),
    )
    .await;
    let response = test::call_service(&app, get("/", None).to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let message = body(response).await;
    assert_eq!(
        message,
        "this handler takes SessionHandle<Map>, but this route has \
         SessionMiddleware<AppSession>: take SessionHandle<AppSession> in the handler, or add \
         SessionMiddleware::<Map>::new(manager) for a second session"
    );
}

#[actix_web::test]
async fn an_oversized_cookie_header_is_seen_as_oversized_and_not_overwritten() {
    let manager = manager(None);
    let app = test::init_service(app(&manager)).await;
    let counted = test::call_service(&app, get("/count", None).to_request()).await;
    let pair = cookie_pair(&counted).unwrap();

    // 70 KiB of other cookies in front of the session: past the manager's
    // 64 KiB cap, in two headers so the conversion's cap is crossed too.
    let filler = format!("junk={}", "x".repeat(35 * 1024));
    let request = TestRequest::get()
        .uri("/count")
        .append_header((COOKIE, filler.as_str()))
        .append_header((COOKIE, filler.as_str()))
        .append_header((COOKIE, pair.as_str()))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().get(SET_COOKIE).is_none(),
        "the session it could not see is not overwritten"
    );
    assert_eq!(body(response).await, "1 None Some(HeaderTooLarge) 0");

    // The same cookie alone still opens.
    let alone = test::call_service(&app, get("/read", Some(&pair)).to_request()).await;
    assert_eq!(body(alone).await, "1 Cookie None 0");
}

/// The routes of [`app`], a route that never takes the session, and one
/// that saves and reloads in the middle.
fn lazy_app(
    manager: &SessionManager,
    store: &Arc<FlakyStore>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    let seen = Arc::clone(store);
    app(manager)
        .route("/static", web::get().to(|| async { "static" }))
        .route(
            "/save",
            web::get().to(move |session: SessionHandle<AppSession>| {
                let seen = Arc::clone(&seen);
                async move {
                    session.update(|s| s.blob = vec![1; 5000]);
                    let before = seen.len();
                    session.save().await.unwrap();
                    let after = seen.len();
                    // Not saved: reload drops it.
                    session.update(|s| s.visits = 99);
                    session.reload().await.unwrap();
                    format!("{before} {after} {}", describe(&session))
                }
            }),
        )
}

#[actix_web::test]
async fn a_route_without_the_session_reads_no_store_opens_no_cookie_and_sets_none() {
    let store = Arc::new(FlakyStore::default());
    let app = test::init_service(lazy_app(&manager(Some(store.clone())), &store)).await;
    let grown = test::call_service(&app, get("/grow", None).to_request()).await;
    let pointer = cookie_pair(&grown).unwrap();
    let loads = store.loads();

    let page = test::call_service(&app, get("/static", Some(&pointer)).to_request()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers().get(SET_COOKIE).is_none());
    assert_eq!(store.loads(), loads, "no store read");
    let read = test::call_service(&app, get("/read", Some(&pointer)).to_request()).await;
    assert_eq!(store.loads(), loads + 1, "the session route reads it");
    assert_eq!(body(read).await, "0 Store None 5000");

    // Unusable cookies are cleared only where the session is loaded.
    let junk = "__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let page = test::call_service(&app, get("/static", Some(junk)).to_request()).await;
    assert!(page.headers().get(SET_COOKIE).is_none());
    let read = test::call_service(&app, get("/read", Some(junk)).to_request()).await;
    assert!(set_cookie(&read).contains("Max-Age=0"));

    // Store down: the route without the session still answers.
    store.set_down(true);
    let page = test::call_service(&app, get("/static", Some(&pointer)).to_request()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(body(page).await, "static");
    let read = test::call_service(&app, get("/read", Some(&pointer)).to_request()).await;
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(read.headers().get(SET_COOKIE).is_none());
}

#[actix_web::test]
async fn a_save_in_the_handler_writes_the_store_first_and_reload_drops_unsaved_changes() {
    let store = Arc::new(FlakyStore::default());
    let app = test::init_service(lazy_app(&manager(Some(store.clone())), &store)).await;
    let saved = test::call_service(&app, get("/save", None).to_request()).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(saved.headers().get_all(SET_COOKIE).count(), 1);
    let pointer = cookie_pair(&saved).unwrap();
    // The store held the entry before the handler returned; the reload
    // read it back from the saved cookie, without the unsaved 99.
    assert_eq!(body(saved).await, "0 1 0 Store None 5000");
    let read = test::call_service(&app, get("/read", Some(&pointer)).to_request()).await;
    assert_eq!(body(read).await, "0 Store None 5000");
}

#[actix_web::test]
async fn a_login_that_fails_half_way_does_not_log_in() {
    // As in the tower layer: a 5xx saves no regenerate, subject or data.
    let registry = sealed_session::revocation::Registry::in_memory();
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .registry(registry.clone())
        .build()
        .unwrap();
    let app = test::init_service(
        app(&manager)
            .route(
                "/login-fail",
                web::get().to(|session: SessionHandle<AppSession>| async move {
                    session.update(|s| {
                        s.regenerate();
                        s.set_subject("user:1").unwrap();
                        s.visits = 1_000;
                    });
                    actix_web::HttpResponse::InternalServerError().finish()
                }),
            )
            .route(
                "/whoami",
                web::get().to(|session: SessionHandle<AppSession>| async move {
                    session.read(|s| format!("{:?} {}", s.subject(), s.visits))
                }),
            ),
    )
    .await;
    let first = test::call_service(&app, get("/count", None).to_request()).await;
    let cookie = cookie_pair(&first).unwrap();
    let failed = test::call_service(&app, get("/login-fail", Some(&cookie)).to_request()).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(cookie_pair(&failed).is_none(), "no cookie for half a login");
    let me = test::call_service(&app, get("/whoami", Some(&cookie)).to_request()).await;
    assert_eq!(body(me).await, "None 1", "still the anonymous session");
    assert!(registry.sessions("user:1").await.unwrap().is_empty());
}

/// Sign-in, sign-out and sign out everywhere as single calls, and the
/// `SignedIn` extractor, under actix-web.
mod identity {
    use actix_web::http::StatusCode;
    use actix_web::test;
    use actix_web::{App, HttpResponse, web};
    use sealed_session::actix_web::{SessionHandle, SessionMiddleware, SignedIn};
    use sealed_session::revocation::Registry;
    use sealed_session::{Key, KeyRing, SessionManager};

    use super::{AppSession, body, cookie_pair, get};

    async fn login(session: SessionHandle<AppSession>) -> HttpResponse {
        match session.login("user:42") {
            Ok(()) => HttpResponse::Ok().finish(),
            Err(_) => HttpResponse::BadRequest().finish(),
        }
    }

    async fn me(SignedIn(user): SignedIn) -> String {
        user
    }

    async fn logout(session: SessionHandle<AppSession>) -> HttpResponse {
        session.logout();
        HttpResponse::Ok().finish()
    }

    async fn everywhere(session: SessionHandle<AppSession>) -> HttpResponse {
        match session.logout_everywhere() {
            Ok(()) => HttpResponse::Ok().finish(),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }

    #[actix_web::test]
    async fn sign_in_sign_out_and_sign_out_everywhere() {
        let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
            .registry(Registry::in_memory())
            .build()
            .unwrap();
        let app = test::init_service(
            App::new()
                .wrap(SessionMiddleware::<AppSession>::new(manager))
                .route("/login", web::get().to(login))
                .route("/me", web::get().to(me))
                .route("/logout", web::get().to(logout))
                .route("/everywhere", web::get().to(everywhere)),
        )
        .await;
        let call = |path: &str, cookie: Option<&str>| get(path, cookie).to_request();

        let anonymous = test::call_service(&app, call("/me", None)).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(body(anonymous).await, "sign in first");

        let laptop = cookie_pair(&test::call_service(&app, call("/login", None)).await).unwrap();
        let phone = cookie_pair(&test::call_service(&app, call("/login", None)).await).unwrap();
        let me = test::call_service(&app, call("/me", Some(&laptop))).await;
        assert_eq!(me.status(), StatusCode::OK);
        assert_eq!(body(me).await, "user:42");

        // Sign-out ends this device only.
        let out = test::call_service(&app, call("/logout", Some(&laptop))).await;
        assert!(cookie_pair(&out).unwrap().ends_with('='));
        let replay = test::call_service(&app, call("/me", Some(&laptop))).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
        let phone_me = test::call_service(&app, call("/me", Some(&phone))).await;
        assert_eq!(phone_me.status(), StatusCode::OK);

        // Sign out everywhere ends the others too.
        let tablet = cookie_pair(&test::call_service(&app, call("/login", None)).await).unwrap();
        let out = test::call_service(&app, call("/everywhere", Some(&tablet))).await;
        assert_eq!(out.status(), StatusCode::OK);
        for device in [&phone, &tablet] {
            let response = test::call_service(&app, call("/me", Some(device))).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }
}
