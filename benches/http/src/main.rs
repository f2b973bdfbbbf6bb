//! The same small app, served on loopback with sealed-session and with the
//! session libraries people use today, under one in-process load generator
//! (issue 26).
//!
//! The app has three routes, the same in every row:
//!
//! - `GET /visit` reads the session, adds one to a counter and writes it
//!   back (the writing route);
//! - `GET /me` reads who is signed in and answers `401` when no one is (the
//!   read-only route);
//! - `GET /health` takes no session;
//!
//! and `GET /login`, which signs `alice` in and is used only to get the
//! cookie the load sends. The rows:
//!
//! | framework | row | sessions |
//! |---|---|---|
//! | axum 0.8 | `none` | no session layer (the bare app) |
//! | axum 0.8 | `tower-sessions` | tower-sessions 0.14, its `MemoryStore` |
//! | axum 0.8 | `axum-extra` | axum-extra's `PrivateCookieJar`, the session as serde_json |
//! | axum 0.8 | `sealed-session` | this crate, the session in the cookie |
//! | axum 0.8 | `sealed-session-spilled` | this crate, every session spilled to its `MemoryStore` (the session carries 100 bytes more, see [`AppSession::notes`]) |
//! | actix-web 4 | `none` | no session middleware (the bare app) |
//! | actix-web 4 | `actix-session` | actix-session 0.11, its `CookieSessionStore` (private) |
//! | actix-web 4 | `sealed-session` | this crate, the session in the cookie |
//!
//! Every server runs on one thread of its own (axum on a current-thread
//! tokio runtime, actix-web with one worker), and the load generator on the
//! main thread: on a 2-core machine, one core serves and one loads. The
//! load is `--connections` keep-alive HTTP/1.1 connections (hyper's client),
//! each sending its next request when the last answer is read, so the rows
//! compare at a fixed concurrency. Rows are interleaved: each round runs
//! every route on every row for `--millis`, and a row's ratio to the bare
//! app of its framework is taken within each round, then the median over
//! rounds is reported. Latency quantiles are over every request of the
//! rounds.
//!
//! Before any load, each row is checked: signed out, `/me` is refused;
//! signed in, `/me` greets alice and two visits count to 2. A row that
//! fails a check, or any request under load that does not answer 200,
//! stops the run with an error.
//!
//! ```sh
//! cargo run --release --manifest-path benches/http/Cargo.toml -- --rounds 5 --millis 1000
//! ```
//!
//! `--quick` (one round of 100 ms, for CI) proves the rows work; its figures
//! mean nothing. `--route /me` measures one route only (for a profile).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod actix_rows;
mod axum_rows;
mod load;

/// The session every row keeps.
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
pub struct AppSession {
    /// Who is signed in; empty when no one is.
    pub user: String,
    /// The visit counter `/visit` adds one to.
    pub visits: u64,
    /// Empty, except in the spilled row: 100 bytes that take its session
    /// past the smallest cookie a manager with a store can be given (a
    /// pointer's), so every session of that row is spilled.
    pub notes: String,
}

/// The key every row stores its session under (the peers keep a map).
pub const KEY: &str = "app";

/// Which framework a row runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Framework {
    Axum,
    Actix,
}

impl Framework {
    fn name(self) -> &'static str {
        match self {
            Self::Axum => "axum 0.8",
            Self::Actix => "actix-web 4",
        }
    }
}

/// One app under test: where it listens and whether it keeps sessions.
struct Row {
    framework: Framework,
    name: &'static str,
    addr: SocketAddr,
    sessions: bool,
}

const ROUTES: [(&str, &str); 3] = [
    ("/visit", "writes"),
    ("/me", "reads"),
    ("/health", "no session"),
];

struct Options {
    rounds: usize,
    millis: u64,
    connections: usize,
    /// Only the routes whose path contains this, when set (for a profile).
    route: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        rounds: 5,
        millis: 1000,
        connections: 8,
        route: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} takes a number"))
        };
        match arg.as_str() {
            "--quick" => {
                options.rounds = 1;
                options.millis = 100;
            }
            "--rounds" => options.rounds = number("--rounds")?.max(1) as usize,
            "--millis" => options.millis = number("--millis")?.max(10),
            "--connections" => options.connections = number("--connections")?.max(1) as usize,
            "--route" => options.route = args.next(),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; use --quick, --rounds N, --millis N, --connections N, --route PATH"
                ));
            }
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let options = options()?;
    let mut rows = Vec::new();
    for (name, sessions, app) in axum_rows::apps()? {
        rows.push(Row {
            framework: Framework::Axum,
            name,
            addr: axum_rows::serve(app)?,
            sessions,
        });
    }
    for (name, sessions) in actix_rows::NAMES {
        rows.push(Row {
            framework: Framework::Actix,
            name,
            addr: actix_rows::serve(name)?,
            sessions,
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(measure(&rows, &options))
}

/// What one (row, route) cell measured over the rounds.
#[derive(Default)]
struct Cell {
    /// Requests per second, one per round.
    rates: Vec<f64>,
    /// Every request's latency, in microseconds.
    latencies: Vec<u32>,
}

async fn measure(rows: &[Row], options: &Options) -> Result<(), String> {
    let mut cookies = Vec::new();
    for row in rows {
        let cookie = load::check(row.addr, row.sessions)
            .await
            .map_err(|e| format!("{} / {}: {e}", row.framework.name(), row.name))?;
        cookies.push(Arc::<str>::from(cookie));
    }
    eprintln!(
        "checked {} rows; {} round(s) of {} ms per route and row, {} connections",
        rows.len(),
        options.rounds,
        options.millis,
        options.connections
    );
    let duration = Duration::from_millis(options.millis);
    // Warm every row and route up once, unmeasured.
    for (row, cookie) in rows.iter().zip(&cookies) {
        for (path, _) in ROUTES {
            load::drive(row.addr, path, cookie, options.connections, duration / 4).await?;
        }
    }
    let mut cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|_| ROUTES.iter().map(|_| Cell::default()).collect())
        .collect();
    let started = Instant::now();
    for round in 0..options.rounds {
        for (route, (path, _)) in ROUTES.iter().enumerate() {
            if options
                .route
                .as_ref()
                .is_some_and(|only| !path.contains(only.as_str()))
            {
                continue;
            }
            for (row, cookie) in rows.iter().zip(&cookies) {
                let run =
                    load::drive(row.addr, path, cookie, options.connections, duration).await?;
                let cell = cells
                    .iter_mut()
                    .zip(rows)
                    .find(|(_, r)| r.addr == row.addr)
                    .and_then(|(cells, _)| cells.get_mut(route))
                    .ok_or("no cell")?;
                cell.rates.push(run.rate());
                cell.latencies.extend(run.latencies);
            }
        }
        eprintln!("round {} of {} done", round + 1, options.rounds);
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());
    report(rows, &mut cells, options);
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[at.min(sorted.len() - 1)])
}

fn report(rows: &[Row], cells: &mut [Vec<Cell>], options: &Options) {
    for row_cells in cells.iter_mut() {
        for cell in row_cells.iter_mut() {
            cell.latencies.sort_unstable();
        }
    }
    println!(
        "| framework | sessions | route | req/s | ÷ bare req/s | p50 µs | ÷ bare p50 | p99 µs | ÷ bare p99 |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for (route, (path, what)) in ROUTES.iter().enumerate() {
        if cells.first().is_some_and(|row| row[route].rates.is_empty()) {
            continue;
        }
        for (index, row) in rows.iter().enumerate() {
            let bare = rows
                .iter()
                .position(|r| r.framework == row.framework && !r.sessions)
                .unwrap_or(index);
            let (cell, base) = (&cells[index][route], &cells[bare][route]);
            let mut ratios: Vec<f64> = cell
                .rates
                .iter()
                .zip(&base.rates)
                .map(|(rate, base)| rate / base)
                .collect();
            let mut rates = cell.rates.clone();
            let (p50, p99) = (
                quantile(&cell.latencies, 0.50),
                quantile(&cell.latencies, 0.99),
            );
            let (base50, base99) = (
                quantile(&base.latencies, 0.50),
                quantile(&base.latencies, 0.99),
            );
            println!(
                "| {} | {} | `{path}` ({what}) | {:.0} | {:.3} | {p50:.0} | {:.2} | {p99:.0} | {:.2} |",
                row.framework.name(),
                row.name,
                median(&mut rates),
                median(&mut ratios),
                p50 / base50,
                p99 / base99,
            );
        }
    }
    println!(
        "\n{} round(s) of {} ms per cell, {} connections; req/s and its ratio are medians over the rounds",
        options.rounds, options.millis, options.connections
    );
}
