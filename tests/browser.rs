//! The demo app (`demo/`) in headless Chromium, through the
//! browser's real cookie jar, driven over WebDriver (chromedriver).
//!
//! Checks, in one browser session:
//!
//! 1. the visit counter persists across requests (1, 2, then 3 after other
//!    pages), and the jar holds one `__Host-session` cookie with `Secure`,
//!    `HttpOnly` and `SameSite=Lax` over plain-HTTP loopback;
//! 2. the cart grows past 4 KB and still round-trips: each click of "add 10
//!    items" shows 10 more; once inline would exceed 4096 bytes the page says
//!    `Store`, and the jar's cookie stays at most 4096 bytes of name + value;
//! 3. signing in changes the store id and the cookie and keeps the data
//!    (visits, cart);
//! 4. shrinking the cart moves the session back into the cookie (`Cookie`, no
//!    store id), still at most 4096 bytes in the jar;
//! 5. the key page names the primary key; re-sealing with the second key is
//!    seen as "an older key" on the next request, which re-seals it, so the
//!    one after is primary again;
//! 6. signing out removes the cookie from the jar and the next page is a new
//!    session;
//! 7. a cookie edited in the jar (WebDriver delete + add, one character
//!    changed) gives a normal page with a fresh session (reason `Rejected`),
//!    and the same cookie sent over raw HTTP gets `200`.
//!
//! A PNG screenshot of every page goes to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; paths from `CHROMEDRIVER`
//! (default `/usr/bin/chromedriver`) and `CHROMIUM` (default
//! `/usr/bin/chromium`). Run with
//! `cargo test --features axum --test browser -- --include-ignored` (the
//! test binary needs `axum` and `memory`, as the demo does).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../demo/src/app.rs"]
mod app;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use sealed_session::Key;
use sealed_session::store::MemoryStore;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

const COOKIE: &str = "__Host-session";

/// What Chromium needs on this machine, as root, with no outside network.
const CHROMIUM_ARGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A running chromedriver, ended when dropped.
struct Driver {
    child: Child,
    url: String,
}

async fn start_chromedriver() -> Driver {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    // A free loopback port: bind, read it, let it go, hand it to chromedriver.
    let port = {
        let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        probe.local_addr().unwrap().port()
    };
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver at {path}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A fresh profile directory, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "sealed-session-chromium-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open_browser(driver: &Driver, profile: &Profile) -> Client {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.0.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": binary, "args": args }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("chromedriver did not open a Chromium session");
    client.set_window_size(1000, 1100).await.unwrap();
    client
}

/// Serves the demo's router on a loopback port chosen by the OS.
async fn start_demo() -> SocketAddr {
    let router = app::router(app::Config {
        keys: vec![Key::generate(), Key::generate()],
        store: Arc::new(MemoryStore::new()),
        store_name: "in-memory",
        secure: true,
        registry: sealed_session::revocation::Registry::in_memory(),
    })
    .unwrap();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

struct Page<'a> {
    client: &'a Client,
    base: String,
    shots: PathBuf,
}

impl Page<'_> {
    async fn visit(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// Submits the form posting to `action` and waits for the next page.
    async fn submit(&self, action: &str) {
        let before = self.client.find(Locator::Css("main")).await.unwrap();
        self.client
            .find(Locator::Css(&format!("form[action='{action}'] button")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The old page's elements go stale once the next page has loaded.
        let deadline = Instant::now() + Duration::from_secs(10);
        while before.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "no navigation after {action}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.client
            .wait()
            .for_element(Locator::Id("location"))
            .await
            .unwrap();
    }

    async fn text(&self, id: &str) -> String {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// The attribute `name` of the element `#id`.
    async fn attr(&self, id: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"))
            .attr(name)
            .await
            .unwrap()
    }

    async fn number(&self, id: &str) -> usize {
        let text = self.text(id).await;
        text.parse()
            .unwrap_or_else(|_| panic!("#{id} is {text:?}, not a number"))
    }

    /// The session cookie in the browser's jar, if any.
    async fn cookie(&self) -> Option<Cookie<'static>> {
        match self.client.get_named_cookie(COOKIE).await {
            Ok(cookie) => Some(cookie),
            Err(e) if e.is_no_such_cookie() => None,
            Err(e) => panic!("reading the cookie jar: {e}"),
        }
    }

    /// Bytes of `name=value` of the jar's session cookie, checked against
    /// what browsers keep.
    async fn cookie_size(&self) -> usize {
        let cookie = self.cookie().await.expect("no session cookie in the jar");
        let size = cookie.name().len() + 1 + cookie.value().len();
        assert!(size <= 4096, "cookie is {size} bytes of name=value");
        size
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}

/// Sends one request over raw HTTP/1.1 with `cookie`; the status code and
/// the whole response.
async fn raw_get(addr: SocketAddr, path: &str, cookie: &str) -> (u16, String) {
    raw(
        addr,
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {COOKIE}={cookie}\r\n\
             Connection: close\r\n\r\n"
        ),
    )
    .await
}

/// Sends `request` as it is; the status and the whole response.
async fn raw(addr: SocketAddr, request: String) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// A form post to the demo from outside a browser page: `form` as the
/// body, with the session cookie.
async fn raw_post(addr: SocketAddr, path: &str, cookie: &str, form: &str) -> (u16, String) {
    raw(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {COOKIE}={cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver"]
async fn demo_works_in_a_real_browser() {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let addr = start_demo().await;
    let mut driver = start_chromedriver().await;
    let profile = Profile::new();
    let client = open_browser(&driver, &profile).await;
    let page = Page {
        client: &client,
        base: format!("http://{addr}"),
        shots,
    };

    // 1. The counter persists across requests through the jar.
    page.visit("/").await;
    assert_eq!(page.number("visits").await, 1);
    assert_eq!(page.text("location").await, "nowhere yet");
    assert_eq!(
        page.text("fresh-reason").await,
        "no session cookie came with this request"
    );
    let cookie = page.cookie().await.expect("the first visit set a cookie");
    assert!(cookie.secure().unwrap_or(false), "cookie is not Secure");
    assert!(
        cookie.http_only().unwrap_or(false),
        "cookie is not HttpOnly"
    );
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
    page.visit("/").await;
    assert_eq!(page.number("visits").await, 2);
    assert_eq!(page.text("location").await, "Cookie");
    page.visit("/keys").await;
    page.visit("/").await;
    assert_eq!(page.number("visits").await, 3);
    page.screenshot("01-counter").await;

    // 2. The cart outgrows the cookie, spills to the store, and round-trips.
    page.visit("/cart").await;
    assert_eq!(page.number("items").await, 0);
    let mut clicks = 0;
    while page.text("location").await != "Store" {
        page.submit("/cart/add").await;
        clicks += 1;
        assert_eq!(page.number("items").await, clicks * app::ITEMS_PER_CLICK);
        page.cookie_size().await;
        if clicks == 1 {
            assert_eq!(page.text("location").await, "Cookie");
            page.screenshot("02-cart-in-cookie").await;
        }
        assert!(clicks < 10, "the cart never moved to the store");
    }
    assert!(page.number("inline-size").await > 4096);
    assert!(page.cookie_size().await < 400, "a pointer cookie is small");
    let store_id = page.text("store-id").await;
    assert!(store_id.len() > 8 && store_id != "-", "{store_id:?}");
    // Still stored and intact on the next request, and on one more add.
    page.submit("/cart/add").await;
    clicks += 1;
    assert_eq!(page.number("items").await, clicks * app::ITEMS_PER_CLICK);
    assert_eq!(page.text("location").await, "Store");
    assert_eq!(page.text("store-id").await, store_id, "same entry, updated");
    page.screenshot("03-cart-in-store").await;

    // 3. Signing in regenerates: a new store id and cookie, the same data.
    let items = page.number("items").await;
    let before_login = page.cookie().await.unwrap().value().to_owned();
    page.visit("/account").await;
    assert!(page.text("user-none").await.contains("Not signed in"));
    page.screenshot("04-account-signed-out").await;
    page.client
        .find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("ada <lovelace>")
        .await
        .unwrap();
    let id_before_login = page.text("session-id").await;
    page.submit("/login").await;
    assert_eq!(page.text("user").await, "ada <lovelace>");
    assert_ne!(
        page.text("session-id").await,
        id_before_login,
        "login regenerates the session id"
    );
    assert_eq!(page.text("location").await, "Store");
    let new_store_id = page.text("store-id").await;
    assert_ne!(new_store_id, store_id, "login kept the store id");
    assert_ne!(page.cookie().await.unwrap().value(), before_login);
    assert_eq!(page.number("s-items").await, items);
    assert_eq!(page.number("s-visits").await, 3);
    page.screenshot("05-account-signed-in").await;

    // 4. Shrinking the cart brings the session back into the cookie.
    page.visit("/cart").await;
    while page.text("location").await == "Store" {
        page.submit("/cart/remove").await;
        page.cookie_size().await;
    }
    assert_eq!(page.text("location").await, "Cookie");
    assert_eq!(page.text("store-id").await, "-");
    assert!(page.number("items").await > 0, "moved back before emptying");
    assert!(page.cookie_size().await > 1000, "the data is inline again");
    assert_eq!(page.text("s-user").await, "ada <lovelace>");
    page.screenshot("06-cart-back-in-cookie").await;

    // 5. Rotation: opened with which key, and re-sealed with the primary.
    page.visit("/keys").await;
    let ring: Vec<String> = {
        let items = page
            .client
            .find_all(Locator::Css("#ring code"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for item in items {
            ids.push(item.text().await.unwrap());
        }
        ids
    };
    assert_eq!(ring.len(), 2);
    assert_eq!(page.text("key-id").await, ring[0]);
    assert_eq!(page.text("key-role").await, "the primary key");
    page.screenshot("07-keys").await;
    page.submit("/keys/retired").await;
    assert_eq!(page.text("key-id").await, ring[1]);
    assert_eq!(page.text("key-role").await, "an older key");
    page.screenshot("08-keys-older-key").await;
    page.visit("/keys").await;
    assert_eq!(
        page.text("key-id").await,
        ring[0],
        "re-sealed with the primary"
    );
    assert_eq!(
        page.number("s-visits").await,
        3,
        "data survived the rotation"
    );

    // 6. A form posted without the session's CSRF token (as from another
    //    site) is refused, and changes nothing.
    let signed_in = page.cookie().await.expect("signed in");
    let (status, body) = raw_post(addr, "/cart/clear", signed_in.value(), "").await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = raw_post(addr, "/cart/clear", signed_in.value(), "csrf=forged").await;
    assert_eq!(status, 403);
    page.visit("/cart").await;
    assert!(
        page.number("items").await > 0,
        "the forged post cleared the cart"
    );

    // 7. Signing out destroys the session: its cookie is gone from the jar,
    //    and the sign-in page that follows holds a new, empty session (its
    //    form's CSRF token needs one).
    page.visit("/account").await;
    assert!(page.cookie().await.is_some());
    page.submit("/logout").await;
    assert!(page.text("user-none").await.contains("Not signed in"));
    assert_eq!(page.text("location").await, "nowhere yet");
    let after = page.cookie().await.expect("the sign-in form's session");
    assert_ne!(after.value(), signed_in.value(), "sign-out left the cookie");
    assert_eq!(page.text("s-user").await, "-");
    assert_eq!(page.number("s-items").await, 0);
    page.visit("/").await;
    assert_eq!(page.number("visits").await, 1);
    assert_eq!(page.number("s-items").await, 0);

    // 8. A cookie edited in the jar gives a fresh session, not an error.
    let mut cookie = page.cookie().await.unwrap();
    let value = cookie.value().to_owned();
    let middle = value.len() / 2;
    let flipped = if &value[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &value[..middle], &value[middle + 1..]);
    cookie.set_value(tampered.clone());
    page.client.delete_cookie(COOKIE).await.unwrap();
    page.client.add_cookie(cookie).await.unwrap();
    assert_eq!(page.cookie().await.unwrap().value(), tampered);
    page.visit("/").await;
    assert!(
        page.text("fresh-reason")
            .await
            .starts_with("the cookie did not authenticate")
    );
    assert_eq!(
        page.text("cookie-size").await,
        "one came, but it did not open (see why below)"
    );
    assert_eq!(page.number("visits").await, 1);
    assert_eq!(page.text("location").await, "nowhere yet");
    page.screenshot("09-fresh-after-tampering").await;
    let (status, body) = raw_get(addr, "/", &tampered).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("id=fresh-reason data-reason=\"Rejected\">"),
        "{body}"
    );

    client.close().await.unwrap();
    let _ = driver.child.kill().await;
}

/// Signs in as `name` on the account page.
async fn sign_in(page: &Page<'_>, name: &str) {
    sign_in_with(page, name, false).await;
}

/// Signs in, ticking "remember me" when `remember`.
async fn sign_in_with(page: &Page<'_>, name: &str, remember: bool) {
    page.visit("/account").await;
    page.client
        .find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    if remember {
        page.client
            .find(Locator::Id("remember"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    page.submit("/login").await;
    assert_eq!(page.text("user").await, name);
    // A flash message, shown once.
    assert_eq!(page.text("notice").await, format!("Signed in as {name}."));
}

/// Seconds from now until the jar's session cookie expires (`None` for a
/// browser-session cookie).
async fn cookie_lifetime(page: &Page<'_>) -> Option<i64> {
    let cookie = page.cookie().await.expect("a session cookie");
    let expires = cookie.expires_datetime()?.unix_timestamp();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    Some(expires - now)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver"]
async fn sign_out_everywhere_reaches_another_browser() {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let addr = start_demo().await;
    let mut driver = start_chromedriver().await;
    // Two browser contexts: two profiles, two cookie jars.
    let (profile_a, profile_b) = (Profile::new(), Profile::new());
    let client_a = open_browser(&driver, &profile_a).await;
    let client_b = open_browser(&driver, &profile_b).await;
    let base = format!("http://{addr}");
    let a = Page {
        client: &client_a,
        base: base.clone(),
        shots: shots.clone(),
    };
    let b = Page {
        client: &client_b,
        base,
        shots,
    };

    sign_in(&a, "ada").await;
    // B ticks "remember me": its cookie lives a week (the session's own
    // sealed expiry), A's the demo's 30 minutes.
    sign_in_with(&b, "ada", true).await;
    let week = 7 * 24 * 3600;
    let lifetime = cookie_lifetime(&b).await.expect("a persistent cookie");
    assert!((week - 60..=week).contains(&lifetime), "{lifetime}");
    let lifetime = cookie_lifetime(&a).await.expect("a persistent cookie");
    assert!((30 * 60 - 60..=30 * 60).contains(&lifetime), "{lifetime}");
    assert_eq!(
        b.attr("remembered", "data-remembered").await.as_deref(),
        Some("true")
    );
    a.visit("/account").await;
    assert_eq!(
        a.number("session-count").await,
        2,
        "both browsers are listed"
    );
    a.screenshot("10-your-sessions").await;
    // B's session re-sealed under the older key (as midway through a key
    // rotation) keeps its user: "sign out everywhere" must reach it too.
    b.visit("/keys").await;
    b.submit("/keys/retired").await;
    assert_eq!(b.text("key-role").await, "an older key");
    let copied = b.cookie().await.expect("b holds a session cookie");

    // Sign out everywhere from browser A.
    a.submit("/logout/everywhere").await;
    assert!(a.text("user-none").await.contains("Not signed in"));

    // Browser B is signed out on its next request (one registry here, so
    // at once; across servers, within the refresh interval).
    b.visit("/account").await;
    assert!(b.text("user-none").await.contains("Not signed in"));
    assert_eq!(
        b.attr("fresh-reason", "data-reason").await.as_deref(),
        Some("Revoked")
    );
    b.screenshot("11-signed-out-elsewhere").await;
    // And the cookie copied from B before does not open either.
    let (status, body) = raw_get(addr, "/account", copied.value()).await;
    assert_eq!(status, 200);
    assert!(body.contains("data-reason=\"Revoked\""), "the copy opened");

    // Signing in again works, and lists only the new session.
    sign_in(&a, "ada").await;
    a.visit("/account").await;
    assert_eq!(a.number("session-count").await, 1);

    client_a.close().await.unwrap();
    client_b.close().await.unwrap();
    let _ = driver.child.kill().await;
}

/// The `Set-Cookie` value for the session cookie in a raw response.
fn session_cookie(response: &str) -> String {
    let line = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a Set-Cookie");
    let pair = line.split_once(':').unwrap().1.trim();
    let pair = pair.split(';').next().unwrap();
    pair.strip_prefix(&format!("{COOKIE}="))
        .expect("the session cookie")
        .to_owned()
}

/// With `metrics`, the demo serves its counters at `/metrics` in the
/// Prometheus text format (outside the session layer) and the key page
/// reads the rotation's progress back from them. No browser needed.
#[cfg(feature = "metrics")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_metrics_and_rotation_progress() {
    let addr = start_demo().await;
    // A junk cookie: a fresh session (rejected), counted, and a new cookie.
    let (status, first) = raw_get(addr, "/", "junk").await;
    assert_eq!(status, 200);
    let cookie = session_cookie(&first);
    let (status, keys) = raw_get(addr, "/keys", &cookie).await;
    assert_eq!(status, 200);
    let primary = keys
        .split("<ol id=ring><li><code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the ring's primary key id")
        .to_owned();
    assert!(keys.contains("<table id=progress>"), "{keys}");
    assert!(
        keys.contains(&format!(
            "<tr><td><code>{primary}</code></td><td>primary</td>"
        )),
        "{keys}"
    );

    let (status, metrics) = raw_get(addr, "/metrics", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("content-type: text/plain; version=0.0.4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE sealed_session_opens_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "sealed_session_opens_total{{key_id=\"{primary}\",algorithm=\"xaes-256-gcm\",primary=\"true\",location=\"cookie\"}}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("sealed_session_loads_total{outcome=\"rejected\",location=\"none\"}"),
        "{metrics}"
    );
    // The scrape itself loaded no session and set no cookie.
    assert!(
        !metrics.to_ascii_lowercase().contains("set-cookie"),
        "{metrics}"
    );
    assert!(!metrics.contains(&cookie), "the cookie value leaked");
}

/// Without `metrics`, `/metrics` says how to get it and the key page says
/// what it would show.
#[cfg(not(feature = "metrics"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_without_metrics_says_how_to_get_them() {
    let addr = start_demo().await;
    let (status, body) = raw_get(addr, "/metrics", "junk").await;
    assert_eq!(status, 404);
    assert!(body.contains("--features axum,metrics"), "{body}");
    let (status, keys) = raw_get(addr, "/keys", "junk").await;
    assert_eq!(status, 200);
    assert!(keys.contains("id=progress-none"), "{keys}");
}
