//! Configuring a [`Codec`]: the validating builder.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::cookie;
use super::envelope::MAX_POINTER_PLAINTEXT_BYTES;
use super::migrate::{Migration, Migrations};
use super::schema::SchemaId;
use super::{Codec, Inner};
use crate::crypto::ring::KeyRing;
use crate::crypto::wire;
use crate::error::{Error, ErrorKind};
use crate::limits::{
    DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_COOKIE_NAME, DEFAULT_IDLE_TIMEOUT, MAX_COOKIE_BYTES,
};

impl Codec {
    /// A builder over `ring` with the defaults: cookie name
    /// `__Host-session`, size limit 4096, idle timeout one day, absolute
    /// timeout fourteen days, schemas from the types' serde shapes, no
    /// migrations, version-1 values refused.
    pub fn builder(ring: KeyRing) -> CodecBuilder {
        CodecBuilder {
            config: Inner {
                ring,
                name: DEFAULT_COOKIE_NAME.to_owned(),
                limit: MAX_COOKIE_BYTES,
                idle: DEFAULT_IDLE_TIMEOUT,
                absolute: DEFAULT_ABSOLUTE_TIMEOUT,
                max_expiry: None,
                schemas: Vec::new(),
                migrations: Migrations::default(),
                legacy: false,
            },
        }
    }
}

/// Configures a [`Codec`]; [`CodecBuilder::build`] checks the whole
/// configuration.
#[must_use]
pub struct CodecBuilder {
    /// The configuration as given so far; `build` checks it and freezes it
    /// into the codec.
    config: Inner,
}

impl CodecBuilder {
    /// The cookie name (default [`DEFAULT_COOKIE_NAME`], `__Host-session`).
    /// It is bound into every sealed value, so a value cannot be moved to
    /// another cookie.
    ///
    /// # Security
    ///
    /// Keep the `__Host-` prefix unless the cookie must be shared with
    /// subdomains or limited to a path. Without it, any subdomain (or a page
    /// under another path) can set cookies of this name for your host: it
    /// cannot forge a session, but it can place its own valid session first
    /// (logging the user into the attacker's account) or an old copy of the
    /// user's own cookie. See the threat model in [`docs`](crate::docs).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self
    }

    /// Names `T`'s schema explicitly: values sealed for `T` carry the id of
    /// `name` instead of the id of `T`'s serde shape (see [`SchemaId`]).
    /// Change the name (say `"cart/2"` to `"cart/3"`) when the meaning of a
    /// type changes without its shape changing; values sealed under the old
    /// name then no longer open as `T` (declare a [migration](Self::migrate)
    /// to keep them). Also names old types in migrations.
    pub fn schema<T: 'static>(mut self, name: &str) -> Self {
        let id = SchemaId::named(name);
        let type_id = TypeId::of::<T>();
        self.config.schemas.retain(|(t, _)| *t != type_id);
        self.config.schemas.push((type_id, id));
        self
    }

    /// Declares how a session sealed for `Old` becomes a `New`: a value of
    /// `Old`'s schema opens as an `Old`, is converted by `f` (and by further
    /// migrations from `New`, when one is declared, until it is the type
    /// being opened) and is sealed again under the new schema on the next
    /// save. Chains are followed: declare `V1 → V2` and `V2 → V3`, and a
    /// `V1` cookie opens as a `V3`.
    ///
    /// # Examples
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use sealed_session::{Codec, Key, KeyRing};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct V1 { user_id: u64 }
    /// #[derive(Serialize, Deserialize, Debug, PartialEq)]
    /// struct V2 { user_id: u64, theme: String }
    ///
    /// let ring = KeyRing::new([Key::generate()])?;
    /// let old = Codec::builder(ring.clone()).build()?;
    /// let cookie = old.seal(&V1 { user_id: 7 })?;
    ///
    /// let new = Codec::builder(ring)
    ///     .migrate(|v1: V1| V2 { user_id: v1.user_id, theme: "light".into() })
    ///     .build()?;
    /// let opened = new.open::<V2>(cookie.value())?;
    /// assert_eq!(opened.value(), &V2 { user_id: 7, theme: "light".into() });
    /// assert!(opened.opened_with().is_migrated());
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn migrate<Old, New>(mut self, f: impl Fn(Old) -> New + Send + Sync + 'static) -> Self
    where
        Old: DeserializeOwned + 'static,
        New: DeserializeOwned + 'static,
    {
        self.config.migrations.push(Migration::new(f));
        self
    }

    /// Whether to open values in wire format version 1, which predates
    /// schema ids (default off). Such a value opens as whatever type is
    /// asked for, as before, and is sealed again in the current format on
    /// the next save. Turn it on only to carry sessions sealed by
    /// sealed-session 0.1 across an upgrade, for one absolute timeout.
    pub fn open_legacy_v1(mut self, open: bool) -> Self {
        self.config.legacy = open;
        self
    }

    /// The most bytes of cookie `name=value` to emit (default
    /// [`MAX_COOKIE_BYTES`], 4096). Lower it when the site sets other large
    /// cookies.
    pub fn size_limit(mut self, bytes: usize) -> Self {
        self.config.limit = bytes;
        self
    }

    /// How long a session lives without being renewed (default one day).
    /// Checked against the sealed last-renewed time, to whole seconds.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle = timeout;
        self
    }

    /// How long a session lives after it was issued, however active
    /// (default fourteen days). Checked against the sealed issued-at time.
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.config.absolute = timeout;
        self
    }

    /// The longest idle and absolute timeouts a session's own
    /// [`Expiry`](crate::Expiry) may have (default: this codec's
    /// [`idle_timeout`](Self::idle_timeout) and
    /// [`absolute_timeout`](Self::absolute_timeout), so sessions can be
    /// shortened but not lengthened). Raise them to offer "remember me":
    /// `.expiry_limits(7 * DAY, 30 * DAY)`. Longer expiries are capped at
    /// them when sealing and when opening.
    ///
    /// A revocation registry's subject entries must outlive the longest
    /// session: pass [`Codec::max_absolute_timeout`] to
    /// [`Registry::revoke_subject`](crate::revocation::Registry::revoke_subject).
    pub fn expiry_limits(mut self, max_idle: Duration, max_absolute: Duration) -> Self {
        self.config.max_expiry = Some((max_idle, max_absolute));
        self
    }

    /// Checks the configuration and builds the codec.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidCookieName`] for a name that is empty, longer than
    /// [`MAX_COOKIE_NAME_BYTES`](crate::limits::MAX_COOKIE_NAME_BYTES) or not an RFC 6265 token;
    /// [`ErrorKind::InvalidSizeLimit`] for a limit over
    /// [`MAX_COOKIE_BYTES`] or too small for the largest store pointer
    /// cookie under this name and primary key (so that spilling to a store
    /// can never fail for want of room);
    /// [`ErrorKind::TimeoutsOutOfOrder`] for an idle timeout under one second
    /// or longer than the absolute timeout, or expiry limits under the
    /// codec's own timeouts;
    /// [`ErrorKind::DuplicateMigration`] and
    /// [`ErrorKind::MigrationToSameSchema`] for migrations that cannot be
    /// followed.
    pub fn build(self) -> Result<Codec, Error> {
        let mut c = self.config;
        if !cookie::is_name(&c.name) {
            return Err(Error::new(ErrorKind::InvalidCookieName));
        }
        let min = pointer_cookie_size(&c.name, &c.ring);
        if !(min..=MAX_COOKIE_BYTES).contains(&c.limit) {
            return Err(Error::new(ErrorKind::InvalidSizeLimit {
                limit: c.limit,
                min,
            }));
        }
        if c.idle.as_secs() == 0 || c.idle > c.absolute {
            return Err(Error::new(ErrorKind::TimeoutsOutOfOrder));
        }
        if let Some((max_idle, max_absolute)) = c.max_expiry
            && (max_idle < c.idle || max_absolute < c.absolute || max_idle > max_absolute)
        {
            return Err(Error::new(ErrorKind::TimeoutsOutOfOrder));
        }
        let schemas = &c.schemas;
        c.migrations = std::mem::take(&mut c.migrations).resolve(|type_id| {
            schemas
                .iter()
                .find(|(t, _)| *t == type_id)
                .map(|(_, id)| *id)
        })?;
        Ok(Codec { inner: Arc::new(c) })
    }
}

/// Bytes of `name=value` of the largest store pointer cookie sealed under
/// `ring`'s primary key: the smallest size limit a codec accepts.
fn pointer_cookie_size(name: &str, ring: &KeyRing) -> usize {
    let raw = wire::sealed_len(ring.primary().algorithm, MAX_POINTER_PLAINTEXT_BYTES);
    cookie::pair_size(name, wire::encoded_len(raw))
}

impl fmt::Debug for CodecBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecBuilder")
            .field("config", &self.config)
            .finish()
    }
}
