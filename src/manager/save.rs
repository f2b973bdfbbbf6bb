//! Saving: what the session's state machine asks for, written to the
//! response (and the store) in an order that never loses data.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::headers::{self, SetCookies};
use super::{Saved, SessionManager};
use crate::codec::envelope::{Times, to_secs};
use crate::codec::{Expiry, SessionId};
use crate::error::{Error, ErrorKind};
use crate::observe;
use crate::revocation::{Reach, SessionRecord};
use crate::session::{Pending, Session};

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
        self.save_to(session, headers, now).await
    }

    /// [`SessionManager::save_at`] into any map of `Set-Cookie` lines (the
    /// actix-web middleware writes into its response's own).
    pub(crate) async fn save_to<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut impl SetCookies,
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
        headers: &mut impl SetCookies,
        now: SystemTime,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        let codec = &self.inner.codec;
        let renew_after = self.renew_after(session.expiry());
        let required = match session.pending(renew_after, now) {
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
                // A copy of the cookie taken before the logout dies too, for
                // as long as any copy could open.
                if let Some((id, reach)) = session.issued_id() {
                    self.revoke(id, reach, now);
                }
                if let Some(id) = session.id() {
                    self.forget_listed(session, id);
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
        let times = self.renewal_capped(session.times_for_write(now), now);
        let replaced = session.replaced_id();
        let before = session.id().zip(session.times());
        match self.write(session, headers, times, now).await {
            Ok((saved, origin, id, size, stored)) => {
                session.set_stored_value(stored);
                // The cookie from before a regeneration (a sign-in, a change
                // of subject or expiry) stops opening, and leaves the list it
                // was on.
                if let Some((old, reach)) = replaced {
                    self.revoke(old, reach, now);
                    self.forget_listed(session, old);
                }
                self.record(session, before, id, times, renew_after, now);
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

    /// Revokes session `id` in the registry (if any) at `now`, for as long
    /// as a copy of it can open.
    fn revoke(&self, id: SessionId, reach: Reach, now: SystemTime) {
        if let Some(registry) = &self.inner.registry {
            registry.revoke_copies(id, reach, now);
        }
    }

    /// `times` with the renewal no later than the registry (if any) was
    /// known to be current: a shared registry past its staleness bound may
    /// not know a revocation of this session, and a renewal sealed now
    /// would outlive the revocation's entry. A new session's times are
    /// never moved (its id cannot have been revoked).
    fn renewal_capped(&self, times: Times, now: SystemTime) -> Times {
        let Some(registry) = &self.inner.registry else {
            return times;
        };
        // Whole seconds, as sealed: a renewal at or before the ceiling's
        // second is one at or before the ceiling.
        let ceiling = to_secs(registry.renewal_ceiling(now));
        let (issued, renewed) = times.to_secs();
        if renewed <= ceiling {
            return times;
        }
        times.renewed_secs(ceiling.max(issued))
    }

    /// Removes session `id` from every list it may be on: the subject the
    /// last cookie sealed and the current one.
    fn forget_listed<T>(&self, session: &Session<T>, id: SessionId) {
        let (previous, current) = session.listed_subjects();
        self.forget(previous, id);
        self.forget(current, id);
    }

    /// How long after its last renewal a session with this expiry is
    /// renewed: the renewal threshold of its own idle timeout, or of the
    /// codec's.
    pub(super) fn renew_after(&self, expiry: Option<Expiry>) -> Duration {
        match expiry {
            Some(expiry) => Duration::try_from_secs_f64(
                expiry.idle_timeout().as_secs_f64() * self.inner.renewal_threshold,
            )
            .unwrap_or(self.inner.renew_after),
            None => self.inner.renew_after,
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
        renew_after: Duration,
        now: SystemTime,
    ) {
        let (Some(registry), Some(subject)) = (&self.inner.registry, session.subject()) else {
            return;
        };
        let renew_secs = renew_after.as_secs().max(1);
        let interval = |t: Times| t.renewed_after_issue() / renew_secs;
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
            .checked_add(renew_after)
            .unwrap_or_else(|| codec.absolute_deadline(times, expiry))
            .min(codec.absolute_deadline(times, expiry));
        registry.record_session(
            subject,
            SessionRecord::new(
                id,
                times.issued_at(),
                times.renewed_at(),
                until,
                session.pending_label().map(str::to_owned),
            ),
            now,
        );
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
        self.save_sync_to(session, headers, now)
    }

    /// [`SessionManager::save_sync_at`] into any map of `Set-Cookie` lines.
    pub(crate) fn save_sync_to<T>(
        &self,
        session: &mut Session<T>,
        headers: &mut impl SetCookies,
        now: SystemTime,
    ) -> Result<Saved, Error>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        self.without_store(|| self.save_to(session, headers, now))
    }
}
