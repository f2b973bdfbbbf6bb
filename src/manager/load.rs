//! Loading: the request's session cookies, tried in order under bounded
//! work, opened (from the store when they point there) into a [`Session`].

use std::time::SystemTime;

use http::HeaderMap;
use serde::de::DeserializeOwned;

use super::{SessionManager, headers};
use crate::codec::cookie;
use crate::codec::envelope::{Body, Times, to_secs};
use crate::codec::store_id::StoreId;
use crate::codec::{Expiry, Failure, SessionId};
use crate::error::{Error, ErrorKind};
use crate::limits::{MAX_SESSION_CANDIDATES, MAX_STORE_LOOKUPS};
use crate::observe;
use crate::revocation::Status;
use crate::session::{FreshReason, Location, Origin, Session};

impl SessionManager {
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
        let candidates = headers::candidates(headers, self.inner.codec.cookie_name());
        let result = self.load_cookies(candidates, now).await;
        if let Err(e) = &result {
            observe::load_failed(e);
        }
        result
    }

    /// As [`SessionManager::load`], from the `Cookie` header values as
    /// bytes, in header order: for the adapters, which keep the values
    /// outside a `HeaderMap` (actix-web's are `http` 0.2 values).
    #[cfg(any(feature = "tower", feature = "actix-web"))]
    pub(crate) async fn load_cookie_values<'h, T>(
        &self,
        values: impl Iterator<Item = &'h [u8]>,
    ) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        // Each value reborrowed for as long as the cookie name is.
        let values = values.map(|value| -> &[u8] { value });
        let candidates = headers::candidates_in(values, self.inner.codec.cookie_name());
        let result = self.load_cookies(candidates, SystemTime::now()).await;
        if let Err(e) = &result {
            observe::load_failed(e);
        }
        result
    }

    /// [`SessionManager::load_cookie_values`] from synchronous code, for
    /// a manager without a store (`ErrorKind::StoreNeedsAsync` otherwise):
    /// what the adapters run in place of the future when nothing can wait.
    #[cfg(any(feature = "tower", feature = "actix-web"))]
    pub(crate) fn load_cookie_values_sync<'h, T>(
        &self,
        values: impl Iterator<Item = &'h [u8]>,
    ) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        self.without_store(|| self.load_cookie_values(values))
    }

    /// What [`SessionManager::load_at`] does, before a failure is observed.
    async fn load_cookies<'h, T>(
        &self,
        mut candidates: headers::Candidates<'h, impl Iterator<Item = &'h [u8]>>,
        now: SystemTime,
    ) -> Result<Session<T>, Error>
    where
        T: DeserializeOwned + Default + 'static,
    {
        let codec = &self.inner.codec;
        let mut reason = FreshReason::NoCookie;
        let mut worse = |r: FreshReason| {
            observe::candidate_refused(r);
            if r.rank() > reason.rank() {
                reason = r;
            }
        };
        let now_secs = to_secs(now);
        let mut aead_budget = MAX_SESSION_CANDIDATES;
        let mut store_budget = MAX_STORE_LOOKUPS;
        // A candidate that passed the cheap checks was left unread by a cap.
        let mut hidden = false;
        while aead_budget > 0 {
            let Some(value) = candidates.next() else {
                break;
            };
            let (env, with) = match codec.try_open_envelope::<T>(value, now_secs) {
                Ok(opened) => opened,
                // Junk that fails the cheap checks costs no budget.
                Err(Failure::Malformed) => {
                    worse(FreshReason::Rejected);
                    continue;
                }
                Err(Failure::Error(e)) => {
                    aead_budget -= 1;
                    worse(reason_for(&e, Location::Cookie));
                    continue;
                }
            };
            aead_budget -= 1;
            let mut stored_with = None;
            let mut stored_value = None;
            let times = Times::from_sealed(env.issued_at, env.renewed_at);
            let cookie_size = cookie::pair_size(codec.cookie_name(), value.len());
            let session_id = SessionId::from_bytes(env.session_id);
            let issued_at = env.issued_at;
            let revoked = |subject: Option<&str>| {
                let registry = self.inner.registry.as_ref()?;
                match registry.check_sealed(session_id, subject, issued_at, now_secs) {
                    Status::Live => None,
                    Status::Revoked => Some(FreshReason::Revoked),
                    Status::Unverified => Some(FreshReason::RevocationUnverified),
                }
            };
            // A revoked id is refused before any store read (a pointer
            // carries the id; the subject comes with the stored value).
            if let Some(reason) = revoked(env.subject.as_deref()) {
                worse(reason);
                continue;
            }
            let (data, origin, reseal, subject, expiry) = match env.body {
                Body::Inline(data) => (
                    data,
                    Origin::Cookie,
                    with.needs_reseal(),
                    env.subject,
                    env.expiry,
                ),
                Body::Stored(id) => {
                    let id = StoreId::from_bytes(id);
                    let Some(store) = &self.inner.store else {
                        worse(FreshReason::MissingFromStore);
                        continue;
                    };
                    if store_budget == 0 {
                        // Not looked at: the session it points to may be
                        // the live one.
                        hidden = true;
                        continue;
                    }
                    store_budget -= 1;
                    let Some(bytes) = store.load(&id).await? else {
                        worse(FreshReason::MissingFromStore);
                        continue;
                    };
                    // What a compare-and-save will expect (opening
                    // decrypts the bytes in place).
                    if self.inner.optimistic_concurrency {
                        stored_value = Some(bytes.clone());
                    }
                    match codec.open_store_value::<T>(id.as_bytes(), bytes, now) {
                        // The pointer and the value it points to are
                        // written together for one session.
                        Ok((stored, _)) if stored.session_id != env.session_id => {
                            worse(FreshReason::Rejected);
                            continue;
                        }
                        Ok((stored, value_with)) => match stored.body {
                            Body::Inline(data) => {
                                stored_with = Some(value_with);
                                (
                                    data,
                                    Origin::Store(id),
                                    with.needs_reseal() || value_with.needs_reseal(),
                                    stored.subject,
                                    stored.expiry,
                                )
                            }
                            Body::Stored(_) => {
                                worse(FreshReason::Rejected);
                                continue;
                            }
                        },
                        Err(e) => {
                            worse(reason_for(&e, Location::Store));
                            continue;
                        }
                    }
                }
            };
            // A stored value's subject, checked once it is read (a cookie's
            // was checked above).
            if let Origin::Store(_) = origin
                && let Some(reason) = revoked(subject.as_deref())
            {
                worse(reason);
                continue;
            }
            observe::opened(with, stored_with);
            let mut session = Session::loaded(
                data,
                origin,
                times,
                session_id,
                subject,
                expiry.map(Expiry::from_sealed),
                with,
                cookie_size,
                reseal,
                codec.clone(),
            );
            session.set_stored_value(stored_value);
            return Ok(session);
        }
        // The cookie the client meant may lie past a cap: say so, and keep
        // save from writing a fresh session over it.
        if hidden || candidates.truncated() || (aead_budget == 0 && candidates.next().is_some()) {
            reason = FreshReason::HeaderTooLarge;
        }
        observe::fresh(reason);
        Ok(Session::fresh(reason, codec.clone()))
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
        self.without_store(|| self.load_at(headers, now))
    }
}

/// Why a value that did not open gives a fresh session; an unknown schema
/// is also reported (`location`: where the value was).
fn reason_for(error: &Error, location: Location) -> FreshReason {
    match error.kind() {
        ErrorKind::Expired => FreshReason::Expired,
        ErrorKind::Undecodable => FreshReason::Undecodable,
        ErrorKind::UnknownSchema { schema } => {
            observe::unknown_schema(schema, location);
            FreshReason::UnknownSchema
        }
        _ => FreshReason::Rejected,
    }
}
