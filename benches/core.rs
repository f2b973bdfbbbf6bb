//! The sealed core against the tools people use today, on the same data, in
//! one run (tracker issues 2 and 7).
//!
//! Groups, each named `operation/size` with one row per implementation:
//! - `seal/{small,medium,large}`, `open/{…}` (a value that opens) and
//!   `open_rejected/{…}` (the same value with one tag bit flipped):
//!   sealed-session under each algorithm; the `cookie` crate's `PrivateJar`
//!   with `serde_json` (what axum-extra's `PrivateCookieJar` does); and a
//!   bare floor: postcard, AES-256-GCM with a reused cipher, base64url.
//!   The default algorithm's rows open a value whose XAES-256-GCM prefix
//!   this thread has seen (its subkey is cached; for a rejected value, the
//!   genuine value was opened first). Beside them,
//!   `xaes-256-gcm/new_prefix` opens values that each come from another
//!   sealing epoch, cycling through more than a thread's cache holds, so
//!   every open is a first sight of its prefix (a cache miss); in
//!   `open_rejected` those values have a flipped tag bit: a forged cookie
//!   with a valid key id and a prefix never seen.
//!   The XChaCha20-Poly1305 rows include the `poly1305` crate's AVX2 set-up,
//!   about 1.7 µs per message on x86-64 with AVX2 (no feature or API of
//!   poly1305 0.9 or chacha20poly1305 0.11 avoids it; only building with
//!   `RUSTFLAGS='--cfg poly1305_backend="soft"'` does).
//! - `rotation`: open a value sealed by the 1st and by the 8th key of an
//!   8-key ring (and, for reference, by a 1-key ring).
//! - `header`: `SessionManager::load_sync` of the small session from a
//!   realistic `Cookie` header (15 other cookies before it), from a hostile
//!   1 MiB header of 50 000 pairs, and from a 1 MiB header of forged
//!   session cookies; beside the first two, the peer's path (parse every
//!   pair into a `cookie::CookieJar`, as axum-extra's extractor does, then
//!   the private jar and JSON).
//! - `nonce/24_bytes`: one 24-byte nonce from each way of drawing it (issue
//!   10, defect 5): rand's thread RNG (what sealed-session used before; not
//!   fork-safe), a `getrandom` system call per nonce (`OsRng`), the
//!   generator sealed-session ships (a per-thread ChaCha12 with a process-id
//!   check before each draw), the `getpid` call alone, and the hot path of a
//!   `MADV_WIPEONFORK` detector (a marker read from a per-thread page; here a
//!   heap page, since the advice itself needs `unsafe` this crate forbids).
//! - `crates/…`: the building blocks alone, on a small session's sizes
//!   (issue 14): base64url-decoding a 188-character value with the `base64`
//!   crate and with `base64-simd` (what this crate uses), and sealing and
//!   opening a 110-byte message with a reused AES-256-GCM from aes-gcm 0.11
//!   (this crate's, over aes 0.9) and from aes-gcm 0.10 (PrivateJar's, over
//!   aes 0.8). On CPUs with AVX-512 and VAES, aes 0.9 picks a VAES-512
//!   backend that broadcasts all 15 round keys at every call into the
//!   cipher, which AES-GCM makes three times per message: a fixed cost that
//!   only short messages notice, and that the peer's older crate does not
//!   pay.
//!
//! - `schema`: opening the small session sealed for the type it is opened
//!   as (`current`), sealed for an older definition of it with one
//!   defaulted field fewer (`older_definition`: the schema id is found
//!   among the type's older definitions, traced once per thread, and the
//!   value decoded with the missing field at its default), and sealed for
//!   an older type converted by a declared migration (`migrated`), the
//!   only way before issue 23.
//!
//! The load → modify → save cycle is in `benches/session.rs`.
//!
//! Run with `cargo bench --bench core`. The payload and sealed sizes of
//! every row are printed to stderr before the timings.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure must abort the run, not be measured"
)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::cell::RefCell;
use std::fmt::Debug;
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cookie::{Cookie, CookieJar};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use rand::rngs::{OsRng, StdRng};
use rand::{RngCore as _, SeedableRng as _, TryRngCore as _};
use sealed_session::{Algorithm, Codec, Key, KeyRing, Session, SessionManager, Times};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The cookie name every row binds or stores under.
const NAME: &str = "session";

/// Bytes of AES-GCM nonce and tag in the floor row.
const FLOOR_NONCE_BYTES: usize = 12;
const FLOOR_TAG_BYTES: usize = 16;

/// The floor's stack buffers: the sizes sealed-session itself uses (512
/// bytes first, 3 KiB for larger values), so both zero-fill the same.
const SMALL_BUF: usize = 512;
const LARGE_BUF: usize = 3072;

/// Measurement per row; with one second of warm-up, the whole run stays
/// under six minutes.
const MEASUREMENT: Duration = Duration::from_millis(2500);
const WARM_UP: Duration = Duration::from_secs(1);

/// A typical small session: about 60 bytes of postcard.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct SmallSession {
    user_id: u64,
    name: String,
    role: String,
    csrf: [u8; 32],
    logged_in_at: u64,
}

/// One line of a shopping cart.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct CartItem {
    sku: String,
    qty: u32,
    price_cents: u64,
}

/// The small session plus a cart of 10 items.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct MediumSession {
    user: SmallSession,
    cart: Vec<CartItem>,
}

/// The medium session plus 40 string preference pairs: about 1.5 KB of
/// postcard.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct LargeSession {
    user: SmallSession,
    cart: Vec<CartItem>,
    prefs: Vec<(String, String)>,
}

fn small() -> SmallSession {
    // Fixed bytes spread over 0..=255 so the sizes printed are the same on
    // every run; a real token is random, which JSON prints about as long.
    let mut csrf = [0u8; 32];
    for (i, b) in (0u8..).zip(csrf.iter_mut()) {
        *b = i.wrapping_mul(97).wrapping_add(13);
    }
    SmallSession {
        user_id: 1_234_567,
        name: "Alice Liddel".to_owned(),
        role: "admin".to_owned(),
        csrf,
        logged_in_at: 1_760_000_000,
    }
}

fn cart() -> Vec<CartItem> {
    (0u32..10)
        .map(|i| CartItem {
            sku: format!(
                "SKU-{:06}-{}",
                100_000 + i * 7919,
                ["BLU", "RED", "L"][i as usize % 3]
            ),
            qty: 1 + i % 3,
            price_cents: 1_999 + u64::from(i) * 1_250,
        })
        .collect()
}

fn medium() -> MediumSession {
    MediumSession {
        user: small(),
        cart: cart(),
    }
}

fn large() -> LargeSession {
    const AREAS: [&str; 8] = [
        "notifications",
        "dashboard",
        "editor",
        "privacy",
        "display",
        "search",
        "billing",
        "sharing",
    ];
    const VALUES: [&str; 5] = ["enabled", "disabled", "compact", "weekly-digest", "en-GB"];
    LargeSession {
        user: small(),
        cart: cart(),
        prefs: (0..40)
            .map(|i| {
                (
                    format!("{}.option-{i:02}", AREAS[i % AREAS.len()]),
                    format!("{}-{i}", VALUES[i % VALUES.len()]),
                )
            })
            .collect(),
    }
}

/// The clock both seal and open use: issued at `T0`, opened a minute later,
/// well inside the default timeouts.
fn issued() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

fn opened_now() -> SystemTime {
    issued() + Duration::from_secs(60)
}

fn codec(algorithm: Algorithm) -> Codec {
    let ring = KeyRing::new([Key::generate().with_algorithm(algorithm)]).expect("ring");
    Codec::builder(ring).build().expect("codec")
}

/// The rows: (label, codec) for sealed-session under each algorithm, default
/// first.
fn codecs() -> Vec<(&'static str, Codec)> {
    vec![
        ("xaes-256-gcm", codec(Algorithm::Xaes256Gcm)),
        ("aes-256-gcm", codec(Algorithm::Aes256Gcm)),
        ("xchacha20-poly1305", codec(Algorithm::XChaCha20Poly1305)),
    ]
}

/// The cache-miss row: see the module docs.
const NEW_PREFIX_ROW: &str = "xaes-256-gcm/new_prefix";

/// Values the cache-miss row cycles through: many more than the 64 a
/// thread's subkey cache holds.
const NEW_PREFIX_VALUES: usize = 1024;

/// A codec of a new XAES-256-GCM key, and `NEW_PREFIX_VALUES` values of
/// `session` sealed under that key by other rings (each with its own sealing
/// epoch, so its own prefix), with the tag flipped unless `accepted`. The
/// codec has opened none of them: its cache holds none of their prefixes.
fn new_prefix_values<T: Serialize + DeserializeOwned + 'static>(
    session: &T,
    accepted: bool,
) -> (Codec, Vec<String>) {
    let key = Key::generate().with_algorithm(Algorithm::Xaes256Gcm);
    let codec_of = || {
        Codec::builder(KeyRing::new([key.clone()]).expect("ring"))
            .build()
            .expect("codec")
    };
    let values = (0..NEW_PREFIX_VALUES)
        .map(|_| {
            let sealed = seal(&codec_of(), session);
            if accepted {
                sealed
            } else {
                bad_tag_url(&sealed)
            }
        })
        .collect();
    (codec_of(), values)
}

const PRIVATE_JAR_ROW: &str = "privatejar+json";
const FLOOR_ROW: &str = "floor-postcard+aes-256-gcm+b64";

fn seal<T: Serialize + DeserializeOwned + 'static>(codec: &Codec, value: &T) -> String {
    codec
        .seal_with_times(value, Times::new(issued()))
        .expect("seals")
        .into_value()
}

/// The peer: serde_json, then the cookie crate's private jar. `PrivateJar`
/// builds its AES-256-GCM cipher object inside every call; that is its real
/// cost, so it is measured as it is.
fn private_jar_seal<T: Serialize + DeserializeOwned + 'static>(
    key: &cookie::Key,
    session: &T,
    out: impl FnOnce(&str),
) {
    let json = serde_json::to_string(session).expect("json");
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(Cookie::new(NAME, json));
    out(jar.get(NAME).expect("cookie in jar").value());
}

fn private_jar_sealed<T: Serialize + DeserializeOwned + 'static>(
    key: &cookie::Key,
    session: &T,
) -> String {
    let mut sealed = String::new();
    private_jar_seal(key, session, |v| sealed = v.to_owned());
    sealed
}

fn private_jar_open<T: DeserializeOwned>(key: &cookie::Key, jar: &CookieJar) -> Option<T> {
    let cookie = jar.private(key).get(NAME)?;
    Some(serde_json::from_str(cookie.value()).expect("json decodes"))
}

/// A jar holding one original cookie, as a request's jar would after
/// parsing the `Cookie` header.
fn jar_with(value: String) -> CookieJar {
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new(NAME, value));
    jar
}

/// The floor: postcard into an `N`-byte stack buffer, a random 96-bit
/// nonce, AES-256-GCM in place with a cipher built once, base64url. No
/// header, no times, no key ring; the cookie name is the AAD as in the other
/// rows.
fn floor_seal<const N: usize, T: Serialize>(cipher: &Aes256Gcm, session: &T) -> String {
    let mut buf = [0u8; N];
    let (nonce, rest) = buf.split_at_mut(FLOOR_NONCE_BYTES);
    let body_room = rest.len() - FLOOR_TAG_BYTES;
    let plaintext_len = postcard::to_slice(session, &mut rest[..body_room])
        .expect("fits")
        .len();
    rand::rng().fill_bytes(nonce);
    let nonce = Nonce::try_from(&*nonce).expect("12-byte nonce");
    let (body, tag_dst) = rest.split_at_mut(plaintext_len);
    let tag = cipher
        .encrypt_inout_detached(&nonce, NAME.as_bytes(), body.into())
        .expect("seals");
    tag_dst[..FLOOR_TAG_BYTES].copy_from_slice(&tag);
    let sealed_len = FLOOR_NONCE_BYTES + plaintext_len + FLOOR_TAG_BYTES;
    URL_SAFE_NO_PAD.encode(&buf[..sealed_len])
}

fn floor_open<const N: usize, T: DeserializeOwned>(cipher: &Aes256Gcm, value: &str) -> Option<T> {
    let mut buf = [0u8; N];
    let len = URL_SAFE_NO_PAD
        .decode_slice(value.as_bytes(), &mut buf)
        .ok()?;
    let (nonce, rest) = buf[..len].split_at_mut(FLOOR_NONCE_BYTES);
    let (body, tag) = rest.split_at_mut(rest.len() - FLOOR_TAG_BYTES);
    let nonce = Nonce::try_from(&*nonce).expect("12-byte nonce");
    let tag = Tag::try_from(&*tag).expect("16-byte tag");
    cipher
        .decrypt_inout_detached(&nonce, NAME.as_bytes(), body.into(), &tag)
        .ok()?;
    Some(postcard::from_bytes(body).expect("postcard decodes"))
}

/// `value` (base64url without padding) with the last tag bit flipped, still
/// valid base64, so opening fails at the tag check.
fn bad_tag_url(value: &str) -> String {
    let mut raw = URL_SAFE_NO_PAD.decode(value).expect("base64url");
    *raw.last_mut().expect("not empty") ^= 1;
    URL_SAFE_NO_PAD.encode(raw)
}

/// As [`bad_tag_url`], for the private jar's padded standard base64.
fn bad_tag_standard(value: &str) -> String {
    let mut raw = STANDARD.decode(value).expect("base64");
    *raw.last_mut().expect("not empty") ^= 1;
    STANDARD.encode(raw)
}

fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.warm_up_time(WARM_UP).measurement_time(MEASUREMENT);
}

/// Each array of 32 numbers (a token) as 64 hex characters, as many apps
/// keep a token in JSON.
fn hex_tokens(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) if items.len() == 32 && items.iter().all(Value::is_u64) => {
            let hex: String = items
                .iter()
                .map(|b| format!("{:02x}", b.as_u64().unwrap_or_default()))
                .collect();
            *value = Value::String(hex);
        }
        Value::Array(items) => items.iter_mut().for_each(hex_tokens),
        Value::Object(fields) => fields.values_mut().for_each(hex_tokens),
        _ => {}
    }
}

/// Prints one size's payload sizes and each row's sealed length.
fn print_sizes<const N: usize, T: Serialize + DeserializeOwned + 'static>(
    label: &str,
    session: &T,
    codecs: &[(&str, Codec)],
) {
    let postcard_len = postcard::to_allocvec(session).expect("postcard").len();
    let json = serde_json::to_value(session).expect("json");
    let json_len = json.to_string().len();
    let mut hex_json = json;
    hex_tokens(&mut hex_json);

    let key = cookie::Key::generate();
    let jar_len = private_jar_sealed(&key, session).len();
    let hex_jar_len = private_jar_sealed(&key, &hex_json).len();
    let reduction = |len: usize| 100.0 * (1.0 - len as f64 / jar_len as f64);
    eprintln!(
        "{label} session: postcard {postcard_len} bytes, serde_json {json_len} bytes \
         ({} with the token as hex); sealed cookie value lengths \
         (name=value adds {}):",
        hex_json.to_string().len(),
        NAME.len() + 1
    );
    for (row, codec) in codecs {
        let len = seal(codec, session).len();
        eprintln!(
            "  {row:<32} {len:>5}  ({:.1}% shorter than {PRIVATE_JAR_ROW}; \
             {:.1}% shorter than {PRIVATE_JAR_ROW} with a hex token)",
            reduction(len),
            100.0 * (1.0 - len as f64 / hex_jar_len as f64),
        );
    }
    eprintln!("  {PRIVATE_JAR_ROW:<32} {jar_len:>5}");
    eprintln!(
        "  {:<32} {hex_jar_len:>5}  (not benchmarked)",
        "privatejar+json, hex token"
    );
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let floor_len = floor_seal::<N, T>(&cipher, session).len();
    eprintln!(
        "  {FLOOR_ROW:<32} {floor_len:>5}  ({:.1}% shorter than {PRIVATE_JAR_ROW})",
        reduction(floor_len)
    );
}

/// `seal/<size>`, `open/<size>` and `open_rejected/<size>` for one session,
/// with an `N`-byte buffer for the floor row.
fn size_groups<const N: usize, T>(c: &mut Criterion, size: &str, session: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + 'static,
{
    let codecs = codecs();
    let jar_key = cookie::Key::generate();
    let cipher = Aes256Gcm::new(&rand_key().into());
    let times = Times::new(issued());
    let now = opened_now();

    let mut group = c.benchmark_group(format!("seal/{size}"));
    configure(&mut group);
    for (label, codec) in &codecs {
        group.bench_function(*label, |b| {
            b.iter(|| {
                codec
                    .seal_with_times(black_box(session), black_box(times))
                    .expect("seals")
            });
        });
    }
    group.bench_function(PRIVATE_JAR_ROW, |b| {
        b.iter(|| {
            private_jar_seal(&jar_key, black_box(session), |v| {
                black_box(v);
            });
        });
    });
    group.bench_function(FLOOR_ROW, |b| {
        b.iter(|| floor_seal::<N, T>(&cipher, black_box(session)));
    });
    group.finish();

    // The jar is built once, as a request's jar would be after parsing the
    // Cookie header; each iteration is `private(&key).get` + JSON decode.
    let jar_sealed = private_jar_sealed(&jar_key, session);
    let floor_sealed = floor_seal::<N, T>(&cipher, session);
    for accepted in [true, false] {
        let group_name = if accepted { "open" } else { "open_rejected" };
        let mut group = c.benchmark_group(format!("{group_name}/{size}"));
        configure(&mut group);
        for (label, codec) in &codecs {
            let sealed = seal(codec, session);
            // Opening the genuine value caches its XAES-256-GCM prefix
            // (the new_prefix rows of the previous group pushed out what
            // this thread had cached), so a forgery of it hits the cache.
            let genuine = codec.open_at::<T>(&sealed, now).map(|o| o.into_value());
            assert_eq!(genuine.as_ref().ok(), Some(session));
            let sealed = if accepted {
                sealed
            } else {
                bad_tag_url(&sealed)
            };
            let check = codec.open_at::<T>(&sealed, now).map(|o| o.into_value());
            assert_eq!(check.as_ref().ok(), accepted.then_some(session));
            group.bench_function(*label, |b| {
                b.iter(|| codec.open_at::<T>(black_box(&sealed), black_box(now)));
            });
        }
        let (opener, values) = new_prefix_values(session, accepted);
        let check = opener.open_at::<T>(&values[0], now).map(|o| o.into_value());
        assert_eq!(check.as_ref().ok(), accepted.then_some(session));
        // The check cached the first value's prefix (when it opened): start
        // the cycle after it, so the first lap misses too.
        let mut next = 0;
        group.bench_function(NEW_PREFIX_ROW, |b| {
            b.iter(|| {
                next = (next + 1) % NEW_PREFIX_VALUES;
                opener.open_at::<T>(black_box(&values[next]), black_box(now))
            });
        });
        let jar = jar_with(if accepted {
            jar_sealed.clone()
        } else {
            bad_tag_standard(&jar_sealed)
        });
        let check = private_jar_open::<T>(&jar_key, &jar);
        assert_eq!(check.as_ref(), accepted.then_some(session));
        group.bench_function(PRIVATE_JAR_ROW, |b| {
            b.iter(|| private_jar_open::<T>(&jar_key, black_box(&jar)));
        });
        let sealed = if accepted {
            floor_sealed.clone()
        } else {
            bad_tag_url(&floor_sealed)
        };
        let check = floor_open::<N, T>(&cipher, &sealed);
        assert_eq!(check.as_ref(), accepted.then_some(session));
        group.bench_function(FLOOR_ROW, |b| {
            b.iter(|| floor_open::<N, T>(&cipher, black_box(&sealed)));
        });
        group.finish();
    }
}

fn bench_sizes(c: &mut Criterion) {
    let (small, medium, large) = (small(), medium(), large());
    let codecs = codecs();
    print_sizes::<SMALL_BUF, _>("small", &small, &codecs);
    print_sizes::<SMALL_BUF, _>("medium", &medium, &codecs);
    print_sizes::<LARGE_BUF, _>("large", &large, &codecs);

    size_groups::<SMALL_BUF, _>(c, "small", &small);
    size_groups::<SMALL_BUF, _>(c, "medium", &medium);
    size_groups::<LARGE_BUF, _>(c, "large", &large);
}

/// Opening with the 1st and the 8th key of an 8-key ring: a key id picks the
/// key, so the depth should not matter.
fn bench_rotation(c: &mut Criterion) {
    let keys: Vec<Key> = (0..8).map(|_| Key::generate()).collect();
    let ring = Codec::builder(KeyRing::new(keys.clone()).expect("8 keys"))
        .build()
        .expect("codec");
    let sealer = |key: &Key| {
        Codec::builder(KeyRing::new([key.clone()]).expect("ring"))
            .build()
            .expect("codec")
    };
    let session = small();
    let now = opened_now();
    let mut group = c.benchmark_group("rotation");
    configure(&mut group);
    for (label, opener, sealed_by) in [
        ("key_1_of_1", sealer(&keys[0]), &keys[0]),
        ("key_1_of_8", ring.clone(), &keys[0]),
        ("key_8_of_8", ring, &keys[7]),
    ] {
        let sealed = seal(&sealer(sealed_by), &session);
        let opened = opener.open_at::<SmallSession>(&sealed, now).expect("opens");
        assert_eq!(opened.value(), &session);
        assert_eq!(opened.opened_with().key_id(), sealed_by.id());
        group.bench_function(label, |b| {
            b.iter(|| {
                opener
                    .open_at::<SmallSession>(black_box(&sealed), black_box(now))
                    .expect("opens")
            });
        });
    }
    group.finish();
}

/// Fifteen cookies a typical site sends besides its session: analytics,
/// consent, CSRF and preferences.
const OTHER_COOKIES: [&str; 15] = [
    "_ga=GA1.1.1894623511.1759871234",
    "_ga_8XK2M4QZ1B=GS1.1.1759871234.7.1.1759873012.0.0.0",
    "_gid=GA1.2.1012345678.1759871234",
    "_gcl_au=1.1.2103456789.1759871234",
    "_fbp=fb.1.1759871234567.1234567890123456",
    "ajs_anonymous_id=5f0c8a4e-8d1b-4c2e-9f3a-7b6d5e4c3b2a",
    "_hjSessionUser_3123456=eyJpZCI6ImY3ZDI5YjM4LTFhMmMtNTNlYi1hZWU2LTJmYjQ3YzYxNmQxMSIsImNyZWF0ZWQiOjE3NTk4NzEyMzQ1NjcsImV4aXN0aW5nIjp0cnVlfQ==",
    "OptanonConsent=isGpcEnabled=0&datestamp=Tue+Oct+07+2025&version=202409.1.0&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A0%2CC0004%3A0",
    "OptanonAlertBoxClosed=2025-10-07T21:07:14.123Z",
    "csrftoken=Xq3vT9mLw2PzR8kYc4NbH7jDf6GsA1Ue",
    "theme=dark",
    "lang=en-GB",
    "tz=Europe%2FLondon",
    "intercom-id-h7k2m9p4=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "__stripe_mid=2f4e6a8c-1b3d-4f5a-9c7e-0d2b4f6a8c1e3d5f7a",
];

fn cookie_header(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(value).expect("header value"));
    headers
}

/// The peer's load: every pair parsed into a `cookie::CookieJar`, as
/// axum-extra's `CookieJar::from_headers` does (it uses `parse_encoded`,
/// which also percent-decodes; plain `parse` here is slightly cheaper), then
/// the private jar and JSON.
fn private_jar_load(key: &cookie::Key, headers: &HeaderMap) -> Option<SmallSession> {
    let mut jar = CookieJar::new();
    headers
        .get_all(COOKIE)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.to_owned()).ok())
        .for_each(|cookie| jar.add_original(cookie));
    private_jar_open(key, &jar)
}

const MIB: usize = 1024 * 1024;

/// Pairs of hostile header: enough to put 50 000 into 1 MiB.
const HOSTILE_PAIRS: usize = 50_000;

/// `HOSTILE_PAIRS` distinct `name=value` pairs joined by `; `, the last
/// value padded so the header is exactly 1 MiB.
fn hostile_header() -> String {
    let mut header = (0..HOSTILE_PAIRS)
        .map(|i| format!("c{i:05}=v{i:010}"))
        .collect::<Vec<_>>()
        .join("; ");
    let pad = MIB.checked_sub(header.len()).expect("pairs fit in 1 MiB");
    header.extend(std::iter::repeat_n('x', pad));
    header
}

/// `pair` repeated, joined by `; `, while the header stays within 1 MiB.
fn repeated_header(pair: &str) -> (String, usize) {
    let count = (MIB + 2) / (pair.len() + 2);
    (vec![pair; count].join("; "), count)
}

fn bench_header(c: &mut Criterion) {
    let manager = SessionManager::with_codec(codec(Algorithm::Xaes256Gcm))
        .build()
        .expect("manager");
    let session = small();
    let mut fresh: Session<SmallSession> =
        manager.load_sync(&HeaderMap::new()).expect("fresh session");
    fresh.set(session.clone());
    let mut response = HeaderMap::new();
    manager.save_sync(&mut fresh, &mut response).expect("saves");
    let line = response[SET_COOKIE].to_str().expect("ascii");
    let session_pair = line.split(';').next().expect("name=value").to_owned();
    // The manager's own cookie name (`__Host-session` by default), so the
    // forged cookies below are candidates it opens.
    let name = manager.codec().cookie_name();
    let session_value = session_pair
        .strip_prefix(&format!("{name}="))
        .expect("named as the codec names it");

    let jar_key = cookie::Key::generate();
    let jar_pair = format!("{NAME}={}", private_jar_sealed(&jar_key, &session));
    let realistic = |pair: &str| {
        let mut header = OTHER_COOKIES.join("; ");
        header.push_str("; ");
        header.push_str(pair);
        cookie_header(&header)
    };
    let ours_realistic = realistic(&session_pair);
    let jar_realistic = realistic(&jar_pair);

    let hostile = cookie_header(&hostile_header());
    let forged_pair = format!("{name}={}", bad_tag_url(session_value));
    let (forged, forged_pairs) = repeated_header(&forged_pair);
    let forged = cookie_header(&forged);
    eprintln!(
        "header: realistic {} bytes ({} cookies) / {} bytes for {PRIVATE_JAR_ROW}; \
         hostile {} bytes ({HOSTILE_PAIRS} pairs); forged {} bytes \
         ({forged_pairs} forged session cookies)",
        ours_realistic[COOKIE].len(),
        OTHER_COOKIES.len() + 1,
        jar_realistic[COOKIE].len(),
        hostile[COOKIE].len(),
        forged[COOKIE].len(),
    );

    let load = |headers: &HeaderMap| {
        manager
            .load_sync::<SmallSession>(black_box(headers))
            .expect("loads")
    };
    assert_eq!(load(&ours_realistic).data(), &session);
    assert!(load(&hostile).is_new());
    assert!(load(&forged).is_new());
    assert_eq!(
        private_jar_load(&jar_key, &jar_realistic).as_ref(),
        Some(&session)
    );
    assert_eq!(private_jar_load(&jar_key, &hostile), None);

    let mut group = c.benchmark_group("header");
    configure(&mut group);
    group.bench_function("realistic_16_cookies", |b| {
        b.iter(|| load(&ours_realistic));
    });
    group.bench_function(format!("{PRIVATE_JAR_ROW}/realistic_16_cookies"), |b| {
        b.iter(|| private_jar_load(&jar_key, black_box(&jar_realistic)));
    });
    group.bench_function("hostile_1mib_50000_pairs", |b| {
        b.iter(|| load(&hostile));
    });
    group.bench_function("hostile_1mib_forged_sessions", |b| {
        b.iter(|| load(&forged));
    });
    // Milliseconds per iteration: flat sampling with few samples keeps the
    // row to its measurement time.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function(format!("{PRIVATE_JAR_ROW}/hostile_1mib_50000_pairs"), |b| {
        b.iter(|| private_jar_load(&jar_key, black_box(&hostile)));
    });
    group.finish();
}

/// Bytes of an XAES-256-GCM or XChaCha20-Poly1305 nonce.
const NONCE_BYTES: usize = 24;

/// A per-thread generator guarded by a marker in its own page: the hot path
/// of a `MADV_WIPEONFORK` fork detector. With the advice, the kernel would
/// zero the page in a forked child; without it (this stand-in), the cost of
/// a draw is the same: a marker read, then ChaCha.
struct PageMarked {
    rng: StdRng,
    page: Box<[u64; 512]>,
}

thread_local! {
    static PAGE_MARKED: RefCell<Option<PageMarked>> = const { RefCell::new(None) };
}

fn page_marked_fill(dest: &mut [u8]) {
    PAGE_MARKED.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|marked| marked.page[0] == 0) {
            let mut page = Box::new([0u64; 512]);
            page[0] = 1;
            *slot = Some(PageMarked {
                rng: StdRng::from_os_rng(),
                page,
            });
        }
        if let Some(marked) = slot {
            marked.rng.fill_bytes(dest);
        }
    });
}

/// One nonce from each source; see the module docs.
fn bench_nonce(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("nonce/{NONCE_BYTES}_bytes"));
    configure(&mut group);
    let mut nonce = [0u8; NONCE_BYTES];
    group.bench_function("thread_rng_not_fork_safe", |b| {
        b.iter(|| rand::rng().fill_bytes(black_box(&mut nonce)));
    });
    group.bench_function("os_getrandom_per_nonce", |b| {
        b.iter(|| {
            OsRng
                .try_fill_bytes(black_box(&mut nonce))
                .expect("getrandom")
        });
    });
    group.bench_function("pid_check_shipped", |b| {
        b.iter(|| sealed_session::__bench_fill_random(black_box(&mut nonce)));
    });
    group.bench_function("getpid_alone", |b| {
        b.iter(std::process::id);
    });
    group.bench_function("wipe_on_fork_page_read_stand_in", |b| {
        b.iter(|| page_marked_fill(black_box(&mut nonce)));
    });
    group.finish();
}

/// Bytes of the message in the `crates` group: about a small session's
/// sealed body.
const SHORT_MESSAGE: usize = 110;

/// The building blocks alone; see the module docs.
fn bench_crates(c: &mut Criterion) {
    use aes_gcm_0_10::aead::{AeadInPlace as _, KeyInit as _};

    let mut group = c.benchmark_group("crates");
    configure(&mut group);
    let raw: Vec<u8> = (0..141u8).map(|i| i.wrapping_mul(37)).collect();
    let encoded = URL_SAFE_NO_PAD.encode(&raw);
    let mut out = [0u8; 256];
    group.bench_function("base64/decode_188_chars", |b| {
        b.iter(|| {
            URL_SAFE_NO_PAD
                .decode_slice(black_box(encoded.as_bytes()), &mut out)
                .expect("base64url")
        });
    });
    group.bench_function("base64-simd/decode_188_chars", |b| {
        b.iter(|| {
            base64_simd::URL_SAFE_NO_PAD
                .decode(
                    black_box(encoded.as_bytes()),
                    base64_simd::Out::from_slice(&mut out[..raw.len()]),
                )
                .map(|decoded| decoded.len())
                .expect("base64url")
        });
    });
    let key = rand_key();
    let aad = b"\x03\x02keyidschema__Host-session";
    let mut message = [0x5Au8; SHORT_MESSAGE];
    let current = Aes256Gcm::new(&key.into());
    let nonce = Nonce::default();
    let sealed_tag = current
        .encrypt_inout_detached(&nonce, aad, (&mut message[..]).into())
        .expect("seals");
    let sealed = message;
    group.bench_function("aes-gcm-0.11/seal_110_bytes", |b| {
        b.iter(|| {
            current
                .encrypt_inout_detached(&nonce, aad, (&mut message[..]).into())
                .expect("seals")
        });
    });
    group.bench_function("aes-gcm-0.11/open_110_bytes", |b| {
        b.iter(|| {
            message = sealed;
            current
                .decrypt_inout_detached(&nonce, aad, (&mut message[..]).into(), &sealed_tag)
                .expect("opens");
        });
    });
    let peer = aes_gcm_0_10::Aes256Gcm::new(&key.into());
    let peer_nonce = aes_gcm_0_10::Nonce::default();
    let peer_tag = peer
        .encrypt_in_place_detached(&peer_nonce, aad, &mut message)
        .expect("seals");
    let peer_sealed = message;
    group.bench_function("aes-gcm-0.10/seal_110_bytes", |b| {
        b.iter(|| {
            peer.encrypt_in_place_detached(&peer_nonce, aad, &mut message)
                .expect("seals")
        });
    });
    group.bench_function("aes-gcm-0.10/open_110_bytes", |b| {
        b.iter(|| {
            message = peer_sealed;
            peer.decrypt_in_place_detached(&peer_nonce, aad, &mut message, &peer_tag)
                .expect("opens");
        });
    });
    group.finish();
}

/// The small session before a defaulted field was appended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SmallBefore {
    user_id: u64,
    name: String,
    roles: Vec<String>,
    csrf: [u8; 32],
}

/// [`SmallBefore`] with a defaulted field appended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SmallNow {
    user_id: u64,
    name: String,
    roles: Vec<String>,
    csrf: [u8; 32],
    #[serde(default)]
    theme: String,
}

/// A session type a migration converts from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct SmallRenamedFields {
    id: u64,
    display_name: String,
    roles: Vec<String>,
    csrf: [u8; 32],
}

fn bench_schema(c: &mut Criterion) {
    let ring = KeyRing::new([Key::generate()]).expect("ring");
    let codec = Codec::builder(ring)
        .migrate(|old: SmallRenamedFields| SmallNow {
            user_id: old.id,
            name: old.display_name,
            roles: old.roles,
            csrf: old.csrf,
            theme: String::new(),
        })
        .build()
        .expect("codec");
    let now_secs = SystemTime::now();
    let before = SmallBefore {
        user_id: 1_234_567,
        name: "alice@example.com".to_owned(),
        roles: vec!["member".to_owned(), "editor".to_owned()],
        csrf: [7; 32],
    };
    let current = SmallNow {
        user_id: before.user_id,
        name: before.name.clone(),
        roles: before.roles.clone(),
        csrf: before.csrf,
        theme: String::new(),
    };
    let renamed = SmallRenamedFields {
        id: before.user_id,
        display_name: before.name.clone(),
        roles: before.roles.clone(),
        csrf: before.csrf,
    };
    let rows = [
        ("current", codec.seal(&current).expect("seal").into_value()),
        (
            "older_definition",
            codec.seal(&before).expect("seal").into_value(),
        ),
        ("migrated", codec.seal(&renamed).expect("seal").into_value()),
    ];
    let mut group = c.benchmark_group("schema");
    configure(&mut group);
    for (label, sealed) in &rows {
        let opened = codec
            .open_at::<SmallNow>(sealed, now_secs)
            .expect("opens")
            .into_value();
        assert_eq!(opened, current);
        group.bench_function(*label, |b| {
            b.iter(|| codec.open_at::<SmallNow>(black_box(sealed), black_box(now_secs)));
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_sizes,
    bench_schema,
    bench_rotation,
    bench_header,
    bench_nonce,
    bench_crates
);
criterion_main!(benches);
