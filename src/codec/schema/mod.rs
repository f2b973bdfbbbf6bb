//! Schema identity: which session type a sealed value was written for.
//!
//! postcard is not self-describing: a value written as
//! `V1 { user_id: u64, display_name: String }` decodes without complaint as
//! `V2 { user_id: u64, role: String }`. So every value this crate seals
//! carries a four-byte [`SchemaId`] in its header, inside the associated
//! data: a value opens only as the schema it was sealed for (or through a
//! migration declared from that schema).

use std::any::TypeId;
use std::cell::RefCell;

use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use self::trace::trace;

mod trace;

use crate::crypto::wire::SCHEMA_ID_BYTES;
pub(crate) use crate::crypto::wire::SchemaId;

impl SchemaId {
    /// The schema id of `T`'s serde shape (see [`SchemaId`] for what the
    /// shape covers). Computed once per type and thread.
    pub fn of<T: DeserializeOwned + 'static>() -> Self {
        let type_id = TypeId::of::<T>();
        let cached = SHAPES.with(|shapes| {
            shapes
                .borrow()
                .iter()
                .find(|(t, _)| *t == type_id)
                .map(|(_, id)| *id)
        });
        if let Some(id) = cached {
            return id;
        }
        let id = Self::digest(b"shape", &trace::<T>());
        SHAPES.with(|shapes| shapes.borrow_mut().push((type_id, id)));
        id
    }

    /// The schema id of an explicit schema name.
    pub fn named(name: &str) -> Self {
        Self::digest(b"name", name.as_bytes())
    }

    fn digest(kind: &[u8], data: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"sealed-session schema ")
            .chain_update(kind)
            .chain_update([0])
            .chain_update(data)
            .finalize();
        let mut id = [0u8; SCHEMA_ID_BYTES];
        id.iter_mut().zip(digest).for_each(|(d, s)| *d = s);
        Self::from_bytes(id)
    }
}

thread_local! {
    /// Shape ids traced on this thread, by type. A program has few session
    /// types, so a scan beats hashing.
    static SHAPES: RefCell<Vec<(TypeId, SchemaId)>> = const { RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests;
