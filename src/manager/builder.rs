//! Configuration of a [`SessionManager`]: the validating builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::Store;
use super::headers::{Attributes, SameSite};
use super::{Inner, SessionManager};
use crate::codec::cookie;
use crate::codec::{Codec, CodecBuilder};
use crate::crypto::ring::KeyRing;
use crate::error::{Error, ErrorKind};
use crate::limits::{DEFAULT_MAX_STORED_BYTES, DEFAULT_RENEWAL_THRESHOLD};
use crate::revocation::Registry;

/// What to do when a session no longer fits in a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// Seal it into the store and put a sealed pointer in the cookie (the
    /// default when the manager has a store).
    Store,
    /// Fail the save with [`ErrorKind::TooLarge`] (the default without a
    /// store).
    Error,
}

/// Configures a [`SessionManager`]; [`SessionManagerBuilder::build`] checks
/// the whole configuration (the codec's settings and the cookie's
/// attributes together) and reports the first conflict.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sealed_session::{Key, KeyRing, SessionManager};
///
/// // In production, load keys from a secret store: `KeyRing::from_env`.
/// let manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .build()?;
/// assert_eq!(manager.codec().cookie_name(), "__Host-session");
///
/// // Conflicts are caught at the one `build()`: a `__Host-` cookie needs
/// // `Secure`.
/// let err = SessionManager::builder(KeyRing::new([Key::generate()])?)
///     .secure(false)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.kind(), sealed_session::ErrorKind::CookiePrefix);
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[must_use]
pub struct SessionManagerBuilder {
    codec: CodecStage,
    attributes: Attributes,
    renewal_threshold: f64,
    overflow: Option<Overflow>,
    store: Option<Arc<dyn Store>>,
    max_stored_bytes: usize,
    registry: Option<Registry>,
    clear_invalid_cookies: bool,
    optimistic_concurrency: bool,
}

/// The codec: still being configured (from [`SessionManager::builder`]),
/// or given ready-made ([`SessionManager::with_codec`]).
enum CodecStage {
    Building(CodecBuilder),
    Built(Codec),
    /// A codec setting was given for a ready-made codec.
    Conflict,
}

impl SessionManagerBuilder {
    fn codec_setting(mut self, f: impl FnOnce(CodecBuilder) -> CodecBuilder) -> Self {
        self.codec = match self.codec {
            CodecStage::Building(b) => CodecStage::Building(f(b)),
            CodecStage::Built(_) | CodecStage::Conflict => CodecStage::Conflict,
        };
        self
    }

    /// The cookie name (default `__Host-session`); see
    /// [`CodecBuilder::cookie_name`].
    pub fn cookie_name(self, name: impl Into<String>) -> Self {
        self.codec_setting(|b| b.cookie_name(name))
    }

    /// The most bytes of cookie `name=value` to emit (default 4096); see
    /// [`CodecBuilder::size_limit`].
    pub fn size_limit(self, bytes: usize) -> Self {
        self.codec_setting(|b| b.size_limit(bytes))
    }

    /// How long a session lives without being renewed (default one day);
    /// see [`CodecBuilder::idle_timeout`].
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.codec_setting(|b| b.idle_timeout(timeout))
    }

    /// How long a session lives after it was issued (default fourteen
    /// days); see [`CodecBuilder::absolute_timeout`].
    pub fn absolute_timeout(self, timeout: Duration) -> Self {
        self.codec_setting(|b| b.absolute_timeout(timeout))
    }

    /// The longest timeouts a session's own [`Expiry`](crate::Expiry) may
    /// have ("remember me"); see [`CodecBuilder::expiry_limits`].
    pub fn expiry_limits(self, max_idle: Duration, max_absolute: Duration) -> Self {
        self.codec_setting(|b| b.expiry_limits(max_idle, max_absolute))
    }

    /// Names `T`'s schema explicitly; see [`CodecBuilder::schema`].
    pub fn schema<T: 'static>(self, name: &str) -> Self {
        self.codec_setting(|b| b.schema::<T>(name))
    }

    /// Declares a migration from an old session type; see
    /// [`CodecBuilder::migrate`].
    pub fn migrate<Old, New>(self, f: impl Fn(Old) -> New + Send + Sync + 'static) -> Self
    where
        Old: DeserializeOwned + 'static,
        New: DeserializeOwned + 'static,
    {
        self.codec_setting(|b| b.migrate(f))
    }

    /// Whether to open values in wire format version 1; see
    /// [`CodecBuilder::open_legacy_v1`].
    pub fn open_legacy_v1(self, open: bool) -> Self {
        self.codec_setting(|b| b.open_legacy_v1(open))
    }

    /// A revocation registry (default none: no revocation, no lookup): a
    /// destroyed or regenerated session's old cookie stops opening, and
    /// [`Registry::revoke_subject`] signs a subject out everywhere. See
    /// [`revocation`](crate::revocation).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Whether a request whose session cookie was present but unusable
    /// (tampered or sealed by a retired key, expired, of another session
    /// type, pointing at a vanished store entry, or revoked) gets a removal
    /// cookie in the response, so the browser stops sending it (default
    /// `true`). Only when the handler does not write a new session anyway,
    /// and never for a cookie that may still be good: not when the
    /// request's cookies were over the caps
    /// ([`FreshReason::HeaderTooLarge`](crate::FreshReason::HeaderTooLarge))
    /// nor while a shared revocation registry cannot vouch for it
    /// ([`FreshReason::RevocationUnverified`](crate::FreshReason::RevocationUnverified)).
    /// The save reports [`Saved::Cleared`](crate::Saved::Cleared).
    pub fn clear_invalid_cookies(mut self, clear: bool) -> Self {
        self.clear_invalid_cookies = clear;
        self
    }

    /// Whether a stored session's write checks that no other request
    /// changed it since this one loaded it (default `false`: the last
    /// writer wins, as in express-session and tower-sessions).
    ///
    /// On, a write that replaces a stored session's value is a
    /// compare-and-save ([`Store::compare_and_save`]) against the sealed
    /// bytes the request loaded, and fails with
    /// [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) when another
    /// request wrote (or ended) the session in between; the application
    /// reloads and retries, or tells the user. A renewal or re-seal that
    /// meets a conflict is skipped instead (`Saved::Kept`). It costs a copy
    /// of the stored value per request that loads one. Not covered: sessions
    /// held in the cookie (each response carries the whole session, and the
    /// browser keeps the last one it receives), a session moving from the
    /// store back into its cookie, and a regeneration (new entry).
    ///
    /// # Examples
    ///
    /// Two requests load one stored cart; the first save wins, the second
    /// is told:
    ///
    /// ```
    /// # #[cfg(feature = "memory")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use http::HeaderMap;
    /// use sealed_session::store::MemoryStore;
    /// use sealed_session::{ErrorKind, Key, KeyRing, Session, SessionManager};
    ///
    /// let manager = SessionManager::builder(KeyRing::new([Key::generate()])?)
    ///     .store(Arc::new(MemoryStore::new()))
    ///     .optimistic_concurrency(true)
    ///     .build()?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// runtime.block_on(async {
    ///     // A cart too large for a cookie lives in the store.
    ///     let mut cart: Session<Vec<u8>> = manager.load(&HeaderMap::new()).await?;
    ///     cart.set(vec![1; 5000]);
    ///     let mut response = HeaderMap::new();
    ///     manager.save(&mut cart, &mut response).await?;
    ///     let mut request = HeaderMap::new();
    ///     let pair = response["set-cookie"].to_str()?.split(';').next().unwrap_or_default();
    ///     request.insert("cookie", pair.parse()?);
    ///
    ///     let mut first: Session<Vec<u8>> = manager.load(&request).await?;
    ///     let mut second: Session<Vec<u8>> = manager.load(&request).await?;
    ///     first.data_mut().push(2);
    ///     second.data_mut().push(3);
    ///     manager.save(&mut first, &mut HeaderMap::new()).await?;
    ///     let err = manager.save(&mut second, &mut HeaderMap::new()).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::Conflict);
    ///     Ok(())
    /// })
    /// # }
    /// # #[cfg(not(feature = "memory"))]
    /// # fn main() {}
    /// ```
    pub fn optimistic_concurrency(mut self, on: bool) -> Self {
        self.optimistic_concurrency = on;
        self
    }

    /// The store sessions spill into when they outgrow the cookie. Without
    /// one, an oversized session is a [`ErrorKind::TooLarge`] error.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// What to do with a session too large for a cookie (default:
    /// [`Overflow::Store`] with a store, [`Overflow::Error`] without).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }

    /// The most bytes of one sealed session in the store (default
    /// [`DEFAULT_MAX_STORED_BYTES`], 1 MiB). A cookie bounds a session by
    /// what the browser keeps; this bounds the ones that spill. A larger
    /// session fails to save with [`ErrorKind::TooLarge`].
    pub fn max_stored_bytes(mut self, bytes: usize) -> Self {
        self.max_stored_bytes = bytes;
        self
    }

    /// Renew the idle deadline (and so write a cookie) only once this
    /// fraction of the session's idle timeout has passed since the last
    /// renewal (default 0.5): its own
    /// ([`Session::set_expiry`](crate::Session::set_expiry)) or else the
    /// codec's, so a session with a short idle timeout of its own is renewed
    /// in time. 0.0 renews on every request. [`build`](Self::build)
    /// rejects a value outside 0.0..=1.0, and NaN.
    pub fn renewal_threshold(mut self, fraction: f64) -> Self {
        self.renewal_threshold = fraction;
        self
    }

    /// The `Path` attribute (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.attributes.path = path.into();
        self
    }

    /// The `Domain` attribute (default none: host-only).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.attributes.domain = Some(domain.into());
        self
    }

    /// The `Secure` attribute (default on). Turn it off only for plain-HTTP
    /// development servers.
    pub fn secure(mut self, secure: bool) -> Self {
        self.attributes.secure = secure;
        self
    }

    /// The `HttpOnly` attribute (default on).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.attributes.http_only = http_only;
        self
    }

    /// The `SameSite` attribute (default [`SameSite::Lax`]).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.attributes.same_site = same_site;
        self
    }

    /// The `Partitioned` attribute (CHIPS; default off; needs `Secure`).
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.attributes.partitioned = partitioned;
        self
    }

    /// Whether cookies carry `Max-Age` up to the session's next deadline
    /// (default on). Off makes browser-session cookies; the server-side
    /// timeouts hold either way. A session's own
    /// [`Expiry`](crate::Expiry) overrides it for that session.
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.attributes.persistent = persistent;
        self
    }

    /// Checks the configuration and builds the manager.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidCookieAttribute`] for a bad path or domain,
    /// [`ErrorKind::CookiePrefix`] for a `__Host-` name without `Secure`,
    /// with a path other than `/` or a domain (or a `__Secure-` name without
    /// `Secure`); prefixes are matched ASCII case-insensitively, as browsers
    /// match them, [`ErrorKind::InsecureAttributes`] for `SameSite=None` or
    /// `Partitioned` without `Secure`, [`ErrorKind::InvalidRenewalThreshold`]
    /// for a threshold outside 0.0..=1.0 or NaN,
    /// [`ErrorKind::RenewalOverflow`] when the threshold's share of the idle
    /// timeout does not fit in a [`Duration`], and
    /// [`ErrorKind::OverflowNeedsStore`].
    pub fn build(self) -> Result<SessionManager, Error> {
        let codec = match self.codec {
            CodecStage::Building(b) => b.build()?,
            CodecStage::Built(codec) => codec,
            CodecStage::Conflict => return Err(Error::new(ErrorKind::CodecAlreadyBuilt)),
        };
        let a = &self.attributes;
        let attribute_ok = cookie::is_attribute_value(&a.path)
            && a.domain.as_deref().is_none_or(cookie::is_attribute_value);
        if !attribute_ok {
            return Err(Error::new(ErrorKind::InvalidCookieAttribute));
        }
        if !cookie::prefix_allows(codec.cookie_name(), a.secure, &a.path, a.domain.as_deref()) {
            return Err(Error::new(ErrorKind::CookiePrefix));
        }
        if !a.secure && (a.same_site == SameSite::None || a.partitioned) {
            return Err(Error::new(ErrorKind::InsecureAttributes));
        }
        if !(0.0..=1.0).contains(&self.renewal_threshold) {
            return Err(Error::new(ErrorKind::InvalidRenewalThreshold));
        }
        let overflow = self.overflow.unwrap_or(if self.store.is_some() {
            Overflow::Store
        } else {
            Overflow::Error
        });
        if overflow == Overflow::Store && self.store.is_none() {
            return Err(Error::new(ErrorKind::OverflowNeedsStore));
        }
        // Not `Duration::mul_f64`: it panics when the product overflows (an
        // idle timeout near `Duration::MAX` with a threshold near 1).
        let renew_after = Duration::try_from_secs_f64(
            codec.idle_timeout().as_secs_f64() * self.renewal_threshold,
        )
        .map_err(|_| Error::new(ErrorKind::RenewalOverflow))?;
        Ok(SessionManager {
            inner: Arc::new(Inner {
                codec,
                attributes: self.attributes,
                renew_after,
                renewal_threshold: self.renewal_threshold,
                overflow,
                store: self.store.map(crate::observe::wrap_store),
                max_stored_bytes: self.max_stored_bytes,
                registry: self.registry,
                clear_invalid_cookies: self.clear_invalid_cookies,
                optimistic_concurrency: self.optimistic_concurrency,
            }),
        })
    }
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field(
                "codec",
                &match &self.codec {
                    CodecStage::Building(b) => format!("{b:?}"),
                    CodecStage::Built(c) => format!("{c:?}"),
                    CodecStage::Conflict => "conflict".to_owned(),
                },
            )
            .field("attributes", &self.attributes)
            .field("renewal_threshold", &self.renewal_threshold)
            .field("overflow", &self.overflow)
            .field("store", &self.store)
            .field("max_stored_bytes", &self.max_stored_bytes)
            .field("registry", &self.registry)
            .field("clear_invalid_cookies", &self.clear_invalid_cookies)
            .finish()
    }
}

impl SessionManager {
    /// A builder over `ring`, for the whole configuration in one place:
    /// the codec's settings (cookie name, timeouts, size limit, schemas)
    /// and the cookie's attributes, with secure defaults: the name
    /// `__Host-session`, `HttpOnly; Secure; SameSite=Lax; Path=/`,
    /// `Max-Age` from the timeouts, renewal after half the idle timeout, no
    /// store.
    pub fn builder(ring: KeyRing) -> SessionManagerBuilder {
        Self::builder_over(CodecStage::Building(Codec::builder(ring)))
    }

    /// A builder over a codec built separately (with [`Codec::builder`]),
    /// with the same defaults as [`SessionManager::builder`]. Codec
    /// settings given to this builder are an error at `build()`
    /// ([`ErrorKind::CodecAlreadyBuilt`]).
    pub fn with_codec(codec: Codec) -> SessionManagerBuilder {
        Self::builder_over(CodecStage::Built(codec))
    }

    fn builder_over(codec: CodecStage) -> SessionManagerBuilder {
        SessionManagerBuilder {
            codec,
            attributes: Attributes::default(),
            renewal_threshold: DEFAULT_RENEWAL_THRESHOLD,
            overflow: None,
            store: None,
            max_stored_bytes: DEFAULT_MAX_STORED_BYTES,
            registry: None,
            clear_invalid_cookies: true,
            optimistic_concurrency: false,
        }
    }
}
