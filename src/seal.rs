//! Sealing and opening raw bytes under a key ring: the wire format joined to
//! the AEAD seam.

use crate::algorithm::Algorithm;
use crate::cipher::TAG_BYTES;
use crate::error::{Error, ErrorKind};
use crate::key::KeyId;
use crate::random;
use crate::ring::KeyRing;
use crate::wire::{self, HEADER_BYTES};

/// Longest context (cookie name, or cookie name, zero byte and store id)
/// bound into the associated data.
pub(crate) const MAX_CONTEXT_BYTES: usize = 320;

/// Which key opened a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenedWith {
    key_id: KeyId,
    algorithm: Algorithm,
    primary: bool,
}

impl OpenedWith {
    /// The id of the key that opened the value.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The algorithm the value was sealed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Whether that key is the ring's primary key. When it is not, the value
    /// should be re-sealed with the primary key (sessions do this on the
    /// response), so a rotation completes as users return.
    pub fn is_primary(&self) -> bool {
        self.primary
    }
}

fn rejected() -> Error {
    Error::new(ErrorKind::Rejected)
}

/// Builds `header || context` on the stack.
fn aad(
    header: &[u8; HEADER_BYTES],
    context: &[u8],
    out: &mut [u8; HEADER_BYTES + MAX_CONTEXT_BYTES],
) -> Option<usize> {
    let len = HEADER_BYTES + context.len();
    let (h, rest) = out.split_first_chunk_mut::<HEADER_BYTES>()?;
    *h = *header;
    rest.get_mut(..context.len())?.copy_from_slice(context);
    Some(len)
}

/// Seals in place with the ring's primary key.
///
/// `buf` holds `wire::prefix_len(primary algorithm)` bytes of room, then
/// `plaintext_len` bytes of plaintext, then at least 16 bytes of room for the
/// tag. Returns the sealed length.
pub(crate) fn seal_in_place(
    ring: &KeyRing,
    context: &[u8],
    buf: &mut [u8],
    plaintext_len: usize,
) -> Result<usize, Error> {
    let key = ring.primary();
    let header = wire::header(key.algorithm, key.id);
    let mut aad_buf = [0u8; HEADER_BYTES + MAX_CONTEXT_BYTES];
    let aad_len = aad(&header, context, &mut aad_buf).ok_or_else(serialize_error)?;
    let prefix = wire::prefix_len(key.algorithm);
    let total = prefix + plaintext_len + TAG_BYTES;
    let buf = buf.get_mut(..total).ok_or_else(serialize_error)?;
    let (head, rest) = buf.split_at_mut(prefix);
    let (header_dst, nonce) = head.split_at_mut(HEADER_BYTES);
    header_dst.copy_from_slice(&header);
    fill_nonce(nonce);
    let (body, tag_dst) = rest.split_at_mut(plaintext_len);
    let tag = key
        .cipher
        .seal_in_place(nonce, aad_buf.get(..aad_len).unwrap_or_default(), body)
        .map_err(|_| serialize_error())?;
    tag_dst.copy_from_slice(&tag);
    Ok(total)
}

/// Fills a fresh nonce from the crate's fork-safe generator
/// ([`random::fill`]).
///
/// In this crate's own unit tests only, a nonce fixed by [`fix_nonce`] is
/// used instead, so frozen test vectors can be sealed to exact strings.
fn fill_nonce(nonce: &mut [u8]) {
    #[cfg(test)]
    if let Some(fixed) = FIXED_NONCE.with(std::cell::Cell::get) {
        nonce
            .iter_mut()
            .zip(fixed)
            .for_each(|(dst, src)| *dst = src);
        return;
    }
    random::fill(nonce);
}

#[cfg(test)]
thread_local! {
    /// The nonce seals on this thread use instead of random ones (the first
    /// 12 bytes for AES-256-GCM).
    static FIXED_NONCE: std::cell::Cell<Option<[u8; 24]>> = const { std::cell::Cell::new(None) };
}

/// Makes seals on this thread use `nonce` (its first 12 bytes for
/// AES-256-GCM) until the returned guard is dropped. Unit tests only: the
/// library never seals with anything but a random nonce.
#[cfg(test)]
#[must_use = "the nonce is fixed only while the guard lives"]
pub(crate) fn fix_nonce(nonce: [u8; 24]) -> FixedNonce {
    FIXED_NONCE.with(|fixed| fixed.set(Some(nonce)));
    FixedNonce(())
}

/// Restores random nonces on this thread when dropped.
#[cfg(test)]
pub(crate) struct FixedNonce(());

#[cfg(test)]
impl Drop for FixedNonce {
    fn drop(&mut self) {
        FIXED_NONCE.with(|fixed| fixed.set(None));
    }
}

fn serialize_error() -> Error {
    Error::new(ErrorKind::Serialize)
}

/// Authenticates and decrypts a sealed value in place; returns the
/// plaintext (a sub-slice of `raw`) and which key opened it.
///
/// Every failure is [`ErrorKind::Rejected`].
pub(crate) fn open_in_place<'a>(
    ring: &KeyRing,
    context: &[u8],
    raw: &'a mut [u8],
) -> Result<(&'a mut [u8], OpenedWith), Error> {
    let parts = wire::split(raw).ok_or_else(rejected)?;
    let (entry, primary) = ring
        .find(parts.algorithm, parts.key_id)
        .ok_or_else(rejected)?;
    let mut aad_buf = [0u8; HEADER_BYTES + MAX_CONTEXT_BYTES];
    let aad_len = aad(&parts.header, context, &mut aad_buf).ok_or_else(rejected)?;
    entry
        .cipher
        .open_in_place(
            parts.nonce,
            aad_buf.get(..aad_len).unwrap_or_default(),
            parts.body,
            parts.tag,
        )
        .map_err(|_| rejected())?;
    Ok((
        parts.body,
        OpenedWith {
            key_id: entry.id,
            algorithm: entry.algorithm,
            primary,
        },
    ))
}
