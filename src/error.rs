//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;

use crate::crypto::wire::SchemaId;

/// What went wrong.
///
/// Failures on untrusted input are deliberately coarse: a value that is too
/// long, not base64, from an unknown version or algorithm, sealed by a key the
/// ring does not hold, or with a bad tag is [`ErrorKind::Rejected`], whatever
/// the cause. Only values that authenticated can be [`ErrorKind::Expired`] or
/// [`ErrorKind::Undecodable`]. No message echoes input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The value did not authenticate (or was malformed before authentication).
    Rejected,
    /// The value authenticated, but its idle or absolute timeout has passed.
    Expired,
    /// The value authenticated, but its payload does not decode as the
    /// requested type (the session schema changed) or has trailing bytes.
    Undecodable,
    /// The value authenticated, but was sealed for a schema this build does
    /// not know: not the requested type's own (nor an older definition of
    /// it that only lacked trailing defaulted fields or variants), and no
    /// declared migration leads from it. The session type changed in a way
    /// old values cannot be read as; declare a migration from the old type
    /// (`CodecBuilder::migrate`) to keep them.
    UnknownSchema {
        /// The schema id the value was sealed for.
        schema: SchemaId,
    },
    /// The sealed cookie would be larger than the configured limit.
    TooLarge {
        /// Bytes of `name=value` the sealed cookie would take.
        size: usize,
        /// The configured limit on `name=value` bytes.
        limit: usize,
    },
    /// The session value could not be serialized.
    Serialize,
    /// A key had the wrong length.
    KeyLength {
        /// The length given, in bytes.
        len: usize,
    },
    /// A secret given for key derivation was too short.
    SecretTooShort {
        /// The length given, in bytes.
        len: usize,
    },
    /// A key was not valid base64, or named an unknown algorithm.
    KeyEncoding,
    /// A key ring was empty.
    EmptyKeyRing,
    /// A key ring held more keys than allowed.
    TooManyKeys {
        /// The number of keys given.
        count: usize,
    },
    /// Two keys in one ring have the same key id (the same key given twice).
    DuplicateKeyId,
    /// An environment variable holding keys is absent or not Unicode.
    MissingEnvVar,
    /// The cookie name is empty, too long or holds characters a cookie name
    /// may not.
    InvalidCookieName,
    /// The configured size limit is above what browsers keep (4096), or too
    /// small to hold a store pointer cookie under the configured name and
    /// primary key.
    InvalidSizeLimit {
        /// The limit given.
        limit: usize,
        /// The smallest limit this configuration accepts.
        min: usize,
    },
    /// The idle timeout is zero or longer than the absolute timeout.
    TimeoutsOutOfOrder,
    /// A cookie attribute value (path, domain) is empty, longer than 1024
    /// bytes, or holds characters an attribute may not.
    InvalidCookieAttribute,
    /// A `__Host-` cookie without `Secure`, with a path other than `/` or
    /// with a domain, or a `__Secure-` cookie without `Secure`.
    CookiePrefix,
    /// `SameSite=None` or `Partitioned` without `Secure`.
    InsecureAttributes,
    /// The renewal threshold is not a fraction between 0 and 1 (or is NaN).
    InvalidRenewalThreshold,
    /// The renewal threshold's share of the idle timeout is too long to
    /// represent as a duration (an idle timeout near `Duration::MAX`).
    RenewalOverflow,
    /// A shared revocation registry's refresh interval is zero, or its
    /// staleness bound is not longer than the refresh interval.
    InvalidStalenessBound,
    /// A session label is empty or longer than
    /// [`MAX_LABEL_BYTES`](crate::limits::MAX_LABEL_BYTES).
    InvalidLabel,
    /// Overflow to a store was asked for, but no store was given.
    OverflowNeedsStore,
    /// A synchronous load or save on a manager that has a store; use the
    /// async methods.
    StoreNeedsAsync,
    /// The session store failed (unreachable, timed out, or refused); the
    /// source says why.
    Store,
    /// Two declared migrations start from the same old type or the same old
    /// schema id.
    DuplicateMigration,
    /// A session subject is empty or longer than `MAX_SUBJECT_BYTES`.
    InvalidSubject,
    /// Codec settings (cookie name, timeouts, size limit, schemas) were
    /// given to a manager builder made from a ready-made codec
    /// (`SessionManager::with_codec`); give them to the codec's builder, or
    /// use `SessionManager::with_codec(ring)`.
    CodecAlreadyBuilt,
    /// A declared migration's old and new types have the same schema id, so
    /// it could never run: they have the same shape (a type renamed or
    /// moved needs no migration). Remove it, or, if the meaning changed,
    /// name one of them with `CodecBuilder::schema`.
    MigrationToSameSchema,
    /// With optimistic concurrency on
    /// (`SessionManagerBuilder::optimistic_concurrency`): another request
    /// changed (or ended) this stored session since it was loaded, so this
    /// request's changes were not written. Load it again and retry, or tell
    /// the user.
    Conflict,
    /// The store cannot do what the manager's configuration asks of it (a
    /// compare-and-save for optimistic concurrency).
    StoreUnsupported,
    /// "Sign out everywhere" was asked of a manager without a revocation
    /// registry (`SessionManagerBuilder::registry`).
    RegistryNeeded,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Rejected => f.write_str("sealed value rejected"),
            Self::Expired => f.write_str("session expired"),
            Self::Undecodable => {
                f.write_str("session payload does not decode as the requested type")
            }
            Self::UnknownSchema { schema } => write!(
                f,
                "session value was sealed for schema {schema}, which this build neither reads nor \
                 migrates from; declare a migration from the old session type"
            ),
            Self::TooLarge { size, limit } => write!(
                f,
                "sealed cookie is {size} bytes of name and value; the limit is {limit}"
            ),
            Self::Serialize => f.write_str("session value failed to serialize"),
            Self::KeyLength { len } => write!(f, "key is {len} bytes; a key is 32 bytes"),
            Self::SecretTooShort { len } => write!(
                f,
                "secret is {len} bytes; a secret to derive a key from is at least 32 bytes"
            ),
            Self::KeyEncoding => {
                f.write_str("key is not base64 of 32 bytes with an optional known algorithm prefix")
            }
            Self::EmptyKeyRing => f.write_str("key ring has no keys; give at least one"),
            Self::TooManyKeys { count } => {
                write!(f, "key ring has {count} keys; the most a ring holds is 32")
            }
            Self::DuplicateKeyId => {
                f.write_str("two keys in the ring have the same key id; each key must be distinct")
            }
            Self::MissingEnvVar => {
                f.write_str("key environment variable is not set or not unicode")
            }
            Self::InvalidCookieName => f.write_str(
                "cookie name must be 1 to 256 token characters (no spaces, separators or controls)",
            ),
            Self::InvalidSizeLimit { limit, min } => write!(
                f,
                "size limit is {limit} bytes; it must be between {min} (a store pointer cookie \
                 under this name and key) and 4096 (what browsers keep)"
            ),
            Self::TimeoutsOutOfOrder => {
                f.write_str("idle timeout must be non-zero and no longer than the absolute timeout")
            }
            Self::InvalidCookieAttribute => f.write_str(
                "cookie path and domain must be 1 to 1024 visible ascii characters without ';'",
            ),
            Self::CookiePrefix => f.write_str(
                "a __Host- cookie needs Secure, Path=/ and no Domain; a __Secure- cookie needs Secure",
            ),
            Self::InsecureAttributes => {
                f.write_str("SameSite=None and Partitioned cookies need Secure")
            }
            Self::InvalidRenewalThreshold => {
                f.write_str("renewal threshold must be a fraction from 0.0 to 1.0")
            }
            Self::RenewalOverflow => f.write_str(
                "renewal threshold times the idle timeout is too long to represent; lower the idle timeout",
            ),
            Self::InvalidStalenessBound => f.write_str(
                "revocation refresh interval must be above zero and below the staleness bound",
            ),
            Self::InvalidLabel => f.write_str("session label must be 1 to 256 bytes"),
            Self::OverflowNeedsStore => {
                f.write_str("overflow to a store needs a store; give one or choose Overflow::Error")
            }
            Self::StoreNeedsAsync => f.write_str(
                "this session manager has a store; use the async load and save",
            ),
            Self::Store => f.write_str("session store failed"),
            Self::InvalidSubject => f.write_str("session subject must be 1 to 128 bytes"),
            Self::CodecAlreadyBuilt => f.write_str(
                "codec settings were given for a ready-made codec; set them on its builder or use SessionManager::builder",
            ),
            Self::DuplicateMigration => f.write_str(
                "two migrations start from the same old type or schema; declare one step per old schema",
            ),
            Self::MigrationToSameSchema => f.write_str(
                "a migration's old and new types have the same schema id (the same shape: a renamed \
                 or moved type needs no migration); remove it, or give one of them a schema name \
                 if the meaning changed",
            ),
            Self::Conflict => f.write_str(
                "the stored session changed since this request loaded it; its changes were not saved",
            ),
            Self::StoreUnsupported => f.write_str(
                "the session store does not support compare-and-save, which optimistic concurrency needs",
            ),
            Self::RegistryNeeded => f.write_str(
                "signing out everywhere needs a revocation registry; give one to the manager builder",
            ),
        }
    }
}

/// The error type of this crate: an [`ErrorKind`] and, for failures from
/// outside (a store), the underlying source.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    /// Which configuration item failed (an environment variable's name):
    /// never input from a request.
    subject: Option<Box<str>>,
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            source: None,
            subject: None,
        }
    }

    /// An error about a named configuration item, such as the environment
    /// variable that is missing. The name is shown by `Display`; it must
    /// never be request input.
    pub(crate) fn about(kind: ErrorKind, subject: &str) -> Self {
        Self {
            subject: Some(subject.into()),
            ..Self::new(kind)
        }
    }

    /// A [`ErrorKind::Store`] error with its cause, for [`Store`](crate::store::Store)
    /// implementations.
    pub fn store(source: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        Self {
            kind: ErrorKind::Store,
            source: Some(source.into()),
            subject: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(subject) = &self.subject {
            d.field("subject", subject);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.subject) {
            (ErrorKind::MissingEnvVar, Some(name)) => write!(
                f,
                "key environment variable {name} is not set or not unicode"
            ),
            (kind, Some(subject)) => write!(f, "{kind} ({subject})"),
            (kind, None) => fmt::Display::fmt(kind, f),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
