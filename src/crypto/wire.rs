//! Wire format, version 3 (header as version 2): framing and base64, no cryptography.
//!
//! A sealed value is
//!
//! ```text
//! version:u8 | algorithm:u8 | key_id:[u8;4] | schema:[u8;4] | nonce | ciphertext | tag:[u8;16]
//! ```
//!
//! with a 12-byte nonce for AES-256-GCM and a 24-byte nonce for XAES-256-GCM
//! and XChaCha20-Poly1305. A cookie carries it as base64url without padding.
//! The associated data is the ten header bytes followed by the cookie name
//! (for a store value: the cookie name, a zero byte and the session id), so
//! the schema id is authenticated. Version 2 (the same header; its envelope
//! has issued-at in seconds and no per-session expiry) is always read;
//! version 1 (no schema field, six header bytes) when the codec allows it.
//!
//! Decoding runs in this fixed order, and every failure up to and including
//! the AEAD is the same [`ErrorKind::Rejected`](crate::ErrorKind::Rejected):
//!
//! 1. length cap (the configured cookie size limit), before any decoding;
//! 2. base64url without padding, canonical trailing bits;
//! 3. version byte (3 or 2, or 1 when allowed);
//! 4. algorithm byte;
//! 5. key id (a lookup in the ring, no trial decryption; the key must carry
//!    the header's algorithm);
//! 6. AEAD open, in place;
//! 7. schema: the session type's own schema, or one a declared migration
//!    starts from, else [`ErrorKind::Undecodable`](crate::ErrorKind::Undecodable);
//! 8. postcard decode of the envelope, trailing bytes rejected
//!    ([`ErrorKind::Undecodable`](crate::ErrorKind::Undecodable));
//! 9. idle and absolute timeouts
//!    ([`ErrorKind::Expired`](crate::ErrorKind::Expired)).

use std::fmt;
use std::mem::MaybeUninit;

use base64_simd::{Out, URL_SAFE_NO_PAD};

use crate::crypto::algorithm::Algorithm;
use crate::crypto::cipher::TAG_BYTES;
use crate::crypto::key::KeyId;

/// Bytes of a schema id.
pub(crate) const SCHEMA_ID_BYTES: usize = 4;

/// Which session schema a sealed value was written for: four bytes in the
/// value's (authenticated) header.
///
/// A type's schema id is, by default, a digest of its *serde shape*: the
/// field and variant names and the primitive types that its `Deserialize`
/// implementation asks for (not the names of the types themselves), traced
/// once per type and thread. It depends only on the type's definition (what
/// `#[derive(Deserialize)]` generates from the source), so it survives
/// compiler upgrades, restarts, renaming the type and moving it to another
/// module, and it changes when a field is added, removed, renamed,
/// reordered or changes primitive type. A value sealed for an older
/// definition that lacked trailing `#[serde(default)]` fields (or trailing
/// enum variants) still opens, with the defaults; see
/// [`Codec::opens_schema`](crate::Codec::opens_schema). Where a
/// change keeps the shape but changes the meaning (a `role` that now grants
/// more), or where the trace cannot see the change (below), name the schema
/// explicitly with [`CodecBuilder::schema`](crate::CodecBuilder::schema):
/// one line, and the name is the identity.
///
/// The trace covers nested structs, tuples, options, the element type of
/// sequences and maps, and every variant name of an enum, but only the
/// *contents* of an enum's first variant, and nothing behind a type that
/// deserializes through `deserialize_any` (self-describing values such as
/// `serde_json::Value`, untagged enums) or past 16 levels of nesting.
///
/// # Security
///
/// The id is four bytes: two of an application's own session types share
/// one with probability about n²/2³³ for n types (one in 10⁸ for ten).
/// It is a label the server chose, authenticated by the AEAD, not a secret
/// and not something a client can choose; a codec refuses migrations whose
/// ids collide.
///
/// # Examples
///
/// ```
/// use sealed_session::SchemaId;
/// # #[derive(serde::Deserialize)]
/// # struct V1 { user_id: u64, display_name: String }
/// # #[derive(serde::Deserialize)]
/// # struct V2 { user_id: u64, role: String }
///
/// // Same wire shape, different schema.
/// assert_ne!(SchemaId::of::<V1>(), SchemaId::of::<V2>());
/// assert_eq!(SchemaId::named("cart/2"), SchemaId::named("cart/2"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaId([u8; SCHEMA_ID_BYTES]);

impl SchemaId {
    /// The four bytes, as they appear in a sealed value's header.
    pub fn to_bytes(self) -> [u8; SCHEMA_ID_BYTES] {
        self.0
    }

    /// A schema id from its four header bytes.
    pub fn from_bytes(bytes: [u8; SCHEMA_ID_BYTES]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for SchemaId {
    /// Eight lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemaId({self})")
    }
}

/// The wire format version this crate writes.
pub const FORMAT_VERSION: u8 = 3;

/// The version before: the same header, an envelope with issued-at in
/// seconds and no per-session expiry. Always read (and sealed again in the
/// current version on the next save).
pub(crate) const PREVIOUS_VERSION: u8 = 2;

/// The version written before schema identities were bound into values;
/// read only when the codec allows it.
pub(crate) const LEGACY_VERSION: u8 = 1;

/// Bytes of a version-2 or -3 header before the nonce: version, algorithm,
/// key id, schema id.
pub(crate) const HEADER_BYTES: usize = 10;

/// Bytes of a version-1 header: version, algorithm, key id.
const LEGACY_HEADER_BYTES: usize = 6;

/// A parsed header: its bytes (the start of the associated data) and what
/// they name.
#[derive(Clone, Copy)]
pub(crate) struct Header {
    bytes: [u8; HEADER_BYTES],
    len: usize,
    pub(crate) version: u8,
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: KeyId,
    /// `None` for a version-1 value, which names no schema.
    pub(crate) schema: Option<SchemaId>,
}

impl Header {
    /// The current version's header for a value sealed by key `id` with `algorithm`
    /// for `schema`.
    pub(crate) fn new(algorithm: Algorithm, id: KeyId, schema: SchemaId) -> Self {
        let [a, b, c, d] = id.to_bytes();
        let [e, f, g, h] = schema.to_bytes();
        Self {
            bytes: [FORMAT_VERSION, algorithm.wire_id(), a, b, c, d, e, f, g, h],
            len: HEADER_BYTES,
            version: FORMAT_VERSION,
            algorithm,
            key_id: id,
            schema: Some(schema),
        }
    }

    /// Parses the header at the start of `raw`; `None` for an unknown
    /// version or algorithm, or too few bytes.
    pub(crate) fn parse(raw: &[u8]) -> Option<Self> {
        let (&[version, algorithm, a, b, c, d], rest) = raw.split_first_chunk::<6>()?;
        let algorithm = Algorithm::from_wire_id(algorithm)?;
        let key_id = KeyId::from_bytes([a, b, c, d]);
        let (schema, len) = match version {
            FORMAT_VERSION | PREVIOUS_VERSION => {
                let &[e, f, g, h] = rest.first_chunk::<4>()?;
                (Some(SchemaId::from_bytes([e, f, g, h])), HEADER_BYTES)
            }
            LEGACY_VERSION => (None, LEGACY_HEADER_BYTES),
            _ => return None,
        };
        let mut bytes = [0u8; HEADER_BYTES];
        bytes.get_mut(..len)?.copy_from_slice(raw.get(..len)?);
        Some(Self {
            bytes,
            len,
            version,
            algorithm,
            key_id,
            schema,
        })
    }

    /// The header's bytes, as they start the associated data.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// Bytes of header and nonce.
    pub(crate) fn prefix_len(&self) -> usize {
        self.len + self.algorithm.nonce_len()
    }
}

/// Bytes before the plaintext of a value this crate seals: header and
/// nonce.
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
    pub(crate) header: Header,
    pub(crate) nonce: &'a [u8],
    pub(crate) body: &'a mut [u8],
    pub(crate) tag: &'a [u8],
}

/// Splits a sealed value; `None` for an unknown version or algorithm, or a
/// value too short to hold a header, nonce and tag.
pub(crate) fn split(raw: &mut [u8]) -> Option<Parts<'_>> {
    let header = Header::parse(raw)?;
    let rest = raw.get_mut(header.len..)?;
    let nonce_len = header.algorithm.nonce_len();
    let body_len = rest.len().checked_sub(nonce_len + TAG_BYTES)?;
    let (nonce, rest) = rest.split_at_mut(nonce_len);
    let (body, tag) = rest.split_at_mut(body_len);
    Some(Parts {
        header,
        nonce,
        body,
        tag,
    })
}

/// Decodes base64url without padding into the front of `out` and returns
/// the decoded bytes; `None` when the input is not canonical base64url
/// (padding, another alphabet, a stray character, nonzero trailing bits) or
/// does not fit. `out` may be uninitialised: nothing is zero-filled first.
///
/// `base64-simd`, not the `base64` crate: with SSSE3/AVX2 (chosen at run
/// time) it decodes a small session's cookie in about a third of the time,
/// which was a quarter of everything an open did. `tests` checks it against
/// the `base64` crate on arbitrary input.
pub(crate) fn decode_base64<'o>(
    src: &[u8],
    out: &'o mut [MaybeUninit<u8>],
) -> Option<&'o mut [u8]> {
    let len = URL_SAFE_NO_PAD.decoded_length(src).ok()?;
    // `decode` panics on a short buffer: hand it exactly the decoded length.
    let out = out.get_mut(..len)?;
    URL_SAFE_NO_PAD
        .decode(src, Out::from_uninit_slice(out))
        .ok()
}

/// Encodes as base64url without padding.
pub(crate) fn encode_base64(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as REFERENCE;
    use proptest::prelude::*;

    #[test]
    fn encoded_len_matches_the_engine() {
        for n in 0..100 {
            assert_eq!(encoded_len(n), encode_base64(&vec![0xA5; n]).len());
        }
    }

    /// What the `base64` crate makes of `value` in a buffer of `room` bytes.
    fn reference_decode(value: &str, room: usize) -> Option<Vec<u8>> {
        let mut out = vec![0u8; room];
        let len = REFERENCE.decode_slice(value, &mut out).ok()?;
        out.truncate(len);
        Some(out)
    }

    fn decode(value: &str, room: usize) -> Option<Vec<u8>> {
        let mut out = vec![MaybeUninit::uninit(); room];
        decode_base64(value.as_bytes(), &mut out).map(|decoded| decoded.to_vec())
    }

    #[test]
    fn non_canonical_and_foreign_encodings_are_refused() {
        // "AB" has nonzero trailing bits ("AA" is canonical for one zero byte),
        // "+/" and "=" belong to other alphabets or padding, "A" alone is no
        // whole byte, and a buffer one byte short does not fit.
        for value in [
            "AB", "AAB", "+A", "A/", "AA==", "AAA=", "A", "AAAAA", "A A", "AA\n",
        ] {
            assert_eq!(decode(value, 16), None, "{value:?}");
            assert_eq!(reference_decode(value, 16), None, "{value:?}");
        }
        assert_eq!(decode("AAAA", 2), None);
        assert_eq!(decode("AAAA", 3), Some(vec![0, 0, 0]));
        assert_eq!(decode("", 0), Some(vec![]));
    }

    proptest! {
        /// Any bytes round-trip, and the encoding is the `base64` crate's.
        #[test]
        fn encoding_matches_the_base64_crate(raw in proptest::collection::vec(any::<u8>(), 0..700)) {
            let encoded = encode_base64(&raw);
            prop_assert_eq!(&encoded, &REFERENCE.encode(&raw));
            prop_assert_eq!(decode(&encoded, raw.len()), Some(raw));
        }

        /// On arbitrary strings, mostly of the alphabet with some strays
        /// (padding, the standard alphabet, spaces, non-ASCII), and any
        /// buffer size, both decoders accept exactly the same inputs and
        /// produce the same bytes.
        #[test]
        fn decoding_matches_the_base64_crate(
            value in "[A-Za-z0-9_-]{0,300}([=+/ é\n]?[A-Za-z0-9_-]{0,40}){0,2}",
            spare in 0usize..3,
            short in any::<bool>(),
        ) {
            let exact = value.len() / 4 * 3 + (value.len() % 4).saturating_sub(1);
            let room = if short { exact.saturating_sub(spare) } else { exact + spare };
            prop_assert_eq!(decode(&value, room), reference_decode(&value, room));
        }
    }
}
