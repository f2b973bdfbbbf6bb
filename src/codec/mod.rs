//! The codec layer: a session value to a sealed cookie value (or store
//! value) and back.
//!
//! This file holds the [`Codec`], its configuration and the one place
//! deadlines are computed; `sealing` and `opening` are its cookie pipeline,
//! `builder` validates its configuration, `store_value` is the store-value
//! pipeline,
//! `opened` the result types, `envelope` what is sealed, `schema` and
//! `migrate` schema identity and declared migrations, and `cookie` the
//! cookie syntax and size rules.

mod builder;
pub(crate) mod cookie;
pub(crate) mod envelope;
mod expiry;
pub(crate) mod migrate;
mod opened;
mod opening;
pub(crate) mod schema;
mod sealing;
pub(crate) mod session_id;
pub(crate) mod store_id;
mod store_value;

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

pub use self::builder::CodecBuilder;
use self::envelope::Times;
pub use self::expiry::Expiry;
use self::migrate::Migrations;
pub use self::opened::{Opened, SealedCookie};
pub(crate) use self::opening::{Deadlines, Failure};
use self::schema::SchemaId;
pub(crate) use self::sealing::{Identity, envelope};
pub use self::session_id::SessionId;
use crate::crypto::ring::KeyRing;
use crate::limits::MAX_COOKIE_BYTES;

/// Decoded bytes that fit in [`MAX_COOKIE_BYTES`] characters of base64.
const MAX_RAW_COOKIE_BYTES: usize = MAX_COOKIE_BYTES / 4 * 3;

/// The stack buffer tried first: most sessions fit in it.
const SMALL_RAW_BYTES: usize = 512;

/// Seals session values into cookie values and opens them again.
///
/// Built once by [`Codec::builder`], immutable, cheap to clone and shared
/// across threads. It needs no async runtime.
///
/// # Examples
///
/// ```
/// use sealed_session::{Codec, Key, KeyRing};
///
/// // In production, load keys from a secret store; see `KeyRing::from_env`.
/// let ring = KeyRing::new([Key::generate()])?;
/// let codec = Codec::builder(ring).cookie_name("__Host-session").build()?;
///
/// let sealed = codec.seal(&("alice".to_owned(), 42u32))?;
/// assert!(sealed.size() <= 4096);
/// let opened = codec.open::<(String, u32)>(sealed.value())?;
/// assert_eq!(opened.value(), &("alice".to_owned(), 42));
/// assert!(opened.opened_with().is_primary());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct Codec {
    inner: Arc<Inner>,
}

struct Inner {
    ring: KeyRing,
    name: String,
    limit: usize,
    idle: Duration,
    absolute: Duration,
    /// The longest idle and absolute timeouts of a session's own expiry;
    /// `None` for `idle` and `absolute`.
    max_expiry: Option<(Duration, Duration)>,
    /// Explicit schema names, by type.
    schemas: Vec<(TypeId, SchemaId)>,
    migrations: Migrations,
    legacy: bool,
}

impl Codec {
    /// The schema id values sealed for `T` carry: its explicit name's id
    /// when [`CodecBuilder::schema`] gave one, else its serde shape's.
    pub fn schema_of<T: DeserializeOwned + 'static>(&self) -> SchemaId {
        let type_id = TypeId::of::<T>();
        self.inner
            .schemas
            .iter()
            .find(|(t, _)| *t == type_id)
            .map_or_else(SchemaId::of::<T>, |(_, id)| *id)
    }

    /// Whether a value sealed for `schema` opens as a `T`: `schema` is
    /// `T`'s own ([`Codec::schema_of`]), a declared migration leads from it
    /// to `T`, or it is the schema of an older definition of `T` that
    /// lacked trailing `#[serde(default)]` fields or trailing enum variants
    /// (or `T`'s own before 0.9, whose ids included type names).
    ///
    /// # Examples
    ///
    /// ```
    /// use sealed_session::{Codec, Key, KeyRing, SchemaId};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct CartV1 { items: Vec<u32> }
    ///
    /// // A defaulted field appended: old values still open.
    /// #[derive(Deserialize)]
    /// struct Cart { items: Vec<u32>, #[serde(default)] coupon: Option<String> }
    ///
    /// let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
    /// assert!(codec.opens_schema::<Cart>(SchemaId::of::<CartV1>()));
    /// assert!(!codec.opens_schema::<CartV1>(SchemaId::of::<Cart>()));
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn opens_schema<T: DeserializeOwned + 'static>(&self, schema: SchemaId) -> bool {
        schema == self.schema_of::<T>()
            || self.inner.migrations.leads_from::<T>(schema)
            || self.reading_of::<T>(schema).is_some()
    }

    /// How to read a value sealed for `schema` as a `T` that is not
    /// `T`'s own schema: an older definition of `T` (see
    /// [`schema::reading`]). `None` for a `T` with an explicit schema name:
    /// the name is its whole identity.
    pub(crate) fn reading_of<T: DeserializeOwned + 'static>(
        &self,
        schema: SchemaId,
    ) -> Option<schema::Cut> {
        let type_id = TypeId::of::<T>();
        if self.inner.schemas.iter().any(|(t, _)| *t == type_id) {
            return None;
        }
        schema::reading::<T>(schema)
    }

    /// The key ring.
    pub fn ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// The cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.inner.name
    }

    /// The most bytes of `name=value` this codec emits.
    pub fn size_limit(&self) -> usize {
        self.inner.limit
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.inner.idle
    }

    /// The absolute timeout.
    pub fn absolute_timeout(&self) -> Duration {
        self.inner.absolute
    }

    /// The longest idle timeout a session's own [`Expiry`] may have.
    pub fn max_idle_timeout(&self) -> Duration {
        self.inner
            .max_expiry
            .map_or(self.inner.idle, |(idle, _)| idle)
    }

    /// The longest absolute timeout a session's own [`Expiry`] may have:
    /// no session of this codec lives longer. A revocation registry's
    /// subject entry must last this long.
    pub fn max_absolute_timeout(&self) -> Duration {
        self.inner
            .max_expiry
            .map_or(self.inner.absolute, |(_, absolute)| absolute)
    }

    /// `expiry` capped at this codec's limits.
    pub(crate) fn cap(&self, expiry: Expiry) -> Expiry {
        expiry.capped(self.max_idle_timeout(), self.max_absolute_timeout())
    }

    /// The idle and absolute deadlines, in seconds since the Unix epoch, of
    /// a session with these authenticated times (whole seconds) and its own
    /// expiry, if any (capped at the limits). The one place deadlines are
    /// computed.
    pub(crate) fn deadlines(
        &self,
        issued_at: u64,
        renewed_at: u64,
        expiry: Option<Expiry>,
    ) -> (u64, u64) {
        let (idle, absolute) = match expiry {
            Some(expiry) => {
                let expiry = self.cap(expiry);
                (expiry.idle_timeout(), expiry.absolute_timeout())
            }
            None => (self.inner.idle, self.inner.absolute),
        };
        (
            renewed_at.saturating_add(idle.as_secs()),
            issued_at.saturating_add(absolute.as_secs()),
        )
    }

    /// The absolute deadline of a session with these times and expiry: the
    /// last instant any cookie of it can open.
    pub(crate) fn absolute_deadline(&self, times: Times, expiry: Option<Expiry>) -> SystemTime {
        let (issued_at, renewed_at) = times.to_secs();
        envelope::from_secs(self.deadlines(issued_at, renewed_at, expiry).1)
    }

    /// How long the copies of a session with these times and expiry can
    /// open: its idle timeout after each renewal, never past its absolute
    /// deadline (what a revocation of it has to cover).
    pub(crate) fn reach(&self, times: Times, expiry: Option<Expiry>) -> crate::revocation::Reach {
        let idle = match expiry {
            Some(expiry) => self.cap(expiry).idle_timeout(),
            None => self.inner.idle,
        };
        crate::revocation::Reach {
            idle,
            absolute: self.absolute_deadline(times, expiry),
        }
    }

    /// The earlier of the two deadlines of a session with these times and
    /// expiry.
    pub(crate) fn deadline(&self, times: Times, expiry: Option<Expiry>) -> SystemTime {
        envelope::from_secs(self.deadline_secs(times, expiry))
    }

    /// [`Codec::deadline`] in whole seconds since the Unix epoch.
    pub(crate) fn deadline_secs(&self, times: Times, expiry: Option<Expiry>) -> u64 {
        let (issued_at, renewed_at) = times.to_secs();
        let (idle, absolute) = self.deadlines(issued_at, renewed_at, expiry);
        idle.min(absolute)
    }
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_fields(f.debug_struct("Codec")).finish()
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_fields(f.debug_struct("Config")).finish()
    }
}

impl Inner {
    /// The configuration's fields, keys redacted by the ring's own `Debug`.
    fn fmt_fields<'a, 'b>(&self, mut d: fmt::DebugStruct<'a, 'b>) -> fmt::DebugStruct<'a, 'b> {
        d.field("ring", &self.ring)
            .field("cookie_name", &self.name)
            .field("size_limit", &self.limit)
            .field("idle_timeout", &self.idle)
            .field("absolute_timeout", &self.absolute)
            .field("expiry_limits", &self.max_expiry)
            .field("schemas", &self.schemas.len())
            .field("migrations", &self.migrations)
            .field("open_legacy_v1", &self.legacy);
        d
    }
}
