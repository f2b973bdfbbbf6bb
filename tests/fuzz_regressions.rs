//! Fuzzing regressions, over the public API, on the stable toolchain.
//!
//! Every crash the fuzz targets in `fuzz/` find becomes a named test here
//! (with the input inline) before it is fixed. Until then this file replays
//! the committed seed corpora of the two decode targets, so the seeds keep
//! meaning what `fuzz/README.md` says even where no nightly toolchain runs
//! the fuzzer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sealed_session::{
    Algorithm, Codec, ErrorKind, FreshReason, Key, KeyRing, MapSession, SessionManager,
};

/// The fuzz targets' fixed clock and keys (`fuzz/src/lib.rs`).
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn fuzz_ring() -> KeyRing {
    KeyRing::new([
        Key::from_bytes(&[0x11; 32])
            .unwrap()
            .with_algorithm(Algorithm::Aes256Gcm),
        Key::from_bytes(&[0x22; 32])
            .unwrap()
            .with_algorithm(Algorithm::Xaes256Gcm),
        Key::from_bytes(&[0x33; 32])
            .unwrap()
            .with_algorithm(Algorithm::XChaCha20Poly1305),
    ])
    .unwrap()
}

fn fuzz_codec() -> Codec {
    Codec::builder(fuzz_ring())
        .cookie_name("session")
        .build()
        .unwrap()
}

/// The committed seeds of `target`: `fuzz/corpus/<target>/seed-*`.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

#[test]
fn open_value_seeds_are_rejected_by_the_fuzz_ring() {
    let codec = fuzz_codec();
    for (name, bytes) in seeds("open_value") {
        let value = String::from_utf8_lossy(&bytes);
        let kind = codec
            .open_at::<()>(&value, now())
            .map(|_| ())
            .map_err(|e| e.kind());
        assert_eq!(kind, Err(ErrorKind::Rejected), "{name}");
    }
}

#[test]
fn load_headers_seeds_give_fresh_sessions() {
    let manager = SessionManager::with_codec(fuzz_codec()).build().unwrap();
    for (name, bytes) in seeds("load_headers") {
        let mut headers = HeaderMap::new();
        for part in bytes.split(|&b| b == b'\n') {
            if let Ok(value) = HeaderValue::from_bytes(part) {
                headers.append(COOKIE, value);
            }
        }
        let session: MapSession = manager.load_sync_at(&headers, now()).unwrap();
        assert!(session.is_new(), "{name}");
        assert!(
            matches!(
                session.fresh_reason(),
                Some(FreshReason::NoCookie | FreshReason::Rejected | FreshReason::HeaderTooLarge)
            ),
            "{name}: {:?}",
            session.fresh_reason()
        );
    }
}
