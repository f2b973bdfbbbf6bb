//! The id every session carries: random, sealed inside the value, stable
//! across renewals and re-seals, replaced by regeneration.

use std::fmt;
use std::fmt::Write as _;

use crate::codec::envelope::SESSION_ID_BYTES;

/// A session's random 128-bit id, sealed inside every value of the session.
///
/// It stays the same while the session is renewed, re-sealed under a new
/// key or migrated, and is replaced by [`Session::regenerate`]. It names a
/// session for logs and for revocation (a revoked id opens no more), and
/// tells nothing about the session's data.
///
/// A session id adds 16 bytes to the sealed value (about 22 characters of
/// cookie). Every session carries one, registry or not, so a revocation
/// registry switched on later covers the sessions sealed before it.
///
/// [`Session::regenerate`]: crate::Session::regenerate
///
/// # Examples
///
/// ```
/// use sealed_session::SessionId;
///
/// let id = SessionId::from_bytes([0xab; 16]);
/// assert_eq!(id.to_string(), "ab".repeat(16));
/// assert_ne!(SessionId::generate(), SessionId::generate());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; SESSION_ID_BYTES]);

impl SessionId {
    /// A new random id from the crate's fork-safe CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        crate::crypto::random::fill(&mut bytes);
        Self(bytes)
    }

    /// The stand-in a new session's envelope is serialized with when its id
    /// is drawn by the seal, with the nonce (see
    /// [`Codec::seal_fresh_envelope`](crate::Codec)); never sealed.
    pub(crate) const UNDRAWN: Self = Self([0; SESSION_ID_BYTES]);

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; SESSION_ID_BYTES] {
        self.0
    }

    /// An id from its bytes.
    pub const fn from_bytes(bytes: [u8; SESSION_ID_BYTES]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for SessionId {
    /// 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hex = String::with_capacity(2 * SESSION_ID_BYTES);
        let _ = write!(hex, "{self}");
        write!(f, "SessionId({hex})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_show_the_whole_id_in_hex() {
        let id = SessionId::from_bytes(std::array::from_fn(|i| (i as u8) * 17));
        let hex = "00112233445566778899aabbccddeeff";
        assert_eq!(id.to_string(), hex);
        assert_eq!(format!("{id:?}"), format!("SessionId({hex})"));
    }
}
