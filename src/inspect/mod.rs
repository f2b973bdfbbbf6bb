//! Opening a cookie value without knowing its session type, for operators
//! and tools.
//!
//! [`Codec::open`] needs the session type, because postcard is not
//! self-describing. An operator looking at a cookie from a bug report often
//! has the keys but not the type, and wants to know which key sealed it, when
//! it was issued, whether it has expired, and whether it lives in the cookie
//! or in the store. [`inspect_at`] answers that: it authenticates the value
//! exactly as [`Codec::open_at`] does (same length cap, same decode order, the
//! same single [`ErrorKind::Rejected`] for anything that does not
//! authenticate), then decodes the envelope's times and body tag by hand and
//! keeps the session's bytes as an opaque [`Payload`]. Expiry is reported,
//! not enforced, so an expired value can still be looked at.
//!
//! [`Header::peek`] reads the six header bytes of a value without
//! authenticating anything: the header is not secret (every cookie carries it
//! in the clear), and it tells an operator which key a value names even when
//! the ring no longer holds that key.
//!
//! The `sealed-session` command-line tool (feature `cli`) is built on this
//! module.
//!
//! # Examples
//!
//! ```
//! use sealed_session::inspect::{self, Contents};
//! use sealed_session::{Codec, Key, KeyRing};
//!
//! // In production, load keys from a secret store; see `KeyRing::from_env`.
//! let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
//! let sealed = codec.seal(&("alice".to_owned(), 42u32))?;
//!
//! let seen = inspect::inspect(&codec, sealed.value())?;
//! assert_eq!(seen.opened_with().key_id(), codec.ring().primary_id());
//! assert!(!seen.is_expired());
//! let Contents::Inline(payload) = seen.contents() else { unreachable!() };
//! assert_eq!(payload.decode::<(String, u32)>()?, ("alice".to_owned(), 42));
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::codec::cookie;
use crate::codec::envelope::{self, RawBody, Times, from_secs, to_secs};
use crate::codec::schema::SchemaId;
use crate::codec::store_id::StoreId;
use crate::codec::{Codec, Expiry, SessionId};
use crate::crypto::algorithm::Algorithm;
use crate::crypto::key::KeyId;
use crate::crypto::seal::OpenedWith;
use crate::crypto::wire::{self, HEADER_BYTES};
use crate::error::{Error, ErrorKind};

/// Base64 characters that hold the ten header bytes (whole quanta).
const HEADER_CHARS: usize = HEADER_BYTES.div_ceil(3) * 4;

/// The clear-text header of a cookie value: the algorithm and the id of the
/// key that (the header claims) sealed it.
///
/// # Security
///
/// Nothing here is authenticated: anyone can write any header. Use it to
/// explain a value (for example, that it names a key the ring no longer
/// holds), never to decide anything. The header is not secret either: every
/// cookie carries it in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    version: u8,
    algorithm: Algorithm,
    key_id: KeyId,
    schema: Option<SchemaId>,
}

impl Header {
    /// Reads the header from the first eight characters of a cookie value,
    /// without authenticating it; `None` when they are not base64url, or name
    /// another format version or an unknown algorithm.
    ///
    /// # Examples
    ///
    /// ```
    /// use sealed_session::inspect::Header;
    /// use sealed_session::{Codec, Key, KeyRing};
    ///
    /// let key = Key::generate();
    /// let codec = Codec::builder(KeyRing::new([key.clone()])?).build()?;
    /// let sealed = codec.seal(&1u8)?;
    /// let header = Header::peek(sealed.value()).unwrap();
    /// assert_eq!(header.key_id(), key.id());
    /// assert_eq!(Header::peek("not a cookie"), None);
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn peek(value: &str) -> Option<Self> {
        // Whole base64 quanta: 16 characters hold a version-2 header, 8 a
        // version-1 one.
        let head = value.get(..HEADER_CHARS).or_else(|| value.get(..8))?;
        let mut bytes = [0u8; HEADER_CHARS / 4 * 3];
        let len = URL_SAFE_NO_PAD
            .decode_slice(head.as_bytes(), &mut bytes)
            .ok()?;
        let header = wire::Header::parse(bytes.get(..len)?)?;
        Some(Self {
            version: header.version,
            algorithm: header.algorithm,
            key_id: header.key_id,
            schema: header.schema,
        })
    }

    /// The wire format version the header names.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The schema id the header names; `None` for a version-1 value.
    pub fn schema(&self) -> Option<SchemaId> {
        self.schema
    }

    /// The algorithm the header names.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id the header names.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
}

/// A session's serialized bytes (postcard of the session value), zeroized
/// when dropped. `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload(Zeroizing<Vec<u8>>);

impl Payload {
    /// The bytes: postcard of the session value.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes (a session of a zero-sized type).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decodes the bytes as a `T`, as [`Codec::open`] would have.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Undecodable`] when the bytes are not a `T` or a `T` does
    /// not use all of them.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        match postcard::take_from_bytes::<T>(&self.0) {
            Ok((value, [])) => Ok(value),
            _ => Err(Error::new(ErrorKind::Undecodable)),
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

/// What an authenticated value carries besides its times.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Contents {
    /// The session itself, in the cookie.
    Inline(Payload),
    /// A pointer to the store entry that holds the session.
    Stored(StoreId),
}

/// What [`inspect_at`] found in a value that authenticated.
#[derive(Clone)]
pub struct Inspection {
    opened_with: OpenedWith,
    session_id: SessionId,
    subject: Option<String>,
    expiry: Option<Expiry>,
    times: Times,
    idle_deadline: SystemTime,
    absolute_deadline: SystemTime,
    idle_expired: bool,
    absolute_expired: bool,
    contents: Contents,
    cookie_bytes: usize,
}

impl Inspection {
    /// Which key opened the value, its algorithm, and whether it is the
    /// ring's primary key.
    pub fn opened_with(&self) -> OpenedWith {
        self.opened_with
    }

    /// The session id sealed inside the value.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The subject sealed inside the value, if the application set one.
    /// Store pointers carry none (the stored value does).
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// When the session was issued and last renewed.
    pub fn times(&self) -> Times {
        self.times
    }

    /// The session's own expiry sealed inside the value, if it has one
    /// (as sealed; the deadlines cap it at the codec's limits).
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// When the idle timeout ends (or ended): renewed-at plus the session's
    /// own idle timeout, or the codec's.
    pub fn idle_deadline(&self) -> SystemTime {
        self.idle_deadline
    }

    /// When the absolute timeout ends (or ended): issued-at plus the
    /// session's own absolute timeout, or the codec's.
    pub fn absolute_deadline(&self) -> SystemTime {
        self.absolute_deadline
    }

    /// Whether the idle deadline had passed at the inspection's `now`.
    pub fn idle_expired(&self) -> bool {
        self.idle_expired
    }

    /// Whether the absolute deadline had passed at the inspection's `now`.
    pub fn absolute_expired(&self) -> bool {
        self.absolute_expired
    }

    /// Whether either deadline had passed: exactly when
    /// [`Codec::open_at`] would have returned [`ErrorKind::Expired`].
    pub fn is_expired(&self) -> bool {
        self.idle_expired || self.absolute_expired
    }

    /// The inline session bytes or the store pointer.
    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    /// The inline session bytes, or `None` for a store pointer.
    pub fn payload(&self) -> Option<&Payload> {
        match &self.contents {
            Contents::Inline(payload) => Some(payload),
            Contents::Stored(_) => None,
        }
    }

    /// Bytes of the cookie's `name=value`, what browsers hold against their
    /// 4096-byte limit.
    pub fn cookie_bytes(&self) -> usize {
        self.cookie_bytes
    }
}

impl fmt::Debug for Inspection {
    /// Metadata only: neither the payload nor the subject.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inspection")
            .field("opened_with", &self.opened_with)
            .field("session_id", &self.session_id)
            .field("has_subject", &self.subject.is_some())
            .field("times", &self.times)
            .field("expiry", &self.expiry)
            .field("expired", &self.is_expired())
            .field("cookie_bytes", &self.cookie_bytes)
            .finish_non_exhaustive()
    }
}

/// As [`inspect_at`], at the current time.
///
/// # Errors
///
/// As [`inspect_at`].
pub fn inspect(codec: &Codec, value: &str) -> Result<Inspection, Error> {
    inspect_at(codec, value, SystemTime::now())
}

/// Opens a cookie value sealed under `codec`'s cookie name and ring without
/// knowing its session type, and reports its key, times, expiry at `now`
/// and contents.
///
/// Authentication is exactly [`Codec::open_at`]'s (steps 1 to 6 of the
/// decode order in [`docs::wire_format`](crate::docs::wire_format)). The
/// envelope is then decoded by its documented layout (for its wire format
/// version): two varint times, the session id, the subject, the expiry, a
/// varint body tag, and either the session's bytes (all the rest) or a
/// 16-byte store id with nothing after it. Unlike [`Codec::open_at`], an
/// expired value is not an error: [`Inspection::is_expired`] says so.
///
/// # Errors
///
/// [`ErrorKind::Rejected`] for anything that does not authenticate (whatever
/// the cause, as in [`Codec::open`]); [`ErrorKind::Undecodable`] when it
/// authenticates but the envelope does not decode (an unknown body tag, or
/// bytes after a store id).
pub fn inspect_at(codec: &Codec, value: &str, now: SystemTime) -> Result<Inspection, Error> {
    let cookie_bytes = cookie::pair_size(codec.cookie_name(), value.len());
    let (opened_with, issued_at, renewed_at, session_id, subject, expiry, contents) = codec
        .with_opened_cookie(value.as_bytes(), |plaintext, opened_with| {
            let mut env = envelope::decode_raw(plaintext, opened_with.format_version())
                .ok_or_else(|| Error::new(ErrorKind::Undecodable))?;
            // Version 1 carries no id: the one loading it would use.
            if opened_with.schema().is_none() {
                let source = match &env.body {
                    RawBody::Stored(id) => id.as_slice(),
                    RawBody::Inline(_) => value.as_bytes(),
                };
                env.session_id = codec.legacy_session_id(opened_with, source)?;
            }
            let contents = match env.body {
                RawBody::Inline(bytes) => Contents::Inline(Payload(Zeroizing::new(bytes.to_vec()))),
                RawBody::Stored(id) => Contents::Stored(StoreId::from_bytes(id)),
            };
            Ok((
                opened_with,
                env.issued_at,
                env.renewed_at,
                SessionId::from_bytes(env.session_id),
                env.subject.map(str::to_owned),
                env.expiry.map(Expiry::from_sealed),
                contents,
            ))
        })
        .map_err(Error::from)?;

    let now = to_secs(now);
    let times = Times::from_sealed(issued_at, renewed_at);
    let (issued_secs, renewed_secs) = times.to_secs();
    let (idle, absolute) = codec.deadlines(issued_secs, renewed_secs, expiry);
    Ok(Inspection {
        opened_with,
        session_id,
        subject,
        expiry,
        times,
        idle_deadline: from_secs(idle),
        absolute_deadline: from_secs(absolute),
        idle_expired: now >= idle,
        absolute_expired: now >= absolute,
        contents,
        cookie_bytes,
    })
}

#[cfg(test)]
mod tests;
