//! Saving: what the session's state machine asks for, written to the
//! response (and the store) in an order that never loses data.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Store;
use super::{Overflow, Saved, SessionManager, headers};
use crate::codec::envelope::{Body, Envelope, Times, to_secs};
use crate::codec::schema::SchemaId;
use crate::codec::store_id::StoreId;
use crate::codec::{Expiry, Identity, SealedCookie, SessionId, envelope};
use crate::error::{Error, ErrorKind};
use crate::observe;
use crate::revocation::SessionRecord;
use crate::session::{Origin, Pending, Session};

/// What a write did: the result, where the session now is, its id, the
/// cookie's size, and the stored value to expect at the next
/// compare-and-save (kept only with optimistic concurrency on).
type Written = (Saved, Origin, SessionId, usize, Option<Vec<u8>>);

/// Fresh ids tried before a store's `create` is taken to be broken.
const CREATE_ATTEMPTS: usize = 4;

impl SessionManager {
    /// Writes the session to the response headers at the current time, if
    /// anything needs writing.
    ///
    /// A `Set-Cookie` (marked sensitive) is appended only when the session
    /// changed, was regenerated or destroyed, passed the renewal threshold,
    /// was opened with a non-primary key, or moved between cookie and store.
    /// A session too large for the cookie goes to the store (the store write
    /// completes before the pointer cookie is emitted) or, without one, fails
    /// with [`ErrorKind::TooLarge`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TooLarge`] (no store), [`ErrorKind::Serialize`],
    /// [`ErrorKind::Store`]. On error no cookie is appended.
    pub async fn save<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut HeaderMap,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        self.save_at(session, headers, SystemTime::now()).await
    }

    /// As [`SessionManager::save`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::save`].
    pub async fn save_at<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut HeaderMap,
        now: SystemTime,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let from = session.location();
        let result = self.save_pending(session, headers, now).await;
        observe::saved(from, &result);
        result
    }

    /// What [`SessionManager::save_at`] does, before it is observed.
    async fn save_pending<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut HeaderMap,
        now: SystemTime,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let codec = &self.inner.codec;
        let required = match session.pending(self.inner.renew_after, now) {
            Pending::Nothing => {
                if self.inner.clear_invalid_cookies && session.take_invalid_cookie() {
                    headers::append_set_cookie(
                        headers,
                        codec.cookie_name(),
                        "",
                        &self.inner.attributes,
                        Some(0),
                    )?;
                    return Ok(Saved::Cleared);
                }
                return Ok(Saved::Unchanged);
            }
            Pending::Hidden => return Ok(Saved::NotOverwritten),
            Pending::Remove => {
                if let Some(id) = session.store_id() {
                    self.require_store()?.delete(&id).await?;
                }
                // A copy of the cookie taken before the logout dies too.
                if let (Some(id), Some(times)) = (session.id(), session.times()) {
                    self.revoke(id, times, session.expiry());
                    self.forget(session.subject(), id);
                }
                headers::append_set_cookie(
                    headers,
                    codec.cookie_name(),
                    "",
                    &self.inner.attributes,
                    Some(0),
                )?;
                session.mark_removed();
                return Ok(Saved::Removed);
            }
            Pending::Write { required } => required,
        };
        let times = session.times_for_write(now);
        let replaced = session.replaced_id();
        let before = session.id().zip(session.times());
        match self.write(session, headers, times, now).await {
            Ok((saved, origin, id, size, stored)) => {
                session.set_stored_value(stored);
                // The cookie from before a regeneration stops opening.
                if let Some((old, old_times)) = replaced {
                    self.revoke(old, old_times, session.expiry());
                    self.forget(session.subject(), old);
                }
                self.record(session, before, id, times);
                session.mark_written(origin, times, id, size);
                Ok(saved)
            }
            // Nothing the handler did needs this write (a renewal, a re-seal
            // or a migration): the client's cookie still opens, keep it.
            Err(e)
                if !required
                    && matches!(
                        e.kind(),
                        ErrorKind::TooLarge { .. } | ErrorKind::Store | ErrorKind::Conflict
                    ) =>
            {
                Ok(Saved::Kept { cause: e.kind() })
            }
            Err(e) => Err(e),
        }
    }

    /// Revokes session `id`, issued with `times` and `expiry`, in the
    /// registry (if any) until the last instant a cookie of it could open.
    fn revoke(&self, id: SessionId, times: Times, expiry: Option<Expiry>) {
        if let Some(registry) = &self.inner.registry {
            registry.revoke(id, self.inner.codec.absolute_deadline(times, expiry));
        }
    }

    /// Removes session `id` from `subject`'s list in the registry (if any).
    fn forget(&self, subject: Option<&str>, id: SessionId) {
        if let (Some(registry), Some(subject)) = (&self.inner.registry, subject) {
            registry.forget_session(subject, id);
        }
    }

    /// Records a session of a subject in the registry (if any) at login,
    /// regeneration, a change of subject or label, and renewal: at most once
    /// per renewal interval however often the session is written, never on
    /// every request. `before` is the id and times the session had.
    fn record<T>(
        &self,
        session: &Session<T>,
        before: Option<(SessionId, Times)>,
        id: SessionId,
        times: Times,
    ) {
        let (Some(registry), Some(subject)) = (&self.inner.registry, session.subject()) else {
            return;
        };
        let renew_after = self.inner.renew_after.as_secs().max(1);
        let interval = |t: Times| {
            t.renewed_at
                .duration_since(t.issued_at)
                .map_or(0, |d| d.as_secs() / renew_after)
        };
        let due = session.record_due()
            || before.is_none_or(|(old_id, old_times)| {
                old_id != id || interval(old_times) != interval(times)
            });
        if !due {
            return;
        }
        // Past its idle deadline (give or take the interval the record may
        // lag) or its absolute deadline, the session is gone.
        let codec = &self.inner.codec;
        let expiry = session.expiry();
        let until = codec
            .deadline(times, expiry)
            .checked_add(self.inner.renew_after)
            .unwrap_or_else(|| codec.absolute_deadline(times, expiry))
            .min(codec.absolute_deadline(times, expiry));
        registry.record_session(
            subject,
            SessionRecord::new(
                id,
                times.issued_at,
                times.renewed_at,
                until,
                session.pending_label().map(str::to_owned),
            ),
        );
    }

    /// Writes the session: into the cookie when it fits, else into the store
    /// behind a pointer cookie. Every fallible step that could lose data
    /// comes first: the pointer is sealed before the store is written, and
    /// the store is written before the old entry is deleted and before the
    /// cookie is emitted.
    async fn write<T>(
        &self,
        session: &Session<T>,
        headers: &mut HeaderMap,
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
        let identity = session.identity_for_write();
        let inline = envelope(times, identity, Body::Inline(session.data()));
        match codec.seal_envelope(schema, &inline) {
            Ok(cookie) => {
                if let Some(id) = old_id {
                    self.require_store()?.delete(&id).await?;
                }
                self.emit(headers, cookie.value(), times, identity.expiry, now)?;
                let size = cookie.size();
                Ok((
                    Saved::Cookie { size },
                    Origin::Cookie,
                    identity.id,
                    size,
                    None,
                ))
            }
            Err(e)
                if matches!(e.kind(), ErrorKind::TooLarge { .. })
                    && self.inner.overflow == Overflow::Store =>
            {
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
        headers: &mut HeaderMap,
        schema: SchemaId,
        id: StoreId,
        times: Times,
        now: SystemTime,
    ) -> Result<Option<Written>, Error> {
        let codec = &self.inner.codec;
        let identity = Identity {
            subject: None,
            ..session.identity_for_write()
        };
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
        // The pointer carries the session id (so a revoked session is
        // refused before any store read) but not the subject: the stored
        // value does.
        let identity = Identity {
            id: SessionId::from_bytes(inline.session_id),
            subject: None,
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

    /// Saves from synchronous code, with no async runtime. For managers
    /// without a store (cookie-only sessions).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::StoreNeedsAsync`] when the manager has a store; otherwise
    /// as [`SessionManager::save`].
    pub fn save_sync<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut HeaderMap,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        self.save_sync_at(session, headers, SystemTime::now())
    }

    /// As [`SessionManager::save_sync`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::save_sync`].
    pub fn save_sync_at<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut HeaderMap,
        now: SystemTime,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        self.without_store(self.save_at(session, headers, now))
    }

    fn emit(
        &self,
        headers: &mut HeaderMap,
        value: &str,
        times: Times,
        expiry: Option<Expiry>,
        now: SystemTime,
    ) -> Result<(), Error> {
        // The session's own expiry decides the cookie kind; else the
        // manager's setting.
        let persistent = expiry.map_or(self.inner.attributes.persistent, |e| e.is_persistent());
        let max_age = persistent.then(|| {
            to_secs(self.inner.codec.deadline(times, expiry)).saturating_sub(to_secs(now))
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

    fn require_store(&self) -> Result<&Arc<dyn Store>, Error> {
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
