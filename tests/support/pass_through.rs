//! Wrappers that only call the service they wrap: the baseline of what
//! any wrapper costs in each framework (axum boxes and clones every layered
//! route, for one), so a session wrapper's own cost is counted apart. Used
//! by `tests/adapter_allocations.rs` and `benches/adapters.rs`.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

/// A tower layer's service that calls the inner one.
#[derive(Clone)]
pub(crate) struct Tower<S>(pub(crate) S);

impl<S: tower::Service<R>, R> tower::Service<R> for Tower<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.0.call(request)
    }
}

/// An actix-web middleware that calls the inner service.
pub(crate) struct Actix;

pub(crate) struct ActixService<S>(S);

impl<S: actix_web::dev::Service<R>, R> actix_web::dev::Transform<S, R> for Actix {
    type Response = S::Response;
    type Error = S::Error;
    type Transform = ActixService<S>;
    type InitError = ();
    type Future = Ready<Result<ActixService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ActixService(service)))
    }
}

impl<S: actix_web::dev::Service<R>, R> actix_web::dev::Service<R> for ActixService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, request: R) -> S::Future {
        self.0.call(request)
    }
}
