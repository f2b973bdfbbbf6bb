//! Flash messages: a value shown on the next request only.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::session::Session;
use crate::session::map::Map;

/// A message for the next request only (the post/redirect/get pattern: a
/// handler that changes something sets "Saved", redirects, and the page the
/// browser then loads shows it once). A field of a typed session; set it
/// through [`Session::data_mut`], take it with [`Flash::take`], which marks
/// the session changed only when there was a message, so a page without
/// one writes no cookie.
///
/// # Examples
///
/// ```
/// use http::HeaderMap;
/// use sealed_session::{Flash, Key, KeyRing, Session, SessionManager};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct App {
///     notice: Flash<String>,
/// }
///
/// # fn main() -> Result<(), sealed_session::Error> {
/// let manager = SessionManager::builder(KeyRing::new([Key::generate()])?).build()?;
/// // POST /settings: save, set the notice, redirect.
/// let mut session: Session<App> = manager.load_sync(&HeaderMap::new())?;
/// session.data_mut().notice.set("Settings saved".to_owned());
/// let mut response = HeaderMap::new();
/// manager.save_sync(&mut session, &mut response)?;
/// # let pair = response["set-cookie"].to_str().unwrap_or_default().split(';').next().unwrap_or_default();
/// # let mut request = HeaderMap::new();
/// # request.insert("cookie", pair.parse().map_err(|_| sealed_session::ErrorKind::Rejected)?);
///
/// // GET /settings (the redirect): shown once.
/// let mut session: Session<App> = manager.load_sync(&request)?;
/// assert_eq!(Flash::take(&mut session, |s| &mut s.notice).as_deref(), Some("Settings saved"));
/// assert_eq!(Flash::take(&mut session, |s| &mut s.notice), None);
/// # Ok(())
/// # }
/// ```
///
/// # Security
///
/// `Debug` says whether a message is set, never the message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Flash<M>(Option<M>);

impl<M> Default for Flash<M> {
    fn default() -> Self {
        Self(None)
    }
}

impl<M> Flash<M> {
    /// No message.
    pub const fn new() -> Self {
        Self(None)
    }

    /// Sets the message for the next request (replacing one not yet
    /// shown).
    pub fn set(&mut self, message: M) {
        self.0 = Some(message);
    }

    /// The message, without taking it.
    pub fn peek(&self) -> Option<&M> {
        self.0.as_ref()
    }

    /// Whether a message is waiting.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Takes the message from the flash `field` of `session`: it is gone
    /// once the session is saved. Marks the session changed only when there
    /// was a message.
    pub fn take<T>(session: &mut Session<T>, field: impl FnOnce(&mut T) -> &mut Self) -> Option<M> {
        let taken = field(session.data_unmarked()).0.take();
        if taken.is_some() {
            session.mark_changed();
        }
        taken
    }
}

impl<M> fmt::Debug for Flash<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flash")
            .field("set", &self.is_set())
            .finish()
    }
}

/// The map key a flash message named `name` is kept under: a prefix no
/// application key starts with (a NUL byte), so flashes never collide with
/// data.
fn flash_key(name: &str) -> String {
    format!("\u{0}flash:{name}")
}

impl Session<Map> {
    /// Sets the flash message `name` for the next request (see [`Flash`]
    /// for the pattern); marks the session changed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`](crate::ErrorKind::Serialize) when `value`
    /// fails to serialize.
    pub fn insert_flash<V: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &V,
    ) -> Result<(), Error> {
        self.insert(flash_key(name), value)
    }

    /// Takes the flash message `name`: gone once the session is saved.
    /// Marks the session changed only when there was one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Undecodable`](crate::ErrorKind::Undecodable) when the
    /// message is not a `V` (it is removed all the same).
    pub fn take_flash<V: DeserializeOwned>(&mut self, name: &str) -> Result<Option<V>, Error> {
        let key = flash_key(name);
        let value = self.get(&key);
        self.remove(&key);
        value
    }
}
