//! XAES-256-GCM exactly as this crate seals and opens it, under a raw
//! 32-byte key, for the differential fuzz target
//! (`fuzz/fuzz_targets/xaes_differential.rs`), which checks it against the
//! `xaes-256-gcm` crate.
//!
//! Re-exported as `sealed_session::__xaes_differential`, hidden from the
//! docs: not part of the public API, and it may change or go away in any
//! release.

use super::{NONCE_BYTES, Xaes, cache};
use crate::crypto::cipher::TAG_BYTES;

/// An XAES-256-GCM key with this crate's sealing epochs and subkey cache.
pub struct Cipher(Xaes);

impl Cipher {
    /// The cipher for `key` (the raw AEAD key, no HKDF).
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Xaes::new(key))
    }

    /// Encrypts `buffer` in place as the library seals: the current epoch's
    /// prefix, a fresh random suffix. Returns the nonce and the tag.
    pub fn seal(
        &self,
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Option<([u8; NONCE_BYTES], [u8; TAG_BYTES])> {
        let mut nonce = [0u8; NONCE_BYTES];
        let tag = self
            .0
            .seal_in_place(&mut nonce, aad, buffer, super::super::Fresh::none())
            .ok()?;
        Some((nonce, tag))
    }

    /// Authenticates and decrypts `buffer` in place through this thread's
    /// subkey cache, as the library opens; whether it authenticated.
    pub fn open(&self, nonce: &[u8], aad: &[u8], buffer: &mut [u8], tag: &[u8]) -> bool {
        self.0.open_in_place(nonce, aad, buffer, tag).is_ok()
    }
}

/// What this thread's subkey cache holds (its entries' keys, prefixes and
/// recency), to compare before and after an open that must not change it.
#[derive(Debug, PartialEq, Eq)]
pub struct CacheState(cache::State);

/// This thread's subkey cache, now.
pub fn cache_state() -> CacheState {
    CacheState(cache::snapshot())
}
