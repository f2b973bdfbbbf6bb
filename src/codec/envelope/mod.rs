//! The payload codec: what is sealed, as postcard (wire format version 3).
//!
//! ```text
//! issued_at:  varint u64 (milliseconds since the Unix epoch)
//! renewed_at: varint u64 (seconds since the Unix epoch)
//! session_id: 16 bytes (random, stable across renewals, new on regenerate)
//! subject:    0 | 1 + varint length + UTF-8 (the application's user id)
//! expiry:     0 (the codec's timeouts)
//!           | 1 + varint idle seconds + varint absolute seconds + persistent:u8
//! body:       varint tag 0 + postcard of the session value  (inline)
//!           | varint tag 1 + 16-byte store id                 (stored)
//! ```
//!
//! Version 2 has seconds for `issued_at` and no `expiry`; version 1 has
//! neither session id, subject nor expiry.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::schema::{Cut, from_bytes_cut};
use crate::crypto::wire;
use crate::error::{Error, ErrorKind};

/// Bytes of a store id: 128 bits.
pub(crate) const STORE_ID_BYTES: usize = 16;

/// Bytes of a session id: 128 bits.
pub(crate) const SESSION_ID_BYTES: usize = 16;

/// Most bytes of plaintext a store pointer takes: two varint `u64` times
/// (at most 10 bytes each), the session id, an absent subject (pointers
/// carry none: the stored value does), the session's own expiry (a tag, two
/// varints and a flag), the body tag and the store id.
pub(crate) const MAX_POINTER_PLAINTEXT_BYTES: usize =
    10 + 10 + SESSION_ID_BYTES + 1 + (1 + 10 + 10 + 1) + 1 + STORE_ID_BYTES;

/// A session's own timeouts as sealed: whole seconds, and whether its
/// cookie is persistent.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SealedExpiry {
    pub(crate) idle: u64,
    pub(crate) absolute: u64,
    pub(crate) persistent: bool,
}

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
    /// Milliseconds since the Unix epoch (a revocation of every session of
    /// a subject "issued before" an instant needs better than seconds).
    pub(crate) issued_at: u64,
    /// Seconds since the Unix epoch.
    pub(crate) renewed_at: u64,
    pub(crate) session_id: [u8; SESSION_ID_BYTES],
    pub(crate) subject: Option<S>,
    /// The session's own timeouts; `None` for the codec's.
    pub(crate) expiry: Option<SealedExpiry>,
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
            expiry: self.expiry,
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
            expiry: self.expiry,
            body: match self.body {
                Body::Inline(value) => Body::Inline(f(value)?),
                Body::Stored(id) => Body::Stored(id),
            },
        })
    }
}

/// Postcard of an envelope of `T` in wire format `version` (3, or 2), with
/// no trailing bytes.
///
/// # Errors
///
/// [`ErrorKind::Undecodable`] for anything else.
pub(crate) fn decode<T: DeserializeOwned>(
    plaintext: &[u8],
    version: u8,
) -> Result<Envelope<T>, Error> {
    if version == wire::PREVIOUS_VERSION {
        return match postcard::take_from_bytes::<V2Envelope<T>>(plaintext) {
            Ok((env, [])) => Ok(Envelope {
                issued_at: env.issued_at.saturating_mul(1000),
                renewed_at: env.renewed_at,
                session_id: env.session_id,
                subject: env.subject,
                expiry: None,
                body: env.body,
            }),
            _ => Err(Error::new(ErrorKind::Undecodable)),
        };
    }
    match postcard::take_from_bytes::<Envelope<T>>(plaintext) {
        Ok((env, [])) => Ok(env),
        _ => Err(Error::new(ErrorKind::Undecodable)),
    }
}

/// As [`decode`], for a value sealed for an older definition of `T` that
/// `cut` describes.
///
/// # Errors
///
/// [`ErrorKind::Undecodable`] when it is not such a value.
pub(crate) fn decode_cut<T: DeserializeOwned>(
    plaintext: &[u8],
    version: u8,
    cut: &Cut,
) -> Result<Envelope<T>, Error> {
    if !cut.cuts_structs() {
        // Fewer variants decode as they are.
        return decode(plaintext, version);
    }
    let undecodable = || Error::new(ErrorKind::Undecodable);
    let raw = decode_raw(plaintext, version).ok_or_else(undecodable)?;
    let body = match raw.body {
        RawBody::Inline(bytes) => Body::Inline(from_bytes_cut(bytes, cut).ok_or_else(undecodable)?),
        RawBody::Stored(id) => Body::Stored(id),
    };
    Ok(Envelope {
        issued_at: raw.issued_at,
        renewed_at: raw.renewed_at,
        session_id: raw.session_id,
        subject: raw.subject.map(str::to_owned),
        expiry: raw.expiry,
        body,
    })
}

/// The envelope of wire format version 2: issued-at in seconds, no expiry.
#[derive(Deserialize)]
struct V2Envelope<T> {
    issued_at: u64,
    renewed_at: u64,
    session_id: [u8; SESSION_ID_BYTES],
    subject: Option<String>,
    body: Body<T>,
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
/// names no session: its session id is all zeros here, and the codec
/// derives the real one from the sealed value (the same for every replay
/// of it; it is sealed again, in the current format, on its next save).
///
/// # Errors
///
/// [`ErrorKind::Undecodable`] for anything else.
pub(crate) fn decode_legacy<T: DeserializeOwned>(plaintext: &[u8]) -> Result<Envelope<T>, Error> {
    match postcard::take_from_bytes::<LegacyEnvelope<T>>(plaintext) {
        Ok((env, [])) => Ok(Envelope {
            issued_at: env.issued_at.saturating_mul(1000),
            renewed_at: env.renewed_at,
            session_id: [0; SESSION_ID_BYTES],
            subject: None,
            expiry: None,
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
    /// Milliseconds since the Unix epoch, whatever the version.
    pub(crate) issued_at: u64,
    pub(crate) renewed_at: u64,
    pub(crate) session_id: [u8; SESSION_ID_BYTES],
    pub(crate) subject: Option<&'a str>,
    pub(crate) expiry: Option<SealedExpiry>,
    pub(crate) body: RawBody<'a>,
}

/// The envelope without knowing the session type: what postcard makes of
/// `Envelope<T>` for any `T` in wire format `version` (for a version-1
/// value, whose envelope has no session id, the id reads as zeros). `None`
/// for an unknown body tag or bytes after a store id.
pub(crate) fn decode_raw(plaintext: &[u8], version: u8) -> Option<RawEnvelope<'_>> {
    let (issued_at, rest) = postcard::take_from_bytes::<u64>(plaintext).ok()?;
    let issued_at = if version < wire::FORMAT_VERSION {
        issued_at.saturating_mul(1000)
    } else {
        issued_at
    };
    let (renewed_at, rest) = postcard::take_from_bytes::<u64>(rest).ok()?;
    let (session_id, subject, rest) = if version == wire::LEGACY_VERSION {
        ([0; SESSION_ID_BYTES], None, rest)
    } else {
        let (id, rest) = postcard::take_from_bytes::<[u8; SESSION_ID_BYTES]>(rest).ok()?;
        let (subject, rest) = postcard::take_from_bytes::<Option<&str>>(rest).ok()?;
        (id, subject, rest)
    };
    let (expiry, rest) = if version < wire::FORMAT_VERSION {
        (None, rest)
    } else {
        postcard::take_from_bytes::<Option<SealedExpiry>>(rest).ok()?
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
        expiry,
        body,
    })
}

/// When a session was first issued (to the millisecond) and when its idle
/// deadline was last renewed (to the whole second).
///
/// Sealed as unsigned counts since the Unix epoch: a time before it seals
/// as the epoch, and an issued-at past `u64::MAX` milliseconds (some 584
/// million years on) as that.
///
/// Both are sealed inside the value, so the client cannot change them, and
/// both timeouts are checked against them after authentication. Deadlines
/// count from the whole seconds; the issued-at milliseconds tell a session
/// issued just after a "sign out everywhere" from one issued just before.
///
/// Held as the sealed value holds them, counts since the epoch, so that
/// deadlines, `Max-Age` and store expiry are computed without converting
/// a [`SystemTime`] again; [`Times::issued_at`] and [`Times::renewed_at`]
/// give them as times.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// When the session was issued (reset by regeneration), in
    /// milliseconds since the Unix epoch.
    issued_at_ms: u64,
    /// When the idle deadline was last renewed, in whole seconds since the
    /// Unix epoch.
    renewed_at_secs: u64,
}

impl Times {
    /// Times for a session issued and renewed at `now`: issued-at truncated
    /// to the millisecond, renewed-at to the whole second (what a sealed
    /// value holds, so deadlines, `Max-Age` and store expiry all agree).
    pub fn new(now: SystemTime) -> Self {
        let ms = to_millis(now);
        Self {
            issued_at_ms: ms,
            renewed_at_secs: ms / 1000,
        }
    }

    /// Times issued at `issued_at` and renewed at `renewed_at`, truncated
    /// as [`Times::new`] truncates them.
    pub fn from_parts(issued_at: SystemTime, renewed_at: SystemTime) -> Self {
        Self {
            issued_at_ms: to_millis(issued_at),
            renewed_at_secs: to_secs(renewed_at),
        }
    }

    /// When the session was issued (reset by regeneration), to the
    /// millisecond.
    pub fn issued_at(self) -> SystemTime {
        from_millis(self.issued_at_ms)
    }

    /// When the idle deadline was last renewed, to the whole second.
    pub fn renewed_at(self) -> SystemTime {
        from_secs(self.renewed_at_secs)
    }

    /// These times renewed at `secs` seconds after the epoch instead.
    pub(crate) fn renewed_secs(self, secs: u64) -> Self {
        Self {
            issued_at_ms: self.issued_at_ms,
            renewed_at_secs: secs,
        }
    }

    /// Whole seconds since the Unix epoch of both times: what deadlines
    /// count from.
    pub(crate) fn to_secs(self) -> (u64, u64) {
        (self.issued_at_ms / 1000, self.renewed_at_secs)
    }

    /// Whole seconds from issue to the last renewal (0 for a renewal
    /// before the issue).
    pub(crate) fn renewed_after_issue(self) -> u64 {
        self.renewed_at_secs
            .saturating_mul(1000)
            .checked_sub(self.issued_at_ms)
            .map_or(0, |ms| ms / 1000)
    }

    /// Issued-at in milliseconds, as sealed.
    pub(crate) fn issued_at_millis(self) -> u64 {
        self.issued_at_ms
    }

    /// Renewed-at in whole seconds, as sealed.
    pub(crate) fn renewed_at_secs(self) -> u64 {
        self.renewed_at_secs
    }

    /// The times a sealed value carries: issued-at in milliseconds,
    /// renewed-at in seconds.
    pub(crate) fn from_sealed(issued_at_millis: u64, renewed_at: u64) -> Self {
        Self {
            issued_at_ms: issued_at_millis,
            renewed_at_secs: renewed_at,
        }
    }
}

impl fmt::Debug for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Times")
            .field("issued_at", &self.issued_at())
            .field("renewed_at", &self.renewed_at())
            .finish()
    }
}

/// Whole milliseconds since the Unix epoch; times before it count as zero.
pub(crate) fn to_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds since the Unix epoch, rounded up: the first whole
/// millisecond at or after `t`.
pub(crate) fn to_millis_ceil(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if d.subsec_nanos() % 1_000_000 == 0 {
            ms
        } else {
            ms.saturating_add(1)
        }
    })
}

/// The time `millis` milliseconds after the Unix epoch, saturating far in
/// the future (as [`from_secs`]).
pub(crate) fn from_millis(millis: u64) -> SystemTime {
    from_secs(millis / 1000)
        .checked_add(Duration::from_millis(millis % 1000))
        .unwrap_or_else(|| from_secs(millis / 1000))
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
mod tests;
