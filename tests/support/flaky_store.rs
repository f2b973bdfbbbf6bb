//! A store that fails on demand, shared by the session tests
//! (`tests/session/`) and the tower layer's (`tests/tower.rs`), each of
//! which includes this file with `#[path]`.
//!
//! Entries live in a map and honour their deadlines on the real clock; every
//! future is ready at once (the tower tests poll with a no-op waker). While
//! the store is down every call fails with [`ErrorKind::Store`] and the
//! source error "injected store failure". It counts its `load` calls
//! ([`FlakyStore::loads`]), so a test can show a request read nothing.
//!
//! It needs no crate feature, so both binaries build without `memory`.
//!
//! [`ErrorKind::Store`]: sealed_session::ErrorKind::Store

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

use sealed_session::Error;
use sealed_session::store::{Store, StoreFuture, StoreId};

/// The source error of every failure the store injects.
pub(crate) const INJECTED: &str = "injected store failure";

/// A map store behind a switch: [`FlakyStore::set_down`].
#[derive(Debug, Default)]
pub(crate) struct FlakyStore {
    entries: Mutex<HashMap<StoreId, (Vec<u8>, SystemTime)>>,
    down: AtomicBool,
    loads: AtomicUsize,
}

impl FlakyStore {
    /// Makes every later call fail (`true`) or work (`false`).
    pub(crate) fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many times `load` was called (failed calls included).
    pub(crate) fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// The ids of the live entries.
    pub(crate) fn ids(&self) -> HashSet<StoreId> {
        let now = SystemTime::now();
        let entries = self.entries.lock().unwrap();
        entries
            .iter()
            .filter(|(_, (_, expires_at))| *expires_at > now)
            .map(|(id, _)| *id)
            .collect()
    }

    /// How many live entries the store holds.
    pub(crate) fn len(&self) -> usize {
        self.ids().len()
    }

    /// `ok()`'s result as a ready future, or the injected failure while the
    /// store is down.
    fn answer<R: Send + 'static>(&self, ok: impl FnOnce() -> R) -> StoreFuture<'_, R> {
        let result = if self.down.load(Ordering::SeqCst) {
            Err(Error::store(io::Error::other(INJECTED)))
        } else {
            Ok(ok())
        };
        Box::pin(std::future::ready(result))
    }
}

impl Store for FlakyStore {
    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        self.answer(|| {
            let mut entries = self.entries.lock().unwrap();
            let now = SystemTime::now();
            if entries.get(id).is_some_and(|(_, until)| *until > now) {
                return false;
            }
            entries.insert(*id, (value.to_vec(), expires_at));
            true
        })
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.answer(|| {
            let now = SystemTime::now();
            let entries = self.entries.lock().unwrap();
            entries
                .get(id)
                .filter(|(_, until)| *until > now)
                .map(|(value, _)| value.clone())
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        self.answer(|| {
            let mut entries = self.entries.lock().unwrap();
            entries.insert(*id, (value.to_vec(), expires_at));
        })
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        self.answer(|| {
            self.entries.lock().unwrap().remove(id);
        })
    }
}
