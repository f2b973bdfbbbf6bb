//! The serde-shape trace behind a type's schema id: a deserializer that
//! records what a type's `Deserialize` asks for and answers with defaults.

use std::fmt;

use serde::de::value::U32Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};

/// Deepest nesting the trace follows.
const MAX_DEPTH: usize = 16;

/// Most bytes of trace kept; a wider type stops the trace there.
pub(super) const MAX_TRACE_BYTES: usize = 16 * 1024;

/// The shape events `T`'s `Deserialize` asks for, as bytes. Deterministic
/// for a type definition: a trace that stops early (an unsupported or
/// validating type, the depth or size bound) stops at the same place every
/// time.
pub(super) fn trace<T: DeserializeOwned>() -> Vec<u8> {
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
