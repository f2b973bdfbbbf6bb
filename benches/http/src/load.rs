//! The load generator: hyper's HTTP/1.1 client on loopback, a fixed number
//! of keep-alive connections, each sending its next request as soon as the
//! last answer has been read.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{COOKIE, HOST, SET_COOKIE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What one cell's load did.
pub struct Run {
    pub count: usize,
    pub elapsed: Duration,
    /// Each request's latency, in microseconds.
    pub latencies: Vec<u32>,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Empty<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        // Ends when the sender is dropped; an error then is the close.
        let _ = connection.await;
    });
    Ok(sender)
}

fn request(path: &str, cookie: &str) -> Result<Request<Empty<Bytes>>, String> {
    let mut builder = Request::get(path).header(HOST, "127.0.0.1");
    if !cookie.is_empty() {
        builder = builder.header(COOKIE, cookie);
    }
    builder.body(Empty::new()).map_err(|e| e.to_string())
}

/// An answer: its status, the `name=value` of each `Set-Cookie`, its body.
struct Answer {
    status: StatusCode,
    set_cookies: Vec<String>,
    body: String,
}

async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    path: &str,
    cookie: &str,
) -> Result<Answer, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request(path, cookie)?)
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|line| line.split(';').next())
        .map(str::to_owned)
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("GET {path} body: {e}"))?
        .to_bytes();
    Ok(Answer {
        status,
        set_cookies,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `cookie` (a `Cookie` header) with the pairs `set` sets replaced or
/// added.
fn merge(cookie: &str, set: &[String]) -> String {
    let mut pairs: Vec<(String, String)> = cookie
        .split("; ")
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    for line in set {
        if let Some((name, value)) = line.split_once('=') {
            pairs.retain(|(n, _)| n != name);
            if !value.is_empty() {
                pairs.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn expect(answer: &Answer, what: &str, status: StatusCode, body: &str) -> Result<(), String> {
    if answer.status == status && answer.body == body {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {status} {body:?}, got {} {:?}",
            answer.status, answer.body
        ))
    }
}

/// Checks the app at `addr` does what the bench claims, and returns the
/// signed-in cookie its load sends (empty for a bare app).
pub async fn check(addr: SocketAddr, sessions: bool) -> Result<String, String> {
    let mut sender = connect(addr).await?;
    let health = send(&mut sender, "/health", "").await?;
    expect(&health, "/health", StatusCode::OK, "ok")?;
    if sessions && !health.set_cookies.is_empty() {
        return Err(format!("/health set a cookie: {:?}", health.set_cookies));
    }
    let me = send(&mut sender, "/me", "").await?;
    if sessions {
        expect(
            &me,
            "/me signed out",
            StatusCode::UNAUTHORIZED,
            "who are you?",
        )?;
    }
    let login = send(&mut sender, "/login", "").await?;
    expect(&login, "/login", StatusCode::OK, "signed in")?;
    let cookie = merge("", &login.set_cookies);
    if sessions && cookie.is_empty() {
        return Err("/login set no cookie".into());
    }
    let me = send(&mut sender, "/me", &cookie).await?;
    expect(&me, "/me signed in", StatusCode::OK, "hello alice")?;
    if sessions && !me.set_cookies.is_empty() {
        return Err(format!("/me set a cookie: {:?}", me.set_cookies));
    }
    let first = send(&mut sender, "/visit", &cookie).await?;
    expect(&first, "first /visit", StatusCode::OK, "visit 1")?;
    let next = merge(&cookie, &first.set_cookies);
    let second = send(&mut sender, "/visit", &next).await?;
    let counted = if sessions { "visit 2" } else { "visit 1" };
    expect(&second, "second /visit", StatusCode::OK, counted)?;
    Ok(cookie)
}

/// Sends `GET path` with `cookie` over `connections` connections for
/// `duration`; every answer must be 200.
pub async fn drive(
    addr: SocketAddr,
    path: &'static str,
    cookie: &std::sync::Arc<str>,
    connections: usize,
    duration: Duration,
) -> Result<Run, String> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let cookie = cookie.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut latencies = Vec::with_capacity(8192);
            loop {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                sender.ready().await.map_err(|e| e.to_string())?;
                let response = sender
                    .send_request(request(path, &cookie)?)
                    .await
                    .map_err(|e| format!("GET {path}: {e}"))?;
                let status = response.status();
                response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("GET {path} body: {e}"))?;
                if status != StatusCode::OK {
                    return Err(format!("GET {path} answered {status} under load"));
                }
                let micros = sent.elapsed().as_micros();
                latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    Ok(Run {
        count: latencies.len(),
        elapsed,
        latencies,
    })
}
