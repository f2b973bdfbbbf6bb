//! A session's own lifetime: "remember me", or a cookie that ends with the
//! browser.

use std::time::Duration;

use super::envelope::SealedExpiry;

/// A session's own timeouts and cookie kind, set by a handler with
/// [`Session::set_expiry`](crate::Session::set_expiry) (typically at login:
/// "remember me for 30 days").
///
/// It is sealed inside the value, so the server enforces it: the client
/// cannot lengthen it. The codec caps both timeouts at its
/// [`CodecBuilder::expiry_limits`](crate::CodecBuilder::expiry_limits)
/// (by default its own idle and absolute timeouts, so a session can be
/// shortened but not lengthened until the application allows it), when
/// sealing and again when opening, so lowering a limit takes effect on
/// sessions already issued. Timeouts count whole seconds.
///
/// A persistent session's cookie carries `Max-Age` up to the session's next
/// deadline; a browser-session cookie carries none, so the browser drops it
/// when it closes (the server still enforces the timeouts).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sealed_session::Expiry;
///
/// const DAY: Duration = Duration::from_secs(86_400);
/// // "Remember me": a week idle, at most thirty days.
/// let remember = Expiry::persistent(7 * DAY, 30 * DAY);
/// assert!(remember.is_persistent());
/// // A shared computer: gone when the browser closes, an hour idle.
/// let public = Expiry::browser_session(Duration::from_secs(3600), DAY);
/// assert_eq!(public.idle_timeout(), Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expiry {
    idle: Duration,
    absolute: Duration,
    persistent: bool,
}

impl Expiry {
    /// A persistent cookie (`Max-Age` set) with these timeouts.
    pub fn persistent(idle: Duration, absolute: Duration) -> Self {
        Self::new(idle, absolute, true)
    }

    /// A browser-session cookie (no `Max-Age`, gone when the browser
    /// closes) with these timeouts.
    pub fn browser_session(idle: Duration, absolute: Duration) -> Self {
        Self::new(idle, absolute, false)
    }

    fn new(idle: Duration, absolute: Duration, persistent: bool) -> Self {
        // Whole seconds, as sealed.
        Self {
            idle: Duration::from_secs(idle.as_secs()),
            absolute: Duration::from_secs(absolute.as_secs()),
            persistent,
        }
    }

    /// How long the session lives without being renewed.
    pub fn idle_timeout(&self) -> Duration {
        self.idle
    }

    /// How long the session lives after it was issued.
    pub fn absolute_timeout(&self) -> Duration {
        self.absolute
    }

    /// Whether the cookie carries `Max-Age`.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// This expiry with both timeouts capped at the limits.
    pub(crate) fn capped(self, max_idle: Duration, max_absolute: Duration) -> Self {
        Self {
            idle: self.idle.min(max_idle),
            absolute: self.absolute.min(max_absolute),
            persistent: self.persistent,
        }
    }

    pub(crate) fn to_sealed(self) -> SealedExpiry {
        SealedExpiry {
            idle: self.idle.as_secs(),
            absolute: self.absolute.as_secs(),
            persistent: self.persistent,
        }
    }

    pub(crate) fn from_sealed(sealed: SealedExpiry) -> Self {
        Self {
            idle: Duration::from_secs(sealed.idle),
            absolute: Duration::from_secs(sealed.absolute),
            persistent: sealed.persistent,
        }
    }
}
