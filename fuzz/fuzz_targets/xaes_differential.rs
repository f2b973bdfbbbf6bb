//! XAES-256-GCM here against the `xaes-256-gcm` crate (RustCrypto), on an
//! arbitrary key, nonce, associated data and plaintext:
//!
//! - a value the crate seals opens here, twice (the first open derives the
//!   subkey, the second finds it in this thread's cache), to the plaintext;
//! - a value sealed here (the sealing epoch's prefix, a fresh suffix) opens
//!   in the crate, and the crate seals the same bytes under that nonce;
//! - the crate's value with one byte changed (ciphertext, tag, nonce, or
//!   associated data) is refused here, and leaves this thread's subkey
//!   cache exactly as it was.
//!
//! It goes through `sealed_session::__xaes_differential`, the raw-key XAES
//! the library seals and opens with (doc-hidden, not public API).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sealed_session::__xaes_differential::{Cipher, cache_state};
use xaes_256_gcm::aead::{AeadInOut, KeyInit};
use xaes_256_gcm::{Nonce, Tag, Xaes256Gcm};

#[derive(Arbitrary, Debug)]
enum Forge {
    Body(u16, u8),
    Tag(u8, u8),
    Nonce(u8, u8),
    Aad(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 32],
    nonce: [u8; 24],
    aad: Vec<u8>,
    plaintext: Vec<u8>,
    forge: Forge,
}

fuzz_target!(|input: Input| {
    let Input {
        key,
        nonce,
        aad,
        plaintext,
        forge,
    } = input;
    let reference = Xaes256Gcm::new(&key.into());
    let ours = Cipher::new(&key);

    // Sealed there, opened here: a miss, then a hit.
    let mut body = plaintext.clone();
    let tag: [u8; 16] = reference
        .encrypt_inout_detached(&Nonce::from(nonce), &aad, body.as_mut_slice().into())
        .expect("the crate seals any length a cookie can have")
        .into();
    for _ in 0..2 {
        let mut opened = body.clone();
        assert!(ours.open(&nonce, &aad, &mut opened, &tag), "refused a value the crate sealed");
        assert_eq!(opened, plaintext);
    }

    // Sealed here, opened there; and the same bytes as the crate's.
    let mut sealed = plaintext.clone();
    let (our_nonce, our_tag) = ours.seal(&aad, &mut sealed).expect("seals");
    let mut opened = sealed.clone();
    reference
        .decrypt_inout_detached(
            &Nonce::from(our_nonce),
            &aad,
            opened.as_mut_slice().into(),
            &Tag::from(our_tag),
        )
        .expect("the crate refused a value sealed here");
    assert_eq!(opened, plaintext);
    let mut again = plaintext.clone();
    let again_tag: [u8; 16] = reference
        .encrypt_inout_detached(&Nonce::from(our_nonce), &aad, again.as_mut_slice().into())
        .expect("seals")
        .into();
    assert_eq!((again, again_tag), (sealed, our_tag));

    // One byte changed: refused here, and the cache is untouched.
    let (mut body, mut tag, mut nonce, mut aad) = (body, tag, nonce, aad);
    match forge {
        Forge::Body(at, mask) => {
            if body.is_empty() {
                return;
            }
            let len = body.len();
            body[usize::from(at) % len] ^= mask.max(1);
        }
        Forge::Tag(at, mask) => tag[usize::from(at) % tag.len()] ^= mask.max(1),
        Forge::Nonce(at, mask) => nonce[usize::from(at) % nonce.len()] ^= mask.max(1),
        Forge::Aad(byte) => aad.push(byte),
    }
    let before = cache_state();
    assert!(!ours.open(&nonce, &aad, &mut body, &tag), "opened a forgery");
    assert_eq!(cache_state(), before, "a forgery changed the subkey cache");
});
