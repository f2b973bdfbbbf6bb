//! The id of a store entry: what a pointer envelope carries.

use std::fmt;
use std::fmt::Write as _;

use crate::codec::envelope::STORE_ID_BYTES;

/// A random 128-bit store id.
///
/// # Security
///
/// The id is a bearer credential for its entry (together with the sealed
/// pointer cookie), so neither `Display` nor `Debug` shows it whole: both
/// show only its first four bytes as hex, then `…`, enough to correlate log
/// lines. [`StoreId::to_hex`] gives the full 32 hex digits, for stores that
/// key their entries by it.
///
/// # Examples
///
/// ```
/// use sealed_session::store::StoreId;
///
/// let id = StoreId::from_bytes([0xab; 16]);
/// assert_eq!(id.to_string(), "abababab…");
/// assert_eq!(format!("{id:?}"), "StoreId(abababab…)");
/// assert_eq!(id.to_hex(), "ab".repeat(16));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId([u8; STORE_ID_BYTES]);

impl StoreId {
    /// A new random id from the crate's thread-local CSPRNG (ChaCha12,
    /// seeded by the operating system and reseeded in a forked child, so a
    /// parent and its child never draw the same id).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        crate::crypto::random::fill(&mut bytes);
        Self(bytes)
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; STORE_ID_BYTES] {
        self.0
    }

    /// An id from its bytes.
    pub const fn from_bytes(bytes: [u8; STORE_ID_BYTES]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; STORE_ID_BYTES] {
        &self.0
    }

    /// The whole id as 32 lowercase hex digits, the form stores use in their
    /// keys.
    ///
    /// # Security
    ///
    /// The result is a bearer credential for the entry: use it to address
    /// the store, never write it to logs (print the id with `{}` or `{:?}`,
    /// which redact it).
    pub fn to_hex(&self) -> String {
        let mut hex = String::with_capacity(32);
        self.push_hex(&mut hex);
        hex
    }

    /// Appends the whole id as 32 lowercase hex digits to `out`.
    pub(crate) fn push_hex(&self, out: &mut String) {
        for b in self.0 {
            // Writing to a `String` cannot fail.
            let _ = write!(out, "{b:02x}");
        }
    }
}

impl fmt::Display for StoreId {
    /// Shows only the first four bytes, as eight hex digits and `…`: the id
    /// is a bearer credential (see [`StoreId::to_hex`] for the whole id).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "{a:02x}{b:02x}{c:02x}{d:02x}…")
    }
}

impl fmt::Debug for StoreId {
    /// Shows only the first four bytes, as `Display` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_whole_and_display_and_debug_are_redacted() {
        let id = StoreId::from_bytes(std::array::from_fn(|i| (i as u8) * 17));
        let hex = "00112233445566778899aabbccddeeff";
        assert_eq!(id.to_hex(), hex);
        let mut out = String::from("key:");
        id.push_hex(&mut out);
        assert_eq!(out, format!("key:{hex}"));
        assert_eq!(id.to_string(), "00112233…");
        assert_eq!(format!("{id:?}"), "StoreId(00112233…)");
    }
}
