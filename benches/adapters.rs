//! One request through each framework adapter, beside the bare core, so
//! the adapters' overhead is a measured number (issue 16).
//!
//! Every `session` row does the same session work on the same small
//! session: open the request's session cookie, add one to a counter, seal
//! it into the response's `Set-Cookie`. Every `bare` row runs the same
//! framework with a handler that touches no session, so
//! `session - bare - core` is what the adapter adds around the manager.
//! Everything runs in-process, with no network:
//!
//! - `core`: `SessionManager::load_sync` and `save_sync` on an
//!   `http::HeaderMap`, with a new response map each time;
//! - `axum/bare`, `axum/session`: an axum `Router` called as a tower
//!   service, with and without `SessionLayer`, driven by a current-thread
//!   tokio runtime's `block_on`;
//! - `actix/bare`, `actix/session`: an actix-web `App` made into a service
//!   by `actix_web::test::init_service`, with and without
//!   `SessionMiddleware`, driven by an actix `System`'s `block_on`.
//!
//! Each request is built outside the measured routine (criterion's
//! `iter_batched`); dropping the response is inside it.
//!
//! Run with `cargo bench --bench adapters --features axum,actix-web`.

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure must abort the run, not be measured"
)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::{Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};
use tower::Service as _;

/// The small session of `benches/session.rs`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct SmallSession {
    user_id: u64,
    name: String,
    role: String,
    csrf: [u8; 32],
    visits: u64,
}

/// The manager every row uses, and a `name=value` session cookie it sealed.
fn manager_and_cookie() -> (SessionManager, String) {
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).expect("one key"))
        .build()
        .expect("default manager");
    let mut session = manager
        .load_sync::<SmallSession>(&HeaderMap::new())
        .expect("fresh session");
    session.set(SmallSession {
        user_id: 42,
        name: "alice".into(),
        role: "admin".into(),
        csrf: [7; 32],
        visits: 1,
    });
    let mut response = HeaderMap::new();
    manager
        .save_sync(&mut session, &mut response)
        .expect("saved");
    let line = response
        .get(SET_COOKIE)
        .expect("a Set-Cookie")
        .to_str()
        .expect("ascii");
    let pair = line.split(';').next().expect("name=value").to_owned();
    (manager, pair)
}

fn core(c: &mut Criterion, manager: &SessionManager, cookie: &str) {
    let mut request = HeaderMap::new();
    request.insert(COOKIE, cookie.parse().expect("a header value"));
    c.bench_function("adapters/core", |b| {
        b.iter(|| {
            let mut session = manager
                .load_sync::<SmallSession>(black_box(&request))
                .expect("loaded");
            session.visits += 1;
            let mut response = HeaderMap::new();
            manager
                .save_sync(&mut session, &mut response)
                .expect("saved");
            black_box(response)
        });
    });
}

mod axum_rows {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use sealed_session::axum::{SessionHandle, SessionLayer};

    use super::SmallSession;

    pub(super) async fn bare() -> String {
        "visit".to_owned()
    }

    pub(super) async fn session(session: SessionHandle<SmallSession>) -> String {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        format!("visit {visits}")
    }

    pub(super) fn bare_app() -> Router {
        Router::new().route("/", get(bare))
    }

    pub(super) fn session_app(manager: &sealed_session::SessionManager) -> Router {
        Router::new()
            .route("/", get(session))
            .layer(SessionLayer::<SmallSession>::new(manager.clone()))
    }

    pub(super) fn request(cookie: &str) -> http::Request<Body> {
        http::Request::get("/")
            .header(http::header::COOKIE, cookie)
            .body(Body::empty())
            .expect("a request")
    }
}

fn axum(c: &mut Criterion, manager: &SessionManager, cookie: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let apps = [
        ("adapters/axum/bare", axum_rows::bare_app()),
        ("adapters/axum/session", axum_rows::session_app(manager)),
    ];
    for (name, mut app) in apps {
        // The session row must really save: check once before timing.
        let response = runtime
            .block_on(app.call(axum_rows::request(cookie)))
            .expect("infallible");
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(
            response.headers().contains_key(SET_COOKIE),
            name.ends_with("session")
        );
        c.bench_function(name, |b| {
            b.iter_batched(
                || axum_rows::request(cookie),
                |request| black_box(runtime.block_on(app.call(request))),
                BatchSize::SmallInput,
            );
        });
    }
}

mod actix_rows {
    use sealed_session::actix_web::SessionHandle;

    use super::SmallSession;

    pub(super) async fn bare() -> String {
        "visit".to_owned()
    }

    pub(super) async fn session(session: SessionHandle<SmallSession>) -> String {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        format!("visit {visits}")
    }
}

/// Times one request through `app`, a service from `init_service`; `make`
/// builds each request (actix-web does not export the request type, so it
/// is inferred from `make`).
fn actix_row<S, R, B>(
    c: &mut Criterion,
    name: &str,
    system: &actix_web::rt::SystemRunner,
    app: &S,
    make: impl Fn() -> R,
) where
    S: actix_web::dev::Service<
            R,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    // The session row must really save: check once before timing.
    let response = system.block_on(app.call(make())).expect("a response");
    assert_eq!(response.status(), actix_web::http::StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .contains_key(actix_web::http::header::SET_COOKIE),
        name.ends_with("session")
    );
    c.bench_function(name, |b| {
        b.iter_batched(
            &make,
            |request| black_box(system.block_on(app.call(request))),
            BatchSize::SmallInput,
        );
    });
}

fn actix(c: &mut Criterion, manager: &SessionManager, cookie: &str) {
    use actix_web::{App, test, web};
    use sealed_session::actix_web::SessionMiddleware;

    let system = actix_web::rt::System::new();
    let make = || {
        test::TestRequest::get()
            .uri("/")
            .insert_header((actix_web::http::header::COOKIE, cookie))
            .to_request()
    };
    let bare = system.block_on(test::init_service(
        App::new().route("/", web::get().to(actix_rows::bare)),
    ));
    actix_row(c, "adapters/actix/bare", &system, &bare, make);
    let session = system.block_on(test::init_service(
        App::new()
            .wrap(SessionMiddleware::<SmallSession>::new(manager.clone()))
            .route("/", web::get().to(actix_rows::session)),
    ));
    actix_row(c, "adapters/actix/session", &system, &session, make);
}

fn adapters(c: &mut Criterion) {
    let (manager, cookie) = manager_and_cookie();
    core(c, &manager, &cookie);
    axum(c, &manager, &cookie);
    actix(c, &manager, &cookie);
}

criterion_group!(benches, adapters);
criterion_main!(benches);
