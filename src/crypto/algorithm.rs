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
/// | [`Xaes256Gcm`](Self::Xaes256Gcm) (default) | 192-bit: 96 random bits per sealing epoch, 96 per message | about 2^41, then rotate the key (see below) |
/// | [`Aes256Gcm`](Self::Aes256Gcm) | 96-bit | about 2^32, then rotate the key |
/// | [`XChaCha20Poly1305`](Self::XChaCha20Poly1305) | 192-bit | effectively unbounded |
///
/// # Security
///
/// AES-256-GCM with random 96-bit nonces must not seal more than about 2^32
/// values under one key (NIST SP 800-38D): past that the chance of a repeated
/// nonce, which breaks GCM, passes 2^-32. At 1 000 seals a second that is 50
/// days. XChaCha20-Poly1305 uses random 192-bit nonces and has no practical
/// limit.
///
/// XAES-256-GCM derives an AES-256-GCM subkey from the key and the first 12
/// bytes of its 24-byte nonce (the *prefix*), and uses the last 12 (the
/// *suffix*) as that subkey's AES-256-GCM nonce. This crate seals in
/// *epochs*, so that the subkey's AES-256-GCM is built once per epoch, not
/// once per message: an epoch is a random prefix, used for at most 2^24
/// seals by one process and key, each with a fresh random suffix. A new
/// epoch starts after 2^24 seals, for a new key or key ring, and in a forked
/// child. The values are plain XAES-256-GCM (C2SP); any implementation
/// opens them. The bounds:
///
/// - within an epoch, 2^24 random 96-bit suffixes under one subkey repeat
///   with probability at most 2^48 / 2^97 = 2^-49;
/// - prefixes are random 96-bit values: two epochs share a subkey with
///   probability 2^-96 per pair, which no deployment approaches;
/// - over a key's life the epochs' chances add up, to at most
///   `seals × 2^-73`: 2^-32 (the level of AES-256-GCM's 2^32 limit) after
///   2^41 seals, about 2.2 × 10^12, 512 times AES-256-GCM's limit. At a
///   million seals a second that is 25 days; at 10 000, 7 years. Rotate keys
///   well before.
///
/// Opening keeps the AES-256-GCM of the 64 prefixes a thread most recently
/// authenticated (27 KiB per thread), and only values that
/// authenticated ever enter it.
///
/// XChaCha20-Poly1305 is for CPUs without AES
/// instructions; on x86-64 with AVX2 the `poly1305` crate's runtime-selected
/// AVX2 path has a fixed cost of about 1.7 µs per message, which building with
/// `RUSTFLAGS='--cfg poly1305_backend="soft"'` avoids (about 0.5 µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// AES-256-GCM with a random 96-bit nonce. Fastest; rotate keys well
    /// before 2^32 seals.
    Aes256Gcm,
    /// XAES-256-GCM (AES-256-GCM under a subkey derived from the first half
    /// of a 192-bit nonce), sealed in epochs of at most 2^24 values per
    /// random prefix: about 2^41 seals per key (see above), as fast as
    /// AES-256-GCM; the default.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_the_name_that_parses_back() {
        for &algorithm in Algorithm::ALL {
            assert_eq!(algorithm.to_string(), algorithm.name());
            assert_eq!(
                algorithm.to_string().parse::<Algorithm>().ok(),
                Some(algorithm)
            );
        }
        assert_eq!(Algorithm::Xaes256Gcm.to_string(), "xaes-256-gcm");
    }
}
