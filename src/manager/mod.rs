//! The session manager: load from request headers, save to response headers.
//!
//! `builder` validates a configuration into the manager's private state;
//! `headers` is the `http` glue (reading `Cookie`, writing `Set-Cookie`).

mod builder;
mod headers;

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::builder::{Overflow, SessionManagerBuilder};
use self::headers::Attributes;
pub use self::headers::SameSite;
use crate::codec::cookie;
use crate::codec::envelope::{Body, Envelope, Times, to_secs};
use crate::codec::schema::SchemaId;
use crate::codec::{Codec, Failure, SealedCookie, envelope};
use crate::error::{Error, ErrorKind};
use crate::limits::MAX_SESSION_CANDIDATES;
use crate::session::{FreshReason, Origin, Pending, Session};
use crate::store::{Store, StoreId};

/// Fresh ids tried before a store's `create` is taken to be broken.
const CREATE_ATTEMPTS: usize = 4;

/// Most store reads one request's cookies can cause: authentic pointer
/// cookies whose entries are gone each cost one.
const MAX_STORE_LOOKUPS: usize = 4;

/// What a save wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Saved {
    /// Nothing: the session did not change and needed no renewal or re-seal.
    Unchanged,
    /// A cookie holding the whole session, of this many bytes of
    /// `name=value`.
    Cookie {
        /// Bytes of `name=value`.
        size: usize,
    },
    /// A store entry and a cookie holding a sealed pointer to it.
    Store {
        /// Bytes of `name=value` of the pointer cookie.
        size: usize,
        /// Bytes of the sealed value written to the store.
        stored_bytes: usize,
    },
    /// A removal cookie (the session was destroyed).
    Removed,
    /// Nothing, although the session was due to be renewed, re-sealed under
    /// the primary key or a new schema: that write failed (the new value is
    /// too large for the cookie and there is no store, or the store failed)
    /// and nothing the handler did required it, so the client keeps its
    /// current cookie, which still opens. The next request tries again.
    Kept {
        /// Why the write failed ([`ErrorKind::TooLarge`] or
        /// [`ErrorKind::Store`]).
        cause: ErrorKind,
    },
    /// Nothing: the request's `Cookie` headers were over the cap
    /// ([`FreshReason::HeaderTooLarge`]), so the session the client holds
    /// could not be seen, and a fresh session is not written over it. Call
    /// [`Session::regenerate`] (as after a login) to write one anyway.
    NotOverwritten,
}

/// Loads sessions from request headers and saves them to response headers.
///
/// Built once by [`SessionManager::builder`], immutable, cheap to clone and
/// shared across threads.
///
/// # Examples
///
/// ```
/// use http::HeaderMap;
/// use sealed_session::{Codec, Key, KeyRing, SessionManager};
///
/// # fn main() -> Result<(), sealed_session::Error> {
/// let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
/// let manager = SessionManager::builder(codec).build()?;
///
/// // Request 1: no cookie; the handler counts a visit.
/// let mut session = manager.load_sync::<u32>(&HeaderMap::new())?;
/// *session += 1;
/// let mut response = HeaderMap::new();
/// manager.save_sync(&mut session, &mut response)?;
/// let set_cookie = response["set-cookie"].to_str().unwrap_or_default();
/// let pair = set_cookie.split(';').next().unwrap_or_default();
///
/// // Request 2: the browser sends the cookie back.
/// let mut request = HeaderMap::new();
/// request.insert("cookie", pair.parse().map_err(|_| sealed_session::ErrorKind::Rejected)?);
/// let session = manager.load_sync::<u32>(&request)?;
/// assert_eq!(*session, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

/// The validated configuration, built only by [`SessionManagerBuilder`].
struct Inner {
    codec: Codec,
    attributes: Attributes,
    renew_after: Duration,
    overflow: Overflow,
    store: Option<Arc<dyn Store>>,
    max_stored_bytes: usize,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("codec", &self.inner.codec)
            .field("attributes", &self.inner.attributes)
            .field("renew_after", &self.inner.renew_after)
            .field("overflow", &self.inner.overflow)
            .field("store", &self.inner.store)
            .finish()
    }
}

impl SessionManager {
    /// The codec.
    pub fn codec(&self) -> &Codec {
        &self.inner.codec
    }

    /// The store, if any.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.inner.store.as_ref()
    }

    /// Loads the session named by the request's cookies, at the current time.
    ///
    /// Every `Cookie` header and every pair with the session's name is tried
    /// in order (bounded: see [`MAX_COOKIE_HEADER_BYTES`](crate::limits::MAX_COOKIE_HEADER_BYTES));
    /// the first that opens wins. When none does, the session is fresh and
    /// [`Session::fresh_reason`] says why.
    ///
    /// # Errors
    ///
    /// Only infrastructure failures: [`ErrorKind::Store`] when the store
    /// cannot be read.
    pub async fn load<T>(&self, headers: &HeaderMap) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        self.load_at(headers, SystemTime::now()).await
    }

    /// As [`SessionManager::load`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::load`].
    pub async fn load_at<T>(
        &self,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        let codec = &self.inner.codec;
        let mut reason = FreshReason::NoCookie;
        let mut worse = |r: FreshReason| {
            if r.rank() > reason.rank() {
                reason = r;
            }
        };
        let mut candidates = headers::candidates(headers, codec.cookie_name());
        let mut aead_budget = MAX_SESSION_CANDIDATES;
        let mut store_budget = MAX_STORE_LOOKUPS;
        while aead_budget > 0 {
            let Some(value) = candidates.next() else {
                break;
            };
            let (env, with) = match codec.try_open_envelope::<T>(value, now) {
                Ok(opened) => opened,
                // Junk that fails the cheap checks costs no budget.
                Err(Failure::Malformed) => {
                    worse(FreshReason::Rejected);
                    continue;
                }
                Err(Failure::Error(e)) => {
                    aead_budget -= 1;
                    worse(reason_for(&e));
                    continue;
                }
            };
            aead_budget -= 1;
            let times = Times::from_secs(env.issued_at, env.renewed_at);
            let cookie_size = cookie::pair_size(codec.cookie_name(), value.len());
            let (data, origin, reseal) = match env.body {
                Body::Inline(data) => (data, Origin::Cookie, with.needs_reseal()),
                Body::Stored(id) => {
                    let id = StoreId::from_bytes(id);
                    let Some(store) = &self.inner.store else {
                        worse(FreshReason::MissingFromStore);
                        continue;
                    };
                    if store_budget == 0 {
                        worse(FreshReason::MissingFromStore);
                        continue;
                    }
                    store_budget -= 1;
                    let Some(bytes) = store.load(&id).await? else {
                        worse(FreshReason::MissingFromStore);
                        continue;
                    };
                    match codec.open_store_value::<T>(id.as_bytes(), bytes, now) {
                        Ok((stored, stored_with)) => match stored.body {
                            Body::Inline(data) => (
                                data,
                                Origin::Store(id),
                                with.needs_reseal() || stored_with.needs_reseal(),
                            ),
                            Body::Stored(_) => {
                                worse(FreshReason::Rejected);
                                continue;
                            }
                        },
                        Err(e) => {
                            worse(reason_for(&e));
                            continue;
                        }
                    }
                }
            };
            return Ok(Session::loaded(
                data,
                origin,
                times,
                with,
                cookie_size,
                reseal,
            ));
        }
        // The cookie the client meant may lie past a cap: say so, and keep
        // save from writing a fresh session over it.
        if candidates.truncated() || (aead_budget == 0 && candidates.next().is_some()) {
            reason = FreshReason::HeaderTooLarge;
        }
        Ok(Session::fresh(reason))
    }

    /// Loads a session from synchronous code, with no async runtime. For
    /// managers without a store (cookie-only sessions).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::StoreNeedsAsync`] when the manager has a store.
    pub fn load_sync<T>(&self, headers: &HeaderMap) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        self.load_sync_at(headers, SystemTime::now())
    }

    /// As [`SessionManager::load_sync`], with the clock injected.
    ///
    /// # Errors
    ///
    /// As [`SessionManager::load_sync`].
    pub fn load_sync_at<T>(&self, headers: &HeaderMap, now: SystemTime) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        self.without_store(self.load_at(headers, now))
    }

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
        let codec = &self.inner.codec;
        let required = match session.pending(self.inner.renew_after, now) {
            Pending::Nothing => return Ok(Saved::Unchanged),
            Pending::Hidden => return Ok(Saved::NotOverwritten),
            Pending::Remove => {
                if let Some(id) = session.store_id() {
                    self.require_store()?.delete(&id).await?;
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
        match self.write(session, headers, times, now).await {
            Ok((saved, origin, size)) => {
                session.mark_written(origin, times, size);
                Ok(saved)
            }
            // Nothing the handler did needs this write (a renewal, a re-seal
            // or a migration): the client's cookie still opens, keep it.
            Err(e)
                if !required
                    && matches!(e.kind(), ErrorKind::TooLarge { .. } | ErrorKind::Store) =>
            {
                Ok(Saved::Kept { cause: e.kind() })
            }
            Err(e) => Err(e),
        }
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
    ) -> Result<(Saved, Origin, usize), Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let codec = &self.inner.codec;
        let old_id = session.store_id();
        let schema = codec.schema_of::<T>();
        let inline = envelope(times, Body::Inline(session.data()));
        match codec.seal_envelope(schema, &inline) {
            Ok(cookie) => {
                if let Some(id) = old_id {
                    self.require_store()?.delete(&id).await?;
                }
                self.emit(headers, cookie.value(), times, now)?;
                let size = cookie.size();
                Ok((Saved::Cookie { size }, Origin::Cookie, size))
            }
            Err(e)
                if matches!(e.kind(), ErrorKind::TooLarge { .. })
                    && self.inner.overflow == Overflow::Store =>
            {
                let store = self.require_store()?;
                let expires_at = codec.deadline(times);
                let (id, pointer, stored_bytes) = match session.reusable_store_id() {
                    Some(id) => {
                        let (pointer, value) = self.seal_spill(schema, id, times, &inline)?;
                        store.save(&id, &value, expires_at).await?;
                        (id, pointer, value.len())
                    }
                    None => {
                        self.create_entry(store.as_ref(), schema, times, &inline, expires_at)
                            .await?
                    }
                };
                if let Some(old) = old_id.filter(|old| *old != id) {
                    store.delete(&old).await?;
                }
                self.emit(headers, pointer.value(), times, now)?;
                let size = pointer.size();
                Ok((Saved::Store { size, stored_bytes }, Origin::Store(id), size))
            }
            Err(e) => Err(e),
        }
    }

    /// Seals the pointer cookie and the store value for entry `id`: both
    /// before anything is written, so neither can fail after the store
    /// holds the entry.
    fn seal_spill<T: Serialize>(
        &self,
        schema: SchemaId,
        id: StoreId,
        times: Times,
        inline: &Envelope<&T>,
    ) -> Result<(SealedCookie, Vec<u8>), Error> {
        let codec = &self.inner.codec;
        let pointer =
            codec.seal_envelope(schema, &envelope::<()>(times, Body::Stored(id.to_bytes())))?;
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
        now: SystemTime,
    ) -> Result<(), Error> {
        let max_age = self
            .inner
            .attributes
            .persistent
            .then(|| to_secs(self.inner.codec.deadline(times)).saturating_sub(to_secs(now)));
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
        inline: &Envelope<&T>,
        expires_at: SystemTime,
    ) -> Result<(StoreId, SealedCookie, usize), Error> {
        for _ in 0..CREATE_ATTEMPTS {
            let id = StoreId::generate();
            let (pointer, value) = self.seal_spill(schema, id, times, inline)?;
            if store.create(&id, &value, expires_at).await? {
                return Ok((id, pointer, value.len()));
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

    /// Runs a load or save future to completion without a runtime. Without
    /// a store it never waits on anything, so one poll finishes it.
    fn without_store<F: Future<Output = Result<R, Error>>, R>(
        &self,
        future: F,
    ) -> Result<R, Error> {
        if self.inner.store.is_some() {
            return Err(Error::new(ErrorKind::StoreNeedsAsync));
        }
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(Error::new(ErrorKind::StoreNeedsAsync)),
        }
    }
}

fn reason_for(error: &Error) -> FreshReason {
    match error.kind() {
        ErrorKind::Expired => FreshReason::Expired,
        ErrorKind::Undecodable => FreshReason::Undecodable,
        _ => FreshReason::Rejected,
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
