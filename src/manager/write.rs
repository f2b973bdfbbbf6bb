//! Writing a session: sealed into the cookie when it fits, else into the
//! store behind a sealed pointer cookie; then the `Set-Cookie`.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Store;
use super::headers::{self, SetCookies};
use super::{Overflow, Saved, SessionManager};
use crate::codec::envelope::{Body, Envelope, Times, to_secs};
use crate::codec::schema::SchemaId;
use crate::codec::store_id::StoreId;
use crate::codec::{Expiry, Identity, SealedCookie, SessionId, envelope};
use crate::error::{Error, ErrorKind};
use crate::session::{Origin, Session};

/// What a write did: the result, where the session now is, its id, the
/// cookie's size, and the stored value to expect at the next
/// compare-and-save (kept only with optimistic concurrency on).
type Written = (Saved, Origin, SessionId, usize, Option<Vec<u8>>);

/// Fresh ids tried before a store's `create` is taken to be broken.
const CREATE_ATTEMPTS: usize = 4;

impl SessionManager {
    /// Writes the session: into the cookie when it fits, else into the store
    /// behind a pointer cookie. Every fallible step that could lose data
    /// comes first: the pointer is sealed before the store is written, and
    /// the store is written before the old entry is deleted and before the
    /// cookie is emitted.
    pub(super) async fn write<T>(
        &self,
        session: &Session<T>,
        headers: &mut impl SetCookies,
        times: Times,
        now: SystemTime,
    ) -> Result<Written, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let codec = &self.inner.codec;
        let old_id = session.store_id();
        let schema = codec.schema_of::<T>();
        if let Some(id) = old_id.filter(|_| session.renewal_only())
            && let Some(done) = self
                .touch_entry(session, headers, schema, id, times, now)
                .await?
        {
            return Ok(done);
        }
        let kept = session.kept_id();
        let identity = session.identity_for_write(kept.unwrap_or(SessionId::UNDRAWN));
        let inline = envelope(times, identity, Body::Inline(session.data()));
        let sealed = match kept {
            Some(id) => codec
                .seal_envelope(schema, &inline)
                .map(|cookie| (cookie, id)),
            // A new id is drawn with the nonce, under the seal's one
            // process check.
            None => codec.seal_fresh_envelope(schema, &inline),
        };
        match sealed {
            Ok((cookie, id)) => {
                if let Some(id) = old_id {
                    self.require_store()?.delete(&id).await?;
                }
                self.emit(headers, cookie.value(), times, identity.expiry, now)?;
                let size = cookie.size();
                Ok((Saved::Cookie { size }, Origin::Cookie, id, size, None))
            }
            Err(e)
                if matches!(e.kind(), ErrorKind::TooLarge { .. })
                    && self.inner.overflow == Overflow::Store =>
            {
                // The cookie did not take it, so drew no id: one is drawn
                // here for the store's copies.
                let identity = session.identity_for_write(kept.unwrap_or_else(SessionId::generate));
                let inline = envelope(times, identity, Body::Inline(session.data()));
                let store = self.require_store()?;
                let expires_at = codec.deadline(times, identity.expiry);
                let (id, pointer, value) = match session.reusable_store_id() {
                    Some(id) => {
                        let (pointer, value) = self.seal_spill(schema, id, times, &inline)?;
                        match session
                            .stored_value()
                            .filter(|_| self.inner.optimistic_concurrency)
                        {
                            // Only over the bytes this request loaded.
                            Some(expected) => {
                                if !store
                                    .compare_and_save(&id, expected, &value, expires_at)
                                    .await?
                                {
                                    return Err(Error::new(ErrorKind::Conflict));
                                }
                            }
                            None => store.save(&id, &value, expires_at).await?,
                        }
                        (id, pointer, value)
                    }
                    None => {
                        self.create_entry(store.as_ref(), schema, times, &inline, expires_at)
                            .await?
                    }
                };
                if let Some(old) = old_id.filter(|old| *old != id) {
                    store.delete(&old).await?;
                }
                self.emit(headers, pointer.value(), times, identity.expiry, now)?;
                let size = pointer.size();
                let saved = Saved::Store {
                    size,
                    stored_bytes: value.len(),
                };
                let kept = self.inner.optimistic_concurrency.then_some(value);
                Ok((saved, Origin::Store(id), identity.id, size, kept))
            }
            Err(e) => Err(e),
        }
    }

    /// Renews a stored session whose value did not change: a new pointer
    /// cookie, and the entry's deadline moved in place
    /// ([`Store::touch`]) rather than the value written again. `None` when
    /// the store did not extend the entry (absent, or no in-place
    /// extension): the caller writes the whole value.
    async fn touch_entry<T>(
        &self,
        session: &Session<T>,
        headers: &mut impl SetCookies,
        schema: SchemaId,
        id: StoreId,
        times: Times,
        now: SystemTime,
    ) -> Result<Option<Written>, Error> {
        let codec = &self.inner.codec;
        let identity =
            session.identity_for_write(session.kept_id().unwrap_or_else(SessionId::generate));
        // Sealed before the store is touched, like every write.
        let pointer = codec.seal_envelope(
            schema,
            &envelope::<()>(times, identity, Body::Stored(id.to_bytes())),
        )?;
        let expires_at = codec.deadline(times, identity.expiry);
        if !self.require_store()?.touch(&id, expires_at).await? {
            return Ok(None);
        }
        self.emit(headers, pointer.value(), times, identity.expiry, now)?;
        let size = pointer.size();
        // The value is unchanged: what a compare-and-save expects stays.
        let kept = session.stored_value().map(<[u8]>::to_vec);
        Ok(Some((
            Saved::Touched { size },
            Origin::Store(id),
            identity.id,
            size,
            kept,
        )))
    }

    /// Seals the pointer cookie and the store value for entry `id`: both
    /// before anything is written, so neither can fail after the store
    /// holds the entry.
    fn seal_spill<T: Serialize>(
        &self,
        schema: SchemaId,
        id: StoreId,
        times: Times,
        inline: &Envelope<&T, &str>,
    ) -> Result<(SealedCookie, Vec<u8>), Error> {
        let codec = &self.inner.codec;
        // The pointer carries the session id and the subject (both fixed
        // for the id's life), so a revoked session, or one whose subject
        // was signed out everywhere, is refused before any store read: stale
        // pointers cannot use up the request's store reads.
        let identity = Identity {
            id: SessionId::from_bytes(inline.session_id),
            subject: inline.subject,
            expiry: inline.expiry.map(Expiry::from_sealed),
        };
        let pointer = codec.seal_envelope(
            schema,
            &envelope::<()>(times, identity, Body::Stored(id.to_bytes())),
        )?;
        let value = codec.seal_store_value(schema, id.as_bytes(), inline)?;
        if value.len() > self.inner.max_stored_bytes {
            return Err(Error::new(ErrorKind::TooLarge {
                size: value.len(),
                limit: self.inner.max_stored_bytes,
            }));
        }
        Ok((pointer, value))
    }

    fn emit(
        &self,
        headers: &mut impl SetCookies,
        value: &str,
        times: Times,
        expiry: Option<Expiry>,
        now: SystemTime,
    ) -> Result<(), Error> {
        // The session's own expiry decides the cookie kind; else the
        // manager's setting.
        let persistent = expiry.map_or(self.inner.attributes.persistent, |e| e.is_persistent());
        let max_age = persistent.then(|| {
            (self.inner.codec)
                .deadline_secs(times, expiry)
                .saturating_sub(to_secs(now))
        });
        headers::append_set_cookie(
            headers,
            self.inner.codec.cookie_name(),
            value,
            &self.inner.attributes,
            max_age,
        )
    }

    /// Seals `inline` under a fresh random id and creates its entry,
    /// retrying on the (astronomically unlikely) collision.
    async fn create_entry<T: Serialize>(
        &self,
        store: &dyn Store,
        schema: SchemaId,
        times: Times,
        inline: &Envelope<&T, &str>,
        expires_at: SystemTime,
    ) -> Result<(StoreId, SealedCookie, Vec<u8>), Error> {
        for _ in 0..CREATE_ATTEMPTS {
            let id = StoreId::generate();
            let (pointer, value) = self.seal_spill(schema, id, times, inline)?;
            if store.create(&id, &value, expires_at).await? {
                return Ok((id, pointer, value));
            }
        }
        Err(Error::store(IdsExhausted))
    }

    pub(super) fn require_store(&self) -> Result<&Arc<dyn Store>, Error> {
        self.inner
            .store
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::OverflowNeedsStore))
    }
}

/// The store answered "taken" for every fresh random id.
#[derive(Debug)]
struct IdsExhausted;

impl fmt::Display for IdsExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "store reported {CREATE_ATTEMPTS} fresh random 128-bit ids as taken"
        )
    }
}

impl std::error::Error for IdsExhausted {}
