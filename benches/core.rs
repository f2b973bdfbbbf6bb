//! Seal and open of a small session (tracker issue 2): sealed-session under
//! each algorithm, the `cookie` crate's `PrivateJar` + `serde_json` (what
//! axum-extra's `PrivateCookieJar` does), and a bare floor of postcard +
//! AES-256-GCM with a reused cipher + base64url, side by side in one group
//! per operation.
//!
//! Run with `cargo bench --bench core`. The sealed lengths of each row are
//! printed to stderr before the timings.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure must abort the run, not be measured"
)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, CookieJar};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::RngCore as _;
use sealed_session::{Algorithm, Codec, Key, KeyRing, Times};
use serde::{Deserialize, Serialize};

/// The cookie name every row binds or stores under.
const NAME: &str = "session";

/// Bytes of AES-GCM nonce and tag in the floor row.
const FLOOR_NONCE_BYTES: usize = 12;
const FLOOR_TAG_BYTES: usize = 16;

/// Stack buffer for the floor row; the small session needs under 100 bytes.
const FLOOR_BUF_BYTES: usize = 256;

/// A typical small session: about 60 bytes of postcard.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct SmallSession {
    user_id: u64,
    name: String,
    role: String,
    csrf: [u8; 32],
    logged_in_at: u64,
}

impl SmallSession {
    fn sample() -> Self {
        // Fixed bytes spread over 0..=255 so the sizes printed are the same
        // on every run; a real token is random, which JSON prints about as
        // long.
        let mut csrf = [0u8; 32];
        for (i, b) in (0u8..).zip(csrf.iter_mut()) {
            *b = i.wrapping_mul(97).wrapping_add(13);
        }
        Self {
            user_id: 1_234_567,
            name: "Alice Liddel".to_owned(),
            role: "admin".to_owned(),
            csrf,
            logged_in_at: 1_760_000_000,
        }
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

/// The peer: serde_json, then the cookie crate's private jar. `PrivateJar`
/// builds its AES-256-GCM cipher object inside every call; that is its real
/// cost, so it is measured as it is.
fn private_jar_seal(key: &cookie::Key, session: &SmallSession, out: impl FnOnce(&str)) {
    let json = serde_json::to_string(session).expect("json");
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(Cookie::new(NAME, json));
    out(jar.get(NAME).expect("cookie in jar").value());
}

fn private_jar_open(key: &cookie::Key, jar: &CookieJar) -> SmallSession {
    let cookie = jar.private(key).get(NAME).expect("private cookie opens");
    serde_json::from_str(cookie.value()).expect("json decodes")
}

/// The floor: postcard into a stack buffer, a random 96-bit nonce, AES-256-GCM
/// in place with a cipher built once, base64url. No header, no times, no key
/// ring; the cookie name is the AAD as in the other rows.
fn floor_seal(cipher: &Aes256Gcm, session: &SmallSession) -> String {
    let mut buf = [0u8; FLOOR_BUF_BYTES];
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

fn floor_open(cipher: &Aes256Gcm, value: &str) -> SmallSession {
    let mut buf = [0u8; FLOOR_BUF_BYTES];
    let len = URL_SAFE_NO_PAD
        .decode_slice(value.as_bytes(), &mut buf)
        .expect("base64");
    let (nonce, rest) = buf[..len].split_at_mut(FLOOR_NONCE_BYTES);
    let (body, tag) = rest.split_at_mut(rest.len() - FLOOR_TAG_BYTES);
    let nonce = Nonce::try_from(&*nonce).expect("12-byte nonce");
    let tag = Tag::try_from(&*tag).expect("16-byte tag");
    cipher
        .decrypt_inout_detached(&nonce, NAME.as_bytes(), body.into(), &tag)
        .expect("opens");
    postcard::from_bytes(body).expect("postcard decodes")
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

const PRIVATE_JAR_ROW: &str = "privatejar+json";
const FLOOR_ROW: &str = "floor-postcard+aes-256-gcm+b64";

/// Prints the payload sizes and each row's sealed length once, before timing.
fn print_sizes(session: &SmallSession, codecs: &[(&'static str, Codec)]) {
    let postcard_len = postcard::to_allocvec(session).expect("postcard").len();
    let json_len = serde_json::to_string(session).expect("json").len();
    eprintln!("small session: postcard {postcard_len} bytes, serde_json {json_len} bytes");

    let key = cookie::Key::generate();
    let mut jar_len = 0;
    private_jar_seal(&key, session, |v| jar_len = v.len());
    // The same data with the token as a hex string, as many apps keep it in
    // JSON; shown so the reduction is not only JSON's byte-array syntax.
    let hex: String = session.csrf.iter().map(|b| format!("{b:02x}")).collect();
    let hex_json = serde_json::json!({
        "user_id": session.user_id,
        "name": session.name,
        "role": session.role,
        "csrf": hex,
        "logged_in_at": session.logged_in_at,
    })
    .to_string();
    let mut hex_jar_len = 0;
    let mut jar = CookieJar::new();
    jar.private_mut(&key)
        .add(Cookie::new(NAME, hex_json.clone()));
    if let Some(c) = jar.get(NAME) {
        hex_jar_len = c.value().len();
    }

    let reduction = |len: usize, peer: usize| 100.0 * (1.0 - len as f64 / peer as f64);
    eprintln!(
        "sealed value length (cookie value only; name=value adds {}):",
        NAME.len() + 1
    );
    for (label, codec) in codecs {
        let sealed = codec
            .seal_with_times(session, Times::new(issued()))
            .expect("seals");
        let len = sealed.value().len();
        eprintln!(
            "  {label:<32} {len:>4}  ({:.1}% shorter than {PRIVATE_JAR_ROW}; \
             {:.1}% shorter than {PRIVATE_JAR_ROW} with a hex token)",
            reduction(len, jar_len),
            reduction(len, hex_jar_len),
        );
    }
    eprintln!("  {PRIVATE_JAR_ROW:<32} {jar_len:>4}");
    eprintln!(
        "  {:<32} {hex_jar_len:>4}  (json {} bytes, token as 64 hex chars; not benchmarked)",
        "privatejar+json, hex token",
        hex_json.len()
    );
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let floor_len = floor_seal(&cipher, session).len();
    eprintln!(
        "  {FLOOR_ROW:<32} {floor_len:>4}  ({:.1}% shorter than {PRIVATE_JAR_ROW})",
        reduction(floor_len, jar_len)
    );
}

fn bench_seal(c: &mut Criterion) {
    let session = SmallSession::sample();
    let codecs = codecs();
    print_sizes(&session, &codecs);

    let mut group = c.benchmark_group("seal/small");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let times = Times::new(issued());
    for (label, codec) in &codecs {
        group.bench_function(*label, |b| {
            b.iter(|| {
                codec
                    .seal_with_times(black_box(&session), black_box(times))
                    .expect("seals")
            });
        });
    }
    let key = cookie::Key::generate();
    group.bench_function(PRIVATE_JAR_ROW, |b| {
        b.iter(|| {
            private_jar_seal(&key, black_box(&session), |v| {
                black_box(v);
            });
        });
    });
    let cipher = Aes256Gcm::new(&rand_key().into());
    group.bench_function(FLOOR_ROW, |b| {
        b.iter(|| floor_seal(&cipher, black_box(&session)));
    });
    group.finish();
}

fn bench_open(c: &mut Criterion) {
    let session = SmallSession::sample();
    let mut group = c.benchmark_group("open/small");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let now = opened_now();
    for (label, codec) in &codecs() {
        let sealed = codec
            .seal_with_times(&session, Times::new(issued()))
            .expect("seals")
            .into_value();
        let check = codec.open_at::<SmallSession>(&sealed, now).expect("opens");
        assert_eq!(check.value(), &session);
        group.bench_function(*label, |b| {
            b.iter(|| {
                codec
                    .open_at::<SmallSession>(black_box(&sealed), black_box(now))
                    .expect("opens")
            });
        });
    }

    // The jar is built once, as a request's jar would be after parsing the
    // Cookie header; each iteration is `private(&key).get` + JSON decode.
    let key = cookie::Key::generate();
    let mut sealed = String::new();
    private_jar_seal(&key, &session, |v| sealed = v.to_owned());
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new(NAME, sealed));
    assert_eq!(private_jar_open(&key, &jar), session);
    group.bench_function(PRIVATE_JAR_ROW, |b| {
        b.iter(|| private_jar_open(&key, black_box(&jar)));
    });

    let cipher = Aes256Gcm::new(&rand_key().into());
    let sealed = floor_seal(&cipher, &session);
    assert_eq!(floor_open(&cipher, &sealed), session);
    group.bench_function(FLOOR_ROW, |b| {
        b.iter(|| floor_open(&cipher, black_box(&sealed)));
    });
    group.finish();
}

fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

criterion_group!(benches, bench_seal, bench_open);
criterion_main!(benches);
