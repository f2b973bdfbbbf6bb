//! The session's state machine, as the manager drives it: how a session
//! is made (fresh or loaded), what a save has to do, and what a write
//! leaves behind.

use std::time::{Duration, SystemTime};

use super::{FreshReason, Origin, Session};
use crate::codec::envelope::Times;
use crate::codec::store_id::StoreId;
use crate::codec::{Codec, Expiry, Identity, SessionId};
use crate::crypto::seal::OpenedWith;
use crate::revocation::Reach;

/// What a save has to do for a session: the session's own state machine
/// decides, the manager carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    /// Nothing to write.
    Nothing,
    /// Destroyed: emit a removal cookie (and delete the store entry).
    Remove,
    /// A fresh session stands in for one the request's caps hid: do not
    /// write it over the client's cookie.
    Hidden,
    /// Write it. `required` when the handler asked for the write (a change,
    /// a regeneration, a new session); otherwise it is a renewal or re-seal
    /// that may be skipped if it fails.
    Write {
        /// Whether the handler asked for it.
        required: bool,
    },
}

impl<T: Default> Session<T> {
    /// A fresh, empty session and why it is fresh.
    pub(crate) fn fresh(reason: FreshReason, codec: Codec) -> Self {
        Self::new(T::default(), Origin::New, None, None, Some(reason), codec)
    }
}

impl<T> Session<T> {
    fn new(
        data: T,
        origin: Origin,
        times: Option<Times>,
        opened_with: Option<OpenedWith>,
        fresh_reason: Option<FreshReason>,
        codec: Codec,
    ) -> Self {
        Self {
            data,
            id: None,
            subject: None,
            previous_subject: None,
            sealed_reach: None,
            expiry: None,
            label: None,
            changed: false,
            origin,
            times,
            opened_with,
            fresh_reason,
            regenerate: false,
            destroyed: false,
            invalid_cleared: false,
            codec,
            cookie_size: None,
            reseal: opened_with.is_some_and(|w| w.needs_reseal()),
            stored_value: None,
        }
    }

    /// A session opened from a cookie of `cookie_size` bytes of
    /// `name=value`. `reseal` when it must be sealed again even unchanged
    /// (the cookie's or the stored value's key, schema or format is not the
    /// current one).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn loaded(
        data: T,
        origin: Origin,
        times: Times,
        id: SessionId,
        subject: Option<String>,
        expiry: Option<Expiry>,
        with: OpenedWith,
        cookie_size: usize,
        reseal: bool,
        codec: Codec,
    ) -> Self {
        let mut session = Self::new(data, origin, Some(times), Some(with), None, codec);
        session.id = Some(id);
        session.subject = subject;
        session.expiry = expiry.map(|e| session.codec.cap(e));
        session.sealed_reach = Some(session.codec.reach(times, session.expiry));
        session.cookie_size = Some(cookie_size);
        session.reseal = reseal;
        session
    }

    /// What a save at `now` has to do, renewing once `renew_after` has
    /// passed since the last renewal.
    pub(crate) fn pending(&self, renew_after: Duration, now: SystemTime) -> Pending {
        if self.destroyed {
            return Pending::Remove;
        }
        let renew = self.times.is_some_and(|t| {
            now.duration_since(t.renewed_at())
                .is_ok_and(|elapsed| elapsed >= renew_after)
        });
        let write = if self.is_new() {
            self.changed
        } else {
            self.changed || self.regenerate || self.reseal || renew
        };
        if !write {
            Pending::Nothing
        } else if self.fresh_reason == Some(FreshReason::HeaderTooLarge) && !self.regenerate {
            Pending::Hidden
        } else {
            Pending::Write {
                required: self.changed || self.regenerate || self.is_new(),
            }
        }
    }

    /// The times a write at `now` seals: issued-at kept (unless
    /// regenerating), renewed now (issued-at to the millisecond, renewed-at
    /// to the whole second).
    pub(crate) fn times_for_write(&self, now: SystemTime) -> Times {
        let now = Times::new(now);
        match self.times {
            Some(t) if !self.regenerate => t.renewed_secs(now.renewed_at_secs()),
            _ => now,
        }
    }

    /// The id a write keeps: the session's own, unless it is new or being
    /// regenerated (then the write draws one).
    pub(crate) fn kept_id(&self) -> Option<SessionId> {
        self.id.filter(|_| !self.regenerate)
    }

    /// The identity a write seals: `id` (the [`kept_id`](Self::kept_id),
    /// or a new one) and the session's subject and expiry.
    pub(crate) fn identity_for_write(&self, id: SessionId) -> Identity<'_> {
        Identity {
            id,
            subject: self.subject.as_deref(),
            expiry: self.expiry,
        }
    }

    /// The id a write replaces: the current one when regenerating (it is
    /// revoked once the new one is written), with the last instant a cookie
    /// of it can open.
    pub(crate) fn replaced_id(&self) -> Option<(SessionId, Reach)> {
        self.issued_id().filter(|_| self.regenerate)
    }

    /// The current id, when a cookie of it was issued (loaded, or written
    /// since), with the last instant any such cookie can open: the latest
    /// of their sealed absolute deadlines, whatever the session's expiry is
    /// now.
    pub(crate) fn issued_id(&self) -> Option<(SessionId, Reach)> {
        self.id.zip(self.sealed_reach)
    }

    /// The subjects whose lists in the registry may hold this session: the
    /// one the last cookie sealed (if the subject changed since) and the
    /// current one.
    pub(crate) fn listed_subjects(&self) -> (Option<&str>, Option<&str>) {
        let previous = self
            .previous_subject
            .as_ref()
            .and_then(|s| s.as_deref())
            .filter(|old| Some(*old) != self.subject.as_deref());
        (previous, self.subject.as_deref())
    }

    /// The store entry a write may update in place: the current one, unless
    /// regenerating (which needs a new id).
    pub(crate) fn reusable_store_id(&self) -> Option<StoreId> {
        self.store_id().filter(|_| !self.regenerate)
    }

    /// After a removal cookie was emitted: nowhere, nothing pending.
    pub(crate) fn mark_removed(&mut self) {
        self.stored_value = None;
        self.sealed_reach = None;
        self.previous_subject = None;
        self.origin = Origin::New;
        self.id = None;
        self.times = None;
        self.changed = false;
        self.regenerate = false;
        self.reseal = false;
        self.cookie_size = None;
    }

    /// After a write put the session at `origin` with `times`, in a cookie
    /// of `cookie_size` bytes of `name=value`.
    pub(crate) fn mark_written(
        &mut self,
        origin: Origin,
        times: Times,
        id: SessionId,
        cookie_size: usize,
    ) {
        let reach = self.codec.reach(times, self.expiry);
        self.sealed_reach = match self.sealed_reach {
            Some(earlier) if self.id == Some(id) => Some(Reach {
                idle: earlier.idle.max(reach.idle),
                absolute: earlier.absolute.max(reach.absolute),
            }),
            _ => Some(reach),
        };
        self.origin = origin;
        self.id = Some(id);
        self.times = Some(times);
        self.changed = false;
        self.regenerate = false;
        self.reseal = false;
        self.fresh_reason = None;
        self.cookie_size = Some(cookie_size);
        self.previous_subject = None;
        self.label = None;
    }

    /// The codec of the manager that loaded the session.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn codec(&self) -> &Codec {
        &self.codec
    }

    /// The sealed bytes of the store entry this session was loaded from or
    /// last wrote (kept only when the manager checks concurrent writes).
    pub(crate) fn stored_value(&self) -> Option<&[u8]> {
        self.stored_value.as_deref()
    }

    pub(crate) fn set_stored_value(&mut self, value: Option<Vec<u8>>) {
        self.stored_value = value;
    }

    /// Whether a write now would only renew the session: loaded, unchanged,
    /// not regenerating, and sealed with the primary key for the current
    /// schema and format (so a stored value may keep its bytes and only
    /// its deadline move).
    pub(crate) fn renewal_only(&self) -> bool {
        !self.is_new() && !self.changed && !self.regenerate && !self.reseal
    }

    /// Whether the request carried a session cookie that is unusable for
    /// good (so a removal cookie should answer it), the first time it is
    /// asked; `false` afterwards.
    pub(crate) fn take_invalid_cookie(&mut self) -> bool {
        let invalid = matches!(
            self.fresh_reason,
            Some(
                FreshReason::Rejected
                    | FreshReason::Expired
                    | FreshReason::Undecodable
                    | FreshReason::MissingFromStore
                    | FreshReason::Revoked
            )
        );
        let first = invalid && !self.invalid_cleared;
        self.invalid_cleared |= invalid;
        first
    }

    /// Whether the subject changed or a label was given since the last
    /// write: the registry's record needs writing.
    pub(crate) fn record_due(&self) -> bool {
        self.previous_subject.is_some() || self.label.is_some()
    }

    /// The label given since the last write, if any.
    pub(crate) fn pending_label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}
