//! What a revocation log holds: revocations and session records, and the
//! bytes a backend stores for each.

use std::fmt;
use std::time::SystemTime;

use crate::codec::SessionId;
use crate::codec::envelope::{from_millis, from_secs, to_millis, to_millis_ceil, to_secs};
use crate::limits::{MAX_LABEL_BYTES, MAX_SUBJECT_BYTES};

/// What a registry keeps of a revoked session id: its first 8 bytes.
///
/// A session id is 128 bits from the CSPRNG, sealed with the session, so
/// only a cookie that authenticated is ever looked up, and nobody can aim
/// for a given prefix. 64 of those bits identify a revoked session well
/// enough: with *n* live revocations a live session matches one by chance
/// with probability *n* / 2⁶⁴ per load (5 × 10⁻¹³ at 10 million entries;
/// one false match in about 2 × 10¹² loads). A false match costs that one
/// user a sign-in (the session loads fresh as revoked); it never lets a
/// revoked session through. Half the bytes per entry, on every server.
///
/// # Examples
///
/// ```
/// use sealed_session::SessionId;
/// use sealed_session::revocation::RevocationKey;
///
/// let id = SessionId::from_bytes([7; 16]);
/// assert_eq!(RevocationKey::from(id).to_bytes(), [7; 8]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RevocationKey([u8; 8]);

impl RevocationKey {
    /// The key's bytes: the session id's first eight.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// A key from its bytes.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }
}

impl From<SessionId> for RevocationKey {
    fn from(id: SessionId) -> Self {
        let bytes = id.to_bytes();
        let mut key = [0; 8];
        key.copy_from_slice(&bytes[..8]);
        Self(key)
    }
}

impl fmt::Debug for RevocationKey {
    /// Redacted, as session ids are in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RevocationKey(..)")
    }
}

/// One revocation, as recorded in a backend.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Revocation {
    /// The session whose id has this key is revoked until `until`.
    Session {
        /// The revoked session's [`RevocationKey`].
        key: RevocationKey,
        /// When the entry stops mattering (whole seconds): no copy of the
        /// session can open after it.
        until: SystemTime,
    },
    /// Every session of `subject` issued before `before` is revoked; the
    /// entry matters until `until` (`before` plus the absolute timeout).
    Subject {
        /// The subject signed out everywhere.
        subject: String,
        /// Sessions issued before this instant are revoked.
        before: SystemTime,
        /// When the entry stops mattering.
        until: SystemTime,
    },
}

/// A session revocation with its whole 16-byte id (written before
/// [`RevocationKey`]; still read, as its key).
const KIND_SESSION_ID: u8 = 1;
/// A session revocation with its 8-byte key.
const KIND_SESSION: u8 = 4;
/// A subject revocation with `before` in seconds (written before sessions
/// carried their issue time to the millisecond; still read).
const KIND_SUBJECT_SECS: u8 = 2;
/// A subject revocation with `before` in milliseconds, rounded up.
const KIND_SUBJECT: u8 = 3;

impl Revocation {
    /// When the entry stops mattering: no session it covers can still open.
    pub fn until(&self) -> SystemTime {
        match self {
            Self::Session { until, .. } | Self::Subject { until, .. } => *until,
        }
    }

    /// The compact, stable byte form backends keep: a kind byte, then for a
    /// session its 8-byte key and `until` (big-endian seconds), 17 bytes; for a
    /// subject `before` (big-endian milliseconds, rounded up), `until`
    /// (big-endian seconds) and the subject's UTF-8 bytes. Equal
    /// revocations encode to equal bytes, so a backend can use the bytes as
    /// a unique key.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Session { key, until } => {
                let mut out = Vec::with_capacity(17);
                out.push(KIND_SESSION);
                out.extend_from_slice(&key.to_bytes());
                out.extend_from_slice(&to_secs(*until).to_be_bytes());
                out
            }
            Self::Subject {
                subject,
                before,
                until,
            } => {
                let mut out = Vec::with_capacity(17 + subject.len());
                out.push(KIND_SUBJECT);
                out.extend_from_slice(&to_millis_ceil(*before).to_be_bytes());
                out.extend_from_slice(&to_secs(*until).to_be_bytes());
                out.extend_from_slice(subject.as_bytes());
                out
            }
        }
    }

    /// Parses [`to_bytes`](Self::to_bytes)'s form; `None` for anything else
    /// (a backend shared with something that is not this crate).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&kind, rest) = bytes.split_first()?;
        let number = |b: &[u8]| -> Option<u64> { Some(u64::from_be_bytes(b.try_into().ok()?)) };
        let secs = |b: &[u8]| number(b).map(from_secs);
        match kind {
            KIND_SESSION | KIND_SESSION_ID => {
                let width = if kind == KIND_SESSION { 8 } else { 16 };
                let (id, until) = rest.split_at_checked(width)?;
                Some(Self::Session {
                    key: RevocationKey::from_bytes(id.get(..8)?.try_into().ok()?),
                    until: secs(until)?,
                })
            }
            KIND_SUBJECT | KIND_SUBJECT_SECS => {
                let (before, rest) = rest.split_at_checked(8)?;
                let before = if kind == KIND_SUBJECT {
                    from_millis(number(before)?)
                } else {
                    secs(before)?
                };
                let (until, subject) = rest.split_at_checked(8)?;
                let subject = std::str::from_utf8(subject).ok()?;
                if subject.is_empty() || subject.len() > MAX_SUBJECT_BYTES {
                    return None;
                }
                Some(Self::Subject {
                    subject: subject.to_owned(),
                    before,
                    until: secs(until)?,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Revocation {
    /// The kind and the deadlines; neither the id nor the subject.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session { until, .. } => f
                .debug_struct("Session")
                .field("until", &to_secs(*until))
                .finish_non_exhaustive(),
            Self::Subject { before, until, .. } => f
                .debug_struct("Subject")
                .field("before_ms", &to_millis_ceil(*before))
                .field("until", &to_secs(*until))
                .finish_non_exhaustive(),
        }
    }
}

/// One active session of a subject, for a "your devices" page: written at
/// login, regeneration and renewal (never on every request), forgotten at
/// logout, gone on its own after `until`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session.
    pub id: SessionId,
    /// When it was issued (the login).
    pub issued_at: SystemTime,
    /// When it was last renewed, as recorded: updated at most once per
    /// renewal interval, so up to that much behind the session's own.
    pub renewed_at: SystemTime,
    /// When the record stops mattering: past it the session has expired.
    pub until: SystemTime,
    /// What the application said about the session at login (for example
    /// "Firefox on Linux"), from [`Session::set_label`](crate::Session::set_label);
    /// not sealed in the cookie.
    pub label: Option<String>,
}

impl SessionRecord {
    /// A record of session `id`.
    pub fn new(
        id: SessionId,
        issued_at: SystemTime,
        renewed_at: SystemTime,
        until: SystemTime,
        label: Option<String>,
    ) -> Self {
        Self {
            id,
            issued_at,
            renewed_at,
            until,
            label,
        }
    }

    /// The stable byte form backends keep: the 16-byte id, `issued_at`
    /// (big-endian milliseconds), `renewed_at`, `until` (big-endian
    /// seconds), then a label flag and the label's UTF-8 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let label = self.label.as_deref().unwrap_or_default();
        let mut out = Vec::with_capacity(41 + label.len());
        out.extend_from_slice(&self.id.to_bytes());
        out.extend_from_slice(&to_millis(self.issued_at).to_be_bytes());
        for t in [self.renewed_at, self.until] {
            out.extend_from_slice(&to_secs(t).to_be_bytes());
        }
        out.push(u8::from(self.label.is_some()));
        out.extend_from_slice(label.as_bytes());
        out
    }

    /// Parses [`to_bytes`](Self::to_bytes)'s form; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (id, rest) = bytes.split_at_checked(16)?;
        let mut times = [0u64; 3];
        let mut rest = rest;
        for t in &mut times {
            let (number, tail) = rest.split_at_checked(8)?;
            *t = u64::from_be_bytes(number.try_into().ok()?);
            rest = tail;
        }
        let (&has_label, label) = rest.split_first()?;
        let label = match has_label {
            0 if label.is_empty() => None,
            1 if label.len() <= MAX_LABEL_BYTES => {
                Some(std::str::from_utf8(label).ok()?.to_owned())
            }
            _ => return None,
        };
        let [issued_at, renewed_at, until] = times;
        Some(Self {
            id: SessionId::from_bytes(id.try_into().ok()?),
            issued_at: from_millis(issued_at),
            renewed_at: from_secs(renewed_at),
            until: from_secs(until),
            label,
        })
    }
}

impl fmt::Debug for SessionRecord {
    /// The times; not the id or the label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("issued_at", &to_secs(self.issued_at))
            .field("renewed_at", &to_secs(self.renewed_at))
            .field("until", &to_secs(self.until))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn revocations_round_trip_through_bytes() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        for r in [
            Revocation::Session {
                key: SessionId::from_bytes([7; 16]).into(),
                until: at(99),
            },
            Revocation::Subject {
                subject: "user:42".into(),
                before: at(5),
                until: at(1005),
            },
        ] {
            assert_eq!(Revocation::from_bytes(&r.to_bytes()), Some(r));
        }
        for junk in [&[][..], &[1, 2, 3], &[2; 16], &[9; 30], &[4; 16], &[4; 18]] {
            assert_eq!(Revocation::from_bytes(junk), None, "{junk:?}");
        }
        // The form written before keys, with the whole id, reads as its key.
        let mut old = vec![1];
        old.extend_from_slice(&(0..16).collect::<Vec<u8>>());
        old.extend_from_slice(&99u64.to_be_bytes());
        assert_eq!(
            Revocation::from_bytes(&old),
            Some(Revocation::Session {
                key: RevocationKey::from_bytes([0, 1, 2, 3, 4, 5, 6, 7]),
                until: at(99),
            })
        );
    }

    #[test]
    fn session_records_round_trip_through_bytes() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        for label in [
            None,
            Some(String::new()),
            Some("Firefox on Linux".to_owned()),
        ] {
            let r = SessionRecord::new(SessionId::from_bytes([3; 16]), at(1), at(2), at(3), label);
            assert_eq!(SessionRecord::from_bytes(&r.to_bytes()), Some(r));
        }
        assert_eq!(SessionRecord::from_bytes(&[0; 40]), None);
        let mut bad_flag = [0; 41];
        bad_flag[40] = 7;
        assert_eq!(SessionRecord::from_bytes(&bad_flag), None);
    }
}
