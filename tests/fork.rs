//! Random draws after a real `fork` (issue 10, defect 5): a forked child
//! inherits its parent's memory, and with it the state of any user-space
//! random generator. Each test seeds the generator in the parent, forks, lets
//! the child draw several values and write them to a file, draws as many in
//! the parent, and asserts that no value repeats: a repeated nonce under one
//! key breaks AES-GCM and XAES-256-GCM, a repeated store id or key is worse.
//!
//! `fork` comes from the test-only `fork-support` crate (the library and its
//! tests forbid `unsafe`).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealed_session::store::StoreId;
use sealed_session::{Algorithm, Codec, Key, KeyRing};

/// Values each side draws after the fork.
const DRAWS: usize = 8;

/// Where an XAES-256-GCM nonce sits in a decoded cookie value: after
/// version, algorithm, the 4-byte key id and the 4-byte schema id, 24 bytes.
const XAES_NONCE: std::ops::Range<usize> = 10..34;

fn codec() -> Codec {
    let key = Key::generate().with_algorithm(Algorithm::Xaes256Gcm);
    Codec::builder(KeyRing::new([key]).unwrap())
        .build()
        .unwrap()
}

/// The nonce of a freshly sealed cookie.
fn nonce(codec: &Codec) -> Vec<u8> {
    let sealed = codec.seal(&"a session".to_owned()).unwrap();
    URL_SAFE_NO_PAD.decode(sealed.value()).unwrap()[XAES_NONCE].to_vec()
}

/// Draws `DRAWS` values with `draw` in a forked child and as many in the
/// parent after the child has exited (after `draw` has run once in the
/// parent, so the generator is seeded before the fork); returns (child's,
/// parent's).
fn draws_across_fork(
    dir: &Path,
    mut draw: impl FnMut() -> Vec<u8>,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    draw();
    let path = dir.join("child-draws");
    let code = fork_support::in_forked_child(|| {
        let bytes: Vec<u8> = (0..DRAWS).flat_map(|_| draw()).collect();
        match fs::write(&path, bytes) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    })
    .expect("fork and wait");
    assert_eq!(code, 0, "the child failed");
    let parent: Vec<Vec<u8>> = (0..DRAWS).map(|_| draw()).collect();
    let width = parent[0].len();
    let child: Vec<Vec<u8>> = fs::read(&path)
        .unwrap()
        .chunks(width)
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(child.len(), DRAWS);
    (child, parent)
}

/// Every value of both sides is distinct.
fn assert_all_distinct(child: &[Vec<u8>], parent: &[Vec<u8>]) {
    let shared: Vec<&Vec<u8>> = child.iter().filter(|v| parent.contains(v)).collect();
    assert!(
        shared.is_empty(),
        "{} of {DRAWS} values drawn in the forked child were also drawn in the parent",
        shared.len()
    );
    let all: BTreeSet<&Vec<u8>> = child.iter().chain(parent).collect();
    assert_eq!(all.len(), 2 * DRAWS, "a value repeated on one side");
}

#[test]
fn forked_child_draws_different_nonces() {
    let dir = tempfile::tempdir().unwrap();
    let codec = codec();
    let (child, parent) = draws_across_fork(dir.path(), || nonce(&codec));
    assert_eq!(parent[0].len(), 24);
    assert_all_distinct(&child, &parent);
}

/// The first half of an XAES-256-GCM nonce, from which the subkey is
/// derived: one per sealing epoch.
const XAES_PREFIX_BYTES: usize = 12;

#[test]
fn forked_child_seals_under_its_own_xaes_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let codec = codec();
    // The parent's epoch exists before the fork (`draws_across_fork` draws
    // once first), so the child inherits it and must notice the fork.
    let (child, parent) = draws_across_fork(dir.path(), || nonce(&codec));
    let prefixes = |nonces: &[Vec<u8>]| -> BTreeSet<Vec<u8>> {
        nonces
            .iter()
            .map(|n| n[..XAES_PREFIX_BYTES].to_vec())
            .collect()
    };
    let (child, parent) = (prefixes(&child), prefixes(&parent));
    assert_eq!(child.len(), 1, "one epoch in the child");
    assert_eq!(parent.len(), 1, "one epoch in the parent");
    assert!(
        child.is_disjoint(&parent),
        "the child sealed under the parent's epoch"
    );
}

#[test]
fn forked_child_draws_different_store_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (child, parent) = draws_across_fork(dir.path(), || StoreId::generate().to_bytes().to_vec());
    assert_all_distinct(&child, &parent);
}

#[test]
fn forked_child_generates_different_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (child, parent) =
        draws_across_fork(dir.path(), || Key::generate().to_base64().into_bytes());
    assert_all_distinct(&child, &parent);
}

/// Set to fork once, inside the next [`ForksWhileSerialized`]'s `Serialize`.
static FORK_WHILE_SERIALIZED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The side of the fork made inside `Serialize`, for the test to read after
/// the seal returns in both processes.
static SIDE: std::sync::Mutex<Option<fork_support::Side>> = std::sync::Mutex::new(None);

/// A session value whose `Serialize` forks (once, when armed): the parent
/// and the child both go on sealing it.
#[derive(serde::Deserialize)]
struct ForksWhileSerialized(String);

impl serde::Serialize for ForksWhileSerialized {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if FORK_WHILE_SERIALIZED.swap(false, std::sync::atomic::Ordering::SeqCst) {
            *SIDE.lock().unwrap() = Some(fork_support::fork().expect("fork"));
        }
        serializer.serialize_newtype_struct("ForksWhileSerialized", &self.0)
    }
}

/// A seal's one process check comes after the value is serialized: a
/// `fork` inside `Serialize` leaves parent and child with different nonces
/// and different new session ids (the id is drawn with the nonce, not
/// before serializing).
#[test]
fn a_fork_inside_serialize_still_draws_different_nonces_and_ids() {
    for algorithm in [Algorithm::Xaes256Gcm, Algorithm::Aes256Gcm] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("child-seal");
        let key = Key::generate().with_algorithm(algorithm);
        let codec = Codec::builder(KeyRing::new([key]).unwrap())
            .build()
            .unwrap();
        let value = ForksWhileSerialized("a session".to_owned());
        // Seeds the generator (and the XAES epoch) before the fork.
        codec.seal(&value).unwrap();
        FORK_WHILE_SERIALIZED.store(true, std::sync::atomic::Ordering::SeqCst);
        let sealed = codec.seal(&value);
        let side = SIDE
            .lock()
            .unwrap()
            .take()
            .expect("forked while serialized");
        // The nonce starts after version, algorithm, key id and schema id.
        let drawn = |value: &str| -> Vec<u8> {
            let raw = URL_SAFE_NO_PAD.decode(value).unwrap();
            let id = codec
                .open::<ForksWhileSerialized>(value)
                .unwrap()
                .session_id()
                .to_bytes();
            [&raw[10..22], &id[..]].concat()
        };
        match side {
            fork_support::Side::Child => {
                let code = match sealed.map(|s| fs::write(&path, drawn(s.value()))) {
                    Ok(Ok(())) => 0,
                    _ => 1,
                };
                fork_support::exit(code)
            }
            fork_support::Side::Parent(child) => {
                assert_eq!(child.wait().expect("wait"), 0, "the child failed");
                let parent = drawn(sealed.unwrap().value());
                let child = fs::read(&path).unwrap();
                assert_ne!(
                    child[..12],
                    parent[..12],
                    "{algorithm:?}: one nonce on both sides"
                );
                assert_ne!(
                    child[12..],
                    parent[12..],
                    "{algorithm:?}: one session id on both sides"
                );
            }
        }
    }
}
