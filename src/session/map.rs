//! The dynamic map session: string keys, typed values.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::session::Session;

/// Session data as a map from string keys to typed values, each stored as
/// postcard bytes. Use it through [`MapSession`].
///
/// # Security
///
/// `Debug` shows only the number of keys, never keys or values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Map(BTreeMap<String, Vec<u8>>);

/// A session of string keys and typed values, for apps that want
/// `get`/`insert`/`remove` rather than a session struct.
///
/// # Examples
///
/// ```
/// # use sealed_session::{Codec, Key, KeyRing, MapSession, SessionManager};
/// # let codec = Codec::builder(KeyRing::new([Key::generate()])?).build()?;
/// # let manager = SessionManager::with_codec(codec).build()?;
/// let mut session: MapSession = manager.load_sync(&http::HeaderMap::new())?;
/// session.insert("user_id", &42u64)?;
/// assert_eq!(session.get::<u64>("user_id")?, Some(42));
/// # Ok::<(), sealed_session::Error>(())
/// ```
pub type MapSession = Session<Map>;

impl Map {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

impl fmt::Debug for Map {
    /// The number of keys only: never keys or values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Session<Map> {
    /// The value under `key` as a `V`, or `None` when absent. Never marks
    /// the session changed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Undecodable`] when the stored value is not a `V`,
    /// including when a `V` decodes from only a prefix of it.
    pub fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        self.data()
            .0
            .get(key)
            .map(|bytes| match postcard::take_from_bytes(bytes) {
                Ok((value, [])) => Ok(value),
                _ => Err(Error::new(ErrorKind::Undecodable)),
            })
            .transpose()
    }

    /// Sets `key` to `value`. Marks the session changed only when the stored
    /// bytes differ.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when `value` fails to serialize.
    pub fn insert<V: Serialize + ?Sized>(
        &mut self,
        key: impl Into<String>,
        value: &V,
    ) -> Result<(), Error> {
        let bytes = postcard::to_allocvec(value).map_err(|_| Error::new(ErrorKind::Serialize))?;
        let key = key.into();
        if self.data().0.get(&key) != Some(&bytes) {
            self.data_mut().0.insert(key, bytes);
        }
        Ok(())
    }

    /// Removes `key`; returns whether it was present (and only then marks the
    /// session changed).
    pub fn remove(&mut self, key: &str) -> bool {
        if self.data().0.contains_key(key) {
            self.data_mut().0.remove(key);
            true
        } else {
            false
        }
    }

    /// Removes every key (marks the session changed when it had any).
    pub fn clear(&mut self) {
        if !self.data().0.is_empty() {
            self.data_mut().0.clear();
        }
    }
}
