//! The key ring: the first key seals, every key opens.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use zeroize::{Zeroize as _, Zeroizing};

use crate::crypto::algorithm::Algorithm;
use crate::crypto::cipher::Cipher;
use crate::crypto::key::{Key, KeyId};
use crate::error::{Error, ErrorKind};
use crate::limits::MAX_KEYS;

/// An ordered set of keys: the first (primary) key seals, every key opens.
///
/// Each key's cipher object is built here, once, and reused for every call.
/// Cloning a ring is cheap (it is reference-counted).
///
/// # Key rotation
///
/// 1. Generate a new key and add it as the **second** key on every server;
///    servers still seal with the old key and now open values of both.
/// 2. Once every server has the new key, promote it to **first** on every
///    server. Values opened with the old key are re-sealed with the new one as
///    users return.
/// 3. After the longest session lifetime (the absolute timeout) has passed,
///    drop the old key. Any value it sealed has expired by then.
///
/// # Examples
///
/// ```
/// use sealed_session::{Key, KeyRing};
///
/// let (new, old) = (Key::generate(), Key::generate());
/// let ring = KeyRing::new([new.clone(), old.clone()])?;
/// assert_eq!(ring.primary_id(), new.id());
/// assert!(ring.contains(old.id()));
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

struct Inner {
    primary: Entry,
    older: Vec<Entry>,
}

pub(crate) struct Entry {
    pub(crate) id: KeyId,
    pub(crate) algorithm: Algorithm,
    pub(crate) cipher: Cipher,
    /// The HMAC key of CSRF tokens (`crypto::csrf`); wiped on drop.
    pub(crate) csrf_key: Zeroizing<[u8; 32]>,
}

impl KeyRing {
    /// A ring of `keys`, the first of which seals.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyKeyRing`] for no keys, [`ErrorKind::TooManyKeys`] for
    /// more than [`MAX_KEYS`], [`ErrorKind::DuplicateKeyId`] when two keys
    /// share an id (the same key material given twice).
    pub fn new<I>(keys: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = Key>,
    {
        Self::build(keys.into_iter())
    }

    /// [`KeyRing::new`] over owned or borrowed keys: borrowing lets a caller
    /// that holds the keys in a `Vec` drop them in place, where they wipe
    /// themselves (moving a key out of a `Vec` leaves its bytes in the freed
    /// buffer).
    fn build<K: Borrow<Key>>(mut keys: impl Iterator<Item = K>) -> Result<Self, Error> {
        let mut entries: Vec<Entry> = Vec::new();
        for key in keys.by_ref() {
            let key = key.borrow();
            let id = key.id();
            if entries.iter().any(|e| e.id == id) {
                return Err(Error::new(ErrorKind::DuplicateKeyId));
            }
            entries.push(Entry {
                id,
                algorithm: key.algorithm(),
                cipher: Cipher::new(key.algorithm(), &key.aead_key()),
                csrf_key: key.csrf_key(),
            });
            if entries.len() > MAX_KEYS {
                // Report every key given, not just the first one too many.
                return Err(Error::new(ErrorKind::TooManyKeys {
                    count: entries.len() + keys.count(),
                }));
            }
        }
        let mut entries = entries.into_iter();
        let primary = entries
            .next()
            .ok_or_else(|| Error::new(ErrorKind::EmptyKeyRing))?;
        Ok(Self {
            inner: Arc::new(Inner {
                primary,
                older: entries.collect(),
            }),
        })
    }

    /// A ring from comma-separated keys, primary first, each as
    /// [`Key::parse`] reads them (`[algorithm:]base64`). Blank entries are
    /// ignored.
    ///
    /// # Errors
    ///
    /// As [`Key::parse`] for each key, then as [`KeyRing::new`].
    pub fn from_key_strings(list: &str) -> Result<Self, Error> {
        let entries = || list.split(',').filter(|s| !s.trim().is_empty());
        // Sized up front so the Vec never reallocates (a reallocation would
        // leave copies of the keys parsed so far in the freed buffer); on an
        // error, the keys already parsed are dropped in place and wipe
        // themselves.
        let mut keys = Vec::with_capacity(entries().count());
        for entry in entries() {
            keys.push(Key::parse(entry)?);
        }
        Self::build(keys.iter())
    }

    /// A ring from the environment variable `name`, holding comma-separated
    /// keys as [`KeyRing::from_key_strings`] reads them, primary first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingEnvVar`] when the variable is unset or not
    /// Unicode, otherwise as [`KeyRing::from_key_strings`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let ring = sealed_session::KeyRing::from_env("SESSION_KEYS")?;
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn from_env(name: &str) -> Result<Self, Error> {
        let missing = || Error::about(ErrorKind::MissingEnvVar, name);
        // Not `std::env::var`: when the value is not Unicode it drops the
        // raw value (the key list) without wiping it.
        let value = match std::env::var_os(name).ok_or_else(missing)?.into_string() {
            Ok(value) => Zeroizing::new(value),
            Err(raw) => {
                raw.into_encoded_bytes().zeroize();
                return Err(missing());
            }
        };
        Self::from_key_strings(&value)
    }

    /// The id of the key that seals.
    pub fn primary_id(&self) -> KeyId {
        self.primary().id
    }

    /// The algorithm of the key that seals.
    pub fn primary_algorithm(&self) -> Algorithm {
        self.primary().algorithm
    }

    /// The ids of every key, primary first.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.entries().map(|e| e.id)
    }

    /// Whether the ring holds a key with this id.
    pub fn contains(&self, id: KeyId) -> bool {
        self.entries().any(|e| e.id == id)
    }

    /// Number of keys in the ring.
    pub fn len(&self) -> usize {
        1 + self.inner.older.len()
    }

    /// Always false: a ring holds at least one key.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        std::iter::once(&self.inner.primary).chain(self.inner.older.iter())
    }

    /// The key with this id, whatever its algorithm.
    pub(crate) fn find_id(&self, id: KeyId) -> Option<&Entry> {
        self.entries().find(|e| e.id == id)
    }

    pub(crate) fn primary(&self) -> &Entry {
        &self.inner.primary
    }

    /// The key with this id and algorithm, and whether it is the primary.
    /// A compare of four-byte ids per key, no cryptography.
    pub(crate) fn find(&self, algorithm: Algorithm, id: KeyId) -> Option<(&Entry, bool)> {
        let primary = &self.inner.primary;
        let found = if primary.id == id {
            Some((primary, true))
        } else {
            self.inner
                .older
                .iter()
                .find(|e| e.id == id)
                .map(|e| (e, false))
        };
        found.filter(|(e, _)| e.algorithm == algorithm)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field(
                "keys",
                &self
                    .entries()
                    .map(|e| (e.id, e.algorithm))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn kind(result: Result<KeyRing, Error>) -> Option<ErrorKind> {
        result.err().map(|e| e.kind())
    }

    #[test]
    fn from_key_strings_parses_every_key_before_building_the_ring() {
        let good = Key::generate().to_key_string();
        // A duplicate before a malformed key: the malformed key is reported,
        // as when the list was collected before the ring was built.
        let list = format!("{good},{good},not base64!");
        assert_eq!(
            kind(KeyRing::from_key_strings(&list)),
            Some(ErrorKind::KeyEncoding)
        );
        assert_eq!(
            kind(KeyRing::from_key_strings(&format!("{good}, ,{good}"))),
            Some(ErrorKind::DuplicateKeyId)
        );
        let other = Key::generate();
        let ring = KeyRing::from_key_strings(&format!(" {good} ,,{}", other.to_key_string()));
        assert_eq!(
            ring.map(|r| (r.len(), r.contains(other.id()))).ok(),
            Some((2, true))
        );
    }

    #[test]
    fn contains_exactly_its_keys_and_is_never_empty() {
        let (a, b, stranger) = (Key::generate(), Key::generate(), Key::generate());
        let ring = KeyRing::new([a.clone(), b.clone()]).ok();
        let answers = ring.map(|r| {
            (
                r.contains(a.id()),
                r.contains(b.id()),
                r.contains(stranger.id()),
                r.is_empty(),
            )
        });
        assert_eq!(answers, Some((true, true, false, false)));
    }

    #[test]
    fn from_env_without_the_variable_is_missing_env_var() {
        assert_eq!(
            kind(KeyRing::from_env("SEALED_SESSION_RING_TEST_UNSET_VARIABLE")),
            Some(ErrorKind::MissingEnvVar)
        );
        let err = KeyRing::from_env("SEALED_SESSION_RING_TEST_UNSET_VARIABLE").unwrap_err();
        assert_eq!(
            err.to_string(),
            "key environment variable SEALED_SESSION_RING_TEST_UNSET_VARIABLE is not set or \
             not unicode"
        );
    }
}
