//! One request through each framework adapter, beside the bare core, so
//! the adapters' overhead is a measured number (issue 16).
//!
//! Every `session` row does the same session work on the same small
//! session: open the request's session cookie, add one to a counter, seal
//! it into the response's `Set-Cookie`. Every `bare` row runs the same
//! framework with a handler that touches no session (and formats the same
//! answer as the session's handler), so
//! `session - bare - core/async` is what the adapter adds around the
//! manager. Everything runs in-process, with no network, and every row
//! builds its request and drops its response inside the measurement (the
//! same in a framework's two rows, so it cancels out of the difference):
//!
//! - `core/sync`: `SessionManager::load_sync` and `save_sync` on an
//!   `http::HeaderMap`, with a new response map each time;
//! - `core/async`: the same through `load` and `save`, the calls the
//!   adapters make, in a current-thread tokio runtime's `block_on`;
//! - `axum/bare`, `axum/pass`, `axum/session`: an axum `Router` called as
//!   a tower service, without a layer, with a layer that only calls the
//!   route, and with `SessionLayer`, driven by a current-thread tokio
//!   runtime's `block_on`;
//! - `actix/bare`, `actix/pass`, `actix/session`: an actix-web `App` made
//!   into a service by `actix_web::test::init_service`, without
//!   middleware, with one that only calls the route, and with
//!   `SessionMiddleware`, driven by an actix `System`'s `block_on`.
//!
//! `axum/outside` is `axum/session` with the layer around the whole
//! `Router` (`Layer::layer`) instead of on its routes (`Router::layer`).
//!
//! `session - pass - core/async` is then what the adapter adds beyond
//! what any wrapper costs in its framework (axum boxes and clones every
//! layered route, for one).
//!
//! Run with `cargo bench --bench adapters --features axum,actix-web`.
//!
//! Wall-clock medians on a loaded machine move by tens of percent between
//! runs, and the overhead is a difference of two of them. For a number that
//! load does not change, run one row a fixed number of times, without
//! criterion, under callgrind, and divide the instructions by the count
//! (subtracting a run of 0 requests, the set-up):
//!
//! ```sh
//! ADAPTERS_ROW=actix/session ADAPTERS_REQUESTS=2000 \
//!     valgrind --tool=callgrind target/release/deps/adapters-<hash>
//! ```

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure must abort the run, not be measured"
)]

use std::hint::black_box;

use criterion::Criterion;
use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::{Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};

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

/// One request of a row, ready to run again and again.
type Row = Box<dyn FnMut()>;

fn core_sync(manager: &SessionManager, cookie: &str) -> Row {
    let manager = manager.clone();
    let cookie: http::HeaderValue = cookie.parse().expect("a header value");
    Box::new(move || {
        let mut request = HeaderMap::new();
        request.insert(COOKIE, cookie.clone());
        let mut session = manager
            .load_sync::<SmallSession>(black_box(&request))
            .expect("loaded");
        session.visits += 1;
        let mut response = HeaderMap::new();
        manager
            .save_sync(&mut session, &mut response)
            .expect("saved");
        black_box(response);
    })
}

fn core_async(manager: &SessionManager, cookie: &str) -> Row {
    let manager = manager.clone();
    let cookie: http::HeaderValue = cookie.parse().expect("a header value");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    Box::new(move || {
        let mut request = HeaderMap::new();
        request.insert(COOKIE, cookie.clone());
        let response = runtime.block_on(async {
            let mut session = manager
                .load::<SmallSession>(black_box(&request))
                .await
                .expect("loaded");
            session.visits += 1;
            let mut response = HeaderMap::new();
            manager
                .save(&mut session, &mut response)
                .await
                .expect("saved");
            response
        });
        black_box(response);
    })
}

mod axum_rows {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use sealed_session::axum::{SessionHandle, SessionLayer};

    use super::{Row, SmallSession};

    /// The session handler's work without the session: the same
    /// formatted answer.
    async fn bare() -> String {
        format!("visit {}", super::black_box(2_u64))
    }

    async fn session(session: SessionHandle<SmallSession>) -> String {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        format!("visit {visits}")
    }

    /// The session layer around the whole `Router` (`Layer::layer`), not
    /// on its routes (`Router::layer`): axum then boxes no layered route.
    pub(super) fn outside(manager: &sealed_session::SessionManager, cookie: &str) -> Row {
        use tower::Layer as _;
        let router: Router = Router::new().route("/", get(session));
        let app = SessionLayer::<SmallSession>::new(manager.clone()).layer(router);
        run(app, cookie, true)
    }

    /// Times one request through `app`, checking once that it answers and
    /// that it saves exactly when it has the session.
    fn run<S>(mut app: S, cookie: &str, with_session: bool) -> Row
    where
        S: tower::Service<
                http::Request<Body>,
                Response = http::Response<Body>,
                Error = std::convert::Infallible,
            > + 'static,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let cookie = cookie.to_owned();
        let request = move || {
            http::Request::get("/")
                .header(http::header::COOKIE, cookie.as_str())
                .body(Body::empty())
                .expect("a request")
        };
        let response = runtime.block_on(app.call(request())).expect("infallible");
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(
            response.headers().contains_key(http::header::SET_COOKIE),
            with_session
        );
        Box::new(move || {
            let response = runtime.block_on(app.call(request()));
            super::black_box(response).expect("infallible");
        })
    }

    pub(super) fn row(wrapper: super::Wrapper<'_>, cookie: &str) -> Row {
        match wrapper {
            super::Wrapper::None => run(Router::new().route("/", get(bare)), cookie, false),
            super::Wrapper::PassThrough => run(
                Router::new()
                    .route("/", get(bare))
                    .layer(tower::layer::layer_fn(super::pass_through::Tower)),
                cookie,
                false,
            ),
            super::Wrapper::Session(manager) => run(
                Router::new()
                    .route("/", get(session))
                    .layer(SessionLayer::<SmallSession>::new(manager.clone())),
                cookie,
                true,
            ),
        }
    }
}

mod actix_rows {

    use actix_web::{App, test, web};
    use sealed_session::actix_web::{SessionHandle, SessionMiddleware};

    use super::{Row, SmallSession};

    /// The session handler's work without the session: the same
    /// formatted answer.
    async fn bare() -> String {
        format!("visit {}", super::black_box(2_u64))
    }

    async fn session(session: SessionHandle<SmallSession>) -> String {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        format!("visit {visits}")
    }

    /// Times one request through `app`, a service from `init_service`,
    /// checking once that the session row saves. actix-web does not export
    /// its request type, so `make`'s output names it.
    fn runner<S, R, B>(
        system: actix_web::rt::SystemRunner,
        app: S,
        make: impl Fn() -> R + 'static,
        with_session: bool,
    ) -> Row
    where
        S: actix_web::dev::Service<
                R,
                Response = actix_web::dev::ServiceResponse<B>,
                Error = actix_web::Error,
            > + 'static,
    {
        let response = system.block_on(app.call(make())).expect("a response");
        assert_eq!(response.status(), actix_web::http::StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .contains_key(actix_web::http::header::SET_COOKIE),
            with_session
        );
        Box::new(move || {
            let response = system.block_on(app.call(make()));
            super::black_box(response).expect("a response");
        })
    }

    pub(super) fn row(wrapper: super::Wrapper<'_>, cookie: &str) -> Row {
        let system = actix_web::rt::System::new();
        let cookie = cookie.to_owned();
        let make = move || {
            test::TestRequest::get()
                .uri("/")
                .insert_header((actix_web::http::header::COOKIE, cookie.as_str()))
                .to_request()
        };
        match wrapper {
            super::Wrapper::None => {
                let app = system.block_on(test::init_service(
                    App::new().route("/", web::get().to(bare)),
                ));
                runner(system, app, make, false)
            }
            super::Wrapper::PassThrough => {
                let app = system.block_on(test::init_service(
                    App::new()
                        .wrap(super::pass_through::Actix)
                        .route("/", web::get().to(bare)),
                ));
                runner(system, app, make, false)
            }
            super::Wrapper::Session(manager) => {
                let app = system.block_on(test::init_service(
                    App::new()
                        .wrap(SessionMiddleware::<SmallSession>::new(manager.clone()))
                        .route("/", web::get().to(session)),
                ));
                runner(system, app, make, true)
            }
        }
    }
}

const ROWS: [&str; 9] = [
    "core/sync",
    "core/async",
    "axum/bare",
    "axum/pass",
    "axum/session",
    "axum/outside",
    "actix/bare",
    "actix/pass",
    "actix/session",
];

/// What wraps a framework row's handler.
#[derive(Clone, Copy)]
enum Wrapper<'a> {
    /// Nothing.
    None,
    /// A wrapper that only calls the handler: what any wrapper costs in the
    /// framework (axum boxes and clones every layered route, for one).
    PassThrough,
    /// This crate's wrapper, with this manager.
    Session(&'a SessionManager),
}

#[path = "../tests/support/pass_through.rs"]
mod pass_through;

fn row(name: &str, manager: &SessionManager, cookie: &str) -> Row {
    match name {
        "core/sync" => core_sync(manager, cookie),
        "core/async" => core_async(manager, cookie),
        "axum/bare" => axum_rows::row(Wrapper::None, cookie),
        "axum/pass" => axum_rows::row(Wrapper::PassThrough, cookie),
        "axum/session" => axum_rows::row(Wrapper::Session(manager), cookie),
        "axum/outside" => axum_rows::outside(manager, cookie),
        "actix/bare" => actix_rows::row(Wrapper::None, cookie),
        "actix/pass" => actix_rows::row(Wrapper::PassThrough, cookie),
        "actix/session" => actix_rows::row(Wrapper::Session(manager), cookie),
        other => {
            eprintln!("no row {other:?}; the rows are {ROWS:?}");
            std::process::exit(2)
        }
    }
}

fn main() {
    let (manager, cookie) = manager_and_cookie();
    // Instruction-count mode (see the module docs): one row, a fixed
    // number of requests, no criterion.
    if let Ok(name) = std::env::var("ADAPTERS_ROW") {
        let requests: usize = std::env::var("ADAPTERS_REQUESTS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        let mut run = row(&name, &manager, &cookie);
        for _ in 0..requests {
            run();
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    for name in ROWS {
        let mut run = row(name, &manager, &cookie);
        c.bench_function(&format!("adapters/{name}"), |b| b.iter(&mut run));
    }
    c.final_summary();
}
