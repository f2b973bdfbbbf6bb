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

use serde::de::value::U32Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};
use sha2::{Digest as _, Sha256};

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

/// Deepest nesting the trace follows.
const MAX_DEPTH: usize = 16;

/// Most bytes of trace kept; a wider type stops the trace there.
const MAX_TRACE_BYTES: usize = 16 * 1024;

/// The shape events `T`'s `Deserialize` asks for, as bytes. Deterministic
/// for a type definition: a trace that stops early (an unsupported or
/// validating type, the depth or size bound) stops at the same place every
/// time.
fn trace<T: DeserializeOwned>() -> Vec<u8> {
    let mut out = Vec::new();
    // The value is a stand-in made of defaults; only the events matter, and
    // a trace cut short (`Err`) is as deterministic as a finished one.
    let _ = T::deserialize(Tracer {
        out: &mut out,
        depth: 0,
    });
    out
}

/// Stops a trace.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("schema trace stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Stop
    }
}

/// A deserializer that records what it is asked for and answers with
/// defaults.
struct Tracer<'t> {
    out: &'t mut Vec<u8>,
    depth: usize,
}

impl Tracer<'_> {
    fn event(&mut self, parts: &[&[u8]]) -> Result<(), Stop> {
        for part in parts {
            self.out.extend_from_slice(part);
            self.out.push(0);
        }
        self.out.push(b'\n');
        if self.out.len() > MAX_TRACE_BYTES {
            return Err(Stop);
        }
        Ok(())
    }

    fn deeper(&mut self) -> Result<Tracer<'_>, Stop> {
        if self.depth >= MAX_DEPTH {
            self.event(&[b"deep"])?;
            return Err(Stop);
        }
        Ok(Tracer {
            out: self.out,
            depth: self.depth + 1,
        })
    }
}

macro_rules! primitive {
    ($($method:ident => $tag:literal, $visit:ident($($value:expr)?);)*) => {$(
        fn $method<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
            self.event(&[$tag])?;
            visitor.$visit($($value)?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Tracer<'_> {
    type Error = Stop;

    primitive! {
        deserialize_bool => b"bool", visit_bool(false);
        deserialize_i8 => b"i8", visit_i8(0);
        deserialize_i16 => b"i16", visit_i16(0);
        deserialize_i32 => b"i32", visit_i32(0);
        deserialize_i64 => b"i64", visit_i64(0);
        deserialize_i128 => b"i128", visit_i128(0);
        deserialize_u8 => b"u8", visit_u8(0);
        deserialize_u16 => b"u16", visit_u16(0);
        deserialize_u32 => b"u32", visit_u32(0);
        deserialize_u64 => b"u64", visit_u64(0);
        deserialize_u128 => b"u128", visit_u128(0);
        deserialize_f32 => b"f32", visit_f32(0.0);
        deserialize_f64 => b"f64", visit_f64(0.0);
        deserialize_char => b"char", visit_char('\0');
        deserialize_str => b"str", visit_str("");
        deserialize_string => b"str", visit_str("");
        deserialize_bytes => b"bytes", visit_bytes(&[]);
        deserialize_byte_buf => b"bytes", visit_bytes(&[]);
        deserialize_unit => b"unit", visit_unit();
        deserialize_identifier => b"identifier", visit_u32(0);
        deserialize_ignored_any => b"ignored", visit_unit();
    }

    fn deserialize_any<V: Visitor<'de>>(mut self, _: V) -> Result<V::Value, Stop> {
        self.event(&[b"any"])?;
        Err(Stop)
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"option"])?;
        if self.depth >= MAX_DEPTH {
            return visitor.visit_none();
        }
        visitor.visit_some(self.deeper()?)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"unit struct", name.as_bytes()])?;
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"newtype struct", name.as_bytes()])?;
        visitor.visit_newtype_struct(self.deeper()?)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"seq"])?;
        let remaining = usize::from(self.depth < MAX_DEPTH);
        visitor.visit_seq(Elements {
            tracer: self,
            remaining,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        mut self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"tuple", len.to_string().as_bytes()])?;
        visitor.visit_seq(Elements {
            tracer: self,
            remaining: len,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"tuple struct", name.as_bytes(), len.to_string().as_bytes()])?;
        visitor.visit_seq(Elements {
            tracer: self,
            remaining: len,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"map"])?;
        let remaining = usize::from(self.depth < MAX_DEPTH);
        visitor.visit_map(Entries {
            tracer: self,
            remaining,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"struct", name.as_bytes()])?;
        for field in fields {
            self.event(&[b"field", field.as_bytes()])?;
        }
        visitor.visit_seq(Elements {
            tracer: self,
            remaining: fields.len(),
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"enum", name.as_bytes()])?;
        for variant in variants {
            self.event(&[b"variant", variant.as_bytes()])?;
        }
        visitor.visit_enum(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The elements of a sequence, tuple or struct.
struct Elements<'t> {
    tracer: Tracer<'t>,
    remaining: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_> {
    type Error = Stop;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Stop> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(self.tracer.deeper()?).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

/// One entry of a map, to trace its key and value types.
struct Entries<'t> {
    tracer: Tracer<'t>,
    remaining: usize,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(self.tracer.deeper()?).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Stop> {
        seed.deserialize(self.tracer.deeper()?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

impl<'de> de::EnumAccess<'de> for Tracer<'_> {
    type Error = Stop;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Stop> {
        let variant = seed.deserialize(U32Deserializer::<Stop>::new(0))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Tracer<'_> {
    type Error = Stop;

    fn unit_variant(mut self) -> Result<(), Stop> {
        self.event(&[b"unit variant"])
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(mut self, seed: S) -> Result<S::Value, Stop> {
        self.event(&[b"newtype variant"])?;
        seed.deserialize(self.deeper()?)
    }

    fn tuple_variant<V: Visitor<'de>>(mut self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"tuple variant", len.to_string().as_bytes()])?;
        visitor.visit_seq(Elements {
            tracer: self,
            remaining: len,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        mut self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"struct variant"])?;
        for field in fields {
            self.event(&[b"field", field.as_bytes()])?;
        }
        visitor.visit_seq(Elements {
            tracer: self,
            remaining: fields.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, dead_code)]

    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct V1 {
        user_id: u64,
        display_name: String,
    }

    #[derive(Deserialize)]
    struct V2 {
        user_id: u64,
        role: String,
    }

    #[derive(Deserialize)]
    struct Inner {
        a: u32,
    }

    #[derive(Deserialize)]
    struct InnerRenamed {
        b: u32,
    }

    #[derive(Deserialize)]
    struct Outer {
        inner: Option<Vec<Inner>>,
    }

    mod other {
        #[derive(serde::Deserialize)]
        pub(super) struct Outer {
            pub(super) inner: Option<Vec<super::InnerRenamed>>,
        }
    }

    #[derive(Deserialize)]
    enum Role {
        Member,
        Admin { since: u64 },
    }

    #[derive(Deserialize)]
    enum RoleMore {
        Member,
        Admin { since: u64 },
        Owner,
    }

    #[derive(Deserialize)]
    struct List {
        next: Option<Box<List>>,
    }

    #[test]
    fn same_wire_shape_with_other_field_names_is_another_schema() {
        assert_ne!(SchemaId::of::<V1>(), SchemaId::of::<V2>());
    }

    #[test]
    fn a_change_deep_inside_is_another_schema() {
        assert_ne!(SchemaId::of::<Outer>(), SchemaId::of::<other::Outer>());
    }

    #[test]
    fn a_new_variant_is_another_schema() {
        assert_ne!(SchemaId::of::<Role>(), SchemaId::of::<RoleMore>());
    }

    #[test]
    fn primitive_and_container_types_are_distinct() {
        let ids = [
            SchemaId::of::<u32>(),
            SchemaId::of::<u64>(),
            SchemaId::of::<String>(),
            SchemaId::of::<Vec<u8>>(),
            SchemaId::of::<Vec<u32>>(),
            SchemaId::of::<Option<u32>>(),
            SchemaId::of::<(u32, u32)>(),
            SchemaId::of::<BTreeMap<String, u32>>(),
            SchemaId::of::<BTreeMap<String, u64>>(),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in ids.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn the_id_is_stable_and_cached() {
        let first = SchemaId::of::<V1>();
        assert_eq!(SchemaId::of::<V1>(), first);
        assert_eq!(SchemaId::from_bytes(first.to_bytes()), first);
        // Another thread traces the type anew and gets the same id.
        let other = std::thread::spawn(SchemaId::of::<V1>).join().unwrap();
        assert_eq!(other, first);
    }

    #[test]
    fn recursive_types_trace_to_a_bound() {
        let trace = trace::<List>();
        assert!(trace.len() <= MAX_TRACE_BYTES + 64);
        assert_eq!(SchemaId::of::<List>(), SchemaId::of::<List>());
    }

    #[test]
    fn names_and_shapes_never_share_an_id() {
        assert_ne!(SchemaId::named("u32"), SchemaId::of::<u32>());
        assert_ne!(SchemaId::named("cart/1"), SchemaId::named("cart/2"));
    }

    #[test]
    fn displays_as_eight_hex_digits() {
        let id = SchemaId::from_bytes([0xde, 0xad, 0x00, 0x01]);
        assert_eq!(id.to_string(), "dead0001");
        assert_eq!(format!("{id:?}"), "SchemaId(dead0001)");
    }
}
