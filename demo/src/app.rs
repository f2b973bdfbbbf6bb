//! The demo's axum app: pages, handlers and the session manager's
//! configuration. `main.rs` reads the environment and serves it;
//! `tests/browser.rs` builds the same router and drives it in Chromium.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use sealed_session::revocation::Registry;
use sealed_session::store::Store;
use sealed_session::tower::{SessionError, SessionHandle, SessionLayer};
use sealed_session::{
    Error, Expiry, Flash, FreshReason, Key, KeyRing, Location, Session, SessionManager,
};
use serde::{Deserialize, Serialize};

// Beside this file both when main.rs declares `app` and when
// tests/browser.rs includes it by path.
#[path = "rotation.rs"]
mod rotation;

/// Cart items added or removed per click.
pub(crate) const ITEMS_PER_CLICK: usize = 10;

/// Most cart lines a session holds (about 20 KB, well under the manager's
/// 1 MiB bound on a stored session): a demo cart has a ceiling, as a real
/// one should.
pub(crate) const MAX_CART_ITEMS: usize = 200;

/// Cart lines listed on the cart page, newest first.
const SHOWN_ITEMS: usize = 5;

/// Longest user name the login form accepts, in characters.
const MAX_USER_NAME_CHARS: usize = 40;

/// What the demo keeps in its session: one typed struct.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DemoSession {
    visits: u64,
    user: Option<String>,
    cart: Vec<Item>,
    /// A message for the next page only ("Signed in as ada."). Added after
    /// the first release: sessions sealed before open with it empty.
    #[serde(default)]
    notice: Flash<String>,
}

/// A cart line: about 100 bytes, so a few clicks outgrow a 4 KB cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Item {
    sku: u32,
    description: String,
}

impl Item {
    fn new(sku: u32) -> Self {
        const FINISHES: [&str; 4] = ["walnut", "brushed steel", "matte black", "sea-green"];
        let finish = FINISHES
            .get(sku as usize % FINISHES.len())
            .copied()
            .unwrap_or("plain");
        Self {
            sku,
            description: format!(
                "Widget no. {sku:05} in {finish} finish, hand-assembled and tested, packed \
                 in recycled card; ships in 2 working days"
            ),
        }
    }
}

/// How the demo is set up; `main.rs` fills it from the environment.
pub(crate) struct Config {
    /// Keys, primary first. With two or more, the key page can re-seal a
    /// session under the second key to show a rotation completing.
    pub(crate) keys: Vec<Key>,
    /// Where sessions too large for a cookie go.
    pub(crate) store: Arc<dyn Store>,
    /// A name for the store, shown on the pages.
    pub(crate) store_name: &'static str,
    /// Whether the cookie is `Secure` (and so may use the `__Host-` prefix).
    pub(crate) secure: bool,
    /// Revoked sessions and each user's list of sessions: in this process,
    /// or shared through Redis (see `main.rs`).
    pub(crate) registry: Registry,
}

#[derive(Clone)]
struct App {
    manager: SessionManager,
    /// The same keys with the second one first: seals as a server that has
    /// not yet promoted the primary key would.
    retired: Option<SessionManager>,
    store_name: &'static str,
    registry: Registry,
}

/// The session cookie's name for a configuration.
pub(crate) fn cookie_name(secure: bool) -> &'static str {
    // `__Host-` asks the browser to accept the cookie only with Secure,
    // Path=/ and no Domain, so a sibling subdomain cannot plant one.
    if secure { "__Host-session" } else { "session" }
}

pub(crate) fn manager(keys: Vec<Key>, config: &Config) -> Result<SessionManager, Error> {
    SessionManager::builder(KeyRing::new(keys)?)
        .cookie_name(cookie_name(config.secure))
        .idle_timeout(Duration::from_secs(30 * 60))
        .absolute_timeout(Duration::from_secs(8 * 60 * 60))
        // "Remember me" may keep a session up to a week idle, 30 days in all.
        .expiry_limits(REMEMBER_IDLE, REMEMBER_ABSOLUTE)
        .store(Arc::clone(&config.store))
        .secure(config.secure)
        .registry(config.registry.clone())
        .build()
}

/// The demo's router: every page, behind the session layer.
///
/// # Errors
///
/// When the keys or cookie settings are rejected by the builders.
pub(crate) fn router(config: Config) -> Result<Router, Error> {
    let main = manager(config.keys.clone(), &config)?;
    let retired = match config.keys.as_slice() {
        [first, second, rest @ ..] => {
            let mut keys = vec![second.clone(), first.clone()];
            keys.extend(rest.iter().cloned());
            Some(manager(keys, &config)?)
        }
        _ => None,
    };
    let app = App {
        manager: main.clone(),
        retired,
        store_name: config.store_name,
        registry: config.registry.clone(),
    };
    rotation::install();
    let pages = Router::new()
        .route("/", get(counter))
        .route("/counter/reset", post(reset_counter))
        .route("/account", get(account))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/logout/everywhere", post(logout_everywhere))
        .route("/sessions/end", post(end_session))
        .route("/cart", get(cart))
        .route("/cart/add", post(cart_add))
        .route("/cart/remove", post(cart_remove))
        .route("/cart/clear", post(cart_clear))
        .route("/keys", get(keys))
        .route("/keys/retired", post(seal_with_retired))
        // Inside the session layer, so it can read the session's token.
        .layer(middleware::from_fn(require_csrf))
        .layer(SessionLayer::<DemoSession>::new(main))
        // Outside the session layer: turns its empty 500/503 into a page.
        .layer(middleware::map_response(session_failure_page));
    // Outside the session layer: a scrape is not a visit.
    let metrics = Router::new().route("/metrics", get(metrics_page));
    Ok(pages.merge(metrics).with_state(app))
}

/// Refuses a form post without the session's CSRF token (every form on the
/// demo's pages carries it: see [`page`]), with `403 Forbidden`.
async fn require_csrf(
    session: SessionHandle<DemoSession>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
    };
    // The token is base64url: it needs no decoding in a form body.
    let token = bytes
        .split(|&b| b == b'&')
        .find_map(|pair| pair.strip_prefix(b"csrf="))
        .and_then(|t| std::str::from_utf8(t).ok());
    if !token.is_some_and(|t| session.read(|s| s.verify_csrf(t))) {
        return (
            StatusCode::FORBIDDEN,
            Html(
                "<!doctype html><title>Form expired</title><h1>403</h1>\
                 <p>This form was not sent from this session's page (no valid CSRF token). \
                 Go back, reload the page and try again.</p>",
            ),
        )
            .into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, bytes.into()))
        .await
}

/// The most bytes of a form body the demo reads.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The metrics in the Prometheus text format (with the `metrics` feature).
async fn metrics_page() -> Response {
    match rotation::metrics_text() {
        Some(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no metrics in this build: run `cargo run -p sealed-session-demo`\n",
        )
            .into_response(),
    }
}

/// The rotation's progress from the `sealed_session_opens_total` counters:
/// opens per key id since the demo started, and each key's share.
fn rotation_progress(body: &mut String, ring: &KeyRing) {
    body.push_str("<h2>Rotation progress</h2>");
    let Some(opens) = rotation::opens_by_key() else {
        body.push_str(
            "<p id=progress-none>Build the demo with the <code>metrics</code> feature \
             (<code>cargo run -p sealed-session-demo</code>) to see how many \
             sessions each key still opens, counted by <code>sealed_session_opens_total</code> \
             and served at <a href=/metrics>/metrics</a>.</p>",
        );
        return;
    };
    let total: u64 = opens.iter().map(|k| k.opens).sum();
    let primary = ring.primary_id().to_string();
    let old: u64 = opens
        .iter()
        .filter(|k| k.key_id != primary)
        .map(|k| k.opens)
        .sum();
    let share = |n: u64| {
        if total == 0 {
            0.0
        } else {
            // Display only: counts far below 2^52 convert exactly.
            #[allow(clippy::cast_precision_loss)]
            let share = 100.0 * n as f64 / total as f64;
            share
        }
    };
    let _ = write!(
        body,
        "<p class=big><strong id=old-share>{:.1}%</strong> of the <span id=opens-total>{total}\
         </span> opens since the demo started (of session cookies and stored sessions) \
         used an older key.</p>\
         <table id=progress><tr><th>Key id</th><th>Role now</th><th>Opens</th><th>Share</th></tr>",
        share(old)
    );
    for k in &opens {
        let role = if k.key_id == primary {
            "primary"
        } else if ring.key_ids().any(|id| id.to_string() == k.key_id) {
            "older key (opens only)"
        } else {
            "not in this ring"
        };
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{role}</td><td>{}</td><td>{:.1}%</td></tr>",
            escape(&k.key_id),
            k.opens,
            share(k.opens)
        );
    }
    body.push_str(
        "</table><p>Each open of a cookie (and of a spilled session's stored value) counts \
         once for the key that sealed it; one opened with an older key is re-sealed with the \
         primary on that response. When the older keys' rows stop growing, every returning \
         session has moved to the primary key. The same counters are served at \
         <a href=/metrics>/metrics</a> for a dashboard.</p>",
    );
}

async fn counter(
    method: Method,
    State(app): State<App>,
    session: SessionHandle<DemoSession>,
) -> Html<String> {
    let mut session = session.lock();
    // A HEAD request (a link preview, a monitor) is not a visit.
    if method != Method::HEAD {
        session.data_mut().visits += 1;
    }
    let body = format!(
        "<h1>Visit counter</h1>\
         <p class=big>You have visited this page <strong id=visits>{}</strong> time(s).</p>\
         <p>The count lives in the session. Reload to count again; open the other pages \
         and come back: it persists because your browser returns the sealed cookie.</p>\
         <form method=post action=/counter/reset><button>Reset counter</button></form>",
        session.visits
    );
    page(&app, "/", "Counter", &mut session, &body)
}

async fn reset_counter(session: SessionHandle<DemoSession>) -> Redirect {
    session.update(|s| {
        s.data_mut().visits = 0;
        s.data_mut().notice.set("Counter reset.".to_owned());
    });
    Redirect::to("/")
}

async fn account(State(app): State<App>, session: SessionHandle<DemoSession>) -> Html<String> {
    let (user, subject, this_id, remembered) = {
        let session = session.lock();
        (
            session.user.clone(),
            session.subject().map(str::to_owned),
            session.id(),
            session.expiry().is_some_and(|e| e.is_persistent()),
        )
    };
    // Read with the session's lock released: a page view reads the
    // registry once; requests elsewhere never do.
    let devices = match &subject {
        Some(subject) => sessions_table(&app, subject, this_id).await,
        None => String::new(),
    };
    let body = match &user {
        Some(user) => format!(
            "<h1>Account</h1>\
             <p class=big>Signed in as <strong id=user>{}</strong>.</p>\
             <p id=remembered data-remembered={remembered}>{}</p>\
             <p>Signing in called <code>regenerate()</code>: the session got a new \
             issued-at time, a new cookie and, when stored, a new store id, while its \
             data (visits, cart) was kept.</p>\
             <form method=post action=/logout><button>Sign out</button></form>\
             <p>Signing out calls <code>destroy()</code>: the response removes the cookie \
             and deletes any store entry, so the whole session goes, cart and visit count \
             included. With a revocation registry (this demo has one) the session's id is \
             revoked too, so a copy of the cookie taken before no longer opens.</p>\
             {devices}",
            escape(user),
            if remembered {
                "Remembered for up to 30 days (a week without a visit): the session \
                 carries its own expiry, sealed inside it, and the cookie's Max-Age \
                 follows it."
            } else {
                "This session ends after 30 minutes without a visit or 8 hours in all."
            },
        ),
        None => "<h1>Account</h1>\
                 <p class=big id=user-none>Not signed in.</p>\
                 <form method=post action=/login>\
                 <label>User name <input name=username maxlength=40 required></label> \
                 <label><input type=checkbox name=remember id=remember> Remember me for 30 days</label> \
                 <button>Sign in</button></form>\
                 <p>Any name works; there is no password in this demo.</p>"
            .to_owned(),
    };
    let mut session = session.lock();
    page(&app, "/account", "Account", &mut session, &body)
}

/// The "your sessions" section: every session of `subject` the registry
/// lists, with a button to end each other one, and "sign out everywhere".
async fn sessions_table(
    app: &App,
    subject: &str,
    this: Option<sealed_session::SessionId>,
) -> String {
    let listed = match app.registry.sessions(subject).await {
        Ok(listed) => listed,
        Err(e) => {
            return format!(
                "<p id=sessions-error>Sessions unavailable: {}</p>",
                escape(&e.to_string())
            );
        }
    };
    let mut out = format!(
        "<h2>Your sessions</h2><p>Every browser signed in as this user \
         (<strong id=session-count>{}</strong>), from the revocation registry: written at \
         sign-in and renewal, never on every request.</p>\
         <table id=sessions><tr><th>Device</th><th>Signed in</th><th>Last renewed</th><th></th></tr>",
        listed.len()
    );
    for record in &listed {
        let id = record.id.to_string();
        let action = if Some(record.id) == this {
            "<strong>this browser</strong>".to_owned()
        } else {
            format!(
                "<form method=post action=/sessions/end><input type=hidden name=id value={id}>\
                 <button>Sign out</button></form>"
            )
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            escape(record.label.as_deref().unwrap_or("unknown browser")),
            ago(record.issued_at),
            ago(record.renewed_at),
        );
    }
    out.push_str(
        "</table><form method=post action=/logout/everywhere>\
         <button>Sign out everywhere</button></form>\
         <p>Signing out everywhere revokes every session of this user issued until now, on \
         every server sharing the registry (within its refresh interval), and ends this one.</p>",
    );
    out
}

#[derive(Deserialize)]
struct Login {
    username: String,
    /// The "remember me" checkbox: present when ticked.
    remember: Option<String>,
}

/// "Remember me": a week without a visit, thirty days in all.
const REMEMBER_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
const REMEMBER_ABSOLUTE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A short name for the device a `User-Agent` describes ("Firefox on
/// Linux"), for the list of the user's sessions.
fn device_name(agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(token, _)| agent.contains(token))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

/// How long ago `t` was, in words ("3 min ago").
fn ago(t: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(t)
        .map_or(0, |d| d.as_secs());
    match secs {
        0..=9 => "just now".to_owned(),
        10..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

async fn login(
    headers: HeaderMap,
    session: SessionHandle<DemoSession>,
    Form(form): Form<Login>,
) -> Redirect {
    let name: String = form
        .username
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_NAME_CHARS)
        .collect();
    if !name.is_empty() {
        let mut session = session.lock();
        // One call: the subject (what "sign out everywhere" and the device
        // list go by) and a new id against session fixation.
        if session.login(format!("user:{name}")).is_ok() {
            let agent = headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let _ = session.set_label(device_name(agent));
        }
        if form.remember.is_some() {
            session.set_expiry(Expiry::persistent(REMEMBER_IDLE, REMEMBER_ABSOLUTE));
        } else {
            session.clear_expiry();
        }
        session
            .data_mut()
            .notice
            .set(format!("Signed in as {name}."));
        session.data_mut().user = Some(name);
    }
    Redirect::to("/account")
}

async fn logout(session: SessionHandle<DemoSession>) -> Redirect {
    // The session ends, so the notice goes in the fresh one that replaces
    // it on the next page: there is none, so the page says "Not signed in".
    session.logout();
    Redirect::to("/account")
}

async fn logout_everywhere(session: SessionHandle<DemoSession>) -> Response {
    match session.logout_everywhere() {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct EndSession {
    id: String,
}

async fn end_session(
    State(app): State<App>,
    session: SessionHandle<DemoSession>,
    Form(form): Form<EndSession>,
) -> Redirect {
    let subject = session.lock().subject().map(str::to_owned);
    // Only a session of the signed-in user, found in their own list.
    if let Some(subject) = subject
        && let Ok(listed) = app.registry.sessions(&subject).await
        && let Some(record) = listed.iter().find(|r| r.id.to_string() == form.id)
    {
        app.registry.revoke(record.id, record.until);
        session.update(|s| {
            s.data_mut()
                .notice
                .set("That session was signed out.".to_owned());
        });
    }
    Redirect::to("/account")
}

async fn cart(State(app): State<App>, session: SessionHandle<DemoSession>) -> Html<String> {
    let mut session = session.lock();
    let limit = app.manager.codec().size_limit();
    let inline = app.manager.codec().sealed_size(session.data()).unwrap_or(0);
    let mut body = format!(
        "<h1>Cart</h1>\
         <p class=big><strong id=items>{}</strong> item(s) in the cart.</p>\
         <p>Held inline, this session would make a cookie of <strong id=inline-size>{inline}\
         </strong> bytes of name and value; browsers keep at most {limit}. {}</p>\
         <div class=row>\
         <form method=post action=/cart/add><button>Add {ITEMS_PER_CLICK} items</button> \
         (at most {MAX_CART_ITEMS})</form>\
         <form method=post action=/cart/remove><button>Remove {ITEMS_PER_CLICK} items</button></form>\
         <form method=post action=/cart/clear><button>Clear cart</button></form></div>",
        session.cart.len(),
        if inline > limit {
            "So it lives in the store, sealed, and the cookie holds a sealed pointer to it."
        } else {
            "So it fits in the cookie; past the limit it moves to the store, and back when it shrinks."
        },
    );
    if !session.cart.is_empty() {
        body.push_str("<table><tr><th>SKU</th><th>Description</th></tr>");
        for item in session.cart.iter().rev().take(SHOWN_ITEMS) {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td></tr>",
                item.sku,
                escape(&item.description)
            );
        }
        if session.cart.len() > SHOWN_ITEMS {
            let _ = write!(
                body,
                "<tr><td></td><td>… and {} more</td></tr>",
                session.cart.len() - SHOWN_ITEMS
            );
        }
        body.push_str("</table>");
    }
    page(&app, "/cart", "Cart", &mut session, &body)
}

async fn cart_add(session: SessionHandle<DemoSession>) -> Redirect {
    let mut session = session.lock();
    let room = MAX_CART_ITEMS.saturating_sub(session.cart.len());
    if room > 0 {
        let cart = &mut session.data_mut().cart;
        let next = cart.last().map_or(1, |item| item.sku + 1);
        cart.extend((next..).take(ITEMS_PER_CLICK.min(room)).map(Item::new));
    }
    Redirect::to("/cart")
}

async fn cart_remove(session: SessionHandle<DemoSession>) -> Redirect {
    let mut session = session.lock();
    if !session.cart.is_empty() {
        let cart = &mut session.data_mut().cart;
        cart.truncate(cart.len().saturating_sub(ITEMS_PER_CLICK));
    }
    Redirect::to("/cart")
}

async fn cart_clear(session: SessionHandle<DemoSession>) -> Redirect {
    let mut session = session.lock();
    if !session.cart.is_empty() {
        session.data_mut().cart.clear();
    }
    Redirect::to("/cart")
}

async fn keys(State(app): State<App>, session: SessionHandle<DemoSession>) -> Html<String> {
    let mut session = session.lock();
    let ring = app.manager.codec().ring();
    let mut body = String::from("<h1>Key rotation</h1>");
    match session.opened_with() {
        Some(with) => {
            let _ = write!(
                body,
                "<p class=big>This request's cookie was opened with key <strong id=key-id>{}\
                 </strong> ({}), <strong id=key-role>{}</strong>.</p>",
                with.key_id(),
                with.algorithm(),
                if with.is_primary() {
                    "the primary key"
                } else {
                    "an older key"
                }
            );
            if !with.is_primary() {
                body.push_str(
                    "<p>Because it is not the primary key, this response re-sealed the \
                     session with the primary key. Reload: the next request is opened with \
                     the primary key.</p>",
                );
            }
        }
        None => body.push_str(
            "<p class=big id=key-none>No session cookie came with this request: nothing \
             was opened.</p>",
        ),
    }
    body.push_str("<h2>The key ring</h2><ol id=ring>");
    for (i, id) in ring.key_ids().enumerate() {
        let role = if i == 0 {
            "primary: seals and opens"
        } else {
            "opens only"
        };
        let _ = write!(body, "<li><code>{id}</code> ({role})</li>");
    }
    body.push_str(
        "</ol><p>Each cookie names its key by a 4-byte id derived from the key, so \
         opening picks one key directly, whatever the ring's length. To rotate: add the \
         new key second on every server; then move it first; drop the old key once the \
         longest session lifetime has passed. Keys come from <code>SESSION_KEYS</code> \
         (comma-separated, primary first).</p>",
    );
    rotation_progress(&mut body, ring);
    if app.retired.is_some() {
        body.push_str(
            "<form method=post action=/keys/retired><button>Re-seal my session with the \
             second key</button></form><p>As a server would that still runs the old key \
             order, mid-rotation. The next page view is opened with that key and re-sealed \
             with the primary.</p>",
        );
    } else {
        body.push_str("<p>Give two keys in <code>SESSION_KEYS</code> to try a rotation.</p>");
    }
    page(&app, "/keys", "Keys", &mut session, &body)
}

/// Seals the session's data with the ring's second key first, as a server
/// midway through a rotation would. Demo only: a stored session's old entry
/// is left to expire, and should the layer renew this request's session too,
/// its `Set-Cookie` comes after this one and wins.
async fn seal_with_retired(
    State(app): State<App>,
    session: SessionHandle<DemoSession>,
) -> Response {
    let Some(retired) = &app.retired else {
        return Redirect::to("/keys").into_response();
    };
    let (data, subject, expiry) =
        session.read(|s| (s.data().clone(), s.subject().map(str::to_owned), s.expiry()));
    let mut headers = HeaderMap::new();
    let sealed = async {
        let mut old = retired.load::<DemoSession>(&HeaderMap::new()).await?;
        old.set(data);
        // The identity goes with the data: a re-sealed session is still
        // its user's, so "sign out everywhere" ends it too.
        if let Some(subject) = subject {
            old.login(subject)?;
        }
        if let Some(expiry) = expiry {
            old.set_expiry(expiry);
        }
        retired.save(&mut old, &mut headers).await
    };
    match sealed.await {
        Ok(_) => (headers, Redirect::to("/keys")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Replaces the session layer's empty error responses with a page naming the
/// cause.
async fn session_failure_page(response: Response) -> Response {
    let Some(failure) = response.extensions().get::<SessionError>() else {
        return response;
    };
    let status = response.status();
    let body = format!(
        "<!doctype html><title>Session unavailable</title>\
         <h1>{status}</h1><p>The session could not be {}: {}.</p>",
        if status == StatusCode::SERVICE_UNAVAILABLE {
            "loaded"
        } else {
            "saved"
        },
        escape(&failure.to_string())
    );
    (status, Html(body)).into_response()
}

/// Why a session is new, in words a visitor understands.
fn fresh_reason_text(reason: FreshReason) -> &'static str {
    match reason {
        FreshReason::NoCookie => "no session cookie came with this request",
        FreshReason::Rejected => {
            "the cookie did not authenticate: edited, or sealed with a key or cookie name this \
             server does not have"
        }
        FreshReason::Expired => "the cookie authenticated, but the session had expired",
        FreshReason::Undecodable => {
            "the cookie authenticated, but its contents do not decode as this app's session"
        }
        FreshReason::UnknownSchema => {
            "the cookie authenticated, but holds a kind of session this version of the app \
             cannot read (its session type changed without a migration)"
        }
        FreshReason::MissingFromStore => "the cookie pointed at a stored session that is gone",
        FreshReason::Revoked => "the session was signed out elsewhere",
        FreshReason::RevocationUnverified => {
            "the revocation registry has been unreachable for too long to vouch for this session"
        }
        FreshReason::HeaderTooLarge => {
            "the request's cookies were too many or too large to look through; your session \
             is left as it was"
        }
        _ => "the cookie could not be used",
    }
}

/// Wraps `body` in the page frame: the nav bar and the session panel.
fn page(
    app: &App,
    path: &str,
    title: &str,
    session: &mut Session<DemoSession>,
    body: &str,
) -> Html<String> {
    // Shown once: taking it marks the session changed only if there was one.
    let notice = Flash::take(session, |d| &mut d.notice).map_or_else(String::new, |n| {
        format!("<p id=notice role=status>{}</p>", escape(&n))
    });
    // Every form posts the session's CSRF token (`require_csrf` checks it).
    let field = format!(
        "<input type=hidden name=csrf value={}>",
        session.csrf_token()
    );
    let body = with_csrf(body, &field);
    let mut nav = String::new();
    for (href, label) in [
        ("/", "Counter"),
        ("/account", "Account"),
        ("/cart", "Cart"),
        ("/keys", "Keys"),
    ] {
        let current = if href == path {
            " aria-current=page"
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{href}\"{current}>{label}</a>");
    }
    let location = match session.location() {
        Location::Cookie => "Cookie",
        Location::Store => "Store",
        _ => "nowhere yet",
    };
    let explain = match session.location() {
        Location::Cookie => "sealed entirely in the cookie".to_owned(),
        Location::Store => format!(
            "sealed in the {} store; the cookie is a pointer",
            app.store_name
        ),
        _ => "a new session: this request brought no valid cookie".to_owned(),
    };
    let cookie = match (session.cookie_size(), session.fresh_reason()) {
        (Some(size), _) => format!("{size} bytes of name=value"),
        (None, None | Some(FreshReason::NoCookie)) => "none".to_owned(),
        (None, Some(_)) => "one came, but it did not open (see why below)".to_owned(),
    };
    let id = session.id().map_or_else(
        || "none yet (given at the first save)".to_owned(),
        |id| {
            let id = id.to_string();
            format!("{}…", id.get(..8).unwrap_or_default())
        },
    );
    let issued = session.times().map_or_else(
        || "-".to_owned(),
        |t| format!("{} (reset when signing in)", ago(t.issued_at())),
    );
    let store_id = session.store_id().map_or_else(
        || "-".to_owned(),
        |id| id.to_string(), // redacted: the first four bytes and `…`
    );
    let opened = session.opened_with().map_or_else(
        || "-".to_owned(),
        |with| {
            let role = if with.is_primary() {
                "primary"
            } else {
                "older key"
            };
            format!("{} ({role})", with.key_id())
        },
    );
    let (fresh, reason_code) = session
        .fresh_reason()
        .map_or(("-", String::new()), |reason| {
            (fresh_reason_text(reason), format!("{reason:?}"))
        });
    let user = session
        .user
        .as_deref()
        .map_or_else(|| "-".to_owned(), escape);
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <title>{title} · sealed-session demo</title><link rel=icon href=\"data:,\">\
         <style>{STYLE}</style></head><body>\
         <nav>{nav}</nav>\
         <aside><h2>Session on this request</h2><dl>\
         <dt>Lives in</dt><dd><strong id=location>{location}</strong> ({explain})</dd>\
         <dt>Cookie sent</dt><dd id=cookie-size>{cookie}</dd>\
         <dt>Session id</dt><dd id=session-id>{id}</dd>\
         <dt>Issued at</dt><dd id=issued-at>{issued}</dd>\
         <dt>Store id</dt><dd id=store-id>{store_id}</dd>\
         <dt>Opened with key</dt><dd id=opened-with>{opened}</dd>\
         <dt>New because</dt><dd id=fresh-reason data-reason=\"{reason_code}\">{fresh}</dd>\
         <dt>Data now</dt><dd><span id=s-visits>{}</span> visit(s), \
         <span id=s-items>{}</span> cart item(s), user <span id=s-user>{user}</span></dd>\
         </dl></aside><main>{notice}{body}</main></body></html>",
        session.visits,
        session.cart.len(),
    ))
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}\
nav{background:#1f3a5f;padding:.6em 1.2em}nav a{color:#fff;margin-right:1.4em;text-decoration:none}\
nav a[aria-current]{font-weight:bold;text-decoration:underline}\
main,aside{max-width:52em;margin:1em auto;padding:0 1.2em}\
aside{background:#fff;border:1px solid #ccd;border-radius:6px;padding:.4em 1.2em}\
aside h2{font-size:.9em;color:#556;margin:.3em 0}\
dl{display:grid;grid-template-columns:9em 1fr;gap:0 1em;margin:.3em 0}dt{color:#556}dd{margin:0}\
.big{font-size:1.25em}.row{display:flex;gap:.6em}form{margin:.6em 0}\
button{font:inherit;padding:.3em .9em}table{border-collapse:collapse;margin-top:1em}\
td,th{border-bottom:1px solid #dde;padding:.2em .6em;text-align:left;font-size:.9em}";

/// `html` with `field` inserted at the start of each `<form method=post>`.
fn with_csrf(html: &str, field: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<form method=post") {
        let Some(end) = rest.get(start..).and_then(|r| r.find('>')) else {
            break;
        };
        let (head, tail) = rest.split_at(start + end + 1);
        out.push_str(head);
        out.push_str(field);
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
