//! The codec layer: a session value to a sealed cookie value (or store
//! value) and back.
//!
//! This file holds the [`Codec`] and its cookie pipeline; `builder`
//! validates its configuration, `store_value` is the store-value pipeline,
//! `opened` the result types, `envelope` what is sealed, `schema` and
//! `migrate` schema identity and declared migrations, and `cookie` the
//! cookie syntax and size rules.

mod builder;
pub(crate) mod cookie;
pub(crate) mod envelope;
mod expiry;
pub(crate) mod migrate;
mod opened;
pub(crate) mod schema;
pub(crate) mod session_id;
pub(crate) mod store_id;
mod store_value;

use std::any::TypeId;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroize as _;

pub use self::builder::CodecBuilder;
use self::envelope::{Body, Envelope, Times, to_secs};
pub use self::expiry::Expiry;
use self::migrate::Migrations;
pub use self::opened::{Opened, SealedCookie};
use self::schema::SchemaId;
pub use self::session_id::SessionId;
use crate::crypto::cipher::TAG_BYTES;
use crate::crypto::ring::KeyRing;
use crate::crypto::seal::{self, OpenedWith, Refusal};
use crate::crypto::wire;
use crate::error::{Error, ErrorKind};
use crate::limits::MAX_COOKIE_BYTES;

/// Decoded bytes that fit in [`MAX_COOKIE_BYTES`] characters of base64.
const MAX_RAW_COOKIE_BYTES: usize = MAX_COOKIE_BYTES / 4 * 3;

/// The stack buffer tried first: most sessions fit in it.
const SMALL_RAW_BYTES: usize = 512;

/// A plaintext does not fit the stack buffer tried.
struct Full;

/// Seals session values into cookie values and opens them again.
///
/// Built once by [`Codec::builder`], immutable, cheap to clone and shared
/// across threads. It needs no async runtime.
///
/// # Examples
///
/// ```
/// use sealed_session::{Codec, Key, KeyRing};
///
/// // In production, load keys from a secret store; see `KeyRing::from_env`.
/// let ring = KeyRing::new([Key::generate()])?;
/// let codec = Codec::builder(ring).cookie_name("__Host-session").build()?;
///
/// let sealed = codec.seal(&("alice".to_owned(), 42u32))?;
/// assert!(sealed.size() <= 4096);
/// let opened = codec.open::<(String, u32)>(sealed.value())?;
/// assert_eq!(opened.value(), &("alice".to_owned(), 42));
/// assert!(opened.opened_with().is_primary());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct Codec {
    inner: Arc<Inner>,
}

struct Inner {
    ring: KeyRing,
    name: String,
    limit: usize,
    idle: Duration,
    absolute: Duration,
    /// The longest idle and absolute timeouts of a session's own expiry;
    /// `None` for `idle` and `absolute`.
    max_expiry: Option<(Duration, Duration)>,
    /// Explicit schema names, by type.
    schemas: Vec<(TypeId, SchemaId)>,
    migrations: Migrations,
    legacy: bool,
}

impl Codec {
    /// The schema id values sealed for `T` carry: its explicit name's id
    /// when [`CodecBuilder::schema`] gave one, else its serde shape's.
    pub fn schema_of<T: DeserializeOwned + 'static>(&self) -> SchemaId {
        let type_id = TypeId::of::<T>();
        self.inner
            .schemas
            .iter()
            .find(|(t, _)| *t == type_id)
            .map_or_else(SchemaId::of::<T>, |(_, id)| *id)
    }

    /// The key ring.
    pub fn ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// The cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.inner.name
    }

    /// The most bytes of `name=value` this codec emits.
    pub fn size_limit(&self) -> usize {
        self.inner.limit
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.inner.idle
    }

    /// The absolute timeout.
    pub fn absolute_timeout(&self) -> Duration {
        self.inner.absolute
    }

    /// The longest idle timeout a session's own [`Expiry`] may have.
    pub fn max_idle_timeout(&self) -> Duration {
        self.inner
            .max_expiry
            .map_or(self.inner.idle, |(idle, _)| idle)
    }

    /// The longest absolute timeout a session's own [`Expiry`] may have:
    /// no session of this codec lives longer. A revocation registry's
    /// subject entry must last this long.
    pub fn max_absolute_timeout(&self) -> Duration {
        self.inner
            .max_expiry
            .map_or(self.inner.absolute, |(_, absolute)| absolute)
    }

    /// `expiry` capped at this codec's limits.
    pub(crate) fn cap(&self, expiry: Expiry) -> Expiry {
        expiry.capped(self.max_idle_timeout(), self.max_absolute_timeout())
    }

    /// Seals `value` as a session issued now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TooLarge`] when `name=value` would exceed the size limit
    /// (with both numbers), [`ErrorKind::Serialize`] when `value` fails to
    /// serialize.
    pub fn seal<T>(&self, value: &T) -> Result<SealedCookie, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        self.seal_with_times(value, Times::new(SystemTime::now()))
    }

    /// Seals `value` with the given issued-at and renewed-at times.
    ///
    /// # Errors
    ///
    /// As [`Codec::seal`].
    pub fn seal_with_times<T>(&self, value: &T, times: Times) -> Result<SealedCookie, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let env = envelope(times, Identity::fresh(), Body::Inline(value));
        self.seal_envelope(self.schema_of::<T>(), &env)
    }

    /// Bytes of `name=value` that sealing `value` now would make, without
    /// sealing it. (The times are varints: a value sealed with times far
    /// from now, before 1978 or after 3058, may differ by a byte.)
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when `value` fails to serialize.
    pub fn sealed_size<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, Error> {
        let env = envelope(
            Times::new(SystemTime::now()),
            Identity::fresh(),
            Body::Inline(value),
        );
        let plaintext = postcard::experimental::serialized_size(&env)
            .map_err(|_| Error::new(ErrorKind::Serialize))?;
        Ok(self.cookie_size(plaintext))
    }

    /// Opens a cookie value sealed by this codec's cookie name and ring,
    /// checking the timeouts against the current time.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Rejected`] for anything that does not authenticate,
    /// [`ErrorKind::Undecodable`] when it authenticates but was sealed for
    /// another schema (with no migration to `T` declared) or is not a `T`,
    /// [`ErrorKind::Expired`] when it authenticates but a timeout passed.
    pub fn open<T: DeserializeOwned + 'static>(&self, value: &str) -> Result<Opened<T>, Error> {
        self.open_at(value, SystemTime::now())
    }

    /// As [`Codec::open`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`Codec::open`].
    pub fn open_at<T: DeserializeOwned + 'static>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<Opened<T>, Error> {
        let (env, with) = self.open_envelope::<T>(value, now)?;
        match env.body {
            Body::Inline(value) => Ok(Opened::new(
                value,
                Times::from_sealed(env.issued_at, env.renewed_at),
                SessionId::from_bytes(env.session_id),
                env.subject,
                env.expiry.map(Expiry::from_sealed),
                with,
            )),
            // A pointer where a value was asked for: sessions handle
            // pointers; to a caller of this API it is not a `T`.
            Body::Stored(_) => Err(Error::new(ErrorKind::Undecodable)),
        }
    }

    /// Bytes of `name=value` for a plaintext of `plaintext_len` bytes.
    pub(crate) fn cookie_size(&self, plaintext_len: usize) -> usize {
        let raw = wire::sealed_len(self.inner.ring.primary().algorithm, plaintext_len);
        cookie::pair_size(&self.inner.name, wire::encoded_len(raw))
    }

    /// Seals an envelope for `schema` into a cookie value, on the stack,
    /// with the one allocation being the returned string. Small sessions use
    /// a small buffer (zero-filling 3 KiB costs more than sealing a small
    /// value).
    pub(crate) fn seal_envelope<T: Serialize + ?Sized>(
        &self,
        schema: SchemaId,
        env: &Envelope<&T, &str>,
    ) -> Result<SealedCookie, Error> {
        match self.seal_in::<SMALL_RAW_BYTES, T>(schema, env) {
            Err(Full) => self
                .seal_in::<MAX_RAW_COOKIE_BYTES, T>(schema, env)
                .map_err(|_| {
                    // Even the largest buffer a cookie can use is too small.
                    match postcard::experimental::serialized_size(env) {
                        Ok(len) => self.too_large(self.cookie_size(len)),
                        Err(_) => Error::new(ErrorKind::Serialize),
                    }
                })?,
            Ok(sealed) => sealed,
        }
    }

    /// Seals into an `N`-byte stack buffer; `Err(Full)` when the plaintext
    /// does not fit in it. The plaintext never outlives the call: it is
    /// encrypted in place, or wiped on every failure.
    fn seal_in<const N: usize, T: Serialize + ?Sized>(
        &self,
        schema: SchemaId,
        env: &Envelope<&T, &str>,
    ) -> Result<Result<SealedCookie, Error>, Full> {
        let prefix = wire::prefix_len(self.inner.ring.primary().algorithm);
        let mut buf = [0u8; N];
        let Some(room) = buf.get_mut(prefix..N - TAG_BYTES) else {
            return Err(Full);
        };
        let plaintext_len = match postcard::to_slice(env, room) {
            Ok(written) => written.len(),
            Err(postcard::Error::SerializeBufferFull) => {
                room.zeroize();
                return Err(Full);
            }
            Err(_) => {
                room.zeroize();
                return Ok(Err(Error::new(ErrorKind::Serialize)));
            }
        };
        let size = self.cookie_size(plaintext_len);
        if size > self.inner.limit {
            if let Some(plaintext) = buf.get_mut(prefix..prefix + plaintext_len) {
                plaintext.zeroize();
            }
            return Ok(Err(self.too_large(size)));
        }
        let sealed = seal::seal_in_place(
            &self.inner.ring,
            schema,
            self.inner.name.as_bytes(),
            &mut buf,
            plaintext_len,
        )
        .and_then(|sealed_len| {
            buf.get(..sealed_len)
                .ok_or_else(|| Error::new(ErrorKind::Serialize))
        })
        .map(|raw| SealedCookie::new(wire::encode_base64(raw), size));
        if sealed.is_err() {
            buf.get_mut(..prefix + plaintext_len + TAG_BYTES)
                .into_iter()
                .for_each(|b| b.zeroize());
        }
        Ok(sealed)
    }

    fn too_large(&self, size: usize) -> Error {
        Error::new(ErrorKind::TooLarge {
            size,
            limit: self.inner.limit,
        })
    }

    /// Opens a cookie value into an envelope of `T`, on the stack, and checks
    /// the timeouts.
    pub(crate) fn open_envelope<T: DeserializeOwned + 'static>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        self.try_open_envelope(value, now).map_err(Error::from)
    }

    /// As [`Codec::open_envelope`], telling a value refused by the cheap
    /// checks before any cryptography ([`Failure::Malformed`]) from one that
    /// reached the AEAD.
    pub(crate) fn try_open_envelope<T: DeserializeOwned + 'static>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<(Envelope<T>, OpenedWith), Failure> {
        self.with_opened_cookie(value, |plaintext, with| {
            self.decode_checked(plaintext, with, now, Deadlines::Both)
        })
    }

    /// The decode pipeline up to the AEAD, in its documented order: length
    /// cap, base64url into a stack buffer, open in place. `f` sees the
    /// plaintext and which key opened it; the plaintext is wiped afterwards.
    pub(crate) fn with_opened_cookie<R>(
        &self,
        value: &str,
        f: impl FnOnce(&[u8], OpenedWith) -> Result<R, Error>,
    ) -> Result<R, Failure> {
        if cookie::pair_size(&self.inner.name, value.len()) > self.inner.limit {
            return Err(Failure::Malformed);
        }
        if value.len() <= wire::encoded_len(SMALL_RAW_BYTES) {
            self.with_opened_in::<SMALL_RAW_BYTES, R>(value, f)
        } else {
            self.with_opened_in::<MAX_RAW_COOKIE_BYTES, R>(value, f)
        }
    }

    /// [`Codec::with_opened_cookie`] in an `N`-byte stack buffer.
    fn with_opened_in<const N: usize, R>(
        &self,
        value: &str,
        f: impl FnOnce(&[u8], OpenedWith) -> Result<R, Error>,
    ) -> Result<R, Failure> {
        // Not zero-filled: the decoder writes every byte it hands back.
        let mut buf = [const { MaybeUninit::<u8>::uninit() }; N];
        let raw = wire::decode_base64(value, &mut buf).ok_or(Failure::Malformed)?;
        let result = match seal::open_in_place(
            &self.inner.ring,
            self.inner.name.as_bytes(),
            raw,
            self.inner.legacy,
        ) {
            Ok((plaintext, with)) => f(plaintext, with).map_err(Failure::Error),
            Err(Refusal::Malformed) => Err(Failure::Malformed),
            Err(Refusal::Unauthentic) => Err(Failure::Error(Error::new(ErrorKind::Rejected))),
        };
        // A slice, not the array: zeroize wipes arrays byte by byte, which
        // cost more than the AEAD.
        raw.zeroize();
        result
    }

    /// The envelope of `T`, from `T`'s own schema or through declared
    /// migrations, with no trailing bytes; then the timeouts.
    fn decode_checked<T: DeserializeOwned + 'static>(
        &self,
        plaintext: &[u8],
        with: OpenedWith,
        now: SystemTime,
        deadlines: Deadlines,
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        let version = with.format_version();
        let (env, with) = match with.schema() {
            // Version 1 names no schema (and opens only when allowed).
            None => (envelope::decode_legacy::<T>(plaintext)?, with),
            Some(schema) if schema == self.schema_of::<T>() => {
                (envelope::decode::<T>(plaintext, version)?, with)
            }
            Some(schema) => {
                match self
                    .inner
                    .migrations
                    .decode_into::<T>(schema, plaintext, version)
                {
                    Some(env) => (env?, with.migrated()),
                    None => return Err(Error::new(ErrorKind::Undecodable)),
                }
            }
        };
        let (idle_deadline, absolute_deadline) = self.deadlines(
            env.issued_at / 1000,
            env.renewed_at,
            env.expiry.map(Expiry::from_sealed),
        );
        let now = to_secs(now);
        let idle_passed = deadlines == Deadlines::Both && now >= idle_deadline;
        if idle_passed || now >= absolute_deadline {
            return Err(Error::new(ErrorKind::Expired));
        }
        Ok((env, with))
    }

    /// The idle and absolute deadlines, in seconds since the Unix epoch, of
    /// a session with these authenticated times (whole seconds) and its own
    /// expiry, if any (capped at the limits). The one place deadlines are
    /// computed.
    pub(crate) fn deadlines(
        &self,
        issued_at: u64,
        renewed_at: u64,
        expiry: Option<Expiry>,
    ) -> (u64, u64) {
        let (idle, absolute) = match expiry {
            Some(expiry) => {
                let expiry = self.cap(expiry);
                (expiry.idle_timeout(), expiry.absolute_timeout())
            }
            None => (self.inner.idle, self.inner.absolute),
        };
        (
            renewed_at.saturating_add(idle.as_secs()),
            issued_at.saturating_add(absolute.as_secs()),
        )
    }

    /// The absolute deadline of a session with these times and expiry: the
    /// last instant any cookie of it can open.
    pub(crate) fn absolute_deadline(&self, times: Times, expiry: Option<Expiry>) -> SystemTime {
        let (issued_at, renewed_at) = times.to_secs();
        envelope::from_secs(self.deadlines(issued_at, renewed_at, expiry).1)
    }

    /// The earlier of the two deadlines of a session with these times and
    /// expiry.
    pub(crate) fn deadline(&self, times: Times, expiry: Option<Expiry>) -> SystemTime {
        let (issued_at, renewed_at) = times.to_secs();
        let (idle, absolute) = self.deadlines(issued_at, renewed_at, expiry);
        envelope::from_secs(idle.min(absolute))
    }
}

/// Which deadlines an opened value is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadlines {
    /// Idle and absolute: a cookie (the whole session, or a pointer).
    Both,
    /// Absolute only: a store value, whose pointer cookie carries the
    /// session's renewals (a renewal that only moves the entry's deadline,
    /// [`Store::touch`](crate::store::Store::touch), does not rewrite the
    /// value, so its own renewed-at time lags). The pointer was checked
    /// against both, and the value is bound to it by its store id and
    /// session id.
    AbsoluteOnly,
}

/// A cookie value that did not open.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Refused by the cheap checks before any cryptography: over the length
    /// cap, not base64url, unknown version or algorithm, unknown key id.
    Malformed,
    /// Reached the AEAD (or later) and failed.
    Error(Error),
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Malformed => Error::new(ErrorKind::Rejected),
            Failure::Error(e) => e,
        }
    }
}

/// Who a sealed value belongs to, besides its times: the session id, the
/// subject (the application's user id), as borrowed for sealing, and the
/// session's own expiry (already capped at the codec's limits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity<'a> {
    pub(crate) id: SessionId,
    pub(crate) subject: Option<&'a str>,
    pub(crate) expiry: Option<Expiry>,
}

impl Identity<'_> {
    /// A new session's identity: a fresh random id, no subject, the
    /// codec's timeouts.
    pub(crate) fn fresh() -> Self {
        Self {
            id: SessionId::generate(),
            subject: None,
            expiry: None,
        }
    }
}

pub(crate) fn envelope<'a, T: ?Sized>(
    times: Times,
    identity: Identity<'a>,
    body: Body<&'a T>,
) -> Envelope<&'a T, &'a str> {
    Envelope {
        issued_at: times.issued_at_millis(),
        renewed_at: times.to_secs().1,
        session_id: identity.id.to_bytes(),
        subject: identity.subject,
        expiry: identity.expiry.map(Expiry::to_sealed),
        body,
    }
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_fields(f.debug_struct("Codec")).finish()
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_fields(f.debug_struct("Config")).finish()
    }
}

impl Inner {
    /// The configuration's fields, keys redacted by the ring's own `Debug`.
    fn fmt_fields<'a, 'b>(&self, mut d: fmt::DebugStruct<'a, 'b>) -> fmt::DebugStruct<'a, 'b> {
        d.field("ring", &self.ring)
            .field("cookie_name", &self.name)
            .field("size_limit", &self.limit)
            .field("idle_timeout", &self.idle)
            .field("absolute_timeout", &self.absolute)
            .field("expiry_limits", &self.max_expiry)
            .field("schemas", &self.schemas.len())
            .field("migrations", &self.migrations)
            .field("open_legacy_v1", &self.legacy);
        d
    }
}
