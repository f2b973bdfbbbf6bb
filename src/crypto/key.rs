//! Keys and key ids.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::limits::{KEY_BYTES, MIN_SECRET_BYTES};

const KEY_ID_INFO: &[u8] = b"sealed-session v1 key id";
const SECRET_INFO: &[u8] = b"sealed-session v1 key from secret";
const AEAD_INFO_PREFIX: &[u8] = b"sealed-session v1 aead key ";
const CSRF_INFO: &[u8] = b"sealed-session v1 csrf key";

const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 32-byte secret key and the AEAD algorithm it seals with.
///
/// The key material never leaves the key except through
/// [`Key::to_base64`]: it is zeroized on drop, its `Debug` output shows only the
/// public [`KeyId`] and algorithm, and it has no `Display`, `Serialize` or
/// `Hash`.
///
/// The AEAD key is not the key material itself: it and the key id are derived
/// from it with HKDF-SHA256 under separate labels, so the id in every header
/// says nothing about the encryption key.
///
/// # Examples
///
/// ```
/// use sealed_session::{Algorithm, Key};
///
/// // In production, load keys from a secret store; see `KeyRing::from_env`.
/// let key = Key::generate();
/// assert_eq!(key.algorithm(), Algorithm::Xaes256Gcm);
/// let again = Key::from_base64(&key.to_base64())?;
/// assert_eq!(again.id(), key.id());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    bytes: [u8; KEY_BYTES],
    #[zeroize(skip)]
    algorithm: Algorithm,
}

impl Key {
    /// A new random key for the default algorithm, from the crate's
    /// thread-local CSPRNG (ChaCha12, seeded by the operating system and
    /// reseeded in a forked child, so a parent and its child never generate
    /// the same key).
    pub fn generate() -> Self {
        // Filled in place: no copy of the key bytes is left on the stack.
        let mut key = Self::zeroed();
        crate::crypto::random::fill(&mut key.bytes);
        key
    }

    /// A key from exactly 32 bytes of key material, for the default algorithm.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyLength`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let source: &[u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| Error::new(ErrorKind::KeyLength { len: bytes.len() }))?;
        // Copied straight into the key, which wipes itself on drop.
        let mut key = Self::zeroed();
        key.bytes.copy_from_slice(source);
        Ok(key)
    }

    /// An all-zero key for the default algorithm, to be filled in place.
    fn zeroed() -> Self {
        Self {
            bytes: [0; KEY_BYTES],
            algorithm: Algorithm::default(),
        }
    }

    /// A key from base64 (standard or URL-safe alphabet, padding optional) of
    /// 32 bytes, for the default algorithm.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyEncoding`] when `encoded` is not base64, and
    /// [`ErrorKind::KeyLength`] when it does not hold 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, Error> {
        let encoded = encoded.trim();
        // Decoded into a buffer of ours that is wiped on every path (the
        // engine's own `decode` drops a partly decoded `Vec` on error).
        let mut scratch = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(encoded.len())]);
        let len = decode_base64_into(encoded, &mut scratch)?;
        Self::from_bytes(scratch.get(..len).unwrap_or_default())
    }

    /// A key derived from a long secret (a passphrase-like string from
    /// configuration) with HKDF-SHA256, for the default algorithm.
    ///
    /// The secret should be random; HKDF does not stretch a weak password.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::SecretTooShort`] when the secret is under 32 bytes.
    pub fn derive_from_secret(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::new(ErrorKind::SecretTooShort { len: secret.len() }));
        }
        let mut key = Self::zeroed();
        hkdf_into(secret, &[SECRET_INFO], &mut key.bytes);
        Ok(key)
    }

    /// This key with another algorithm.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The algorithm this key seals with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key's public id: the first four bytes of HKDF-SHA256 of the key
    /// material under a fixed label. It is written in every value the key
    /// seals, so opening finds the key without trying each one.
    pub fn id(&self) -> KeyId {
        let mut full = Zeroizing::new([0u8; KEY_BYTES]);
        hkdf_into(&self.bytes, &[KEY_ID_INFO], &mut full);
        let [a, b, c, d, ..] = &*full;
        KeyId([*a, *b, *c, *d])
    }

    /// The key material as standard base64 without padding.
    ///
    /// # Security
    ///
    /// The returned string is the secret: store it in a secret store, never in
    /// logs. The algorithm is not included; see [`Key::to_key_string`].
    pub fn to_base64(&self) -> String {
        STANDARD_NO_PAD.encode(self.bytes)
    }

    /// The key as `algorithm:base64`, the form [`Key::parse`] and
    /// [`KeyRing::from_env`](crate::KeyRing::from_env) read.
    ///
    /// # Security
    ///
    /// As with [`Key::to_base64`], the returned string is the secret.
    pub fn to_key_string(&self) -> String {
        // Built at its exact length, so no reallocation leaves a copy behind,
        // and the intermediate base64 is wiped.
        let encoded = Zeroizing::new(self.to_base64());
        let name = self.algorithm.name();
        let mut out = String::with_capacity(name.len() + 1 + encoded.len());
        out.push_str(name);
        out.push(':');
        out.push_str(&encoded);
        out
    }

    /// A key from `[algorithm:]base64`, where `algorithm` is one of the names
    /// [`Algorithm::name`] prints; without a prefix the default algorithm.
    ///
    /// # Errors
    ///
    /// As [`Key::from_base64`], and [`ErrorKind::KeyEncoding`] for an unknown
    /// algorithm name.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        match s.split_once(':') {
            Some((name, encoded)) => {
                let algorithm = Algorithm::from_str(name.trim())?;
                Ok(Self::from_base64(encoded)?.with_algorithm(algorithm))
            }
            None => Self::from_base64(s),
        }
    }

    /// The key CSRF tokens are computed with (HMAC-SHA256), derived under
    /// its own label.
    pub(crate) fn csrf_key(&self) -> Zeroizing<[u8; KEY_BYTES]> {
        let mut okm = Zeroizing::new([0u8; KEY_BYTES]);
        hkdf_into(&self.bytes, &[CSRF_INFO], &mut okm);
        okm
    }

    /// The AEAD key for this key's algorithm, derived under its own label.
    pub(crate) fn aead_key(&self) -> Zeroizing<[u8; KEY_BYTES]> {
        let mut okm = Zeroizing::new([0u8; KEY_BYTES]);
        hkdf_into(
            &self.bytes,
            &[AEAD_INFO_PREFIX, self.algorithm.name().as_bytes()],
            &mut okm,
        );
        okm
    }
}

impl FromStr for Key {
    type Err = Error;

    /// Same as [`Key::parse`].
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// HKDF-SHA256 of `ikm` under `info`, written into `okm` in place (the
/// caller owns, and wipes, the output). The HKDF state, which holds the
/// pseudorandom key, is wiped on drop (sha2's `zeroize` feature).
fn hkdf_into(ikm: &[u8], info: &[&[u8]], okm: &mut [u8; KEY_BYTES]) {
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand
    // cannot fail; the result is ignored rather than unwrapped.
    let _ = Hkdf::<Sha256>::new(None, ikm).expand_multi_info(info, okm);
}

/// Decodes base64 (standard, then URL-safe alphabet; padding optional) into
/// `scratch` and returns the decoded length. On error `scratch` is wiped
/// before returning: a decode that fails part-way has already written the
/// bytes before the bad character.
fn decode_base64_into(encoded: &str, scratch: &mut [u8]) -> Result<usize, Error> {
    let decoded = LENIENT_STANDARD
        .decode_slice(encoded, &mut *scratch)
        .or_else(|_| LENIENT_URL_SAFE.decode_slice(encoded, &mut *scratch));
    decoded.map_err(|_| {
        scratch.zeroize();
        Error::new(ErrorKind::KeyEncoding)
    })
}

/// The public four-byte id of a [`Key`], written in every value it seals.
///
/// Displayed as eight lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub(crate) [u8; 4]);

impl KeyId {
    /// The id's bytes, as in the header.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    /// A key id from header bytes.
    pub const fn from_bytes(bytes: [u8; 4]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;

    /// Base64 of 30 bytes of 0xff, then a character no alphabet has.
    const BAD_AFTER_GOOD: &str = "////////////////////////////////////////!!!!";

    #[test]
    fn failed_base64_decode_wipes_the_partly_decoded_bytes() {
        let mut scratch = vec![0u8; base64::decoded_len_estimate(BAD_AFTER_GOOD.len())];
        // The engine writes what it decoded before it meets the bad
        // character: there is something to wipe.
        assert!(
            LENIENT_STANDARD
                .decode_slice(BAD_AFTER_GOOD, &mut scratch)
                .is_err()
        );
        assert!(scratch.contains(&0xff), "precondition: partial output");

        let mut scratch = vec![0u8; scratch.len()];
        let err = decode_base64_into(BAD_AFTER_GOOD, &mut scratch).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::KeyEncoding));
        assert!(scratch.iter().all(|&b| b == 0), "{scratch:?}");

        // The URL-safe alphabet too (`_` is URL-safe only).
        let url_safe = BAD_AFTER_GOOD.replace('/', "_");
        let mut scratch = vec![0u8; scratch.len()];
        assert!(decode_base64_into(&url_safe, &mut scratch).is_err());
        assert!(scratch.iter().all(|&b| b == 0), "{scratch:?}");
    }

    #[test]
    fn base64_decode_still_reports_encoding_and_length() {
        let key = Key::generate();
        assert_eq!(
            Key::from_base64(&key.to_base64()).map(|k| k.id()).ok(),
            Some(key.id())
        );
        let url_safe = STANDARD_NO_PAD
            .encode([0xfb; KEY_BYTES])
            .replace('+', "-")
            .replace('/', "_");
        assert!(url_safe.contains('-') && url_safe.contains('_'));
        assert!(Key::from_base64(&url_safe).is_ok());
        assert_eq!(
            Key::from_base64(BAD_AFTER_GOOD).err().map(|e| e.kind()),
            Some(ErrorKind::KeyEncoding)
        );
        assert_eq!(
            Key::from_base64(&STANDARD_NO_PAD.encode([1u8; 31]))
                .err()
                .map(|e| e.kind()),
            Some(ErrorKind::KeyLength { len: 31 })
        );
        assert_eq!(
            Key::from_base64("").err().map(|e| e.kind()),
            Some(ErrorKind::KeyLength { len: 0 })
        );
    }

    #[test]
    fn key_string_is_the_algorithm_and_the_base64() {
        let key = Key::generate().with_algorithm(Algorithm::Aes256Gcm);
        let string = key.to_key_string();
        assert_eq!(string, format!("aes-256-gcm:{}", key.to_base64()));
        assert_eq!(string.capacity(), string.len());
    }
}
