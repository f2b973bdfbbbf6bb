//! The AEAD algorithms a key can carry.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// An AEAD algorithm, named in every sealed value's header.
///
/// Each [`Key`](crate::Key) carries one; the ring's primary key decides which
/// algorithm seals, so a deployment moves between algorithms by rotating keys.
///
/// | algorithm | nonce | random-nonce seals per key |
/// |---|---|---|
/// | [`Xaes256Gcm`](Self::Xaes256Gcm) (default) | 192-bit | effectively unbounded (2^80 and more) |
/// | [`Aes256Gcm`](Self::Aes256Gcm) | 96-bit | about 2^32, then rotate the key |
/// | [`XChaCha20Poly1305`](Self::XChaCha20Poly1305) | 192-bit | effectively unbounded |
///
/// # Security
///
/// AES-256-GCM with random 96-bit nonces must not seal more than about 2^32
/// values under one key (NIST SP 800-38D): past that the chance of a repeated
/// nonce, which breaks GCM, is no longer negligible. At 1 000 seals a second
/// that is 50 days. XAES-256-GCM and XChaCha20-Poly1305 use 192-bit nonces and
/// have no practical limit. XChaCha20-Poly1305 is for CPUs without AES
/// instructions; on x86-64 with AVX2 the `poly1305` crate's runtime-selected
/// AVX2 path has a fixed cost of about 1.7 µs per message, which building with
/// `RUSTFLAGS='--cfg poly1305_backend="soft"'` avoids (about 0.5 µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// AES-256-GCM with a random 96-bit nonce. Fastest; rotate keys well
    /// before 2^32 seals.
    Aes256Gcm,
    /// XAES-256-GCM (AES-256-GCM with a 192-bit nonce and a derived subkey per
    /// message). Safe with random nonces at any volume; the default.
    #[default]
    Xaes256Gcm,
    /// XChaCha20-Poly1305 with a random 192-bit nonce, for CPUs without AES
    /// instructions.
    XChaCha20Poly1305,
}

impl Algorithm {
    /// Every algorithm this version supports, in wire-id order.
    ///
    /// A slice, so a later version can add an algorithm without a breaking
    /// change; do not rely on its length.
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::Aes256Gcm,
        Algorithm::Xaes256Gcm,
        Algorithm::XChaCha20Poly1305,
    ];

    /// The byte naming this algorithm in a sealed value's header.
    pub const fn wire_id(self) -> u8 {
        match self {
            Self::Aes256Gcm => 1,
            Self::Xaes256Gcm => 2,
            Self::XChaCha20Poly1305 => 3,
        }
    }

    /// The algorithm named by a header byte, if this version knows it.
    pub const fn from_wire_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::Aes256Gcm),
            2 => Some(Self::Xaes256Gcm),
            3 => Some(Self::XChaCha20Poly1305),
            _ => None,
        }
    }

    /// Nonce length in bytes.
    pub const fn nonce_len(self) -> usize {
        match self {
            Self::Aes256Gcm => 12,
            Self::Xaes256Gcm | Self::XChaCha20Poly1305 => 24,
        }
    }

    /// The algorithm's name as written in key strings (`aes-256-gcm`,
    /// `xaes-256-gcm`, `xchacha20-poly1305`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-256-gcm",
            Self::Xaes256Gcm => "xaes-256-gcm",
            Self::XChaCha20Poly1305 => "xchacha20-poly1305",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses an algorithm name as printed by [`Algorithm::name`].
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::new(ErrorKind::KeyEncoding))
    }
}
