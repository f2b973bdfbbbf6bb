//! Why a session is fresh, and where it lives.

/// Why a request got a fresh, empty session instead of the one its cookie
/// named. For logging; the handler carries on with the fresh session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FreshReason {
    /// The request had no cookie with the session's name.
    NoCookie,
    /// A cookie was present but did not authenticate: tampered, truncated,
    /// sealed for another cookie name, or sealed by a key the ring no longer
    /// holds.
    Rejected,
    /// The cookie authenticated, but its idle or absolute timeout passed.
    Expired,
    /// The cookie authenticated and names the session type's schema (or one
    /// a migration leads from), but its payload does not decode as it.
    Undecodable,
    /// The cookie (or the stored value it points to) authenticated, but was
    /// sealed for a session schema this build does not know: the session
    /// type changed in a way its old values cannot be read as (a field
    /// removed, renamed, reordered or retyped), and no migration from the
    /// old type is declared. Counted in
    /// [`UNKNOWN_SCHEMAS`](crate::observe::UNKNOWN_SCHEMAS) and logged at
    /// `warn` once per schema id. Such a cookie is never cleared
    /// ([`clear_invalid_cookies`](crate::SessionManagerBuilder::clear_invalid_cookies)
    /// leaves it alone): during a rolling deploy it may be a newer build's.
    UnknownSchema,
    /// The cookie pointed to a store entry that is gone (expired, evicted or
    /// deleted), or the manager has no store.
    MissingFromStore,
    /// The cookie authenticated, but its session was revoked: destroyed or
    /// regenerated elsewhere, or its subject signed out everywhere (see
    /// [`revocation`](crate::revocation)).
    Revoked,
    /// A shared revocation registry has not heard from its backend for
    /// longer than its staleness bound, and its policy
    /// ([`WhenStale`](crate::revocation::WhenStale)) refuses this session
    /// until it has.
    RevocationUnverified,
    /// The request's `Cookie` headers were longer than
    /// [`MAX_COOKIE_HEADER_BYTES`](crate::limits::MAX_COOKIE_HEADER_BYTES) or held
    /// more than [`MAX_COOKIE_PAIRS`](crate::limits::MAX_COOKIE_PAIRS) pairs or
    /// [`MAX_SESSION_CANDIDATES`](crate::limits::MAX_SESSION_CANDIDATES) authentic
    /// looking session cookies, or more store pointers than
    /// [`MAX_STORE_LOOKUPS`](crate::limits::MAX_STORE_LOOKUPS) reads could
    /// follow, and no session was found in the part looked at: the client's
    /// session may be in the rest. It is never cleared
    /// ([`clear_invalid_cookies`](crate::SessionManagerBuilder::clear_invalid_cookies)
    /// leaves it alone). Saving such a session
    /// writes nothing unless it was regenerated
    /// ([`Saved::NotOverwritten`](crate::Saved::NotOverwritten)).
    HeaderTooLarge,
}

impl FreshReason {
    /// Which of two reasons to report when several cookies failed: the one
    /// that says most about what the client sent.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Self::NoCookie => 0,
            Self::Rejected => 1,
            Self::MissingFromStore => 2,
            Self::Undecodable => 3,
            Self::UnknownSchema => 4,
            Self::Expired => 5,
            Self::RevocationUnverified => 6,
            Self::Revoked => 7,
            Self::HeaderTooLarge => 8,
        }
    }
}

/// Where a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// Nowhere yet: a new session, or one that was destroyed.
    None,
    /// Entirely in the cookie.
    Cookie,
    /// In the store; the cookie holds a sealed pointer.
    Store,
}
