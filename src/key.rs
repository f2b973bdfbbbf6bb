//! Keys and key ids.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};

/// Length of a key in bytes.
pub const KEY_BYTES: usize = 32;

/// Shortest secret [`Key::derive_from_secret`] accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

const KEY_ID_INFO: &[u8] = b"sealed-session v1 key id";
const SECRET_INFO: &[u8] = b"sealed-session v1 key from secret";
const AEAD_INFO_PREFIX: &[u8] = b"sealed-session v1 aead key ";

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
        let mut bytes = [0u8; KEY_BYTES];
        crate::random::fill(&mut bytes);
        Self::from_array(bytes)
    }

    /// A key from exactly 32 bytes of key material, for the default algorithm.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeyLength`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let array: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| Error::new(ErrorKind::KeyLength { len: bytes.len() }))?;
        Ok(Self::from_array(array))
    }

    fn from_array(bytes: [u8; KEY_BYTES]) -> Self {
        Self {
            bytes,
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
        let decoded = Zeroizing::new(
            LENIENT_STANDARD
                .decode(encoded)
                .or_else(|_| LENIENT_URL_SAFE.decode(encoded))
                .map_err(|_| Error::new(ErrorKind::KeyEncoding))?,
        );
        Self::from_bytes(&decoded)
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
        Ok(Self::from_array(hkdf32(secret, SECRET_INFO)))
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
        let full = hkdf32(&self.bytes, KEY_ID_INFO);
        KeyId([full[0], full[1], full[2], full[3]])
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
        format!("{}:{}", self.algorithm.name(), self.to_base64())
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

    /// The AEAD key for this key's algorithm, derived under its own label.
    pub(crate) fn aead_key(&self) -> Zeroizing<[u8; KEY_BYTES]> {
        Zeroizing::new(hkdf32_multi(
            &self.bytes,
            &[AEAD_INFO_PREFIX, self.algorithm.name().as_bytes()],
        ))
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

fn hkdf32(ikm: &[u8], info: &[u8]) -> [u8; KEY_BYTES] {
    hkdf32_multi(ikm, &[info])
}

fn hkdf32_multi(ikm: &[u8], info: &[&[u8]]) -> [u8; KEY_BYTES] {
    let mut okm = [0u8; KEY_BYTES];
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand
    // cannot fail; the result is ignored rather than unwrapped.
    let _ = Hkdf::<Sha256>::new(None, ikm).expand_multi_info(info, &mut okm);
    okm
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
