//! The AEAD seam: the only module that names the cipher crates.
//!
//! Each key's cipher object is built once, when its ring is built, and reused
//! for every seal and open.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce as AesNonce, Tag as AesTag};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use xaes_256_gcm::Xaes256Gcm;

use crate::crypto::algorithm::Algorithm;

/// Length of every algorithm's authentication tag, in bytes.
pub(crate) const TAG_BYTES: usize = 16;

/// A keyed AEAD ready to seal and open.
pub(crate) enum Cipher {
    Aes256Gcm(Box<Aes256Gcm>),
    Xaes256Gcm(Box<Xaes256Gcm>),
    XChaCha20Poly1305(Box<XChaCha20Poly1305>),
}

/// The AEAD refused: a bad tag, or a length the algorithm cannot take.
#[derive(Debug)]
pub(crate) struct Refused;

impl Cipher {
    pub(crate) fn new(algorithm: Algorithm, key: &[u8; 32]) -> Self {
        match algorithm {
            Algorithm::Aes256Gcm => Self::Aes256Gcm(Box::new(Aes256Gcm::new(key.into()))),
            Algorithm::Xaes256Gcm => Self::Xaes256Gcm(Box::new(Xaes256Gcm::new(key.into()))),
            Algorithm::XChaCha20Poly1305 => {
                Self::XChaCha20Poly1305(Box::new(XChaCha20Poly1305::new(key.into())))
            }
        }
    }

    /// Encrypts `buffer` in place and returns the tag. `nonce` must be the
    /// algorithm's nonce length.
    pub(crate) fn seal_in_place(
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
            Self::Xaes256Gcm(c) => {
                let nonce = xaes_256_gcm::Nonce::try_from(nonce).map_err(|_| Refused)?;
                c.encrypt_inout_detached(&nonce, aad, buffer.into())
            }
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
            Self::Xaes256Gcm(c) => {
                let nonce = xaes_256_gcm::Nonce::try_from(nonce).map_err(|_| Refused)?;
                c.decrypt_inout_detached(&nonce, aad, buffer.into(), &tag)
            }
            Self::XChaCha20Poly1305(c) => {
                let nonce = XNonce::try_from(nonce).map_err(|_| Refused)?;
                c.decrypt_inout_detached(&nonce, aad, buffer.into(), &tag)
            }
        }
        .map_err(|_| Refused)
    }
}
