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
use std::fmt;

use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use self::trace::trace;

mod trace;

/// Bytes of a schema id.
pub(crate) const SCHEMA_ID_BYTES: usize = 4;

/// Which session schema a sealed value was written for: four bytes in the
/// value's (authenticated) header.
///
/// A type's schema id is, by default, a digest of its *serde shape*: the
/// container, field and variant names and the primitive types that its
/// `Deserialize` implementation asks for, traced once per type and thread.
/// It depends only on the type's definition (what `#[derive(Deserialize)]`
/// generates from the source), so it survives compiler upgrades, restarts
/// and moving the type to another module, and it changes when the type is
/// renamed or a field is added, removed, renamed, reordered or changes
/// primitive type. Where a
/// change keeps the shape but changes the meaning (a `role` that now grants
/// more), or where the trace cannot see the change (below), name the schema
/// explicitly with [`CodecBuilder::schema`](crate::CodecBuilder::schema):
/// one line, and the name is the identity.
///
/// The trace covers nested structs, tuples, options, the element type of
/// sequences and maps, and every variant name of an enum, but only the
/// *contents* of an enum's first variant, and nothing behind a type that
/// deserializes through `deserialize_any` (self-describing values such as
/// `serde_json::Value`, untagged enums) or past 16 levels of nesting.
///
/// # Security
///
/// The id is four bytes: two of an application's own session types share
/// one with probability about n²/2³³ for n types (one in 10⁸ for ten).
/// It is a label the server chose, authenticated by the AEAD, not a secret
/// and not something a client can choose; a codec refuses migrations whose
/// ids collide.
///
/// # Examples
///
/// ```
/// use sealed_session::SchemaId;
/// # #[derive(serde::Deserialize)]
/// # struct V1 { user_id: u64, display_name: String }
/// # #[derive(serde::Deserialize)]
/// # struct V2 { user_id: u64, role: String }
///
/// // Same wire shape, different schema.
/// assert_ne!(SchemaId::of::<V1>(), SchemaId::of::<V2>());
/// assert_eq!(SchemaId::named("cart/2"), SchemaId::named("cart/2"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaId([u8; SCHEMA_ID_BYTES]);

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
        Self(id)
    }

    /// The four bytes, as they appear in a sealed value's header.
    pub fn to_bytes(self) -> [u8; SCHEMA_ID_BYTES] {
        self.0
    }

    /// A schema id from its four header bytes.
    pub fn from_bytes(bytes: [u8; SCHEMA_ID_BYTES]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for SchemaId {
    /// Eight lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemaId({self})")
    }
}

thread_local! {
    /// Shape ids traced on this thread, by type. A program has few session
    /// types, so a scan beats hashing.
    static SHAPES: RefCell<Vec<(TypeId, SchemaId)>> = const { RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests;
