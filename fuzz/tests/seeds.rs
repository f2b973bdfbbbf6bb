//! Writes the committed seed corpora under `corpus/<target>/seed-*`.
//!
//! Ignored: run it only to regenerate the seeds, then review and commit them:
//!
//! ```sh
//! cargo test --manifest-path fuzz/Cargo.toml --test seeds -- --ignored
//! ```
//!
//! Values sealed here use random nonces, so each run rewrites those files
//! with different (equally good) bytes.

use std::fs;
use std::path::PathBuf;

use fuzz_support::{SEED_COOKIE_NAME, codecs, fixed_session, now, ring};
use sealed_session::{Codec, Times};

/// The frozen vectors of `tests/vectors/v1.rs`: valid values under keys
/// the fuzz ring does not hold (and, for two of them, other cookie names).
const VECTORS: [(&str, &str); 3] = [
    (
        "aes-256-gcm",
        "AQH9Ve9AoKGio6SlpqeoqaqrTBNO1O4ZMUHFJH0pc5BIsY3lo2Rme2ocXa_0btnXuGBh4QJqHGX0TpT8AjE",
    ),
    (
        "xaes-256-gcm",
        "AQLN6tAosLGys7S1tre4ubq7vL2-v8DBwsPExcbH9i7X1gDhgiGhsr_s966K8Oeapt4SWuF8o88W_3fMLlVlyoJZMrU0c9Agtef6LLG1sifrdJhWbkRn",
    ),
    (
        "xchacha20-poly1305",
        "AQOtxqFpwMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbXsZBYytmybn5NzaplxhKgvdeFO_VujadnSvO3owXybPqUUPnI1a9V9l_21UKwukIqgXw",
    ),
];

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

/// The fixed session sealed by the fuzz ring with `primary` first, but for
/// a cookie name no target opens: the right key id, so opening reaches the
/// AEAD and fails there.
fn seed_name(primary: usize) -> String {
    Codec::builder(ring(primary))
        .cookie_name(SEED_COOKIE_NAME)
        .build()
        .unwrap()
        .seal_with_times(&fixed_session(), Times::new(now()))
        .unwrap()
        .into_value()
}

#[test]
#[ignore = "writes the seed corpora; run by hand"]
fn write_seed_corpora() {
    let algorithms: Vec<_> = (0..3)
        .map(|i| codecs()[i].0.ring().primary_algorithm())
        .collect();

    for (name, cookie) in VECTORS {
        write("open_value", &format!("vector-{name}"), cookie);
    }
    for (i, algorithm) in algorithms.iter().enumerate() {
        write(
            "open_value",
            &format!("wrong-name-{algorithm}"),
            seed_name(i),
        );
        // Header only: version, algorithm, the fuzz ring's key id.
        let id = codecs()[i].0.ring().primary_id().to_bytes();
        let header = [1, algorithm.wire_id(), id[0], id[1], id[2], id[3]];
        write("open_value", &format!("header-{algorithm}"), b64(&header));
    }

    let xaes = seed_name(1);
    write(
        "load_headers",
        "one-pair",
        format!("session={}", seed_name(0)),
    );
    write(
        "load_headers",
        "several-headers",
        format!(
            "theme=dark; session=\"{xaes}\"; lang=en\nsession={}\n\
             session=a; session=b; session=c; session=d; session=e",
            VECTORS[2].1
        ),
    );
    write(
        "load_headers",
        "non-utf8",
        b"a=\xff\xfe; session=\xc3\x28\nsession=\x80abc; =; ;;session\n",
    );

    let pattern: Vec<u8> = (0..=255).collect();
    write("roundtrip", "zeros", [0u8; 64]);
    write("roundtrip", "ones", [0xffu8; 64]);
    write("roundtrip", "pattern", &pattern);

    write("mutate_sealed", "no-edits", []);
    write("mutate_sealed", "pattern", &pattern[..48]);

    write("store_pointer", "raw-empty", []);
    write("store_pointer", "pattern", &pattern[..64]);
    write("store_pointer", "ones", [0xffu8; 32]);

    // Key, nonce, then bytes for the AAD, plaintext and forgery: the first
    // C2SP vector's key and nonce, and plain patterns.
    let mut c2sp = vec![0x01u8; 32];
    c2sp.extend_from_slice(b"ABCDEFGHIJKLMNOPQRSTUVWX");
    c2sp.extend_from_slice(b"XAES-256-GCM c2sp.org/XAES-256-GCM");
    write("xaes_differential", "c2sp-key-and-nonce", &c2sp);
    write("xaes_differential", "zeros", [0u8; 96]);
    write("xaes_differential", "ones", [0xffu8; 96]);
    write("xaes_differential", "pattern", &pattern);
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}
