//! Session ids for values sealed in wire format version 1, which carry
//! none: a keyed hash of what makes the value unique, so every replay of
//! one legacy cookie opens with the same id and a revocation of that id
//! holds against it.
//!
//! The id is `HMAC-SHA256(csrf key, label ‖ source)[..16]` under the key
//! that opened the value. The label keeps it apart from CSRF tokens (the
//! two labels part right after `sealed-session v1 `, so no input of one
//! is an input of the other). The source is the cookie value for a cookie holding the
//! whole session, and the store id for a pointer and the value it points
//! to (so both get the same id, as their current-format successors do).
//! Without the key the id cannot be computed from the cookie.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::crypto::key::KeyId;
use crate::crypto::ring::KeyRing;

const LABEL: &[u8] = b"sealed-session v1 legacy session id";

/// The id of the legacy value `source` opened by key `key`, or `None` when
/// the ring no longer holds that key (it just opened the value, so this
/// does not happen).
pub(crate) fn legacy_session_id(ring: &KeyRing, key: KeyId, source: &[u8]) -> Option<[u8; 16]> {
    let entry = ring.find_id(key)?;
    // Any key length is valid for HMAC, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(entry.csrf_key.as_slice()).ok()?;
    mac.update(LABEL);
    mac.update(source);
    let tag = mac.finalize().into_bytes();
    let mut id = [0u8; 16];
    id.copy_from_slice(tag.get(..16)?);
    Some(id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::crypto::key::Key;

    #[test]
    fn an_id_is_stable_for_its_source_and_differs_between_sources_and_keys() {
        let a = Key::generate();
        let b = Key::generate();
        let ring = KeyRing::new([a.clone(), b.clone()]).unwrap();
        let one = legacy_session_id(&ring, a.id(), b"cookie one").unwrap();
        assert_eq!(
            one,
            legacy_session_id(&ring, a.id(), b"cookie one").unwrap()
        );
        assert_ne!(
            one,
            legacy_session_id(&ring, a.id(), b"cookie two").unwrap()
        );
        assert_ne!(
            one,
            legacy_session_id(&ring, b.id(), b"cookie one").unwrap()
        );
        let other = KeyRing::new([Key::generate()]).unwrap();
        assert_eq!(legacy_session_id(&other, a.id(), b"cookie one"), None);
    }
}
