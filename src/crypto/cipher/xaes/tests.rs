//! XAES-256-GCM here against the C2SP spec's vectors and, differentially,
//! against the `xaes-256-gcm` crate; the sealing epochs and the opening
//! cache against what their docs promise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::BTreeSet;

use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use proptest::prelude::*;
use shake::Shake128;
use shake::digest::{ExtendableOutput as _, Update as _, XofReader as _};

use super::cache::{self, ENTRIES};
use super::epoch::{self, LEASES_PER_EPOCH, MAX_SEALS_PER_EPOCH, SEALS_PER_LEASE};
use super::{NONCE_BYTES, PREFIX_BYTES, Xaes};
use crate::crypto::cipher::{Refused, TAG_BYTES};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap()
}

/// Seals `plaintext` under `nonce` here: ciphertext then tag.
fn seal_with_nonce(xaes: &Xaes, nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut sealed = plaintext.to_vec();
    let tag = xaes.seal_with_nonce(nonce, aad, &mut sealed).unwrap();
    sealed.extend_from_slice(&tag);
    sealed
}

/// Seals `plaintext` here the way the library does (an epoch's prefix, a
/// fresh suffix): (nonce, ciphertext then tag).
fn seal(xaes: &Xaes, aad: &[u8], plaintext: &[u8]) -> ([u8; NONCE_BYTES], Vec<u8>) {
    let mut nonce = [0u8; NONCE_BYTES];
    let mut sealed = plaintext.to_vec();
    let tag = xaes
        .seal_in_place(
            &mut nonce,
            aad,
            &mut sealed,
            crate::crypto::cipher::Fresh::none(),
        )
        .unwrap();
    sealed.extend_from_slice(&tag);
    (nonce, sealed)
}

/// Opens ciphertext-then-tag here.
fn open(xaes: &Xaes, nonce: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Refused> {
    let (body, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
    let mut body = body.to_vec();
    xaes.open_in_place(nonce, aad, &mut body, tag)?;
    Ok(body)
}

fn prefix_of(nonce: &[u8]) -> [u8; PREFIX_BYTES] {
    nonce[..PREFIX_BYTES].try_into().unwrap()
}

/// The `xaes-256-gcm` crate: the reference for the differential tests.
fn reference(key: &[u8; 32]) -> xaes_256_gcm::Xaes256Gcm {
    xaes_256_gcm::Xaes256Gcm::new(key.into())
}

fn reference_seal(key: &[u8; 32], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = xaes_256_gcm::Nonce::try_from(nonce).unwrap();
    let mut sealed = plaintext.to_vec();
    let tag = reference(key)
        .encrypt_inout_detached(&nonce, aad, sealed.as_mut_slice().into())
        .unwrap();
    sealed.extend_from_slice(&tag);
    sealed
}

fn reference_open(key: &[u8; 32], nonce: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let nonce = xaes_256_gcm::Nonce::try_from(nonce).unwrap();
    let (body, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
    let tag = xaes_256_gcm::Tag::try_from(tag).unwrap();
    let mut body = body.to_vec();
    reference(key)
        .decrypt_inout_detached(&nonce, aad, body.as_mut_slice().into(), &tag)
        .ok()?;
    Some(body)
}

/// The two vectors of the C2SP spec (`XAES-256-GCM.md`, "Test vectors"):
/// key, L, K1, Kx, AAD, ciphertext then tag. Nonce
/// `"ABCDEFGHIJKLMNOPQRSTUVWX"`, plaintext `"XAES-256-GCM"`. In the first,
/// the top bit of L is 0; in the second, 1 (the 0x87 reduction).
const C2SP: [(&str, &str, &str, &str, &str, &str); 2] = [
    (
        "0101010101010101010101010101010101010101010101010101010101010101",
        "7298caa565031eadc6ce23d23ea66378",
        "e531954aca063d5b8d9c47a47d4cc6f0",
        "c8612c9ed53fe43e8e005b828a1631a0bbcb6ab2f46514ec4f439fcfd0fa969b",
        "",
        "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271",
    ),
    (
        "0303030303030303030303030303030303030303030303030303030303030303",
        "91c08762876dccf9ba204a33768fa5fe",
        "23810ec50edb99f374409466ed1f4b7b",
        "e9c621d4cdd9b11b00a6427ad7e559aeedd66b3857646677748f8ca796cb3fd8",
        "c2sp.org/XAES-256-GCM",
        "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d",
    ),
];

const C2SP_NONCE: &[u8; NONCE_BYTES] = b"ABCDEFGHIJKLMNOPQRSTUVWX";
const C2SP_PLAINTEXT: &[u8] = b"XAES-256-GCM";

#[test]
fn derives_the_c2sp_intermediate_values() {
    use aes_gcm::aes::cipher::BlockCipherEncrypt as _;
    for (k, l, k1, kx, _, _) in C2SP {
        let xaes = Xaes::new(&key(&hex(k)));
        let mut zero = super::Block::default();
        xaes.kdf.aes.encrypt_block(&mut zero);
        assert_eq!(zero.to_vec(), hex(l), "L");
        assert_eq!(xaes.kdf.k1.to_vec(), hex(k1), "K1");
        let subkey = xaes.kdf.subkey(&prefix_of(C2SP_NONCE));
        assert_eq!(subkey.to_vec(), hex(kx), "Kx");
    }
}

#[test]
fn seals_and_opens_the_c2sp_vectors() {
    for (k, _, _, _, aad, sealed) in C2SP {
        let xaes = Xaes::new(&key(&hex(k)));
        let aad = aad.as_bytes();
        assert_eq!(
            seal_with_nonce(&xaes, C2SP_NONCE, aad, C2SP_PLAINTEXT),
            hex(sealed)
        );
        // Twice: the first open misses the cache, the second hits it.
        for _ in 0..2 {
            assert_eq!(
                open(&xaes, C2SP_NONCE, aad, &hex(sealed)).unwrap(),
                C2SP_PLAINTEXT
            );
        }
    }
}

/// The spec's accumulated randomized test: `iterations` times, read key,
/// nonce, a length byte and that many bytes of plaintext, and the same for
/// the AAD from one SHAKE-128 stream (empty input); seal, and feed the
/// ciphertext (with its tag) to a second SHAKE-128. Every value is also
/// opened again, through the cache. Returns the first 32 bytes of the
/// second stream, hex.
fn accumulated(iterations: usize) -> String {
    let mut source = Shake128::default().finalize_xof();
    let mut hash = Shake128::default();
    let mut read = |len: usize| {
        let mut bytes = vec![0u8; len];
        source.read(&mut bytes);
        bytes
    };
    for _ in 0..iterations {
        let k = key(&read(32));
        let nonce = read(NONCE_BYTES);
        let len = read(1)[0];
        let plaintext = read(usize::from(len));
        let len = read(1)[0];
        let aad = read(usize::from(len));
        let xaes = Xaes::new(&k);
        let sealed = seal_with_nonce(&xaes, &nonce, &aad, &plaintext);
        hash.update(&sealed);
        assert_eq!(open(&xaes, &nonce, &aad, &sealed).unwrap(), plaintext);
    }
    let mut digest = [0u8; 32];
    hash.finalize_xof().read(&mut digest);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn matches_the_c2sp_accumulated_vector_of_10_000_iterations() {
    assert_eq!(
        accumulated(10_000),
        "e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939"
    );
}

#[test]
#[ignore = "slow: 1M iterations, run with --ignored"]
fn matches_the_c2sp_accumulated_vector_of_1_000_000_iterations() {
    assert_eq!(
        accumulated(1_000_000),
        "2163ae1445985a30b60585ee67daa55674df06901b890593e824b8a7c885ab15"
    );
}

proptest! {
    #[test]
    fn values_sealed_here_open_in_the_xaes_256_gcm_crate(
        k in any::<[u8; 32]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let xaes = Xaes::new(&k);
        for _ in 0..3 {
            let (nonce, sealed) = seal(&xaes, &aad, &plaintext);
            prop_assert_eq!(reference_open(&k, &nonce, &aad, &sealed), Some(plaintext.clone()));
            prop_assert_eq!(&sealed, &reference_seal(&k, &nonce, &aad, &plaintext));
        }
    }

    #[test]
    fn values_sealed_by_the_xaes_256_gcm_crate_open_here(
        k in any::<[u8; 32]>(),
        nonce in any::<[u8; NONCE_BYTES]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        flip in any::<(usize, u8)>(),
    ) {
        let xaes = Xaes::new(&k);
        let sealed = reference_seal(&k, &nonce, &aad, &plaintext);
        prop_assert_eq!(&seal_with_nonce(&xaes, &nonce, &aad, &plaintext), &sealed);

        // A forgery before the genuine value (a miss), and after it (a hit):
        // refused, and the cache is unchanged.
        let mut forged = sealed.clone();
        let at = flip.0 % forged.len();
        forged[at] ^= flip.1.max(1);
        let before = cache::snapshot();
        prop_assert_eq!(open(&xaes, &nonce, &aad, &forged), Err(Refused));
        prop_assert_eq!(cache::snapshot(), before);

        for _ in 0..2 {
            prop_assert_eq!(open(&xaes, &nonce, &aad, &sealed), Ok(plaintext.clone()));
            prop_assert!(cache::holds(&xaes, &prefix_of(&nonce)));
        }
        let before = cache::snapshot();
        prop_assert_eq!(open(&xaes, &nonce, &aad, &forged), Err(Refused));
        prop_assert_eq!(cache::snapshot(), before);
    }
}

#[test]
fn seals_of_one_key_share_the_epoch_prefix_and_never_a_suffix() {
    let xaes = Xaes::new(&[7; 32]);
    let nonces: Vec<[u8; NONCE_BYTES]> = (0..100).map(|_| seal(&xaes, b"", b"x").0).collect();
    let prefixes: BTreeSet<[u8; PREFIX_BYTES]> = nonces.iter().map(|n| prefix_of(n)).collect();
    assert_eq!(prefixes.len(), 1);
    let suffixes: BTreeSet<&[u8]> = nonces.iter().map(|n| &n[PREFIX_BYTES..]).collect();
    assert_eq!(suffixes.len(), nonces.len());
}

#[test]
fn each_key_and_each_ring_seals_under_its_own_epoch() {
    // The same key material twice: two rings, two epochs.
    let (a, b) = (Xaes::new(&[7; 32]), Xaes::new(&[7; 32]));
    let prefixes: BTreeSet<[u8; PREFIX_BYTES]> = (0..2 * epoch::LEASE_SLOTS)
        .flat_map(|_| {
            [
                prefix_of(&seal(&a, b"", b"x").0),
                prefix_of(&seal(&b, b"", b"x").0),
            ]
        })
        .collect();
    assert_eq!(prefixes.len(), 2);
}

#[test]
fn keys_sealing_in_turn_on_one_thread_each_keep_their_lease() {
    // As many keys as a thread keeps leases for, taking turns for longer
    // than an epoch has leases: had a key lost its lease to another each
    // time, its epoch would have run out and its prefix changed.
    let keys: Vec<Xaes> = (0..epoch::LEASE_SLOTS)
        .map(|i| Xaes::new(&[u8::try_from(i).unwrap() + 20; 32]))
        .collect();
    let mut prefixes = vec![BTreeSet::new(); keys.len()];
    for _ in 0..LEASES_PER_EPOCH + 10 {
        for (xaes, seen) in keys.iter().zip(&mut prefixes) {
            seen.insert(prefix_of(&seal(xaes, b"", b"x").0));
        }
    }
    assert!(prefixes.iter().all(|seen| seen.len() == 1), "{prefixes:?}");
}

#[test]
fn threads_share_their_process_epoch() {
    let xaes = std::sync::Arc::new(Xaes::new(&[9; 32]));
    let here = prefix_of(&seal(&xaes, b"", b"x").0);
    for _ in 0..3 {
        let xaes = std::sync::Arc::clone(&xaes);
        let there = std::thread::spawn(move || prefix_of(&seal(&xaes, b"", b"x").0))
            .join()
            .unwrap();
        assert_eq!(there, here);
    }
}

#[test]
fn an_epoch_is_bounded_to_2_pow_24_seals() {
    assert_eq!(MAX_SEALS_PER_EPOCH, 1 << 24);
    assert_eq!(LEASES_PER_EPOCH * SEALS_PER_LEASE, MAX_SEALS_PER_EPOCH);
    let xaes = Xaes::new(&[3; 32]);
    let first = prefix_of(&seal(&xaes, b"", b"x").0);
    // Every lease but this thread's is taken by other threads; this
    // thread's is used up: its next lease is the last of the epoch.
    epoch::use_up(&xaes, LEASES_PER_EPOCH - 1);
    assert_eq!(prefix_of(&seal(&xaes, b"", b"x").0), first);
    assert_eq!(epoch::leases_taken(&xaes), Some(LEASES_PER_EPOCH));
    // That one used up too: a new epoch.
    epoch::use_up(&xaes, LEASES_PER_EPOCH);
    let second = prefix_of(&seal(&xaes, b"", b"x").0);
    assert_ne!(second, first);
    assert_eq!(epoch::leases_taken(&xaes), Some(1));
}

#[test]
fn a_lease_is_used_up_by_its_seals() {
    // Real seals, no test hook: the lease's 2^16 seals, then the next seal
    // takes a second lease from the epoch.
    let xaes = Xaes::new(&[6; 32]);
    for _ in 0..SEALS_PER_LEASE {
        seal(&xaes, b"", b"");
    }
    assert_eq!(epoch::leases_taken(&xaes), Some(1));
    seal(&xaes, b"", b"");
    assert_eq!(epoch::leases_taken(&xaes), Some(2));
}

#[test]
fn another_process_id_starts_a_new_epoch() {
    let xaes = Xaes::new(&[5; 32]);
    let pid = std::process::id();
    let prefix = |pid| epoch::with_epoch(&xaes, pid, |prefix, _| *prefix).unwrap();
    let parent = prefix(pid);
    assert_eq!(prefix(pid), parent);
    // What a forked child sees: its own id against epochs made under its
    // parent's (the real fork is in tests/fork.rs).
    let child = prefix(pid.wrapping_add(1));
    assert_ne!(child, parent);
    assert_eq!(prefix(pid.wrapping_add(1)), child);
}

#[test]
fn opening_caches_a_prefix_only_after_it_authenticates() {
    let xaes = Xaes::new(&[1; 32]);
    let nonce = [42u8; NONCE_BYTES];
    let sealed = seal_with_nonce(&xaes, &nonce, b"aad", b"hello");
    assert!(!cache::holds(&xaes, &prefix_of(&nonce)));
    assert_eq!(open(&xaes, &nonce, b"other aad", &sealed), Err(Refused));
    assert!(!cache::holds(&xaes, &prefix_of(&nonce)));
    assert_eq!(open(&xaes, &nonce, b"aad", &sealed).unwrap(), b"hello");
    assert!(cache::holds(&xaes, &prefix_of(&nonce)));
    // Another key (even the same material in another ring) does not share
    // the entry.
    let other = Xaes::new(&[1; 32]);
    assert!(!cache::holds(&other, &prefix_of(&nonce)));
}

#[test]
fn the_cache_is_bounded_and_evicts_the_least_recently_used() {
    let xaes = Xaes::new(&[2; 32]);
    let kept = [0xAAu8; NONCE_BYTES];
    let kept_sealed = seal_with_nonce(&xaes, &kept, b"", b"kept");
    open(&xaes, &kept, b"", &kept_sealed).unwrap();
    for i in 0..16 * ENTRIES {
        let mut nonce = [0u8; NONCE_BYTES];
        crate::crypto::random::fill(&mut nonce);
        let sealed = seal_with_nonce(&xaes, &nonce, b"", b"v");
        open(&xaes, &nonce, b"", &sealed).unwrap();
        if i % 2 == 0 {
            // Used more recently than anything else in its set.
            open(&xaes, &kept, b"", &kept_sealed).unwrap();
        }
        let (_, entries) = cache::snapshot();
        assert!(entries.len() == ENTRIES);
    }
    assert!(cache::holds(&xaes, &prefix_of(&kept)));
    let (_, entries) = cache::snapshot();
    assert_eq!(
        entries.iter().flatten().count(),
        ENTRIES,
        "full after 16 times its size"
    );
}

/// `count` values sealed under `xaes` with distinct random prefixes that
/// all fall in one set of this thread's cache: (nonce, sealed) each.
fn values_in_one_set(xaes: &Xaes, count: usize) -> Vec<([u8; NONCE_BYTES], Vec<u8>)> {
    let mut target = None;
    let mut values: Vec<([u8; NONCE_BYTES], Vec<u8>)> = Vec::new();
    while values.len() < count {
        let mut nonce = [0u8; NONCE_BYTES];
        crate::crypto::random::fill(&mut nonce);
        let set = cache::set_of(xaes.serial(), &prefix_of(&nonce));
        if *target.get_or_insert(set) == set {
            values.push((nonce, seal_with_nonce(xaes, &nonce, b"", b"v")));
        }
    }
    values
}

#[test]
fn eviction_follows_recency_not_insertion_or_position() {
    // Which of a set's four entries goes is decided by last use alone, so
    // both orders below evict exactly the least recently used.
    let holds = |xaes: &Xaes, values: &[([u8; NONCE_BYTES], Vec<u8>)]| -> Vec<bool> {
        values
            .iter()
            .map(|(nonce, _)| cache::holds(xaes, &prefix_of(nonce)))
            .collect()
    };
    let use_ = |xaes: &Xaes, (nonce, sealed): &([u8; NONCE_BYTES], Vec<u8>)| {
        open(xaes, nonce, b"", sealed).unwrap();
    };

    // A, B, C, D fill the set; B, C, D are used again; E, F, G, H then
    // evict A, B, C, D in that order (so H evicts D, in the last way, not
    // E, which took the first way when A left).
    let xaes = Xaes::new(&[3; 32]);
    let v = values_in_one_set(&xaes, 8);
    for value in &v[..4] {
        use_(&xaes, value);
    }
    for value in &v[1..4] {
        use_(&xaes, value);
    }
    for value in &v[4..] {
        use_(&xaes, value);
    }
    assert_eq!(
        holds(&xaes, &v),
        [false, false, false, false, true, true, true, true]
    );

    // A, B, C, D; then D, C, B used again, in that order: E evicts A, and F
    // evicts D, used before C and B.
    let xaes = Xaes::new(&[4; 32]);
    let v = values_in_one_set(&xaes, 6);
    for value in &v[..4] {
        use_(&xaes, value);
    }
    for value in v[1..4].iter().rev() {
        use_(&xaes, value);
    }
    for value in &v[4..] {
        use_(&xaes, value);
    }
    assert_eq!(holds(&xaes, &v), [false, true, true, false, true, true]);
}

#[test]
fn the_differential_shim_seals_and_opens_as_the_library_does() {
    use super::differential::Cipher;
    let k = [5u8; 32];
    let shim = Cipher::new(&k);
    let mut body = b"session".to_vec();
    let (nonce, tag) = shim.seal(b"aad", &mut body).unwrap();
    let mut sealed = body.clone();
    sealed.extend_from_slice(&tag);
    assert_eq!(
        reference_open(&k, &nonce, b"aad", &sealed),
        Some(b"session".to_vec())
    );
    assert!(shim.open(&nonce, b"aad", &mut body.clone(), &tag));
    let mut bad_tag = tag;
    bad_tag[0] ^= 1;
    assert!(!shim.open(&nonce, b"aad", &mut body, &bad_tag));
}

#[test]
fn cache_memory_is_as_documented() {
    // The module docs state 64 entries of 432 bytes, 27 648 bytes per
    // thread, on x86-64 (the encrypt-only AES-256-GCM alone is 384 bytes).
    let bytes = cache::bytes();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(bytes, 27_648);
    } else {
        assert!(bytes <= 64 * 1024, "{bytes} bytes");
    }
}

#[test]
fn refuses_nonces_and_tags_of_the_wrong_length() {
    let xaes = Xaes::new(&[4; 32]);
    let mut body = *b"body";
    assert_eq!(
        xaes.seal_in_place(
            &mut [0u8; 12],
            b"",
            &mut body,
            crate::crypto::cipher::Fresh::none()
        ),
        Err(Refused)
    );
    assert_eq!(
        xaes.open_in_place(&[0u8; 12], b"", &mut body, &[0u8; TAG_BYTES]),
        Err(Refused)
    );
    assert_eq!(
        xaes.open_in_place(&[0u8; NONCE_BYTES], b"", &mut body, &[0u8; 15]),
        Err(Refused)
    );
}

/// A value sealed by `ring`'s primary key for the cookie `name`, raw.
fn sealed_cookie(ring: &crate::KeyRing, name: &[u8], plaintext: &[u8]) -> Vec<u8> {
    use crate::crypto::{seal, wire};
    let prefix = wire::prefix_len(ring.primary_algorithm());
    let mut buf = vec![0u8; prefix + plaintext.len() + TAG_BYTES];
    buf[prefix..prefix + plaintext.len()].copy_from_slice(plaintext);
    let schema = crate::SchemaId::from_bytes(*b"test");
    let len = seal::seal_in_place(ring, schema, name, &mut buf, plaintext.len()).unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn a_forged_cookie_with_a_valid_key_id_leaves_the_cache_unchanged() {
    use crate::crypto::seal::{self, Refusal};
    use crate::crypto::wire::HEADER_BYTES;
    use crate::{Algorithm, Key, KeyRing};

    let ring = KeyRing::new([Key::generate().with_algorithm(Algorithm::Xaes256Gcm)]).unwrap();
    let genuine = sealed_cookie(&ring, b"session", b"a session");
    let opens =
        |raw: &[u8]| seal::open_in_place(&ring, b"session", &mut raw.to_vec(), false).map(|_| ());
    opens(&genuine).unwrap();
    let before = cache::snapshot();

    // The genuine value's prefix (a cache hit) with a flipped tag bit, then
    // fresh random prefixes (misses), four times as many as the cache holds:
    // each reaches the AEAD (the key id is valid) and is refused there.
    let mut forgeries = vec![{
        let mut forged = genuine.clone();
        *forged.last_mut().unwrap() ^= 1;
        forged
    }];
    for _ in 0..4 * ENTRIES {
        let mut forged = genuine.clone();
        crate::crypto::random::fill(&mut forged[HEADER_BYTES..HEADER_BYTES + PREFIX_BYTES]);
        forgeries.push(forged);
    }
    for forged in &forgeries {
        assert_eq!(opens(forged), Err(Refusal::Unauthentic));
        assert_eq!(cache::snapshot(), before, "a forgery changed the cache");
    }
    opens(&genuine).unwrap();
}

#[test]
fn subkey_ciphers_wipe_themselves_on_drop() {
    fn wipes_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    // What the cache evicts and the epochs drop, and the key half.
    wipes_on_drop::<super::SubkeyGcm>();
    wipes_on_drop::<super::Kdf>();
}
