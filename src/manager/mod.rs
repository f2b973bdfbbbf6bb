//! The session manager: load from request headers, save to response headers.
//!
//! `builder` validates a configuration into the manager's private state;
//! `load` and `save` are the two halves of a request; `headers` is the
//! `http` glue (reading `Cookie`, writing `Set-Cookie`).

mod builder;
mod headers;
mod load;
mod save;
mod store;
mod write;

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

pub use self::builder::{Overflow, SessionManagerBuilder};
use self::headers::Attributes;
pub use self::headers::SameSite;
#[cfg(any(feature = "tower", feature = "actix-web"))]
pub(crate) use self::headers::SetCookies;
pub use self::store::{Store, StoreAdmin, StoreFuture};
use crate::codec::Codec;
use crate::error::{Error, ErrorKind};
use crate::revocation::Registry;

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
    /// A renewal of a session held in the store whose value did not
    /// change: a new pointer cookie (of this many bytes of `name=value`)
    /// and the entry's deadline moved with [`Store::touch`], the value not
    /// written again.
    Touched {
        /// Bytes of `name=value` of the pointer cookie.
        size: usize,
    },
    /// A removal cookie (the session was destroyed).
    Removed,
    /// A removal cookie for the unusable session cookie the request
    /// carried (see
    /// [`SessionManagerBuilder::clear_invalid_cookies`]); the handler wrote
    /// nothing.
    Cleared,
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
    /// ([`FreshReason::HeaderTooLarge`](crate::FreshReason::HeaderTooLarge)), so the session the client holds
    /// could not be seen, and a fresh session is not written over it. Call
    /// [`Session::regenerate`](crate::Session::regenerate) (as after a login) to write one anyway.
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
/// let manager = SessionManager::with_codec(codec).build()?;
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
    /// The fraction of a session's idle timeout after which it is renewed.
    renewal_threshold: f64,
    overflow: Overflow,
    store: Option<Arc<dyn Store>>,
    max_stored_bytes: usize,
    registry: Option<Registry>,
    clear_invalid_cookies: bool,
    optimistic_concurrency: bool,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("codec", &self.inner.codec)
            .field("attributes", &self.inner.attributes)
            .field("renew_after", &self.inner.renew_after)
            .field("overflow", &self.inner.overflow)
            .field("store", &self.inner.store)
            .field("registry", &self.inner.registry)
            .finish()
    }
}

impl SessionManager {
    /// The codec.
    pub fn codec(&self) -> &Codec {
        &self.inner.codec
    }

    /// The revocation registry, if any.
    pub fn registry(&self) -> Option<&Registry> {
        self.inner.registry.as_ref()
    }

    /// Signs `subject` out everywhere: every session of it issued until now
    /// stops opening, on this server at once and (with a shared registry)
    /// on the others within the registry's refresh interval, for as long
    /// as any of them could still open (the codec's longest absolute
    /// timeout, so "remember me" sessions are covered). A sign-in from the
    /// next millisecond on is not affected (one in the same millisecond is
    /// revoked too, on the safe side). The session of the request that asks
    /// should also [`logout`](crate::Session::logout), or sign in again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::RegistryNeeded`](crate::ErrorKind::RegistryNeeded)
    /// when the manager has no revocation registry
    /// ([`SessionManagerBuilder::registry`]).
    ///
    /// The entry lasts as long as one of those sessions can still open:
    /// the longest idle timeout after now (none of them is renewed again
    /// once every server knows), plus one renewal interval (so that a
    /// device list never shows one of them) and the registry's slack,
    /// never past the longest absolute timeout. With the defaults that is
    /// about a day and a quarter, not two weeks.
    pub fn sign_out_everywhere(&self, subject: &str) -> Result<(), Error> {
        self.sign_out_everywhere_at(subject, SystemTime::now())
    }

    /// As [`sign_out_everywhere`](Self::sign_out_everywhere), at `now` (for
    /// tests on an injected clock).
    ///
    /// # Errors
    ///
    /// As [`sign_out_everywhere`](Self::sign_out_everywhere).
    pub fn sign_out_everywhere_at(&self, subject: &str, now: SystemTime) -> Result<(), Error> {
        let registry = self
            .registry()
            .ok_or_else(|| Error::new(ErrorKind::RegistryNeeded))?;
        let codec = self.codec();
        let idle = codec.idle_timeout().max(codec.max_idle_timeout());
        let absolute = codec.absolute_timeout().max(codec.max_absolute_timeout());
        // Plus a renewal interval: a device-list record lags its session by
        // up to one (it is written at most once per interval), and must not
        // outlive the entry that hides it.
        let renewal = self.renew_after(Some(crate::Expiry::persistent(idle, absolute)));
        let reach = crate::revocation::Reach {
            idle: idle.saturating_add(renewal),
            absolute: now
                .checked_add(absolute)
                .unwrap_or(crate::codec::envelope::from_secs(u64::MAX)),
        };
        registry.revoke_subject_copies(subject, now, reach);
        Ok(())
    }

    /// The store, if any.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.inner.store.as_ref()
    }

    /// Runs a load or save future to completion without a runtime. Without
    /// a store it never waits on anything, so one poll finishes it.
    ///
    /// The future is made here, in place where it is pinned, rather than
    /// passed in and moved (a load's or save's future is large).
    fn without_store<F: Future<Output = Result<R, Error>>, R>(
        &self,
        future: impl FnOnce() -> F,
    ) -> Result<R, Error> {
        if self.inner.store.is_some() {
            return Err(Error::new(ErrorKind::StoreNeedsAsync));
        }
        match pin!(future()).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(Error::new(ErrorKind::StoreNeedsAsync)),
        }
    }
}
