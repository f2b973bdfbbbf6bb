//! The AEAD seam: the only module (with its [`xaes`] part) that names the
//! cipher crates.
//!
//! Each key's cipher object is built once, when its ring is built, and reused
//! for every seal and open. Sealing draws the nonce here, so an algorithm can
//! choose how: AES-256-GCM and XChaCha20-Poly1305 draw all of it at random
//! per message; XAES-256-GCM draws its second half per message and its first
//! half per sealing epoch ([`xaes`]).

pub(crate) mod xaes;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce as AesNonce, Tag as AesTag};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::crypto::algorithm::Algorithm;
use crate::crypto::random;
use xaes::Xaes;

/// Length of every algorithm's authentication tag, in bytes.
pub(crate) const TAG_BYTES: usize = 16;

/// A keyed AEAD ready to seal and open.
pub(crate) enum Cipher {
    Aes256Gcm(Box<Aes256Gcm>),
    Xaes256Gcm(Box<Xaes>),
    XChaCha20Poly1305(Box<XChaCha20Poly1305>),
}

/// Random bytes a seal draws with its nonce, under the same process check
/// (a new session id, which the plaintext was serialized without), and
/// where in the plaintext they go.
pub(crate) struct Fresh<'a> {
    /// Filled by the seal; the caller keeps what was drawn.
    pub(crate) bytes: &'a mut [u8],
    /// Offset in the plaintext the bytes are copied to before encryption.
    pub(crate) at: usize,
}

impl Fresh<'_> {
    /// Nothing to draw besides the nonce.
    pub(crate) fn none() -> Fresh<'static> {
        Fresh {
            bytes: &mut [],
            at: 0,
        }
    }

    /// Copies the drawn bytes into the plaintext, or refuses when they
    /// would not fit.
    pub(crate) fn place(self, plaintext: &mut [u8]) -> Result<(), Refused> {
        plaintext
            .get_mut(self.at..self.at + self.bytes.len())
            .ok_or(Refused)?
            .copy_from_slice(self.bytes);
        Ok(())
    }
}

/// The AEAD refused: a bad tag, or a length the algorithm cannot take.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused;

impl Cipher {
    pub(crate) fn new(algorithm: Algorithm, key: &[u8; 32]) -> Self {
        match algorithm {
            Algorithm::Aes256Gcm => Self::Aes256Gcm(Box::new(Aes256Gcm::new(key.into()))),
            Algorithm::Xaes256Gcm => Self::Xaes256Gcm(Box::new(Xaes::new(key))),
            Algorithm::XChaCha20Poly1305 => {
                Self::XChaCha20Poly1305(Box::new(XChaCha20Poly1305::new(key.into())))
            }
        }
    }

    /// Fills `nonce` (the algorithm's nonce length) with a fresh nonce from
    /// the fork-safe generator, and `fresh` from the same draw under one
    /// process check; then encrypts `buffer` in place under the nonce and
    /// returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &mut [u8],
        aad: &[u8],
        buffer: &mut [u8],
        fresh: Fresh<'_>,
    ) -> Result<[u8; TAG_BYTES], Refused> {
        if let Self::Xaes256Gcm(c) = self {
            return c.seal_in_place(nonce, aad, buffer, fresh);
        }
        random::fill_in_process(&mut [nonce, &mut *fresh.bytes]);
        fresh.place(buffer)?;
        self.seal_in_place_with_nonce(nonce, aad, buffer)
    }

    /// Encrypts `buffer` in place under `nonce` and returns the tag.
    ///
    /// The library reaches this for XAES-256-GCM only from this crate's
    /// tests (frozen vectors under a fixed nonce): it seals XAES-256-GCM
    /// through [`Cipher::seal_in_place`], its epochs.
    pub(crate) fn seal_in_place_with_nonce(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_BYTES], Refused> {
        let tag = match self {
            Self::Aes256Gcm(c) => {
                let nonce = AesNonce::<_>::try_from(nonce).map_err(|_| Refused)?;
                c.encrypt_inout_detached(&nonce, aad, buffer.into())
            }
            Self::Xaes256Gcm(c) => return c.seal_with_nonce(nonce, aad, buffer),
            Self::XChaCha20Poly1305(c) => {
                let nonce = XNonce::try_from(nonce).map_err(|_| Refused)?;
                c.encrypt_inout_detached(&nonce, aad, buffer.into())
            }
        }
        .map_err(|_| Refused)?;
        Ok(tag.into())
    }

    /// Authenticates and decrypts `buffer` in place. On failure the buffer's
    /// contents are unspecified and must not be used.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Refused> {
        let tag = AesTag::<_>::try_from(tag).map_err(|_| Refused)?;
        match self {
            Self::Aes256Gcm(c) => {
                let nonce = AesNonce::<_>::try_from(nonce).map_err(|_| Refused)?;
                c.decrypt_inout_detached(&nonce, aad, buffer.into(), &tag)
            }
            Self::Xaes256Gcm(c) => return c.open_in_place(nonce, aad, buffer, tag.as_slice()),
            Self::XChaCha20Poly1305(c) => {
                let nonce = XNonce::try_from(nonce).map_err(|_| Refused)?;
                c.decrypt_inout_detached(&nonce, aad, buffer.into(), &tag)
            }
        }
        .map_err(|_| Refused)
    }
}
