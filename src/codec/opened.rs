//! What sealing makes and opening gives back.

use std::fmt;

use super::Expiry;
use super::SessionId;
use super::envelope::Times;
use crate::crypto::seal::OpenedWith;

/// A sealed cookie value, with the size of `name=value` it makes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCookie {
    value: String,
    size: usize,
}

impl SealedCookie {
    pub(super) fn new(value: String, size: usize) -> Self {
        Self { value, size }
    }

    /// The cookie value: base64url without padding.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Bytes of `name=value`, what browsers hold against their 4096 limit.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The cookie value, owned.
    pub fn into_value(self) -> String {
        self.value
    }
}

impl fmt::Debug for SealedCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCookie")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A value that opened: the session value, its times and the key that
/// opened it.
///
/// `Debug` shows the times and the opening key, never the value.
#[derive(Clone)]
pub struct Opened<T> {
    value: T,
    times: Times,
    id: SessionId,
    subject: Option<String>,
    expiry: Option<Expiry>,
    with: OpenedWith,
}

impl<T> Opened<T> {
    pub(super) fn new(
        value: T,
        times: Times,
        id: SessionId,
        subject: Option<String>,
        expiry: Option<Expiry>,
        with: OpenedWith,
    ) -> Self {
        Self {
            value,
            times,
            id,
            subject,
            expiry,
            with,
        }
    }

    /// The session id sealed inside the value.
    pub fn session_id(&self) -> SessionId {
        self.id
    }

    /// The subject sealed inside the value (the application's user id), if
    /// one was set.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The session's own expiry sealed inside the value, if one was set
    /// (as sealed: the codec caps it at its limits when checking).
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// The session value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The session value, owned.
    pub fn into_value(self) -> T {
        self.value
    }

    /// When the session was issued and last renewed.
    pub fn times(&self) -> Times {
        self.times
    }

    /// Which key opened the value (for re-sealing and rotation telemetry).
    pub fn opened_with(&self) -> OpenedWith {
        self.with
    }
}

impl<T> fmt::Debug for Opened<T> {
    /// Metadata only: never the session value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("times", &self.times)
            .field("session_id", &self.id)
            .field("expiry", &self.expiry)
            .field("opened_with", &self.with)
            .finish_non_exhaustive()
    }
}
