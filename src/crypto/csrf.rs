//! CSRF tokens: an HMAC of the session id under a key derived from the
//! ring's key, so a token costs no cookie bytes, needs no storage, changes
//! when the session is regenerated, and keeps verifying across a key
//! rotation while the key that made it is in the ring.
//!
//! A token is `base64url(key id ‖ HMAC-SHA256(csrf key, label ‖ cookie
//! name ‖ 0 ‖ session id)[..16])`: 20 bytes, 27 characters. The csrf key is
//! HKDF-SHA256 of the key material under its own label, independent of the
//! AEAD key and the key id. The session id is 128 bits from the CSPRNG and
//! never leaves the sealed cookie, so without the key a token cannot be
//! computed, and a token tells nothing about the id.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::crypto::key::KeyId;
use crate::crypto::ring::{Entry, KeyRing};

/// Bytes of a decoded token: the key id and the truncated tag.
const TOKEN_BYTES: usize = 4 + TAG_BYTES;
/// Bytes of HMAC-SHA256 kept: 128 bits.
const TAG_BYTES: usize = 16;
/// Characters of a token (base64url, no padding).
pub(crate) const TOKEN_CHARS: usize = 27;

const LABEL: &[u8] = b"sealed-session v1 csrf token";

fn mac(entry: &Entry, cookie_name: &str, session_id: &[u8; 16]) -> Hmac<Sha256> {
    // Any key length is valid for HMAC, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(entry.csrf_key.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(LABEL);
    mac.update(cookie_name.as_bytes());
    mac.update(&[0]);
    mac.update(session_id);
    mac
}

/// The token of session `session_id` under cookie `cookie_name`, made with
/// the ring's primary key.
pub(crate) fn token(ring: &KeyRing, cookie_name: &str, session_id: &[u8; 16]) -> String {
    let entry = ring.primary();
    let tag = mac(entry, cookie_name, session_id).finalize().into_bytes();
    let mut bytes = [0u8; TOKEN_BYTES];
    let (id, rest) = bytes.split_at_mut(4);
    id.copy_from_slice(&entry.id.to_bytes());
    rest.copy_from_slice(tag.get(..TAG_BYTES).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `token` is the token of `session_id` under `cookie_name` made
/// with any key of the ring. The tag is compared in constant time.
pub(crate) fn verify(
    ring: &KeyRing,
    cookie_name: &str,
    session_id: &[u8; 16],
    token: &str,
) -> bool {
    if token.len() != TOKEN_CHARS {
        return false;
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    let Ok(TOKEN_BYTES) = URL_SAFE_NO_PAD.decode_slice(token.as_bytes(), &mut bytes) else {
        return false;
    };
    let (id, tag) = bytes.split_at(4);
    let Some(tag) = tag.get(..TAG_BYTES) else {
        return false;
    };
    let Ok(id) = <[u8; 4]>::try_from(id) else {
        return false;
    };
    ring.find_id(KeyId::from_bytes(id)).is_some_and(|entry| {
        mac(entry, cookie_name, session_id)
            .verify_truncated_left(tag)
            .is_ok()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Key;

    #[test]
    fn tokens_verify_for_their_session_and_cookie_only() {
        let ring = KeyRing::new([Key::generate()]).unwrap();
        let id = [7u8; 16];
        let t = token(&ring, "sid", &id);
        assert_eq!(t.len(), TOKEN_CHARS);
        assert!(verify(&ring, "sid", &id, &t));
        assert!(!verify(&ring, "sid", &[8u8; 16], &t), "another session");
        assert!(!verify(&ring, "other", &id, &t), "another cookie");
        let mut flipped = t.clone().into_bytes();
        if let Some(c) = flipped.last_mut() {
            *c = if *c == b'A' { b'B' } else { b'A' };
        }
        assert!(!verify(
            &ring,
            "sid",
            &id,
            &String::from_utf8(flipped).unwrap_or_default()
        ));
        for junk in [
            "",
            "short",
            &"A".repeat(27),
            &"*".repeat(27),
            &"A".repeat(28),
        ] {
            assert!(!verify(&ring, "sid", &id, junk), "{junk:?}");
        }
    }

    #[test]
    fn a_token_is_bound_to_the_key_that_made_it() {
        let (a, b) = (Key::generate(), Key::generate());
        let ring = KeyRing::new([a.clone(), b.clone()]).unwrap();
        let from_a = token(&KeyRing::new([a]).unwrap(), "sid", &[1; 16]);
        assert!(verify(&ring, "sid", &[1; 16], &from_a));
        // The same tag under the other key's id: each key derives its own
        // CSRF key, so it does not verify.
        let mut bytes = URL_SAFE_NO_PAD.decode(&from_a).unwrap();
        if let Some(id) = bytes.get_mut(..4) {
            id.copy_from_slice(&b.id().to_bytes());
        }
        let relabelled = URL_SAFE_NO_PAD.encode(&bytes);
        assert!(!verify(&ring, "sid", &[1; 16], &relabelled));
    }

    #[test]
    fn tokens_keep_verifying_while_their_key_is_in_the_ring() {
        let old = Key::generate();
        let new = Key::generate();
        let before = KeyRing::new([old.clone()]).unwrap();
        let t = token(&before, "sid", &[1; 16]);
        let rotated = KeyRing::new([new.clone(), old]).unwrap();
        assert!(verify(&rotated, "sid", &[1; 16], &t));
        assert_ne!(
            token(&rotated, "sid", &[1; 16]),
            t,
            "new tokens use the primary"
        );
        let retired = KeyRing::new([new]).unwrap();
        assert!(!verify(&retired, "sid", &[1; 16], &t));
    }
}
