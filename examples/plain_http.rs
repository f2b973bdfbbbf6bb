//! Sessions with no web framework and no async runtime: plain `http`
//! request and response types, `load_sync` and `save_sync`, cookie-only.
//!
//! ```sh
//! cargo run --example plain_http
//! ```
//!
//! Three requests go through one handler, each carrying the cookie the
//! previous response set, as a browser would.

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use sealed_session::{Error, Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Visits {
    count: u32,
    last_path: String,
}

/// The whole integration: load before the handler's work, save after it.
fn handle(manager: &SessionManager, request: &Request<()>) -> Result<Response<String>, Error> {
    let mut session = manager.load_sync::<Visits>(request.headers())?;
    if let Some(reason) = session.fresh_reason() {
        println!("  fresh session ({reason:?})");
    }
    session.count += 1;
    session.last_path = request.uri().path().to_owned();

    let mut response = Response::new(format!("visit {}", session.count));
    // A session too large for the cookie is an error here (no store):
    // answer 500 rather than send a response whose cookie is missing.
    if let Err(e) = manager.save_sync(&mut session, response.headers_mut()) {
        let mut failed = Response::new(format!("session not saved: {e}"));
        *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return Ok(failed);
    }
    Ok(response)
}

/// What a browser sends back: the `name=value` of each `Set-Cookie`.
fn cookie_header(response: &HeaderMap) -> Option<HeaderValue> {
    let set_cookie = response.get(header::SET_COOKIE)?.to_str().ok()?;
    let pair = set_cookie.split(';').next()?;
    HeaderValue::from_str(pair).ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production, load keys from a secret store, e.g.
    // `KeyRing::from_env("SESSION_KEYS")`.
    let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;

    let mut cookie: Option<HeaderValue> = None;
    for path in ["/", "/about", "/contact"] {
        let mut request = Request::get(path).body(())?;
        if let Some(cookie) = cookie.clone() {
            request.headers_mut().insert(header::COOKIE, cookie);
        }
        println!("GET {path}");
        let response = handle(&manager, &request)?;
        println!("  {} {:?}", response.status(), response.body());
        if let Some(set_cookie) = response.headers().get(header::SET_COOKIE) {
            // The header is marked sensitive; print only its size here.
            println!("  Set-Cookie: {} bytes", set_cookie.len());
        }
        if let Some(next) = cookie_header(response.headers()) {
            cookie = Some(next);
        }
    }
    Ok(())
}
