//! Revocation at scale (issue 25): what a registry of 100 k, 1 M and 10 M
//! live revoked ids costs the server that holds it.
//!
//! For each size, in one run:
//!
//! - **memory**: heap bytes per live entry once filled, and the peak while
//!   filling (counted by `allocation-counter` on the filling thread); then
//!   after half the entries expired and a purge.
//! - **load**: `SessionManager::load_sync` of a signed-in cookie through a
//!   manager with the registry and through one without, interleaved in
//!   blocks of 1 000 loads, each load timed: median and p99 of each, and
//!   their ratios. A criterion group (`load/<size>`) measures the same two
//!   rows again (criterion's median).
//! - **stalls**: the longest a load took while another thread, on the
//!   other core, (a) grew the table by a quarter, and (b) purged the half
//!   that expired; beside each, the same loader while the other thread did
//!   the same work on a *separate* registry (so the loads share no lock
//!   with it): what the machine's scheduler alone costs. Purge time alone
//!   and with the loader running.
//!
//! Then a shared registry: a memory backend holding `SHARED` (default 10 M)
//! live revocations, and the time `Registry::shared(..).start()` takes to
//! read them all (the default staleness bound is 5 s), and to catch up
//! with 1 M more published after it started.
//!
//! Run with `cargo bench --bench revocation`. Sizes:
//! `REVOCATION_SIZES=100000,1000000` and `REVOCATION_SHARED=1000000` to
//! run less.
//!
//! For instruction counts (callgrind counts instructions, not time, so
//! the machine's load does not move them): `REVOCATION_LOADS=<n>` with
//! `REVOCATION_ROW=with|without` fills a registry of `REVOCATION_SIZES`'s
//! first size (and the 1 000 subjects), makes the 4 096 cookies, loads
//! `n` of them through the manager with the registry or without, and
//! exits. The cost of a load is the difference between two runs with
//! different `n`, divided by the difference in `n`:
//!
//! ```text
//! REVOCATION_SIZES=10000 REVOCATION_ROW=with REVOCATION_LOADS=4000 \
//!     valgrind --tool=callgrind target/release/deps/revocation-<hash>
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "benchmark setup and its report: a failure must abort the run, not be measured"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::revocation::{MemoryBackend, Registry, Revocation, RevocationBackend};
use sealed_session::{Key, KeyRing, Session, SessionId, SessionManager};

const DAY: u64 = 86_400;

/// The bench's clock: seconds since the Unix epoch, moved by the bench.
fn clock() -> Arc<AtomicU64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Arc::new(AtomicU64::new(now))
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Random-looking ids without the CSPRNG's per-draw cost (SplitMix64).
struct Ids(u64);

impl Ids {
    fn word(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Iterator for Ids {
    type Item = SessionId;

    fn next(&mut self) -> Option<SessionId> {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.word().to_le_bytes());
        bytes[8..].copy_from_slice(&self.word().to_le_bytes());
        Some(SessionId::from_bytes(bytes))
    }
}

fn registry_on(clock: &Arc<AtomicU64>) -> Registry {
    let clock = Arc::clone(clock);
    Registry::in_memory().with_clock(move || at(clock.load(Ordering::Relaxed)))
}

/// Revokes `n` ids from `seed`, half of them until `short`, half until
/// `long` (alternating).
fn fill(registry: &Registry, seed: u64, n: usize, short: u64, long: u64) {
    for (i, id) in Ids(seed).take(n).enumerate() {
        registry.revoke(id, at(if i % 2 == 0 { short } else { long }));
    }
}

fn manager(registry: Option<&Registry>, key: &Key) -> SessionManager {
    let builder = SessionManager::builder(KeyRing::new([key.clone()]).unwrap());
    match registry {
        Some(r) => builder.registry(r.clone()),
        None => builder,
    }
    .build()
    .unwrap()
}

/// Signed-in cookies loaded in turn: each load looks up another id (and
/// another shard), as a server's loads do, not one the cache keeps warm.
const COOKIES: usize = 4_096;

/// A signed-in session's cookie, as a request.
fn signed_in(manager: &SessionManager, n: usize) -> HeaderMap {
    let mut session: Session<u32> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(7);
    session.set_subject(format!("user:{n}")).unwrap();
    let mut response = HeaderMap::new();
    manager.save_sync(&mut session, &mut response).unwrap();
    let pair = response[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, pair.parse().unwrap());
    request
}

fn load(manager: &SessionManager, requests: &[HeaderMap], n: &mut usize) {
    *n = (*n + 1) % requests.len();
    let session: Session<u32> = manager.load_sync(&requests[*n]).unwrap();
    assert!(!session.is_new());
    black_box(session);
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// A load without a registry followed by one read at a random place in
/// `memory` (as large as the registry): what one access to a table that
/// size costs a load, with no lock and no hashing: the floor of any
/// registry in memory.
fn load_and_read(
    manager: &SessionManager,
    requests: &[HeaderMap],
    n: &mut usize,
    memory: &[u64],
    draw: &mut Ids,
) {
    load(manager, requests, n);
    // A place in `memory` by multiply and shift (Lemire's), not a division.
    let at = ((u128::from(draw.word()) * memory.len() as u128) >> 64) as usize;
    black_box(memory[at]);
}

/// Loads timed one by one, interleaved in blocks of 1 000 between the
/// rows (with the registry, without, without plus one read in `memory`),
/// which go first in turn: each row's times in nanoseconds, sorted.
fn timed_loads(
    with: &SessionManager,
    without: &SessionManager,
    requests: &[HeaderMap],
    memory: &[u64],
) -> [Vec<u64>; 3] {
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    let mut n = 0;
    let mut draw = Ids(7);
    for block in 0..300 {
        for i in 0..3 {
            let row = (block + i) % 3;
            for _ in 0..1_000 {
                let start = Instant::now();
                match row {
                    0 => load(with, requests, &mut n),
                    1 => load(without, requests, &mut n),
                    _ => load_and_read(without, requests, &mut n, memory, &mut draw),
                }
                times[row].push(start.elapsed().as_nanos() as u64);
            }
        }
    }
    times.iter_mut().for_each(|t| t.sort_unstable());
    times
}

/// Runs `work` on another thread while this one loads through `manager`
/// as fast as it can; returns how long `work` took, and the longest and
/// the 99.9th percentile load in nanoseconds.
fn loads_during(
    manager: &SessionManager,
    requests: &[HeaderMap],
    work: impl FnOnce() + Send,
) -> (Duration, u64, u64) {
    let done = AtomicBool::new(false);
    // Touched now, so that recording a time never page-faults: a fault
    // waits for the process's memory map, which the other thread's
    // allocations take.
    let mut times = vec![0u64; 1 << 22];
    times.clear();
    let mut n = 0;
    let took = thread::scope(|s| {
        let worker = s.spawn(|| {
            let start = Instant::now();
            work();
            done.store(true, Ordering::Release);
            start.elapsed()
        });
        while !done.load(Ordering::Acquire) {
            let start = Instant::now();
            load(manager, requests, &mut n);
            times.push(start.elapsed().as_nanos() as u64);
        }
        worker.join().unwrap()
    });
    times.sort_unstable();
    (
        took,
        times.last().copied().unwrap_or(0),
        percentile(&times, 0.999),
    )
}

fn sizes(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn mb(bytes: i64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn size_name(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn one_size(c: &mut Criterion, n: usize) {
    let name = size_name(n);
    let clock = clock();
    let now = clock.load(Ordering::Relaxed);
    let (short, long) = (now + DAY / 2, now + DAY);

    // Memory: filled, and the peak while filling.
    let mut registry = None;
    let filled = allocation_counter::measure(|| {
        let r = registry_on(&clock);
        fill(&r, 1, n, short, long);
        registry = Some(r);
    });
    let registry = registry.unwrap();
    assert_eq!(registry.len(), n);
    let subjects = std::env::var("REVOCATION_SUBJECTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    for subject in 0..subjects {
        registry.revoke_subject(
            &format!("user:{subject}"),
            at(now - 10),
            Duration::from_secs(DAY),
        );
    }
    eprintln!(
        "[{name}] memory: {:.1} B/entry filled ({:.0} MiB), peak while filling {:.1} B/entry",
        filled.bytes_current as f64 / n as f64,
        mb(filled.bytes_current),
        filled.bytes_max as f64 / n as f64,
    );

    // Loads with and without, interleaved.
    let key = Key::generate();
    let with = manager(Some(&registry), &key);
    let without = manager(None, &key);
    let requests: Vec<HeaderMap> = (0..COOKIES).map(|n| signed_in(&with, n)).collect();
    let memory = vec![1u64; (filled.bytes_current.max(8) / 8) as usize];
    let [w, wo, floor] = timed_loads(&with, &without, &requests, &memory);
    let (w50, w99, o50, o99, f50, f99) = (
        percentile(&w, 0.5),
        percentile(&w, 0.99),
        percentile(&wo, 0.5),
        percentile(&wo, 0.99),
        percentile(&floor, 0.5),
        percentile(&floor, 0.99),
    );
    eprintln!(
        "[{name}] load: with registry median {w50} ns, p99 {w99} ns; without median {o50} ns, p99 {o99} ns; ratio median {:.3}, p99 {:.3}; \
         without + one random read in {:.0} MiB: median {f50} ns, p99 {f99} ns, ratio median {:.3}, p99 {:.3}",
        w50 as f64 / o50 as f64,
        w99 as f64 / o99 as f64,
        mb(filled.bytes_current),
        f50 as f64 / o50 as f64,
        f99 as f64 / o99 as f64,
    );
    drop(memory);
    let mut group = c.benchmark_group(format!("load/{name}"));
    let mut turn = 0;
    group.bench_function("without_registry", |b| {
        b.iter(|| load(&without, &requests, &mut turn))
    });
    group.bench_function("with_registry", |b| {
        b.iter(|| load(&with, &requests, &mut turn))
    });
    group.finish();
    let mut group = c.benchmark_group(format!("check/{name}"));
    let probes: Vec<SessionId> = Ids(99).take(COOKIES).collect();
    let issued = at(now - 100);
    let mut i = 0;
    group.bench_function("id_only", |b| {
        b.iter(|| {
            i = (i + 1) % COOKIES;
            registry.check(probes[i], None, issued, issued)
        })
    });
    group.bench_function("id_and_subject", |b| {
        b.iter(|| {
            i = (i + 1) % COOKIES;
            registry.check(probes[i], Some("user:4242"), issued, issued)
        })
    });
    group.finish();

    // Stalls while the table grows by a quarter, against the same work on
    // a registry the loads do not use.
    let grow = (n / 4).max(1);
    let longest_write = AtomicU64::new(0);
    let timed_fill = |registry: &Registry, seed: u64| {
        for (i, id) in Ids(seed).take(grow).enumerate() {
            let start = Instant::now();
            registry.revoke(id, at(if i % 2 == 0 { short } else { long }));
            longest_write.fetch_max(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    };
    let (took, max, p999) = loads_during(&with, &requests, || timed_fill(&registry, 2));
    let write_max = longest_write.swap(0, Ordering::Relaxed);
    let other = registry_on(&clock);
    fill(&other, 3, n, short, long);
    let (b_took, b_max, b_p999) = loads_during(&with, &requests, || timed_fill(&other, 4));
    let b_write_max = longest_write.load(Ordering::Relaxed);
    eprintln!(
        "[{name}] growing by {}: longest load {:.1} µs (p99.9 {:.1} µs), longest write {:.1} µs, in {:.0} ms; \
         same work on a separate registry: longest load {:.1} µs (p99.9 {:.1} µs), longest write {:.1} µs, in {:.0} ms",
        size_name(grow),
        max as f64 / 1e3,
        p999 as f64 / 1e3,
        write_max as f64 / 1e3,
        took.as_secs_f64() * 1e3,
        b_max as f64 / 1e3,
        b_p999 as f64 / 1e3,
        b_write_max as f64 / 1e3,
        b_took.as_secs_f64() * 1e3,
    );

    // Half expire: purge alone (on the separate registry), then with the
    // loader (on the loaded one).
    clock.store(short + 3_600, Ordering::Relaxed);
    let start = Instant::now();
    other.purge();
    let alone = start.elapsed();
    // The same loader while the other registry is refilled and purged: the
    // machine's own stalls.
    clock.store(now, Ordering::Relaxed);
    fill(&other, 6, n / 2, short, long);
    clock.store(short + 3_600, Ordering::Relaxed);
    let (_, b_max, b_p999) = loads_during(&with, &requests, || other.purge());
    let (took, max, p999) = loads_during(&with, &requests, || registry.purge());
    eprintln!(
        "[{name}] purging half: alone {:.1} ms, with a loader {:.1} ms; longest load meanwhile {:.1} µs (p99.9 {:.1} µs); \
         while a separate registry purges: longest load {:.1} µs (p99.9 {:.1} µs); {} entries left",
        alone.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3,
        max as f64 / 1e3,
        p999 as f64 / 1e3,
        b_max as f64 / 1e3,
        b_p999 as f64 / 1e3,
        registry.len(),
    );
    drop((with, without, registry, other));

    // Memory falls back: filled, then every entry expired and purged.
    let clock = self::clock();
    let mut kept = None;
    let after = allocation_counter::measure(|| {
        let r = registry_on(&clock);
        fill(&r, 5, n, short, short);
        clock.store(short + 3_600, Ordering::Relaxed);
        r.purge();
        kept = Some(r);
    });
    let kept = kept.unwrap();
    eprintln!(
        "[{name}] after every entry expired and a purge: {:.2} MiB held ({} entries; {:.0} MiB filled)",
        mb(after.bytes_current),
        kept.len(),
        mb(filled.bytes_current),
    );
}

fn shared_start(n: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = MemoryBackend::new();
        let until = SystemTime::now() + Duration::from_secs(DAY);
        let publish = |seed: u64, n: usize| {
            let backend = backend.clone();
            async move {
                let ids: Vec<Revocation> = Ids(seed)
                    .take(n)
                    .map(|id| Revocation::Session {
                        key: id.into(),
                        until,
                    })
                    .collect();
                for page in ids.chunks(10_000) {
                    backend.publish(page).await.unwrap();
                }
            }
        };
        let start = Instant::now();
        publish(10, n).await;
        eprintln!(
            "[shared {}] published to the memory backend in {:.1} s",
            size_name(n),
            start.elapsed().as_secs_f64()
        );
        let start = Instant::now();
        let registry = Registry::shared(backend.clone()).start().await.unwrap();
        let started = start.elapsed();
        assert_eq!(registry.len(), n);
        publish(11, 1_000_000).await;
        let start = Instant::now();
        registry.flush().await.unwrap();
        let caught_up = start.elapsed();
        assert_eq!(registry.len(), n + 1_000_000);
        eprintln!(
            "[shared {}] start read every live revocation in {:.2} s (staleness bound {} s); \
             caught up with 1M more in {:.2} s; stale after: {}",
            size_name(n),
            started.as_secs_f64(),
            sealed_session::revocation::DEFAULT_STALENESS_BOUND.as_secs(),
            caught_up.as_secs_f64(),
            registry.health().stale,
        );
    });
}

/// The callgrind mode (see the module's documentation).
fn loads_only(n: usize, loads: usize, with_registry: bool) {
    let clock = clock();
    let now = clock.load(Ordering::Relaxed);
    let registry = registry_on(&clock);
    fill(&registry, 1, n, now + DAY / 2, now + DAY);
    for subject in 0..1_000 {
        registry.revoke_subject(
            &format!("user:{subject}"),
            at(now - 10),
            Duration::from_secs(DAY),
        );
    }
    let key = Key::generate();
    let with = manager(Some(&registry), &key);
    let without = manager(None, &key);
    let requests: Vec<HeaderMap> = (0..COOKIES).map(|n| signed_in(&with, n)).collect();
    let manager = if with_registry { &with } else { &without };
    let mut turn = 0;
    for _ in 0..loads {
        load(manager, &requests, &mut turn);
    }
}

fn main() {
    if let Ok(loads) = std::env::var("REVOCATION_LOADS") {
        let n = sizes("REVOCATION_SIZES", "10000")[0];
        let row = std::env::var("REVOCATION_ROW").unwrap_or_default();
        loads_only(n, loads.parse().unwrap(), row == "with");
        return;
    }
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    for n in sizes("REVOCATION_SIZES", "100000,1000000,10000000") {
        one_size(&mut c, n);
    }
    for n in sizes("REVOCATION_SHARED", "10000000") {
        shared_start(n);
    }
    c.final_summary();
}
