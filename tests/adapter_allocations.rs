//! Heap allocations the adapters add to one request (issue 16): the
//! actix-web middleware reads the `Cookie` headers as bytes and converts
//! the `Set-Cookie` back to `http` 0.2, and should allocate nothing else
//! beyond what the tower layer does: it adds no more blocks than the tower
//! layer.
//!
//! A counting global allocator (`allocation-counter`'s, as in
//! `tests/allocations.rs`) counts the blocks one request allocates through
//! each framework with and without its session wrapper, the same handler
//! work in both; the difference is the adapter's (with the manager's own
//! load and save). A route behind the wrapper whose handler never takes the
//! session is measured too: it must cost less than one that loads it.
//!
//! The counter is per thread, so nothing another thread allocates (the test
//! harness, another test) is counted, however the machine is loaded. That
//! holds only if the whole request runs on the calling thread: axum's is
//! driven by a current-thread tokio runtime and actix-web's by an actix
//! `System`, whose runtime is current-thread too, and neither the wrapper
//! nor the handlers spawn anything. Work moved to another thread would
//! silently drop out of the count, so each measured request checks that its
//! handler ran on the calling thread and that it counted something, and the
//! session routes must count more than the bare ones. Everything runs in one
//! `#[test]`, as the comparison needs both frameworks' counts. Run with
//! `--nocapture` to see the counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use actix_web::dev::Service as _;
use http::HeaderMap;
use http::header::SET_COOKIE;
use sealed_session::{Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};
use tower::Service as _;

#[derive(Serialize, Deserialize, Debug, Default)]
struct Visits {
    count: u64,
}

/// Blocks the calling thread allocated while `f`, which serves one request,
/// ran (a reallocation counts as one: `allocation-counter`'s allocator
/// leaves `realloc` to `GlobalAlloc`'s default, a new block, a copy and a
/// free). What `f` returns is dropped after counting.
fn blocks<R>(f: impl FnOnce() -> R) -> u64 {
    let handled = handlers::handled_here();
    let mut result = None;
    let info = allocation_counter::measure(|| result = Some(f()));
    drop(result);
    // The counter sees only this thread: a handler run elsewhere would
    // leave its request's work out of the count without failing.
    assert_eq!(
        handlers::handled_here(),
        handled + 1,
        "the request's handler ran on the measuring thread"
    );
    assert!(
        info.count_total > 0,
        "a request allocates (its handler's String at least)"
    );
    info.count_total
}

/// The fewest blocks over a few runs of `f` (the first runs warm caches
/// and pools; the steady state is what a server sees).
fn steady(mut f: impl FnMut() -> u64) -> u64 {
    (0..20).map(|_| f()).min().unwrap()
}

fn manager_and_cookie() -> (SessionManager, String) {
    let manager = SessionManager::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap();
    let mut session = manager.load_sync::<Visits>(&HeaderMap::new()).unwrap();
    session.count = 1;
    let mut response = HeaderMap::new();
    manager.save_sync(&mut session, &mut response).unwrap();
    let line = response.get(SET_COOKIE).unwrap().to_str().unwrap();
    (manager, line.split(';').next().unwrap().to_owned())
}

mod handlers {
    use std::cell::Cell;

    thread_local! {
        /// Requests handled on this thread (no allocation to count one).
        static HANDLED: Cell<u64> = const { Cell::new(0) };
    }

    fn handled() {
        HANDLED.with(|n| n.set(n.get() + 1));
    }

    /// How many requests a handler has served on the calling thread.
    pub(crate) fn handled_here() -> u64 {
        HANDLED.with(Cell::get)
    }

    pub(crate) async fn bare() -> String {
        handled();
        "visit".to_owned()
    }

    macro_rules! counting {
        ($name:ident, $handle:ty) => {
            pub(crate) async fn $name(session: $handle) -> String {
                handled();
                session.update(|s| s.count += 1);
                "visit".to_owned()
            }
        };
    }
    counting!(
        axum_session,
        sealed_session::axum::SessionHandle<super::Visits>
    );
    counting!(
        actix_session,
        sealed_session::actix_web::SessionHandle<super::Visits>
    );
}

#[path = "support/pass_through.rs"]
mod pass_through;

/// How a request meets the session wrapper.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// No wrapper.
    Bare,
    /// A wrapper that does nothing but call the handler: what the
    /// framework itself costs for any wrapper.
    PassThrough,
    /// The wrapper, and a handler that never takes the session.
    Untouched,
    /// The wrapper, and a handler that counts in the session.
    Session,
}

/// The `Cookie` value as a server's parser hands it out: bytes shared with
/// its read buffer, so a clone counts a reference and allocates nothing. A
/// value parsed from a `&str` owns its bytes until its first clone, which
/// allocates the shared count: done here, before any count.
fn shared_header(cookie: &str) -> http::HeaderValue {
    let value: http::HeaderValue = cookie.parse().unwrap();
    drop(value.clone());
    value
}

/// [`shared_header`] for actix-web's `http` 0.2 value.
fn shared_actix_header(cookie: &str) -> actix_web::http::header::HeaderValue {
    let value: actix_web::http::header::HeaderValue = cookie.parse().unwrap();
    drop(value.clone());
    value
}

/// Blocks of one axum request on `route`, steady state.
fn axum_blocks(manager: &SessionManager, cookie: &str, route: Route) -> u64 {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use sealed_session::axum::SessionLayer;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let layer = SessionLayer::<Visits>::new(manager.clone());
    let mut app = match route {
        Route::Bare => Router::new().route("/", get(handlers::bare)),
        Route::PassThrough => Router::new()
            .route("/", get(handlers::bare))
            .layer(tower::layer::layer_fn(pass_through::Tower)),
        Route::Untouched => Router::new().route("/", get(handlers::bare)).layer(layer),
        Route::Session => Router::new()
            .route("/", get(handlers::axum_session))
            .layer(layer),
    };
    let cookie = shared_header(cookie);
    steady(|| {
        let request = http::Request::get("/")
            .header(http::header::COOKIE, cookie.clone())
            .body(Body::empty())
            .unwrap();
        blocks(|| {
            let response = runtime.block_on(app.call(request)).unwrap();
            assert_eq!(
                response.headers().contains_key(SET_COOKIE),
                route == Route::Session
            );
            response
        })
    })
}

/// Blocks of one actix-web request on `route`, steady state.
fn actix_blocks(manager: &SessionManager, cookie: &str, route: Route) -> u64 {
    use actix_web::{App, test, web};
    use sealed_session::actix_web::SessionMiddleware;

    let system = actix_web::rt::System::new();
    let cookie = shared_actix_header(cookie);
    let request = || {
        test::TestRequest::get()
            .uri("/")
            .insert_header((actix_web::http::header::COOKIE, cookie.clone()))
            .to_request()
    };
    fn run<F: Future>(system: &actix_web::rt::SystemRunner, f: F) -> F::Output {
        system.block_on(f)
    }
    if route == Route::PassThrough {
        let app = run(
            &system,
            test::init_service(
                App::new()
                    .wrap(pass_through::Actix)
                    .route("/", web::get().to(handlers::bare)),
            ),
        );
        steady(|| {
            let request = request();
            blocks(|| run(&system, app.call(request)).unwrap())
        })
    } else if route == Route::Untouched {
        let app = run(
            &system,
            test::init_service(
                App::new()
                    .wrap(SessionMiddleware::<Visits>::new(manager.clone()))
                    .route("/", web::get().to(handlers::bare)),
            ),
        );
        steady(|| {
            let request = request();
            blocks(|| {
                let response = run(&system, app.call(request)).unwrap();
                assert!(
                    !response
                        .headers()
                        .contains_key(actix_web::http::header::SET_COOKIE)
                );
                response
            })
        })
    } else if route == Route::Session {
        let app = run(
            &system,
            test::init_service(
                App::new()
                    .wrap(SessionMiddleware::<Visits>::new(manager.clone()))
                    .route("/", web::get().to(handlers::actix_session)),
            ),
        );
        steady(|| {
            let request = request();
            blocks(|| {
                let response = run(&system, app.call(request)).unwrap();
                assert!(
                    response
                        .headers()
                        .contains_key(actix_web::http::header::SET_COOKIE)
                );
                response
            })
        })
    } else {
        let app = run(
            &system,
            test::init_service(App::new().route("/", web::get().to(handlers::bare))),
        );
        steady(|| {
            let request = request();
            blocks(|| run(&system, app.call(request)).unwrap())
        })
    }
}

#[test]
fn the_actix_middleware_allocates_no_more_than_the_tower_layer() {
    let (manager, cookie) = manager_and_cookie();
    let axum_bare = axum_blocks(&manager, &cookie, Route::Bare);
    let axum_pass = axum_blocks(&manager, &cookie, Route::PassThrough);
    let actix_pass = actix_blocks(&manager, &cookie, Route::PassThrough);
    println!(
        "blocks per request with a pass-through wrapper: axum {axum_pass}, actix-web {actix_pass}"
    );
    let axum_untouched = axum_blocks(&manager, &cookie, Route::Untouched);
    let axum_session = axum_blocks(&manager, &cookie, Route::Session);
    let actix_bare = actix_blocks(&manager, &cookie, Route::Bare);
    let actix_untouched = actix_blocks(&manager, &cookie, Route::Untouched);
    let actix_session = actix_blocks(&manager, &cookie, Route::Session);
    // The session's load and save (the seal's output string at least) run
    // in the wrapper, on this thread, and are counted.
    assert!(
        axum_session > axum_bare && actix_session > actix_bare,
        "the session routes count their load and save: axum {axum_session} \
         (bare {axum_bare}), actix-web {actix_session} (bare {actix_bare})"
    );
    let axum_added = axum_session - axum_bare;
    let actix_added = actix_session - actix_bare;
    println!(
        "blocks per request: axum {axum_bare} bare, {axum_session} with the layer (+{axum_added})"
    );
    println!(
        "blocks per request: actix-web {actix_bare} bare, {actix_session} with the middleware (+{actix_added})"
    );
    // Both wrappers keep the request's `Cookie` values (clones of shared
    // bytes, in an `Arc` with the manager) and the manager reads them as
    // bytes when the handler loads the session, so actix-web converts no
    // `Cookie` to `http` 1.x, and the save writes its `Set-Cookie` straight
    // into actix-web's own header map. Neither boxes its response future,
    // nor the save or the extraction when the manager has no store.
    // Measured here: axum +8, actix-web +4.
    assert!(
        actix_added <= axum_added,
        "actix-web adds {actix_added} blocks, the tower layer {axum_added}"
    );
    // A route that never takes the session: the wrapper keeps the cookie
    // values and registers itself, nothing more (no load, no save). Beyond
    // what any wrapper costs in the framework (the pass-through row), that
    // is the request's slot for the session (one `Arc`) and the one value
    // in the request's extensions (each framework boxes every extension
    // value), and on axum a growth of the extension map that this insert
    // can trigger: no clone of the inner service, no boxed future, no
    // subject loader.
    let axum_lazy = axum_untouched - axum_pass;
    let actix_lazy = actix_untouched - actix_pass;
    println!(
        "blocks per request without touching the session, over the pass-through wrapper: \
         axum +{axum_lazy}, actix-web +{actix_lazy}"
    );
    assert!(
        axum_lazy <= 3 && actix_lazy <= 2,
        "an untouched session costs axum {axum_lazy} blocks, actix-web {actix_lazy}"
    );
}
