//! Decoding a value sealed for an older definition of a type, one whose
//! structs had fewer (trailing, defaulted) fields.
//!
//! postcard writes a struct as its fields one after the other, with no
//! count, so the decoder must be told where an older struct ended: a
//! [`Cut`] says how many fields each struct had, by its path of field
//! indices from the top. This adapter follows that path and hands the
//! struct's `Deserialize` a sequence of just those fields; the derive fills
//! each missing `#[serde(default)]` field with its default (and refuses a
//! missing field without one).

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};

use super::trace::{Cut, Kind, field_step};

/// `bytes` (postcard, nothing after it) as the `T` that an older definition
/// of `T`, cut as `cut` says, wrote. `None` when it does not decode.
pub(crate) fn from_bytes_cut<T: DeserializeOwned>(bytes: &[u8], cut: &Cut) -> Option<T> {
    let mut inner = postcard::Deserializer::from_bytes(bytes);
    let value = T::deserialize(Reader {
        inner: &mut inner,
        cut,
        path: Vec::new(),
    })
    .ok()?;
    match inner.finalize() {
        Ok([]) => Some(value),
        _ => None,
    }
}

/// A deserializer at `path` in the type.
struct Reader<'c, D> {
    inner: D,
    cut: &'c Cut,
    path: Vec<u16>,
}

macro_rules! forward {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Reader<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16,
        deserialize_i32, deserialize_i64, deserialize_i128, deserialize_u8,
        deserialize_u16, deserialize_u32, deserialize_u64, deserialize_u128,
        deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf,
        deserialize_option, deserialize_unit, deserialize_seq, deserialize_map,
        deserialize_identifier, deserialize_ignored_any,
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // postcard writes a newtype as its content: the same place.
        self.inner.deserialize_newtype_struct(
            name,
            Wrap {
                visitor,
                cut: self.cut,
                path: self.path,
            },
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = Wrap {
            visitor,
            cut: self.cut,
            path: self.path,
        };
        match visitor.cut.at(Kind::Struct, &visitor.path) {
            // A struct is its fields in order (as postcard writes a tuple):
            // an older one, the first `len` of them.
            Some(len) if len < fields.len() => self.inner.deserialize_tuple(len, visitor),
            _ => self.inner.deserialize_struct(name, fields, visitor),
        }
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor whose struct fields (or newtype content) are read on at their
/// own paths.
struct Wrap<'c, V> {
    visitor: V,
    cut: &'c Cut,
    path: Vec<u16>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(Fields {
            seq,
            cut: self.cut,
            path: self.path,
            next: 0,
        })
    }

    fn visit_newtype_struct<E: Deserializer<'de>>(self, inner: E) -> Result<V::Value, E::Error> {
        self.visitor.visit_newtype_struct(Reader {
            inner,
            cut: self.cut,
            path: self.path,
        })
    }
}

/// A struct's fields, each read at its path.
struct Fields<'c, A> {
    seq: A,
    cut: &'c Cut,
    path: Vec<u16>,
    next: usize,
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Fields<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let mut path = self.path.clone();
        path.push(field_step(self.next));
        self.next += 1;
        self.seq.next_element_seed(Field {
            seed,
            cut: self.cut,
            path,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// One field's value, read at its path.
struct Field<'c, S> {
    seed: S,
    cut: &'c Cut,
    path: Vec<u16>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Field<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, inner: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Reader {
            inner,
            cut: self.cut,
            path: self.path,
        })
    }
}
