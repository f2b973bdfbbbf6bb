//! The store-value pipeline: a session sealed for a store entry, bound to
//! the cookie name and the entry's id, as raw bytes (no base64).

use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroize as _;

use super::envelope::{Envelope, STORE_ID_BYTES, to_secs};
use super::schema::SchemaId;
use super::{Codec, Deadlines};
use crate::crypto::cipher::TAG_BYTES;
use crate::crypto::seal::{self, MAX_CONTEXT_BYTES, OpenedWith};
use crate::crypto::wire;
use crate::error::{Error, ErrorKind};

impl Codec {
    /// Seals an envelope for a store entry under `id`, for `schema`: raw
    /// bytes (no base64), bound to the cookie name and the id.
    pub(crate) fn seal_store_value<T: Serialize + ?Sized>(
        &self,
        schema: SchemaId,
        id: &[u8; STORE_ID_BYTES],
        env: &Envelope<&T, &str>,
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
        let sealed_len =
            seal::seal_in_place(&self.inner.ring, schema, context, &mut buf, plaintext_len);
        if sealed_len.is_err() {
            buf.zeroize();
        }
        buf.truncate(sealed_len?);
        Ok(buf)
    }

    /// Opens a store entry sealed under `id`, in place, and checks its
    /// absolute deadline (its pointer carries the idle one).
    pub(crate) fn open_store_value<T: DeserializeOwned + 'static>(
        &self,
        id: &[u8; STORE_ID_BYTES],
        mut raw: Vec<u8>,
        now: SystemTime,
    ) -> Result<(Envelope<T>, OpenedWith), Error> {
        let mut context = [0u8; MAX_CONTEXT_BYTES];
        let context = store_context(&self.inner.name, id, &mut context)?;
        let result = seal::open_in_place(&self.inner.ring, context, &mut raw, self.inner.legacy)
            .map_err(Error::from)
            .and_then(|(plaintext, with)| {
                self.decode_checked(plaintext, with, to_secs(now), Deadlines::AbsoluteOnly, id)
            });
        raw.zeroize();
        result
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::codec::envelope::{Body, Times};
    use crate::codec::{Identity, envelope};
    use crate::{Key, KeyRing};

    #[test]
    fn a_store_value_opens_only_under_its_own_id_and_cookie_name() {
        let ring = KeyRing::new([Key::generate()]).unwrap();
        let codec = |name: &str| {
            Codec::builder(ring.clone())
                .cookie_name(name)
                .build()
                .unwrap()
        };
        let (sid, other) = (codec("sid"), codec("other"));
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let value = String::from("a cart");
        let env = envelope(
            Times::new(now),
            Identity::new_session(),
            Body::Inline(&value),
        );
        let schema = sid.schema_of::<String>();
        let id = [7u8; STORE_ID_BYTES];
        let sealed = sid.seal_store_value(schema, &id, &env).unwrap();

        let (opened, _) = sid
            .open_store_value::<String>(&id, sealed.clone(), now)
            .unwrap();
        assert!(matches!(opened.body, Body::Inline(ref v) if *v == value));
        let kind = |r: Result<_, Error>| r.err().map(|e| e.kind());
        // Under another entry's id, or another cookie name: not authentic.
        assert_eq!(
            kind(sid.open_store_value::<String>(&[8u8; STORE_ID_BYTES], sealed.clone(), now)),
            Some(ErrorKind::Rejected)
        );
        assert_eq!(
            kind(other.open_store_value::<String>(&id, sealed, now)),
            Some(ErrorKind::Rejected)
        );
    }
}
