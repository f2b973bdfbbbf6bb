//! Wire format, version 1: framing and base64, no cryptography.
//!
//! A sealed value is
//!
//! ```text
//! version:u8 | algorithm:u8 | key_id:[u8;4] | nonce | ciphertext | tag:[u8;16]
//! ```
//!
//! with a 12-byte nonce for AES-256-GCM and a 24-byte nonce for XAES-256-GCM
//! and XChaCha20-Poly1305. A cookie carries it as base64url without padding.
//! The associated data is the six header bytes followed by the cookie name
//! (for a store value: the cookie name, a zero byte and the session id).
//!
//! Decoding runs in this fixed order, and every failure up to and including
//! the AEAD is the same [`ErrorKind::Rejected`](crate::ErrorKind::Rejected):
//!
//! 1. length cap (the configured cookie size limit), before any decoding;
//! 2. base64url without padding, canonical trailing bits;
//! 3. version byte;
//! 4. algorithm byte;
//! 5. key id (a lookup in the ring, no trial decryption; the key must carry
//!    the header's algorithm);
//! 6. AEAD open, in place;
//! 7. postcard decode of the envelope, trailing bytes rejected
//!    ([`ErrorKind::Undecodable`](crate::ErrorKind::Undecodable));
//! 8. idle and absolute timeouts
//!    ([`ErrorKind::Expired`](crate::ErrorKind::Expired)).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::algorithm::Algorithm;
use crate::cipher::TAG_BYTES;
use crate::key::KeyId;

/// The wire format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Bytes of header before the nonce: version, algorithm, key id.
pub(crate) const HEADER_BYTES: usize = 6;

/// The header bytes for a value sealed by key `id` with `algorithm`.
pub(crate) fn header(algorithm: Algorithm, id: KeyId) -> [u8; HEADER_BYTES] {
    let [a, b, c, d] = id.to_bytes();
    [FORMAT_VERSION, algorithm.wire_id(), a, b, c, d]
}

/// Bytes before the plaintext: header and nonce.
pub(crate) const fn prefix_len(algorithm: Algorithm) -> usize {
    HEADER_BYTES + algorithm.nonce_len()
}

/// Bytes of a sealed value holding `plaintext_len` bytes.
pub(crate) const fn sealed_len(algorithm: Algorithm, plaintext_len: usize) -> usize {
    prefix_len(algorithm) + plaintext_len + TAG_BYTES
}

/// Characters of unpadded base64 for `raw_len` bytes.
pub(crate) const fn encoded_len(raw_len: usize) -> usize {
    (raw_len / 3) * 4
        + match raw_len % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

/// A sealed value split into its parts, ready to open in place.
pub(crate) struct Parts<'a> {
    pub(crate) header: [u8; HEADER_BYTES],
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: KeyId,
    pub(crate) nonce: &'a [u8],
    pub(crate) body: &'a mut [u8],
    pub(crate) tag: &'a [u8],
}

/// Splits a sealed value; `None` for an unknown version or algorithm, or a
/// value too short to hold a header, nonce and tag.
pub(crate) fn split(raw: &mut [u8]) -> Option<Parts<'_>> {
    let (header, rest) = raw.split_first_chunk_mut::<HEADER_BYTES>()?;
    let [version, algorithm, a, b, c, d] = *header;
    if version != FORMAT_VERSION {
        return None;
    }
    let algorithm = Algorithm::from_wire_id(algorithm)?;
    let nonce_len = algorithm.nonce_len();
    let body_len = rest.len().checked_sub(nonce_len + TAG_BYTES)?;
    let (nonce, rest) = rest.split_at_mut(nonce_len);
    let (body, tag) = rest.split_at_mut(body_len);
    Some(Parts {
        header: *header,
        algorithm,
        key_id: KeyId::from_bytes([a, b, c, d]),
        nonce,
        body,
        tag,
    })
}

/// Decodes base64url without padding into `out`; `None` when the input is
/// not canonical base64url or does not fit.
pub(crate) fn decode_base64(value: &str, out: &mut [u8]) -> Option<usize> {
    URL_SAFE_NO_PAD.decode_slice(value.as_bytes(), out).ok()
}

/// Encodes as base64url without padding.
pub(crate) fn encode_base64(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_the_engine() {
        for n in 0..100 {
            assert_eq!(encoded_len(n), encode_base64(&vec![0xA5; n]).len());
        }
    }
}
