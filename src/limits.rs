//! Limits and defaults, in one place: what the crate caps (so untrusted
//! input costs bounded work and browsers keep what it emits) and what it
//! assumes when not told otherwise.

use std::time::Duration;

// Cookies

/// The most bytes of `name=value` browsers keep for one cookie (RFC 6265bis;
/// Chromium and Firefox enforce it), and the default limit.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Longest cookie name, in bytes.
pub const MAX_COOKIE_NAME_BYTES: usize = 256;

/// Most bytes of one cookie attribute value (RFC 6265bis, as browsers
/// enforce it).
pub const MAX_ATTRIBUTE_BYTES: usize = 1024;

/// The default cookie name. The `__Host-` prefix makes browsers refuse the
/// cookie unless it is `Secure`, host-only and `Path=/`, so no sibling
/// subdomain or other path can set a cookie of this name ("cookie
/// tossing"). Browsers accept `Secure` cookies from `http://localhost`, so
/// local development works unchanged.
pub const DEFAULT_COOKIE_NAME: &str = "__Host-session";

// Request headers

/// Most bytes of `Cookie` headers examined per request, over all headers.
/// Bytes past it are not looked at.
pub const MAX_COOKIE_HEADER_BYTES: usize = 64 * 1024;

/// Most `name=value` pairs examined per request.
pub const MAX_COOKIE_PAIRS: usize = 1024;

/// Most cookies with the session's name whose AEAD is tried per request.
///
/// Only candidates that pass the cheap checks (length, base64url, version,
/// algorithm, a key id the ring holds) count: junk placed before the real
/// cookie costs no budget. 256 is more than the cookies a browser keeps for
/// one host (about 180), so cookies tossed by a sibling domain cannot push
/// the real one out of reach; the work stays bounded at 256 AEAD opens of
/// at most [`MAX_COOKIE_HEADER_BYTES`] in all.
pub const MAX_SESSION_CANDIDATES: usize = 256;

/// Most store reads one request's cookies can cause: each authentic,
/// unrevoked pointer cookie tried costs one, until one opens. Stale
/// pointers ahead of the live one (left under an old `Path`, or tossed)
/// can use them up; the pointers past the cap are not read, and the request
/// is reported as [`FreshReason::HeaderTooLarge`](crate::FreshReason::HeaderTooLarge): the
/// session the client holds is never cleared or written over.
pub const MAX_STORE_LOOKUPS: usize = 4;

// Keys

/// Length of a key in bytes.
pub const KEY_BYTES: usize = 32;

/// Shortest secret [`Key::derive_from_secret`](crate::Key::derive_from_secret) accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Most keys one ring holds. Opening finds its key by id without trying
/// keys, so the cost does not grow with the ring; the cap only keeps
/// configuration mistakes visible.
pub const MAX_KEYS: usize = 32;

// Sessions

/// Longest subject a session carries (`Session::set_subject`), in bytes.
pub const MAX_SUBJECT_BYTES: usize = 128;

/// Longest label [`Session::set_label`](crate::Session::set_label) takes, in
/// bytes: enough for a browser and platform name.
pub const MAX_LABEL_BYTES: usize = 256;

/// Default idle timeout: one day.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Default absolute timeout: fourteen days.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Default renewal threshold: renew the idle deadline once half the idle
/// window has passed.
pub const DEFAULT_RENEWAL_THRESHOLD: f64 = 0.5;

/// Default most bytes of one sealed session in the store: 1 MiB.
pub const DEFAULT_MAX_STORED_BYTES: usize = 1024 * 1024;
