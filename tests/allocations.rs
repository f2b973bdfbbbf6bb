//! Heap allocations per seal, open, load and save (tracker issue 7).
//!
//! A counting global allocator (`allocation-counter`'s, which wraps
//! `std::alloc::System`; this crate forbids unsafe code in every target, so
//! it cannot implement `GlobalAlloc` itself) counts the blocks each call
//! allocates. The library should add nothing beyond the output string on
//! seal and what deserializing the user's own type allocates on open.
//!
//! The counter is per thread: it counts only what the calling thread
//! allocates while the measured closure runs, so what the test harness or
//! any other thread allocates meanwhile is never in a count, however a
//! loaded machine schedules them. Everything measured here runs on the
//! calling thread (no store, no runtime, no thread spawned), and the rows
//! asserted nonzero (the seal's output string, the session's own strings)
//! show that the counter sees it. Everything runs in one `#[test]` all the
//! same: the rows share the thread's warm-up (its RNG, the XAES-256-GCM
//! subkey cache), which the manager's rows rely on. Run with
//! `cargo test --test allocations -- --nocapture` to see the table of counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sealed_session::{Algorithm, Codec, Key, KeyRing, Session, SessionManager, Times};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Blocks the calling thread allocated while `f` ran (what it returns is
/// dropped after counting). A reallocation counts as one block:
/// `allocation-counter`'s allocator leaves `realloc` to `GlobalAlloc`'s
/// default, which allocates the new block, copies and frees the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Blocks {
    allocs: u64,
}

fn count<R>(f: impl FnOnce() -> R) -> (R, Blocks) {
    let mut result = None;
    let info = allocation_counter::measure(|| result = Some(f()));
    (
        result.expect("measure runs the closure"),
        Blocks {
            allocs: info.count_total,
        },
    )
}

/// The benchmarks' small session: about 60 bytes of postcard, two heap
/// fields of its own (`name`, `role`).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct SmallSession {
    user_id: u64,
    name: String,
    role: String,
    csrf: [u8; 32],
    logged_in_at: u64,
}

fn small() -> SmallSession {
    SmallSession {
        user_id: 1_234_567,
        name: "Alice Liddel".to_owned(),
        role: "admin".to_owned(),
        csrf: [0x5a; 32],
        logged_in_at: 1_760_000_000,
    }
}

/// A session with no heap fields at all.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PlainSession {
    user_id: u64,
    visits: u32,
    flags: u16,
    csrf: [u8; 32],
    logged_in_at: u64,
}

/// A session past the codec's 512-byte first stack buffer (a cart and
/// preferences, about 1.5 KB of postcard), so the larger buffer is used.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct LargeSession {
    base: SmallSession,
    cart: Vec<(String, u32, u64)>,
    prefs: Vec<(String, String)>,
}

fn large() -> LargeSession {
    LargeSession {
        base: small(),
        cart: (0..10)
            .map(|i| (format!("SKU-{i:06}-BLU"), i + 1, 1999 + u64::from(i) * 100))
            .collect(),
        prefs: (0..40)
            .map(|i| {
                (
                    format!("pref.section{i:02}.option"),
                    format!("value-{i:03}"),
                )
            })
            .collect(),
    }
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

fn later() -> SystemTime {
    t0() + Duration::from_secs(60)
}

fn codec(algorithm: Algorithm) -> Codec {
    codec_of(&Key::generate().with_algorithm(algorithm))
}

/// A codec over a ring of `key` alone: each call builds a new ring, and so
/// (for XAES-256-GCM) a new sealing epoch.
fn codec_of(key: &Key) -> Codec {
    Codec::builder(KeyRing::new([key.clone()]).unwrap())
        .build()
        .unwrap()
}

/// `value` with the last byte of its tag flipped, still valid base64.
fn bad_tag(value: &str) -> String {
    let mut raw = URL_SAFE_NO_PAD.decode(value).unwrap();
    *raw.last_mut().unwrap() ^= 1;
    URL_SAFE_NO_PAD.encode(raw)
}

/// What deserializing a `T` from its own postcard bytes allocates: the
/// user's own heap fields, the bar the codec's open is held to.
fn own_blocks<T: Serialize + DeserializeOwned>(value: &T) -> Blocks {
    let bytes = postcard::to_allocvec(value).unwrap();
    count(|| postcard::from_bytes::<T>(&bytes).unwrap()).1
}

/// One row of the report.
struct Row {
    what: String,
    blocks: Blocks,
}

fn row(rows: &mut Vec<Row>, what: impl Into<String>, blocks: Blocks) -> Blocks {
    rows.push(Row {
        what: what.into(),
        blocks,
    });
    blocks
}

const NONE: Blocks = Blocks { allocs: 0 };

const fn allocs(n: u64) -> Blocks {
    Blocks { allocs: n }
}

/// Seal and open through the codec, for each algorithm.
fn codec_rows(rows: &mut Vec<Row>) {
    let own_small = own_blocks(&small());
    let own_large = own_blocks(&large());
    assert_eq!(own_small, allocs(2), "name and role");
    for algorithm in [
        Algorithm::Xaes256Gcm,
        Algorithm::Aes256Gcm,
        Algorithm::XChaCha20Poly1305,
    ] {
        let key = Key::generate().with_algorithm(algorithm);
        let codec = codec_of(&key);
        let (small, plain, large) = (small(), PlainSession::default(), large());
        // Warm up: the thread's RNG is created on its first use, and for
        // XAES-256-GCM, the sealing epoch on the key's first seal and the
        // subkey cache on the thread's first open (one block each, counted
        // below).
        let (sealed, b) = count(|| {
            codec
                .seal_with_times(&plain, Times::new(t0()))
                .unwrap()
                .into_value()
        });
        row(rows, format!("{algorithm:?}: first seal on a thread"), b);
        let (_, b) = count(|| codec.open_at::<PlainSession>(&sealed, later()).unwrap());
        row(rows, format!("{algorithm:?}: first open on a thread"), b);
        let sealed_small = codec
            .seal_with_times(&small, Times::new(t0()))
            .unwrap()
            .into_value();
        let sealed_plain = codec
            .seal_with_times(&plain, Times::new(t0()))
            .unwrap()
            .into_value();
        let sealed_large = codec
            .seal_with_times(&large, Times::new(t0()))
            .unwrap()
            .into_value();
        let forged = bad_tag(&sealed_small);

        let (_, b) = count(|| codec.seal_with_times(&small, Times::new(t0())).unwrap());
        assert_eq!(
            row(rows, format!("{algorithm:?}: seal small"), b),
            allocs(1),
            "only the output string"
        );
        let (_, b) = count(|| codec.seal_with_times(&large, Times::new(t0())).unwrap());
        assert_eq!(
            row(rows, format!("{algorithm:?}: seal large"), b),
            allocs(1),
            "only the output string"
        );
        let (_, b) = count(|| {
            codec
                .open_at::<PlainSession>(&sealed_plain, later())
                .unwrap()
        });
        assert_eq!(
            row(rows, format!("{algorithm:?}: open plain (no heap)"), b),
            NONE
        );
        let (_, b) = count(|| {
            codec
                .open_at::<SmallSession>(&sealed_small, later())
                .unwrap()
        });
        assert_eq!(
            row(rows, format!("{algorithm:?}: open small"), b),
            own_small,
            "only the session's own strings"
        );
        let (_, b) = count(|| {
            codec
                .open_at::<LargeSession>(&sealed_large, later())
                .unwrap()
        });
        assert_eq!(
            row(rows, format!("{algorithm:?}: open large"), b),
            own_large,
            "only the session's own strings and vectors"
        );
        let (result, b) = count(|| codec.open_at::<SmallSession>(&forged, later()).is_err());
        assert!(result);
        assert_eq!(
            row(rows, format!("{algorithm:?}: open rejected (bad tag)"), b),
            NONE
        );
        // Sealed under another epoch (another ring of the same key), so its
        // XAES-256-GCM prefix is not in this thread's cache: the miss
        // builds its cipher in place, allocating nothing.
        let elsewhere = codec_of(&key)
            .seal_with_times(&plain, Times::new(t0()))
            .unwrap()
            .into_value();
        let (_, b) = count(|| codec.open_at::<PlainSession>(&elsewhere, later()).unwrap());
        assert_eq!(
            row(rows, format!("{algorithm:?}: open plain, new prefix"), b),
            NONE
        );
    }
    row(rows, "reference: postcard::from_bytes small", own_small);
    row(rows, "reference: postcard::from_bytes large", own_large);
}

/// A request carrying `pair` after 15 ordinary cookies.
fn request(pair: &str) -> HeaderMap {
    let mut header = String::new();
    for i in 0..15 {
        let _ = write!(header, "pref_{i}=value-{i:04}; ");
    }
    header.push_str(pair);
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
    headers
}

/// With the `metrics` feature, a load that opens a session counts the open
/// by key id: that label set (the id's hex and the labels' vector) is built
/// per call. Every other metric uses static labels and allocates nothing.
const OPEN_METRIC_ALLOCS: u64 = if cfg!(feature = "metrics") { 2 } else { 0 };

/// Load and save through the manager (default algorithm, no store).
fn manager_rows(rows: &mut Vec<Row>) {
    let manager = SessionManager::with_codec(codec(Algorithm::Xaes256Gcm))
        .build()
        .unwrap();
    let mut session: Session<SmallSession> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(small());
    let mut response = HeaderMap::new();
    manager.save_sync(&mut session, &mut response).unwrap();
    let line = response[SET_COOKIE].to_str().unwrap();
    let request = request(line.split(';').next().unwrap());

    let (session, b) = count(|| manager.load_sync::<SmallSession>(&request).unwrap());
    assert!(!session.is_new());
    assert_eq!(
        row(rows, "manager: load_sync small (16 cookies)", b),
        allocs(2 + OPEN_METRIC_ALLOCS),
        "only the session's own strings (and the open's metric labels)"
    );
    let (session, b) = count(|| {
        manager
            .load_sync::<SmallSession>(&HeaderMap::new())
            .unwrap()
    });
    assert!(session.is_new());
    assert_eq!(row(rows, "manager: load_sync, no cookie", b), NONE);

    let mut session = manager.load_sync::<SmallSession>(&request).unwrap();
    session.logged_in_at += 1;
    // A response map with room: growing the caller's map is not the
    // manager's allocation.
    let mut response = HeaderMap::with_capacity(8);
    let (_, b) = count(|| manager.save_sync(&mut session, &mut response).unwrap());
    assert_eq!(
        row(rows, "manager: save_sync small", b),
        allocs(2),
        "the sealed value and the Set-Cookie header value"
    );
    assert!(response[SET_COOKIE].is_sensitive());

    // Reported, not asserted: into a new, empty map, `http` allocates the
    // map's own tables on the first insert.
    session.logged_in_at += 1;
    let mut response = HeaderMap::new();
    let (_, b) = count(|| manager.save_sync(&mut session, &mut response).unwrap());
    row(rows, "manager: save_sync small, empty HeaderMap", b);

    // A hostile 1 MiB header (50 000 pairs): the bounded scan allocates
    // nothing, and the fresh session's empty strings do not either.
    let hostile: String = (0..50_000).map(|i| format!("c{i:05}=v{i:011}; ")).collect();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, HeaderValue::from_str(&hostile).unwrap());
    let (session, b) = count(|| manager.load_sync::<SmallSession>(&request).unwrap());
    assert!(session.is_new());
    assert_eq!(
        row(rows, "manager: load_sync, hostile 1 MiB header", b),
        NONE
    );
}

#[test]
fn seal_open_load_and_save_allocate_only_their_outputs() {
    let mut rows = Vec::with_capacity(32);
    codec_rows(&mut rows);
    manager_rows(&mut rows);
    let mut table =
        String::from("allocations per call (blocks allocated, a reallocation counting one):\n");
    for Row { what, blocks } in &rows {
        let _ = writeln!(table, "  {what:<44} {:>2}", blocks.allocs);
    }
    println!("{table}");
}
