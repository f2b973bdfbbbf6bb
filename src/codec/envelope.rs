//! The payload codec: what is sealed, as postcard.
//!
//! ```text
//! issued_at:  varint u64 (seconds since the Unix epoch)
//! renewed_at: varint u64
//! session_id: 16 bytes (random, stable across renewals, new on regenerate)
//! subject:    0 | 1 + varint length + UTF-8 (the application's user id)
//! body:       varint tag 0 + postcard of the session value  (inline)
//!           | varint tag 1 + 16-byte store id                 (stored)
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::SessionId;
use crate::error::{Error, ErrorKind};

/// Bytes of a store id: 128 bits.
pub(crate) const STORE_ID_BYTES: usize = 16;

/// Bytes of a session id: 128 bits.
pub(crate) const SESSION_ID_BYTES: usize = 16;

/// Most bytes of plaintext a store pointer takes: two varint `u64` times
/// (at most 10 bytes each), the session id, an absent subject (pointers
/// carry none: the stored value does), the body tag and the store id.
pub(crate) const MAX_POINTER_PLAINTEXT_BYTES: usize =
    10 + 10 + SESSION_ID_BYTES + 1 + 1 + STORE_ID_BYTES;

/// What a sealed value carries besides its times.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) enum Body<T> {
    /// The session value itself.
    Inline(T),
    /// A pointer to a store entry holding the sealed value.
    Stored([u8; STORE_ID_BYTES]),
}

/// The sealed plaintext. `S` is the subject's string type: `&str` when
/// sealing, `String` when opened.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Envelope<T, S = String> {
    pub(crate) issued_at: u64,
    pub(crate) renewed_at: u64,
    pub(crate) session_id: [u8; SESSION_ID_BYTES],
    pub(crate) subject: Option<S>,
    pub(crate) body: Body<T>,
}

impl<T, S> Envelope<T, S> {
    /// The same envelope with its inline value mapped.
    pub(crate) fn map_body<U>(self, f: impl FnOnce(T) -> U) -> Envelope<U, S> {
        Envelope {
            issued_at: self.issued_at,
            renewed_at: self.renewed_at,
            session_id: self.session_id,
            subject: self.subject,
            body: match self.body {
                Body::Inline(value) => Body::Inline(f(value)),
                Body::Stored(id) => Body::Stored(id),
            },
        }
    }

    /// The same envelope with its inline value mapped, or `None` when `f`
    /// fails.
    pub(crate) fn try_map_body<U>(self, f: impl FnOnce(T) -> Option<U>) -> Option<Envelope<U, S>> {
        Some(Envelope {
            issued_at: self.issued_at,
            renewed_at: self.renewed_at,
            session_id: self.session_id,
            subject: self.subject,
            body: match self.body {
                Body::Inline(value) => Body::Inline(f(value)?),
                Body::Stored(id) => Body::Stored(id),
            },
        })
    }
}

/// Postcard of an envelope of `T`, with no trailing bytes.
///
/// # Errors
///
/// [`ErrorKind::Undecodable`] for anything else.
pub(crate) fn decode<T: DeserializeOwned>(plaintext: &[u8]) -> Result<Envelope<T>, Error> {
    match postcard::take_from_bytes::<Envelope<T>>(plaintext) {
        Ok((env, [])) => Ok(env),
        _ => Err(Error::new(ErrorKind::Undecodable)),
    }
}

/// The envelope of wire format version 1: times and body, no session id or
/// subject.
#[derive(Deserialize)]
struct LegacyEnvelope<T> {
    issued_at: u64,
    renewed_at: u64,
    body: Body<T>,
}

/// Postcard of a version-1 envelope of `T`, with no trailing bytes. It
/// names no session, so it gets a fresh random session id (it is sealed
/// again, in the current format, on its next save).
///
/// # Errors
///
/// [`ErrorKind::Undecodable`] for anything else.
pub(crate) fn decode_legacy<T: DeserializeOwned>(plaintext: &[u8]) -> Result<Envelope<T>, Error> {
    match postcard::take_from_bytes::<LegacyEnvelope<T>>(plaintext) {
        Ok((env, [])) => Ok(Envelope {
            issued_at: env.issued_at,
            renewed_at: env.renewed_at,
            session_id: SessionId::generate().to_bytes(),
            subject: None,
            body: env.body,
        }),
        _ => Err(Error::new(ErrorKind::Undecodable)),
    }
}

/// An envelope's body as bytes, for tools that open a value without its
/// session type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawBody<'a> {
    /// The session value's postcard bytes (all the rest of the plaintext).
    Inline(&'a [u8]),
    /// A store id, with nothing after it.
    Stored([u8; STORE_ID_BYTES]),
}

/// Body tags as postcard writes `Body`'s variants: their indices.
const TAG_INLINE: u32 = 0;
const TAG_STORED: u32 = 1;

/// An envelope decoded without its session type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RawEnvelope<'a> {
    pub(crate) issued_at: u64,
    pub(crate) renewed_at: u64,
    pub(crate) session_id: [u8; SESSION_ID_BYTES],
    pub(crate) subject: Option<&'a str>,
    pub(crate) body: RawBody<'a>,
}

/// The envelope without knowing the session type: what postcard makes of
/// `Envelope<T>` for any `T` (or, for a version-1 value when `legacy`, of
/// its envelope, whose session id then reads as zeros). `None` for an
/// unknown body tag or bytes after a store id.
pub(crate) fn decode_raw(plaintext: &[u8], legacy: bool) -> Option<RawEnvelope<'_>> {
    let (issued_at, rest) = postcard::take_from_bytes::<u64>(plaintext).ok()?;
    let (renewed_at, rest) = postcard::take_from_bytes::<u64>(rest).ok()?;
    let (session_id, subject, rest) = if legacy {
        ([0; SESSION_ID_BYTES], None, rest)
    } else {
        let (id, rest) = postcard::take_from_bytes::<[u8; SESSION_ID_BYTES]>(rest).ok()?;
        let (subject, rest) = postcard::take_from_bytes::<Option<&str>>(rest).ok()?;
        (id, subject, rest)
    };
    let (tag, rest) = postcard::take_from_bytes::<u32>(rest).ok()?;
    let body = match tag {
        TAG_INLINE => RawBody::Inline(rest),
        TAG_STORED => match postcard::take_from_bytes::<[u8; STORE_ID_BYTES]>(rest) {
            Ok((id, [])) => RawBody::Stored(id),
            _ => return None,
        },
        _ => return None,
    };
    Some(RawEnvelope {
        issued_at,
        renewed_at,
        session_id,
        subject,
        body,
    })
}

/// When a session was first issued and when its idle deadline was last
/// renewed, to whole seconds.
///
/// Both are sealed inside the value, so the client cannot change them, and
/// both timeouts are checked against them after authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// When the session was issued (reset by regeneration).
    pub issued_at: SystemTime,
    /// When the idle deadline was last renewed.
    pub renewed_at: SystemTime,
}

impl Times {
    /// Times for a session issued and renewed at `now`, truncated to the
    /// whole second (what a sealed value holds, so deadlines, `Max-Age` and
    /// store expiry all agree).
    pub fn new(now: SystemTime) -> Self {
        let now = from_secs(to_secs(now));
        Self {
            issued_at: now,
            renewed_at: now,
        }
    }

    pub(crate) fn to_secs(self) -> (u64, u64) {
        (to_secs(self.issued_at), to_secs(self.renewed_at))
    }

    pub(crate) fn from_secs(issued_at: u64, renewed_at: u64) -> Self {
        Self {
            issued_at: from_secs(issued_at),
            renewed_at: from_secs(renewed_at),
        }
    }
}

/// Whole seconds since the Unix epoch; times before it count as zero.
pub(crate) fn to_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The time `secs` seconds after the Unix epoch, saturating far in the future.
pub(crate) fn from_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX)) * 64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn decode_raw_agrees_with_postcard_on_both_bodies() {
        let inline = Envelope {
            issued_at: 300,
            renewed_at: 1_700_000_000,
            session_id: [3; SESSION_ID_BYTES],
            subject: Some("user:42"),
            body: Body::Inline((7u8, "x".to_owned())),
        };
        let bytes = postcard::to_allocvec(&inline).unwrap();
        let value = postcard::to_allocvec(&(7u8, "x".to_owned())).unwrap();
        assert_eq!(
            decode_raw(&bytes, false),
            Some(RawEnvelope {
                issued_at: 300,
                renewed_at: 1_700_000_000,
                session_id: [3; SESSION_ID_BYTES],
                subject: Some("user:42"),
                body: RawBody::Inline(&value[..]),
            })
        );
        let stored: Envelope<(), &str> = Envelope {
            issued_at: 1,
            renewed_at: 2,
            session_id: [4; SESSION_ID_BYTES],
            subject: None,
            body: Body::Stored([9; STORE_ID_BYTES]),
        };
        let bytes = postcard::to_allocvec(&stored).unwrap();
        assert!(bytes.len() <= MAX_POINTER_PLAINTEXT_BYTES);
        assert_eq!(
            decode_raw(&bytes, false),
            Some(RawEnvelope {
                issued_at: 1,
                renewed_at: 2,
                session_id: [4; SESSION_ID_BYTES],
                subject: None,
                body: RawBody::Stored([9; STORE_ID_BYTES]),
            })
        );
        // Bytes after a store id, or an unknown tag.
        assert_eq!(decode_raw(&[bytes.as_slice(), &[0]].concat(), false), None);
        let mut unknown_tag = vec![1, 2];
        unknown_tag.extend_from_slice(&[0; SESSION_ID_BYTES]);
        unknown_tag.extend_from_slice(&[0, 2]);
        assert_eq!(decode_raw(&unknown_tag, false), None);
        unknown_tag.pop();
        unknown_tag.push(1);
        assert_eq!(
            decode_raw(&unknown_tag, false),
            None,
            "a pointer without an id"
        );
    }
}
