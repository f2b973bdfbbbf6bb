//! The session a handler reads and changes. Its state machine (how the
//! manager makes, saves and marks it) is in `state`.

pub(crate) mod flash;
pub(crate) mod map;
mod reason;
mod state;

pub use reason::{FreshReason, Location};
pub(crate) use state::Pending;

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::codec::envelope::Times;
use crate::codec::store_id::StoreId;
use crate::codec::{Codec, Expiry, SessionId};
use crate::crypto::seal::OpenedWith;
use crate::error::{Error, ErrorKind};
use crate::limits::{MAX_LABEL_BYTES, MAX_SUBJECT_BYTES};
use crate::revocation::Reach;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    New,
    Cookie,
    Store(StoreId),
}

/// A session over a value of type `T`.
///
/// Reading (through `Deref`, [`Session::data`]) never marks the session
/// changed; mutable access (through `DerefMut`, [`Session::data_mut`],
/// [`Session::set`]) does, and a changed session is written on save. A new
/// session that is never changed sets no cookie.
///
/// Obtained from [`SessionManager::load`](crate::SessionManager::load) and
/// its variants.
///
/// # Security
///
/// `Debug` shows only metadata (location, why it is fresh, the opening key,
/// times, cookie size and the pending-write flags), never the session value,
/// so a session can be logged without leaking what it holds. It does not
/// need `T: Debug`.
#[derive(Clone)]
pub struct Session<T> {
    data: T,
    /// `None` until the first save of a new session.
    id: Option<SessionId>,
    subject: Option<String>,
    /// `Some(the subject the last cookie sealed)` once the subject changed
    /// since the last load or write: the registry's record of this session
    /// is under that one, and moves to the new one at the next write.
    previous_subject: Option<Option<String>>,
    /// The latest absolute deadline of any cookie issued for the current id
    /// (the one loaded, and those written since): a revocation of the id
    /// lives until then. With the longest idle timeout they were sealed
    /// with: how long a copy opens after its last renewal.
    sealed_reach: Option<Reach>,
    /// The session's own timeouts (capped at the codec's limits); `None`
    /// for the codec's.
    expiry: Option<Expiry>,
    /// Given by the handler for the registry's record; not sealed.
    label: Option<String>,
    changed: bool,
    origin: Origin,
    times: Option<Times>,
    opened_with: Option<OpenedWith>,
    fresh_reason: Option<FreshReason>,
    regenerate: bool,
    destroyed: bool,
    /// A removal cookie for the request's unusable cookie was emitted.
    invalid_cleared: bool,
    /// The codec of the manager that loaded the session: its key ring and
    /// cookie name make the CSRF token.
    codec: Codec,
    cookie_size: Option<usize>,
    /// Opened with a non-primary key, for an old schema or in an old format,
    /// and not yet sealed again.
    reseal: bool,
    /// The sealed bytes of the store entry as loaded or last written, kept
    /// for a compare-and-save when the manager checks concurrent writes.
    stored_value: Option<Vec<u8>>,
}

impl<T> Session<T> {
    /// The session value.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The session value, mutable, without marking the session changed:
    /// for helpers that mark it themselves only when they change it.
    pub(crate) fn data_unmarked(&mut self) -> &mut T {
        &mut self.data
    }

    /// The session value, for changing; marks the session changed.
    pub fn data_mut(&mut self) -> &mut T {
        self.changed = true;
        &mut self.data
    }

    /// Replaces the session value; marks the session changed.
    pub fn set(&mut self, data: T) {
        self.changed = true;
        self.data = data;
    }

    /// Marks the session changed without touching it, so the next save
    /// writes it (for interior mutability the session cannot see).
    pub fn mark_changed(&mut self) {
        self.changed = true;
    }

    /// Whether the session will be written because it changed.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Whether the session did not come from a valid cookie.
    pub fn is_new(&self) -> bool {
        self.origin == Origin::New
    }

    /// The session's id: sealed inside its cookie, stable across renewals,
    /// replaced by [`Session::regenerate`]. `None` for a new session until
    /// its first save (and after [`Session::destroy`] is saved).
    pub fn id(&self) -> Option<SessionId> {
        self.id
    }

    /// Who the session belongs to, as the application set it with
    /// [`Session::set_subject`] (typically its user id at login).
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Sets who the session belongs to (for example `"user:42"` at login),
    /// sealed inside the session; marks the session changed when it
    /// differs. A revocation registry can end every session of a subject.
    ///
    /// A change of subject is a change of identity: like
    /// [`regenerate`](Self::regenerate), it gives the session a new id on
    /// the next save, so a cookie copied before it keeps neither the old
    /// subject's access nor a place on the new subject's list.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSubject`] for a subject that is empty or longer
    /// than [`MAX_SUBJECT_BYTES`](crate::limits::MAX_SUBJECT_BYTES).
    pub fn set_subject(&mut self, subject: impl Into<String>) -> Result<(), Error> {
        let subject = subject.into();
        if subject.is_empty() || subject.len() > MAX_SUBJECT_BYTES {
            return Err(Error::new(ErrorKind::InvalidSubject));
        }
        if self.subject.as_deref() != Some(subject.as_str()) {
            self.replace_subject(Some(subject));
        }
        Ok(())
    }

    /// The session's CSRF token, for forms and `X-CSRF-Token` headers of
    /// requests that change state (the synchronizer token pattern, for apps
    /// that need more than `SameSite=Lax`). Check it with
    /// [`verify_csrf`](Self::verify_csrf).
    ///
    /// The token is an HMAC of the session's id (128 bits from the CSPRNG,
    /// never sent in the clear) under a key derived from the ring's primary
    /// key, so it costs no cookie bytes and no storage. It stays the same
    /// for the session's life, changes with
    /// [`regenerate`](Self::regenerate) (a new id), and keeps verifying
    /// after a key rotation while the key that made it is in the ring. A new
    /// session gets its id now and is marked changed, so its cookie is
    /// written and the token holds on the next request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sealed_session::{Key, KeyRing, Session, SessionManager};
    /// # let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;
    /// let mut session: Session<u32> = manager.load_sync(&http::HeaderMap::new())?;
    /// let token = session.csrf_token(); // put it in the form
    /// assert!(session.verify_csrf(&token)); // on the POST
    /// assert!(!session.verify_csrf("forged"));
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn csrf_token(&mut self) -> String {
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = SessionId::generate();
                self.id = Some(id);
                self.changed = true;
                id
            }
        };
        crate::crypto::csrf::token(self.codec.ring(), self.codec.cookie_name(), &id.to_bytes())
    }

    /// Whether `token` is this session's CSRF token
    /// ([`csrf_token`](Self::csrf_token)); compared in constant time.
    /// `false` for a session without an id (a new one that never made a
    /// token).
    pub fn verify_csrf(&self, token: &str) -> bool {
        self.id.is_some_and(|id| {
            crate::crypto::csrf::verify(
                self.codec.ring(),
                self.codec.cookie_name(),
                &id.to_bytes(),
                token,
            )
        })
    }

    /// Describes the session for its subject's list of sessions (for
    /// example "Firefox on Linux", from the `User-Agent` at login); written
    /// to the revocation registry with the session's next write and shown by
    /// [`Registry::sessions`](crate::revocation::Registry::sessions). Not
    /// sealed in the cookie; kept by the registry across renewals. Set it at
    /// login, with the subject.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidLabel`] for a label that is empty or longer than
    /// [`MAX_LABEL_BYTES`](crate::limits::MAX_LABEL_BYTES).
    pub fn set_label(&mut self, label: impl Into<String>) -> Result<(), Error> {
        let label = label.into();
        if label.is_empty() || label.len() > MAX_LABEL_BYTES {
            return Err(Error::new(ErrorKind::InvalidLabel));
        }
        self.label = Some(label);
        Ok(())
    }

    /// Gives this session its own timeouts and cookie kind ("remember me"
    /// at login, or a browser-session cookie on a shared computer), sealed
    /// inside it and kept across renewals and
    /// [`regenerate`](Self::regenerate); capped at the codec's
    /// [`expiry_limits`](crate::CodecBuilder::expiry_limits). Marks the
    /// session changed when it differs, and then gives it a new id on the
    /// next save, as [`regenerate`](Self::regenerate) does: an id keeps one
    /// expiry for its whole life, so the cookie from before (a 30-day
    /// "remember me" cookie, say) stops opening with a registry, however
    /// long it had left. The cookie's `Max-Age` and a store
    /// entry's deadline follow it from the next save.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sealed_session::{Codec, Expiry, Key, KeyRing, Session, SessionManager};
    /// const DAY: Duration = Duration::from_secs(86_400);
    /// let codec = Codec::builder(KeyRing::new([Key::generate()])?)
    ///     .expiry_limits(7 * DAY, 30 * DAY) // allow "remember me"
    ///     .build()?;
    /// let manager = SessionManager::with_codec(codec).build()?;
    /// let mut session: Session<u32> = manager.load_sync(&http::HeaderMap::new())?;
    /// // At login, with "remember me" ticked:
    /// session.set_expiry(Expiry::persistent(7 * DAY, 30 * DAY));
    /// assert_eq!(session.expiry().unwrap().absolute_timeout(), 30 * DAY);
    /// // Asking for more than the limits gets the limits.
    /// session.set_expiry(Expiry::persistent(7 * DAY, 90 * DAY));
    /// assert_eq!(session.expiry().unwrap().absolute_timeout(), 30 * DAY);
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn set_expiry(&mut self, expiry: Expiry) {
        let expiry = Some(self.codec.cap(expiry));
        if self.expiry != expiry {
            self.expiry = expiry;
            self.identity_changed();
        }
    }

    /// Goes back to the codec's timeouts and the manager's cookie kind;
    /// marks the session changed when it had its own expiry.
    pub fn clear_expiry(&mut self) {
        if self.expiry.take().is_some() {
            self.identity_changed();
        }
    }

    /// The session's own expiry, if one was set (capped at the codec's
    /// limits).
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// Removes the subject (for example at logout without destroying the
    /// session); marks the session changed when it had one, and gives it a
    /// new id on the next save (as [`set_subject`](Self::set_subject) does).
    /// With a revocation registry, the cookie from before stops opening and
    /// the session leaves the old subject's list of sessions.
    pub fn clear_subject(&mut self) {
        if self.subject.is_some() {
            self.replace_subject(None);
        }
    }

    /// Sets the subject to `subject`, remembering the one the last cookie
    /// sealed, and asks for a new id: a cookie carries one subject for its
    /// id's whole life, so the copies that carry the old one stop opening
    /// (with a registry) and leave the old subject's list.
    fn replace_subject(&mut self, subject: Option<String>) {
        let old = std::mem::replace(&mut self.subject, subject);
        if self.previous_subject.is_none() {
            self.previous_subject = Some(old);
        }
        self.identity_changed();
    }

    /// The subject or the expiry changed: both are fixed for an id's whole
    /// life (so a revocation of the id knows every deadline a copy of it
    /// carries, and every copy of it is on one subject's list), so the
    /// next save gives the session a new id and revokes the old one.
    fn identity_changed(&mut self) {
        self.changed = true;
        self.regenerate = true;
    }

    /// Why the session is fresh, or `None` when it came from a valid cookie.
    pub fn fresh_reason(&self) -> Option<FreshReason> {
        self.fresh_reason
    }

    /// Which key opened the session's cookie, or `None` for a new session.
    /// A non-primary key means the response re-seals it with the primary.
    pub fn opened_with(&self) -> Option<OpenedWith> {
        self.opened_with
    }

    /// When the session was issued and last renewed; `None` until it is
    /// first saved.
    pub fn times(&self) -> Option<Times> {
        self.times
    }

    /// Where the session lives now (after the last load or save).
    pub fn location(&self) -> Location {
        match self.origin {
            Origin::New => Location::None,
            Origin::Cookie => Location::Cookie,
            Origin::Store(_) => Location::Store,
        }
    }

    /// The store id, when the session lives in the store.
    pub fn store_id(&self) -> Option<StoreId> {
        match self.origin {
            Origin::Store(id) => Some(id),
            _ => None,
        }
    }

    /// Bytes of `name=value` of the session's cookie: the one the request
    /// carried (set by load), then the one the last save emitted; `None`
    /// for a new session before its first save, and after a removal.
    pub fn cookie_size(&self) -> Option<usize> {
        self.cookie_size
    }

    /// Signs `subject` in, in one call that cannot be half done: the
    /// subject is sealed in the session (what [`subject`](Self::subject)
    /// returns and what "sign out everywhere" and the device list go by),
    /// and the session gets a new id on the next save, against session
    /// fixation (as [`regenerate`](Self::regenerate)). With a revocation
    /// registry the save also lists the session among the subject's
    /// devices. The data is kept (a cart survives signing in); clear what
    /// must not.
    ///
    /// Keep the user's identity here rather than in the session data: a
    /// sign-in that sets only the data would escape "sign out everywhere".
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidSubject`] for a subject that is empty or longer
    /// than [`MAX_SUBJECT_BYTES`](crate::limits::MAX_SUBJECT_BYTES); the
    /// session is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sealed_session::{Key, KeyRing, Session, SessionManager};
    /// # let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;
    /// let mut session: Session<Vec<u32>> = manager.load_sync(&http::HeaderMap::new())?;
    /// session.login("user:42")?;
    /// assert_eq!(session.subject(), Some("user:42"));
    /// assert!(session.is_regenerating());
    /// session.logout();
    /// assert!(session.is_destroyed());
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn login(&mut self, subject: impl Into<String>) -> Result<(), Error> {
        self.set_subject(subject)?;
        self.regenerate();
        Ok(())
    }

    /// Signs out: ends the session, as [`destroy`](Self::destroy). The save
    /// emits a removal cookie and deletes any store entry; with a
    /// revocation registry it also revokes the id (a copied cookie stops
    /// opening) and takes the session off its subject's list.
    pub fn logout(&mut self) {
        self.destroy();
    }

    /// Asks for a new identity on the next save, keeping the data: a new
    /// issued-at time (restarting the absolute timeout), a new store id when
    /// stored (the old entry is deleted), and a new cookie either way. Call it
    /// after login, against session fixation.
    pub fn regenerate(&mut self) {
        self.regenerate = true;
    }

    /// Ends the session: the next save emits a removal cookie and deletes any
    /// store entry.
    pub fn destroy(&mut self) {
        self.destroyed = true;
    }

    /// Whether [`Session::destroy`] was called.
    pub fn is_destroyed(&self) -> bool {
        self.destroyed
    }

    /// Whether [`Session::regenerate`] was called and not yet saved.
    pub fn is_regenerating(&self) -> bool {
        self.regenerate
    }

    /// The session value, owned.
    pub fn into_inner(self) -> T {
        self.data
    }
}

impl<T> fmt::Debug for Session<T> {
    /// Metadata only: never the session value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("location", &self.location())
            .field("id", &self.id)
            .field("has_subject", &self.subject.is_some())
            .field("expiry", &self.expiry)
            .field("store_id", &self.store_id())
            .field("fresh_reason", &self.fresh_reason)
            .field("opened_with", &self.opened_with)
            .field("times", &self.times)
            .field("cookie_size", &self.cookie_size)
            .field("changed", &self.changed)
            .field("regenerate", &self.regenerate)
            .field("destroyed", &self.destroyed)
            .field("reseal", &self.reseal)
            .finish_non_exhaustive()
    }
}

impl<T> Deref for Session<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T> DerefMut for Session<T> {
    /// Marks the session changed.
    fn deref_mut(&mut self) -> &mut T {
        self.data_mut()
    }
}
