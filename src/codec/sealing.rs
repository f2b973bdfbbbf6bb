//! The cookie seal pipeline: a session value, its times and identity, into
//! an envelope, postcard on the stack, the AEAD in place, base64url.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::SystemTime;
use zeroize::Zeroize as _;

use super::envelope::{Body, Envelope, Times};
use super::schema::SchemaId;
use super::{
    Codec, Expiry, MAX_RAW_COOKIE_BYTES, SMALL_RAW_BYTES, SealedCookie, SessionId, cookie,
};
use crate::crypto::cipher::TAG_BYTES;
use crate::crypto::{seal, wire};
use crate::error::{Error, ErrorKind};

/// A plaintext does not fit the stack buffer tried.
struct Full;

impl Codec {
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
