//! XAES-256-GCM (C2SP) with its derived subkeys amortized.
//!
//! XAES-256-GCM derives an AES-256-GCM subkey from the key and the first 12
//! bytes of the 24-byte nonce (the *prefix*), then runs AES-256-GCM under
//! that subkey with the last 12 bytes (the *suffix*) as its nonce. Deriving
//! is cheap (two AES blocks); what costs is building AES-256-GCM under the
//! new subkey (its AES key schedule and GHASH key), which the `xaes-256-gcm`
//! crate does for every message. Nothing requires the prefix to be new for
//! every message, so here:
//!
//! - **Sealing** runs in *epochs* ([`epoch`]): a random prefix, its
//!   AES-256-GCM built once, then a fresh random suffix per message, for at
//!   most [`epoch::MAX_SEALS_PER_EPOCH`] seals. Threads share their
//!   process's epoch for a key, leasing seals from it in blocks, so a
//!   process has one epoch per key in flight, not one per thread.
//! - **Opening** keeps the AES-256-GCM of recently seen prefixes in a small
//!   per-thread cache ([`cache`]), filled only by values that authenticated.
//!
//! The wire format is exactly XAES-256-GCM: any conforming implementation
//! opens what this seals, and this opens what any of them seals.

pub(crate) mod cache;
pub mod differential;
pub(crate) mod epoch;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::aes::Aes256Enc;
use aes_gcm::aes::cipher::BlockCipherEncrypt as _;
use aes_gcm::aes::cipher::consts::U12;
use aes_gcm::{AesGcm, Nonce as AesNonce, Tag as AesTag};
use zeroize::{Zeroize as _, ZeroizeOnDrop};

use crate::crypto::cipher::{Refused, TAG_BYTES};

/// Bytes of an XAES-256-GCM nonce.
pub(crate) const NONCE_BYTES: usize = 24;

/// Bytes of the nonce's first half, from which the subkey is derived.
pub(crate) const PREFIX_BYTES: usize = 12;

/// One AES block.
type Block = aes_gcm::aes::Block;

/// AES-256-GCM under a subkey, with an encrypt-only AES-256: GCM never
/// decrypts a block, so the subkey's schedule skips the decryption round
/// keys (`Aes256Gcm` would compute them, as the `xaes-256-gcm` crate does).
pub(crate) type SubkeyGcm = AesGcm<Aes256Enc, U12>;

/// Names each [`Xaes`] in this process, for the per-thread state that must
/// not mix keys. Never reused (it would take 2^64 rings to wrap).
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// The key half of XAES-256-GCM: AES-256 under the key, and K1.
struct Kdf {
    aes: Aes256,
    k1: [u8; 16],
}

impl Kdf {
    /// Steps 1 and 2 of the spec: `L = AES-256_K(0^128)`, and K1 is `L`
    /// shifted left by one bit, reduced by `0x87` when a bit falls off.
    fn new(key: &[u8; 32]) -> Self {
        let aes = Aes256::new(key.into());
        let mut l = Block::default();
        aes.encrypt_block(&mut l);
        let mut k1 = [0u8; 16];
        let mut carry = 0u8;
        for (dst, &src) in k1.iter_mut().zip(l.iter()).rev() {
            *dst = (src << 1) | carry;
            carry = src >> 7;
        }
        if let Some(last) = k1.last_mut() {
            *last ^= 0x87 * carry;
        }
        l.as_mut_slice().zeroize();
        Self { aes, k1 }
    }

    /// Steps 3 to 5: `Kx = AES-256_K(M1 ⊕ K1) || AES-256_K(M2 ⊕ K1)` with
    /// `Mi = 0x00 || i || 'X' || 0x00 || prefix`, both halves encrypted in
    /// place in the subkey (no other copy of it to wipe) in one call: each
    /// call into the `aes` crate has a fixed cost (its VAES-512 backend
    /// broadcasts all 15 round keys first), so two blocks in one call cost
    /// about one.
    fn subkey(&self, prefix: &[u8; PREFIX_BYTES]) -> aes_gcm::Key<SubkeyGcm> {
        let [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11] = *prefix;
        let k1 = u128::from_ne_bytes(self.k1);
        let mut subkey = aes_gcm::Key::<SubkeyGcm>::default();
        let (halves, _) = Block::slice_as_chunks_mut(subkey.as_mut_slice());
        for (counter, half) in (1u8..).zip(halves.iter_mut()) {
            let m = [
                0, counter, b'X', 0, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11,
            ];
            *half = Block::from((u128::from_ne_bytes(m) ^ k1).to_ne_bytes());
        }
        self.aes.encrypt_blocks(halves);
        subkey
    }

    /// AES-256-GCM under the subkey for `prefix`.
    fn cipher(&self, prefix: &[u8; PREFIX_BYTES]) -> SubkeyGcm {
        let mut subkey = self.subkey(prefix);
        let cipher = SubkeyGcm::new(&subkey);
        subkey.as_mut_slice().zeroize();
        cipher
    }
}

impl Drop for Kdf {
    fn drop(&mut self) {
        // `aes` wipes itself (aes' `zeroize` feature).
        self.k1.zeroize();
    }
}

impl ZeroizeOnDrop for Kdf {}

/// An XAES-256-GCM key, ready to seal and open.
pub(crate) struct Xaes {
    kdf: Kdf,
    serial: u64,
    epochs: epoch::Shared,
}

impl Xaes {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self {
            kdf: Kdf::new(key),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            epochs: epoch::Shared::default(),
        }
    }

    /// Fills `nonce` (24 bytes) with a fresh nonce, the current epoch's
    /// prefix and a random suffix (and `fresh` from the same draw,
    /// as [`Cipher::seal_in_place`](super::Cipher::seal_in_place) does),
    /// encrypts `buffer` in place and returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &mut [u8],
        aad: &[u8],
        buffer: &mut [u8],
        fresh: super::Fresh<'_>,
    ) -> Result<[u8; TAG_BYTES], Refused> {
        let nonce = <&mut [u8; NONCE_BYTES]>::try_from(nonce).map_err(|_| Refused)?;
        let (prefix, suffix) = nonce.split_at_mut(PREFIX_BYTES);
        let pid = crate::crypto::random::fill_in_process(&mut [&mut *suffix, &mut *fresh.bytes]);
        fresh.place(buffer)?;
        let suffix = AesNonce::<_>::try_from(&*suffix).map_err(|_| Refused)?;
        let tag = epoch::with_epoch(self, pid, |epoch_prefix, cipher| {
            prefix.copy_from_slice(epoch_prefix);
            cipher.encrypt_inout_detached(&suffix, aad, buffer.into())
        })
        .ok_or(Refused)?
        .map_err(|_| Refused)?;
        Ok(tag.into())
    }

    /// Seals under a nonce the caller chose, deriving its subkey for this
    /// one message, as the spec writes it. For tests (frozen vectors, the
    /// C2SP vectors): the library seals through [`Xaes::seal_in_place`].
    pub(crate) fn seal_with_nonce(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_BYTES], Refused> {
        let (prefix, suffix) = split(nonce)?;
        let tag = self
            .kdf
            .cipher(prefix)
            .encrypt_inout_detached(&suffix, aad, buffer.into())
            .map_err(|_| Refused)?;
        Ok(tag.into())
    }

    /// Authenticates and decrypts `buffer` in place, through this thread's
    /// subkey cache. On failure the buffer's contents are unspecified and
    /// the cache is unchanged.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Refused> {
        let (prefix, suffix) = split(nonce)?;
        let tag = AesTag::<_>::try_from(tag).map_err(|_| Refused)?;
        let open = |cipher: &SubkeyGcm, buffer: &mut [u8]| {
            cipher
                .decrypt_inout_detached(&suffix, aad, buffer.into(), &tag)
                .is_ok()
        };
        if cache::open(self, prefix, |cipher| open(cipher, &mut *buffer))
            .unwrap_or_else(|| open(&self.kdf.cipher(prefix), &mut *buffer))
        {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    /// The number naming this key in per-thread state.
    fn serial(&self) -> u64 {
        self.serial
    }

    /// AES-256-GCM under the subkey for `prefix`.
    fn cipher(&self, prefix: &[u8; PREFIX_BYTES]) -> SubkeyGcm {
        self.kdf.cipher(prefix)
    }
}

/// A 24-byte nonce's prefix, and its suffix as an AES-256-GCM nonce.
fn split(nonce: &[u8]) -> Result<(&[u8; PREFIX_BYTES], AesNonce<U12>), Refused> {
    let nonce = <&[u8; NONCE_BYTES]>::try_from(nonce).map_err(|_| Refused)?;
    let (prefix, suffix) = nonce.split_at(PREFIX_BYTES);
    let prefix = <&[u8; PREFIX_BYTES]>::try_from(prefix).map_err(|_| Refused)?;
    let suffix = AesNonce::<_>::try_from(suffix).map_err(|_| Refused)?;
    Ok((prefix, suffix))
}
