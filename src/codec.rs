//! The cookie codec: a session value to a sealed cookie value and back.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroize as _;

use crate::cipher::TAG_BYTES;
use crate::envelope::{Body, Envelope, STORE_ID_BYTES, Times, to_secs};
use crate::error::{Error, ErrorKind};
use crate::ring::KeyRing;
use crate::seal::{self, MAX_CONTEXT_BYTES, OpenedWith};
use crate::wire;

/// The most bytes of `name=value` browsers keep for one cookie (RFC 6265bis;
/// Chromium and Firefox enforce it), and the default limit.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Smallest size limit a codec accepts.
pub const MIN_COOKIE_BYTES: usize = 64;

/// Longest cookie name, in bytes.
pub const MAX_COOKIE_NAME_BYTES: usize = 256;

/// Decoded bytes that fit in [`MAX_COOKIE_BYTES`] characters of base64.
const MAX_RAW_COOKIE_BYTES: usize = MAX_COOKIE_BYTES / 4 * 3;

/// The stack buffer tried first: most sessions fit in it.
const SMALL_RAW_BYTES: usize = 512;

/// A plaintext does not fit the stack buffer tried.
struct Full;

/// Default idle timeout: one day.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Default absolute timeout: fourteen days.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 60 * 60);

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
/// let sealed = codec.seal(&("alice", 42u32))?;
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
}

/// Configures a [`Codec`]; [`CodecBuilder::build`] checks the whole
/// configuration.
#[derive(Debug)]
#[must_use]
pub struct CodecBuilder {
    ring: KeyRing,
    name: String,
    limit: usize,
    idle: Duration,
    absolute: Duration,
}

impl CodecBuilder {
    /// The cookie name (default `session`). It is bound into every sealed
    /// value, so a value cannot be moved to another cookie. Prefer
    /// `__Host-session` where the site is served over HTTPS.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The most bytes of cookie `name=value` to emit (default
    /// [`MAX_COOKIE_BYTES`], 4096). Lower it when the site sets other large
    /// cookies.
    pub fn size_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// How long a session lives without being renewed (default one day).
    /// Checked against the sealed last-renewed time, to whole seconds.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// How long a session lives after it was issued, however active
    /// (default fourteen days). Checked against the sealed issued-at time.
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute = timeout;
        self
    }

    /// Checks the configuration and builds the codec.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidCookieName`] for a name that is empty, longer than
    /// [`MAX_COOKIE_NAME_BYTES`] or not an RFC 6265 token;
    /// [`ErrorKind::InvalidSizeLimit`] for a limit outside
    /// [`MIN_COOKIE_BYTES`]..=[`MAX_COOKIE_BYTES`];
    /// [`ErrorKind::TimeoutsOutOfOrder`] for an idle timeout under one second
    /// or longer than the absolute timeout.
    pub fn build(self) -> Result<Codec, Error> {
        if !is_cookie_name(&self.name) {
            return Err(Error::new(ErrorKind::InvalidCookieName));
        }
        if !(MIN_COOKIE_BYTES..=MAX_COOKIE_BYTES).contains(&self.limit) {
            return Err(Error::new(ErrorKind::InvalidSizeLimit {
                limit: self.limit,
            }));
        }
        if self.idle.as_secs() == 0 || self.idle > self.absolute {
            return Err(Error::new(ErrorKind::TimeoutsOutOfOrder));
        }
        Ok(Codec {
            inner: Arc::new(Inner {
                ring: self.ring,
                name: self.name,
                limit: self.limit,
                idle: self.idle,
                absolute: self.absolute,
            }),
        })
    }
}

/// RFC 6265 `token`: visible ASCII except separators.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_COOKIE_NAME_BYTES
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

/// A sealed cookie value, with the size of `name=value` it makes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCookie {
    value: String,
    size: usize,
}

impl SealedCookie {
    /// The cookie value: base64url without padding.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Bytes of `name=value`, what browsers hold against their 4096 limit.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The cookie value, owned.
    pub fn into_value(self) -> String {
        self.value
    }
}

impl fmt::Debug for SealedCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCookie")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A value that opened: the session value, its times and the key that
/// opened it.
///
/// `Debug` shows the times and the opening key, never the value.
#[derive(Clone)]
pub struct Opened<T> {
    value: T,
    times: Times,
    with: OpenedWith,
}

impl<T> Opened<T> {
    /// The session value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The session value, owned.
    pub fn into_value(self) -> T {
        self.value
    }

    /// When the session was issued and last renewed.
    pub fn times(&self) -> Times {
        self.times
    }

    /// Which key opened the value (for re-sealing and rotation telemetry).
    pub fn opened_with(&self) -> OpenedWith {
        self.with
    }
}

impl<T> fmt::Debug for Opened<T> {
    /// Metadata only: never the session value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("times", &self.times)
            .field("opened_with", &self.with)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// A builder over `ring` with the defaults: cookie name `session`, size
    /// limit 4096, idle timeout one day, absolute timeout fourteen days.
    pub fn builder(ring: KeyRing) -> CodecBuilder {
        CodecBuilder {
            ring,
            name: "session".to_owned(),
            limit: MAX_COOKIE_BYTES,
            idle: DEFAULT_IDLE_TIMEOUT,
            absolute: DEFAULT_ABSOLUTE_TIMEOUT,
        }
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

    /// Seals `value` as a session issued now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TooLarge`] when `name=value` would exceed the size limit
    /// (with both numbers), [`ErrorKind::Serialize`] when `value` fails to
    /// serialize.
    pub fn seal<T: Serialize + ?Sized>(&self, value: &T) -> Result<SealedCookie, Error> {
        self.seal_with_times(value, Times::new(SystemTime::now()))
    }

    /// Seals `value` with the given issued-at and renewed-at times.
    ///
    /// # Errors
    ///
    /// As [`Codec::seal`].
    pub fn seal_with_times<T: Serialize + ?Sized>(
        &self,
        value: &T,
        times: Times,
    ) -> Result<SealedCookie, Error> {
        self.seal_envelope(&envelope(times, Body::Inline(value)))
    }

    /// Bytes of `name=value` that sealing `value` now would make, without
    /// sealing it. (The times are varints: a value sealed with times far
    /// from now, before 1978 or after 3058, may differ by a byte.)
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when `value` fails to serialize.
    pub fn sealed_size<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, Error> {
        let env = envelope(Times::new(SystemTime::now()), Body::Inline(value));
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
    /// [`ErrorKind::Undecodable`] when it authenticates but is not a `T`,
    /// [`ErrorKind::Expired`] when it authenticates but a timeout passed.
    pub fn open<T: DeserializeOwned>(&self, value: &str) -> Result<Opened<T>, Error> {
        self.open_at(value, SystemTime::now())
    }

    /// As [`Codec::open`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`Codec::open`].
    pub fn open_at<T: DeserializeOwned>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<Opened<T>, Error> {
        let (env, with) = self.open_envelope::<T>(value, now)?;
        match env.body {
            Body::Inline(value) => Ok(Opened {
                value,
                times: Times::from_secs(env.issued_at, env.renewed_at),
                with,
            }),
            // A pointer where a value was asked for: sessions handle
            // pointers; to a caller of this API it is not a `T`.
            Body::Stored(_) => Err(Error::new(ErrorKind::Undecodable)),
        }
    }

    /// Bytes of `name=value` for a plaintext of `plaintext_len` bytes.
    pub(crate) fn cookie_size(&self, plaintext_len: usize) -> usize {
        let raw = wire::sealed_len(self.inner.ring.primary().algorithm, plaintext_len);
        self.inner.name.len() + 1 + wire::encoded_len(raw)
    }

    /// Seals an envelope into a cookie value, on the stack, with the one
    /// allocation being the returned string. Small sessions use a small
    /// buffer (zero-filling 3 KiB costs more than sealing a small value).
    pub(crate) fn seal_envelope<T: Serialize + ?Sized>(
        &self,
        env: &Envelope<&T>,
    ) -> Result<SealedCookie, Error> {
        match self.seal_in::<SMALL_RAW_BYTES, T>(env) {
            Err(Full) => self.seal_in::<MAX_RAW_COOKIE_BYTES, T>(env).map_err(|_| {
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
    /// does not fit in it.
    fn seal_in<const N: usize, T: Serialize + ?Sized>(
        &self,
        env: &Envelope<&T>,
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
            self.inner.name.as_bytes(),
            &mut buf,
            plaintext_len,
        )
        .and_then(|sealed_len| {
            buf.get(..sealed_len)
                .ok_or_else(|| Error::new(ErrorKind::Serialize))
        })
        .map(|raw| SealedCookie {
            value: wire::encode_base64(raw),
            size,
        });
        Ok(sealed)
    }

    fn too_large(&self, size: usize) -> Error {
        Error::new(ErrorKind::TooLarge {
            size,
            limit: self.inner.limit,
        })
    }

    /// Opens a cookie value into an envelope, on the stack, and checks the
    /// timeouts.
    pub(crate) fn open_envelope<T: DeserializeOwned>(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        self.with_opened_cookie(value, |plaintext, with| {
            Ok((self.decode_checked(plaintext, now)?, with))
        })
    }

    /// The decode pipeline up to the AEAD, in its documented order: length
    /// cap, base64url into a stack buffer, open in place. `f` sees the
    /// plaintext and which key opened it; the plaintext is wiped afterwards.
    pub(crate) fn with_opened_cookie<R>(
        &self,
        value: &str,
        f: impl FnOnce(&[u8], OpenedWith) -> Result<R, Error>,
    ) -> Result<R, Error> {
        if self.inner.name.len() + 1 + value.len() > self.inner.limit {
            return Err(Error::new(ErrorKind::Rejected));
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
    ) -> Result<R, Error> {
        let mut buf = [0u8; N];
        let len =
            wire::decode_base64(value, &mut buf).ok_or_else(|| Error::new(ErrorKind::Rejected))?;
        let raw = buf
            .get_mut(..len)
            .ok_or_else(|| Error::new(ErrorKind::Rejected))?;
        let result = seal::open_in_place(&self.inner.ring, self.inner.name.as_bytes(), raw)
            .and_then(|(plaintext, with)| f(plaintext, with));
        // A slice, not the array: zeroize wipes arrays byte by byte, which
        // cost more than the AEAD.
        raw.zeroize();
        result
    }

    /// Seals an envelope for a store entry under `id`: raw bytes (no base64),
    /// bound to the cookie name and the id.
    pub(crate) fn seal_store_value<T: Serialize + ?Sized>(
        &self,
        id: &[u8; STORE_ID_BYTES],
        env: &Envelope<&T>,
    ) -> Result<Vec<u8>, Error> {
        let mut context = [0u8; MAX_CONTEXT_BYTES];
        let context = store_context(&self.inner.name, id, &mut context)?;
        let prefix = wire::prefix_len(self.inner.ring.primary().algorithm);
        let plaintext_len = postcard::experimental::serialized_size(env)
            .map_err(|_| Error::new(ErrorKind::Serialize))?;
        // Sized up front so serializing never reallocates and leaves a copy
        // of plaintext in freed memory.
        let mut buf = Vec::with_capacity(wire::sealed_len(
            self.inner.ring.primary().algorithm,
            plaintext_len,
        ));
        buf.resize(prefix, 0);
        buf = postcard::to_extend(env, buf).map_err(|_| Error::new(ErrorKind::Serialize))?;
        let plaintext_len = buf.len() - prefix;
        buf.extend_from_slice(&[0u8; TAG_BYTES]);
        let sealed_len = seal::seal_in_place(&self.inner.ring, context, &mut buf, plaintext_len);
        if sealed_len.is_err() {
            buf.zeroize();
        }
        buf.truncate(sealed_len?);
        Ok(buf)
    }

    /// Opens a store entry sealed under `id`, in place, and checks the
    /// timeouts.
    pub(crate) fn open_store_value<T: DeserializeOwned>(
        &self,
        id: &[u8; STORE_ID_BYTES],
        mut raw: Vec<u8>,
        now: SystemTime,
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        let mut context = [0u8; MAX_CONTEXT_BYTES];
        let context = store_context(&self.inner.name, id, &mut context)?;
        let result = seal::open_in_place(&self.inner.ring, context, &mut raw)
            .and_then(|(plaintext, with)| Ok((self.decode_checked(plaintext, now)?, with)));
        raw.zeroize();
        result
    }

    /// Postcard of the envelope with no trailing bytes, then the timeouts.
    fn decode_checked<T: DeserializeOwned>(
        &self,
        plaintext: &[u8],
        now: SystemTime,
    ) -> Result<Envelope<T>, Error> {
        let env = match postcard::take_from_bytes::<Envelope<T>>(plaintext) {
            Ok((env, [])) => env,
            _ => return Err(Error::new(ErrorKind::Undecodable)),
        };
        let (idle_deadline, absolute_deadline) = self.deadlines(env.issued_at, env.renewed_at);
        let now = to_secs(now);
        if now >= idle_deadline || now >= absolute_deadline {
            return Err(Error::new(ErrorKind::Expired));
        }
        Ok(env)
    }

    /// The idle and absolute deadlines, in seconds since the Unix epoch, of
    /// a session with these authenticated times.
    pub(crate) fn deadlines(&self, issued_at: u64, renewed_at: u64) -> (u64, u64) {
        (
            renewed_at.saturating_add(self.inner.idle.as_secs()),
            issued_at.saturating_add(self.inner.absolute.as_secs()),
        )
    }
}

/// `name || 0x00 || id`: a cookie name holds no zero byte, so no store
/// context equals a cookie context.
fn store_context<'a>(
    name: &str,
    id: &[u8; STORE_ID_BYTES],
    out: &'a mut [u8; MAX_CONTEXT_BYTES],
) -> Result<&'a [u8], Error> {
    let len = name.len() + 1 + STORE_ID_BYTES;
    let dst = out
        .get_mut(..len)
        .ok_or_else(|| Error::new(ErrorKind::InvalidCookieName))?;
    let (n, rest) = dst.split_at_mut(name.len());
    n.copy_from_slice(name.as_bytes());
    let (zero, id_dst) = rest.split_at_mut(1);
    zero.fill(0);
    id_dst.copy_from_slice(id);
    Ok(dst)
}

pub(crate) fn envelope<T: ?Sized>(times: Times, body: Body<&T>) -> Envelope<&T> {
    let (issued_at, renewed_at) = times.to_secs();
    Envelope {
        issued_at,
        renewed_at,
        body,
    }
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("ring", &self.inner.ring)
            .field("cookie_name", &self.inner.name)
            .field("size_limit", &self.inner.limit)
            .field("idle_timeout", &self.inner.idle)
            .field("absolute_timeout", &self.inner.absolute)
            .finish()
    }
}
