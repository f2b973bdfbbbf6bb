//! The cookie seal pipeline: a session value, its times and identity, into
//! an envelope, postcard on the stack, the AEAD in place, base64url.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::SystemTime;
use zeroize::Zeroize as _;

use super::envelope::SESSION_ID_BYTES;
use super::envelope::{Body, Envelope, Times};
use super::schema::SchemaId;
use super::{
    Codec, Expiry, MAX_RAW_COOKIE_BYTES, SMALL_RAW_BYTES, SealedCookie, SessionId, cookie,
};
use crate::crypto::cipher::{Fresh, TAG_BYTES};
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
        let env = envelope(times, Identity::new_session(), Body::Inline(value));
        self.seal_fresh_envelope(self.schema_of::<T>(), &env)
            .map(|(sealed, _)| sealed)
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
            Identity::new_session(),
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
        self.seal_envelope_drawing(schema, env, None)
    }

    /// [`Codec::seal_envelope`] for a new session: its id is drawn with the
    /// nonce, under the one process check a seal makes after the value has
    /// been serialized (so a `fork` inside the value's `Serialize` is still
    /// caught), and returned. The envelope's own id is a stand-in
    /// ([`SessionId::UNDRAWN`]) and is not sealed.
    pub(crate) fn seal_fresh_envelope<T: Serialize + ?Sized>(
        &self,
        schema: SchemaId,
        env: &Envelope<&T, &str>,
    ) -> Result<(SealedCookie, SessionId), Error> {
        let mut id = [0u8; SESSION_ID_BYTES];
        let sealed = self.seal_envelope_drawing(schema, env, Some(&mut id))?;
        Ok((sealed, SessionId::from_bytes(id)))
    }

    fn seal_envelope_drawing<T: Serialize + ?Sized>(
        &self,
        schema: SchemaId,
        env: &Envelope<&T, &str>,
        mut fresh_id: Option<&mut [u8; SESSION_ID_BYTES]>,
    ) -> Result<SealedCookie, Error> {
        match self.seal_in::<SMALL_RAW_BYTES, T>(schema, env, fresh_id.as_deref_mut()) {
            Err(Full) => self
                .seal_in::<MAX_RAW_COOKIE_BYTES, T>(schema, env, fresh_id)
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
        fresh_id: Option<&mut [u8; SESSION_ID_BYTES]>,
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
        let fresh = match fresh_id {
            Some(bytes) => Fresh {
                bytes,
                at: session_id_offset(env),
            },
            None => Fresh::none(),
        };
        let sealed = seal::seal_in_place_drawing(
            &self.inner.ring,
            schema,
            self.inner.name.as_bytes(),
            &mut buf,
            plaintext_len,
            fresh,
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
    /// A new session's identity: no subject, the codec's timeouts, and an
    /// id the seal draws ([`Codec::seal_fresh_envelope`]).
    pub(crate) fn new_session() -> Self {
        Self {
            id: SessionId::UNDRAWN,
            subject: None,
            expiry: None,
        }
    }
}

/// Where the session id starts in an envelope's postcard: after the two
/// varint times (see [`super::envelope`]).
fn session_id_offset<T: ?Sized>(env: &Envelope<&T, &str>) -> usize {
    varint_len(env.issued_at) + varint_len(env.renewed_at)
}

/// Bytes of `value` as a postcard varint: 7 bits a byte.
fn varint_len(value: u64) -> usize {
    let bits = u64::BITS - (value | 1).leading_zeros();
    bits.div_ceil(7) as usize
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{Algorithm, Key, KeyRing};

    /// The id a new session's seal draws with its nonce lands where the
    /// envelope keeps it, for every algorithm and every length of the two
    /// varint times before it, and is the id the seal returns.
    #[test]
    fn a_drawn_id_is_the_one_sealed_and_returned() {
        for algorithm in [
            Algorithm::Aes256Gcm,
            Algorithm::Xaes256Gcm,
            Algorithm::XChaCha20Poly1305,
        ] {
            let ring = KeyRing::new([Key::generate().with_algorithm(algorithm)]).unwrap();
            let codec = Codec::builder(ring)
                .idle_timeout(Duration::from_secs(u64::MAX / 4))
                .absolute_timeout(Duration::from_secs(u64::MAX / 4))
                .build()
                .unwrap();
            for secs in [0, 1, 127, 128, 1_700_000_000, 1 << 40] {
                let at = UNIX_EPOCH + Duration::from_secs(secs);
                let value = String::from("a value");
                let env = envelope(
                    Times::new(at),
                    Identity::new_session(),
                    Body::Inline(&value),
                );
                let (sealed, id) = codec
                    .seal_fresh_envelope(codec.schema_of::<String>(), &env)
                    .unwrap();
                assert_ne!(id, SessionId::UNDRAWN);
                let opened = codec.open_at::<String>(sealed.value(), at).unwrap();
                assert_eq!(opened.session_id(), id, "{algorithm:?} at {secs}");
                assert_eq!(opened.value(), &value);
            }
        }
    }

    #[test]
    fn codec_seals_draw_a_new_id_each() {
        let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
            .build()
            .unwrap();
        let ids: std::collections::HashSet<_> = (0..64)
            .map(|_| {
                let sealed = codec.seal(&1u32).unwrap();
                codec.open::<u32>(sealed.value()).unwrap().session_id()
            })
            .collect();
        assert_eq!(ids.len(), 64);
        assert!(!ids.contains(&SessionId::UNDRAWN));
    }
}
