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
use crate::codec::{Codec, SessionId};
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

    /// When the idle timeout ends (or ended): renewed-at plus the codec's
    /// idle timeout.
    pub fn idle_deadline(&self) -> SystemTime {
        self.idle_deadline
    }

    /// When the absolute timeout ends (or ended): issued-at plus the codec's
    /// absolute timeout.
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
/// envelope is then decoded by its documented layout: two varint times, a
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
    let (opened_with, issued_at, renewed_at, session_id, subject, contents) = codec
        .with_opened_cookie(value, |plaintext, opened_with| {
            let legacy = opened_with.format_version() != crate::FORMAT_VERSION;
            let env = envelope::decode_raw(plaintext, legacy)
                .ok_or_else(|| Error::new(ErrorKind::Undecodable))?;
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
                contents,
            ))
        })
        .map_err(Error::from)?;

    let now = to_secs(now);
    let (idle, absolute) = codec.deadlines(issued_at, renewed_at);
    Ok(Inspection {
        opened_with,
        session_id,
        subject,
        times: Times::from_secs(issued_at, renewed_at),
        idle_deadline: from_secs(idle),
        absolute_deadline: from_secs(absolute),
        idle_expired: now >= idle,
        absolute_expired: now >= absolute,
        contents,
        cookie_bytes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::codec::envelope;
    use crate::codec::envelope::{Body, STORE_ID_BYTES};
    use crate::crypto::cipher::TAG_BYTES;
    use crate::crypto::key::Key;
    use crate::crypto::ring::KeyRing;
    use crate::crypto::{seal, wire};
    use crate::limits::MAX_COOKIE_BYTES;
    use crate::session::FreshReason;
    use crate::session::Session;
    use crate::session::map::Map;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct User {
        id: u64,
        name: String,
        roles: Vec<String>,
    }

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn codec_with(keys: Vec<Key>, name: &str) -> Codec {
        Codec::builder(KeyRing::new(keys).unwrap())
            .cookie_name(name)
            .idle_timeout(Duration::from_secs(60))
            .absolute_timeout(Duration::from_secs(600))
            .build()
            .unwrap()
    }

    fn codec(algorithm: Algorithm) -> Codec {
        codec_with(vec![Key::generate().with_algorithm(algorithm)], "session")
    }

    /// Seals raw envelope bytes (not necessarily a valid envelope).
    fn seal_plaintext(codec: &Codec, plaintext: &[u8]) -> String {
        let prefix = wire::prefix_len(codec.ring().primary_algorithm());
        let mut buf = vec![0u8; prefix];
        buf.extend_from_slice(plaintext);
        buf.extend_from_slice(&[0u8; TAG_BYTES]);
        let len = seal::seal_in_place(
            codec.ring(),
            SchemaId::named("inspect test"),
            codec.cookie_name().as_bytes(),
            &mut buf,
            plaintext.len(),
        )
        .unwrap();
        wire::encode_base64(&buf[..len])
    }

    #[test]
    fn payload_is_the_postcard_of_the_session_for_every_algorithm() {
        let user = User {
            id: 7,
            name: "alice".into(),
            roles: vec!["admin".into()],
        };
        for &algorithm in Algorithm::ALL {
            let codec = codec(algorithm);
            let sealed = codec.seal_with_times(&user, Times::new(t0())).unwrap();
            let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
            assert_eq!(seen.opened_with().algorithm(), algorithm);
            assert_eq!(seen.opened_with().key_id(), codec.ring().primary_id());
            assert!(seen.opened_with().is_primary());
            assert_eq!(seen.times(), Times::new(t0()));
            assert_eq!(seen.cookie_bytes(), sealed.size());
            let payload = seen.payload().unwrap();
            assert_eq!(payload.as_bytes(), postcard::to_allocvec(&user).unwrap());
            assert_eq!(payload.decode::<User>().unwrap(), user);
        }
    }

    #[test]
    fn agrees_with_open_on_every_value_that_opens() {
        let codec = codec(Algorithm::Aes256Gcm);
        let sealed = codec
            .seal_with_times(&(1u8, "x".to_owned()), Times::new(t0()))
            .unwrap();
        let opened = codec.open_at::<(u8, String)>(sealed.value(), t0()).unwrap();
        let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
        assert_eq!(seen.opened_with(), opened.opened_with());
        assert_eq!(seen.times(), opened.times());
    }

    #[test]
    fn zero_sized_session_has_an_empty_payload() {
        let codec = codec(Algorithm::Xaes256Gcm);
        let sealed = codec.seal_with_times(&(), Times::new(t0())).unwrap();
        let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
        assert!(seen.payload().unwrap().is_empty());
        seen.payload().unwrap().decode::<()>().unwrap();
    }

    #[test]
    fn map_session_payload_decodes_as_a_btreemap_of_bytes() {
        let codec = codec(Algorithm::Xaes256Gcm);
        let mut session: Session<Map> = Session::fresh(FreshReason::NoCookie);
        session.insert("user", "alice").unwrap();
        session.insert("n", &42u64).unwrap();
        let map = session.into_inner();
        let sealed = codec.seal_with_times(&map, Times::new(t0())).unwrap();
        let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
        let payload = seen.payload().unwrap();
        assert_eq!(payload.decode::<Map>().unwrap(), map);
        let entries = payload.decode::<BTreeMap<String, Vec<u8>>>().unwrap();
        assert_eq!(entries["user"], postcard::to_allocvec("alice").unwrap());
        assert_eq!(entries["n"], vec![42]);
    }

    #[test]
    fn store_pointer_shows_its_id_and_no_payload() {
        let codec = codec(Algorithm::XChaCha20Poly1305);
        let id = StoreId::generate();
        let identity = crate::codec::Identity {
            id: SessionId::from_bytes([5; 16]),
            subject: None,
        };
        let env = envelope::<()>(Times::new(t0()), identity, Body::Stored(id.to_bytes()));
        let sealed = codec.seal_envelope(SchemaId::of::<()>(), &env).unwrap();
        let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
        assert_eq!(seen.contents(), &Contents::Stored(id));
        assert!(seen.payload().is_none());
        assert_eq!(seen.session_id(), SessionId::from_bytes([5; 16]));
        assert_eq!(seen.subject(), None);
    }

    #[test]
    fn reports_each_deadline_exactly_when_open_would_expire() {
        let codec = codec(Algorithm::Aes256Gcm);
        let renewed = t0() + Duration::from_secs(580);
        let times = Times {
            issued_at: t0(),
            renewed_at: renewed,
        };
        let sealed = codec.seal_with_times(&1u8, times).unwrap();
        let at = |secs: u64| inspect_at(&codec, sealed.value(), t0() + Duration::from_secs(secs));

        let live = at(599).unwrap();
        assert!(!live.is_expired());
        assert_eq!(live.idle_deadline(), renewed + Duration::from_secs(60));
        assert_eq!(live.absolute_deadline(), t0() + Duration::from_secs(600));

        let absolute = at(600).unwrap();
        assert!(absolute.absolute_expired() && !absolute.idle_expired());
        let both = at(640).unwrap();
        assert!(both.absolute_expired() && both.idle_expired());

        for secs in [0, 599, 600, 640] {
            let now = t0() + Duration::from_secs(secs);
            let expired = codec
                .open_at::<u8>(sealed.value(), now)
                .is_err_and(|e| e.kind() == ErrorKind::Expired);
            assert_eq!(at(secs).unwrap().is_expired(), expired, "at {secs}");
        }
    }

    #[test]
    fn idle_deadline_alone_expires_a_value() {
        let codec = codec(Algorithm::Xaes256Gcm);
        let sealed = codec.seal_with_times(&1u8, Times::new(t0())).unwrap();
        let seen = inspect_at(&codec, sealed.value(), t0() + Duration::from_secs(60)).unwrap();
        assert!(seen.idle_expired() && !seen.absolute_expired() && seen.is_expired());
    }

    #[test]
    fn non_primary_key_is_reported() {
        let (old, new) = (Key::generate(), Key::generate());
        let before = codec_with(vec![old.clone()], "session");
        let after = codec_with(vec![new, old.clone()], "session");
        let sealed = before.seal_with_times(&1u8, Times::new(t0())).unwrap();
        let seen = inspect_at(&after, sealed.value(), t0()).unwrap();
        assert_eq!(seen.opened_with().key_id(), old.id());
        assert!(!seen.opened_with().is_primary());
    }

    #[test]
    fn rejects_what_open_rejects() {
        let key = Key::generate();
        let codec = codec_with(vec![key.clone()], "session");
        let sealed = codec
            .seal_with_times(&"hello".to_owned(), Times::new(t0()))
            .unwrap();
        let value = sealed.value();
        let rejected = |codec: &Codec, v: &str| {
            inspect_at(codec, v, t0()).is_err_and(|e| e.kind() == ErrorKind::Rejected)
        };

        // Every character changed, every truncation.
        for i in 0..value.len() {
            let mut bytes = value.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            assert!(
                rejected(&codec, std::str::from_utf8(&bytes).unwrap()),
                "flip {i}"
            );
            assert!(rejected(&codec, &value[..i]), "truncate {i}");
        }
        // Another cookie name, a ring without the key, garbage, over-long.
        assert!(rejected(&codec_with(vec![key], "other"), value));
        assert!(rejected(
            &codec_with(vec![Key::generate()], "session"),
            value
        ));
        assert!(rejected(&codec, "é not base64"));
        assert!(rejected(&codec, &"A".repeat(MAX_COOKIE_BYTES)));
    }

    #[test]
    fn rejects_an_undecodable_envelope_after_authentication() {
        let codec = codec(Algorithm::Xaes256Gcm);
        // Times 0 and 0, a session id, no subject, then the body.
        let head = [&[0u8, 0][..], &[9; 16], &[0]].concat();
        let with = |rest: &[u8]| [&head[..], rest].concat();
        let stored_with_trailing = with(&[&[1][..], &[7u8; STORE_ID_BYTES + 1]].concat());
        for plaintext in [
            with(&[2]),
            vec![0, 0],
            with(&[1, 1, 2]),
            stored_with_trailing,
            [&[0u8, 0][..], &[9; 15]].concat(),
        ] {
            let value = seal_plaintext(&codec, &plaintext);
            let err = inspect_at(&codec, &value, t0()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Undecodable, "{plaintext:?}");
        }
        // And a hand-made envelope that is valid opens.
        let plaintext = [&[5u8, 6][..], &[9; 16], &[1, 1, b'u', 0, 0xAB]].concat();
        let value = seal_plaintext(&codec, &plaintext);
        let seen = inspect_at(&codec, &value, t0()).unwrap();
        assert_eq!(seen.payload().unwrap().as_bytes(), [0xAB]);
        assert_eq!(seen.times(), Times::from_secs(5, 6));
        assert_eq!(seen.session_id(), SessionId::from_bytes([9; 16]));
        assert_eq!(seen.subject(), Some("u"));
    }

    #[test]
    fn header_peek_reads_the_clear_header_only() {
        let key = Key::generate().with_algorithm(Algorithm::Aes256Gcm);
        let codec = codec_with(vec![key.clone()], "session");
        let sealed = codec.seal(&1u8).unwrap();
        let header = Header::peek(sealed.value()).unwrap();
        assert_eq!(header.key_id(), key.id());
        assert_eq!(header.algorithm(), Algorithm::Aes256Gcm);
        assert_eq!(header.version(), crate::FORMAT_VERSION);
        assert_eq!(header.schema(), Some(SchemaId::of::<u8>()));
        // Only the first sixteen characters matter: the rest can be anything.
        assert_eq!(Header::peek(&sealed.value()[..16]), Some(header));
        assert_eq!(Header::peek(&sealed.value()[..15]), None);
        // Another version or algorithm byte, or no base64.
        let other_version = wire::encode_base64(&[3, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let other_algorithm = wire::encode_base64(&[2, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Header::peek(&other_version), None);
        assert_eq!(Header::peek(&other_algorithm), None);
        assert_eq!(Header::peek("éééééééé"), None);
        assert_eq!(Header::peek("!!!!!!!!"), None);
    }

    #[test]
    fn payload_debug_shows_no_bytes() {
        let payload = Payload(Zeroizing::new(b"secret".to_vec()));
        let debug = format!("{payload:?}");
        assert_eq!(debug, "Payload { len: 6, .. }");
    }

    #[test]
    fn payload_decode_rejects_trailing_bytes() {
        let payload = Payload(Zeroizing::new(vec![1, 2]));
        assert_eq!(
            payload.decode::<u8>().unwrap_err().kind(),
            ErrorKind::Undecodable
        );
    }
}
