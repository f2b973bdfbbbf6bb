//! The serde-shape trace behind a type's schema id: a deserializer that
//! records what a type's `Deserialize` asks for and answers with defaults.
//!
//! A trace can also be taken of a type *as it was before* fields were
//! appended to one of its structs or variants to one of its enums: a
//! [`Cut`] says how many fields (variants) each of them had. The trace of
//! `T` cut that way is the trace its older definition had, and it fails
//! ([`Trace::short`]) when a cut-off field has no default.

use std::fmt;

use serde::de::value::U32Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Expected, Visitor};

/// Deepest nesting the trace follows.
const MAX_DEPTH: usize = 16;

/// Most bytes of trace kept; a wider type stops the trace there.
pub(super) const MAX_TRACE_BYTES: usize = 16 * 1024;

/// Steps of a [`Point`]'s path that are not a struct's field index.
const TUPLE_ELEMENT: u16 = 0x8000;
const OPTION_VALUE: u16 = 0xfff0;
const SEQ_ELEMENT: u16 = 0xfff1;
const MAP_KEY: u16 = 0xfff2;
const MAP_VALUE: u16 = 0xfff3;
const VARIANT_CONTENT: u16 = 0xfff4;

/// A place in a type where it may have grown at the end: a struct (by the
/// path of field indices from the top, through newtypes) or an enum (by
/// any path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) kind: Kind,
    pub(crate) path: Vec<u16>,
    /// Its fields or variants.
    pub(crate) len: usize,
}

impl Point {
    /// The cut of this point alone, to `len`.
    pub(crate) fn cut(&self, len: usize) -> Cut {
        Cut::new([(self.kind, self.path.clone(), len)])
    }
}

/// What a [`Point`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A struct whose fields sit in the encoding one after the other: an
    /// older value holds a prefix of them.
    Struct,
    /// An enum, encoded by variant index: an older value holds one of the
    /// first variants.
    Enum,
}

/// How many fields or variants some [`Point`]s had in an older definition
/// of a type; every other point is as it is now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cut(Vec<(Kind, Vec<u16>, usize)>);

impl Cut {
    /// The cut of one point to `len`.
    pub(crate) fn new(points: impl IntoIterator<Item = (Kind, Vec<u16>, usize)>) -> Self {
        Self(points.into_iter().collect())
    }

    /// How many fields (variants) the point at `path` had, if it is cut.
    pub(crate) fn at(&self, kind: Kind, path: &[u16]) -> Option<usize> {
        self.0
            .iter()
            .find(|(k, p, _)| *k == kind && p == path)
            .map(|(_, _, len)| *len)
    }

    /// Whether decoding needs to know about the cut: enum cuts change only
    /// which schema ids are accepted, not how a value decodes.
    pub(crate) fn cuts_structs(&self) -> bool {
        self.0.iter().any(|(kind, _, _)| *kind == Kind::Struct)
    }
}

/// Whether a struct at `path` sits in the encoding where the decoder can
/// find it: reached from the top through struct fields (and newtypes) only.
pub(crate) fn is_field_path(path: &[u16]) -> bool {
    path.iter().all(|&step| step < TUPLE_ELEMENT)
}

/// A finished trace.
pub(super) struct Trace {
    /// The shape events, as bytes.
    pub(super) bytes: Vec<u8>,
    /// Every struct reached through fields and every enum, in trace order.
    pub(super) points: Vec<Point>,
    /// A cut-off field had no default: no older definition was cut that way.
    pub(super) short: bool,
}

/// The shape events `T`'s `Deserialize` asks for, as bytes, with the type
/// names (`names`: how schema ids were derived before 0.9) or without, for
/// `T` as `cut` says it was. Deterministic for a type definition: a trace
/// that stops early (an unsupported or validating type, the depth or size
/// bound) stops at the same place every time.
pub(super) fn trace<T: DeserializeOwned>(names: bool, cut: &Cut) -> Trace {
    let mut ctx = Ctx {
        out: Vec::new(),
        names,
        cut,
        points: Vec::new(),
    };
    // The value is a stand-in made of defaults; only the events matter, and
    // a trace cut short (`Err`) is as deterministic as a finished one.
    let result = T::deserialize(Tracer {
        ctx: &mut ctx,
        depth: 0,
        path: Vec::new(),
    });
    Trace {
        bytes: ctx.out,
        points: ctx.points,
        short: matches!(result, Err(Stop::Short)),
    }
}

/// Stops a trace.
#[derive(Debug)]
enum Stop {
    /// Anything else (an unsupported type, a bound).
    Stop,
    /// A struct ran out of fields (a cut-off field has no default).
    Short,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("schema trace stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Self::Stop
    }

    fn invalid_length(_: usize, _: &dyn Expected) -> Self {
        Self::Short
    }
}

/// What one trace accumulates.
struct Ctx<'c> {
    out: Vec<u8>,
    names: bool,
    cut: &'c Cut,
    points: Vec<Point>,
}

/// A deserializer that records what it is asked for and answers with
/// defaults.
struct Tracer<'t, 'c> {
    ctx: &'t mut Ctx<'c>,
    depth: usize,
    /// Where this value sits in the type (see [`Point`]).
    path: Vec<u16>,
}

impl<'c> Tracer<'_, 'c> {
    fn event(&mut self, parts: &[&[u8]]) -> Result<(), Stop> {
        let out = &mut self.ctx.out;
        for part in parts {
            out.extend_from_slice(part);
            out.push(0);
        }
        out.push(b'\n');
        if out.len() > MAX_TRACE_BYTES {
            return Err(Stop::Stop);
        }
        Ok(())
    }

    /// An event that names a type: with the name only in a named trace.
    fn named_event(&mut self, tag: &[u8], name: &str, rest: &[&[u8]]) -> Result<(), Stop> {
        let mut parts = Vec::with_capacity(2 + rest.len());
        parts.push(tag);
        if self.ctx.names {
            parts.push(name.as_bytes());
        }
        parts.extend_from_slice(rest);
        self.event(&parts)
    }

    /// The tracer one level down, at `step` (`None`: the same place, as
    /// for a newtype).
    fn deeper(&mut self, step: Option<u16>) -> Result<Tracer<'_, 'c>, Stop> {
        if self.depth >= MAX_DEPTH {
            self.event(&[b"deep"])?;
            return Err(Stop::Stop);
        }
        let mut path = self.path.clone();
        path.extend(step);
        Ok(Tracer {
            ctx: self.ctx,
            depth: self.depth + 1,
            path,
        })
    }

    /// How many of `len` fields (variants) of the point here to trace, and
    /// the point recorded.
    fn point(&mut self, kind: Kind, len: usize) -> usize {
        if kind == Kind::Struct && !is_field_path(&self.path) {
            return len;
        }
        self.ctx.points.push(Point {
            kind,
            path: self.path.clone(),
            len,
        });
        self.ctx
            .cut
            .at(kind, &self.path)
            .map_or(len, |cut| cut.min(len))
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

impl<'de> de::Deserializer<'de> for Tracer<'_, '_> {
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
        Err(Stop::Stop)
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"option"])?;
        if self.depth >= MAX_DEPTH {
            return visitor.visit_none();
        }
        visitor.visit_some(self.deeper(Some(OPTION_VALUE))?)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.named_event(b"unit struct", name, &[])?;
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.named_event(b"newtype struct", name, &[])?;
        visitor.visit_newtype_struct(self.deeper(None)?)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"seq"])?;
        let remaining = usize::from(self.depth < MAX_DEPTH);
        visitor.visit_seq(Elements {
            tracer: self,
            remaining,
            next: 0,
            step: |_| SEQ_ELEMENT,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        mut self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.event(&[b"tuple", len.to_string().as_bytes()])?;
        visitor.visit_seq(Elements::tuple(self, len))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.named_event(b"tuple struct", name, &[len.to_string().as_bytes()])?;
        visitor.visit_seq(Elements::tuple(self, len))
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
        let len = self.point(Kind::Struct, fields.len());
        let fields = fields.get(..len).unwrap_or(fields);
        self.named_event(b"struct", name, &[])?;
        for field in fields {
            self.event(&[b"field", field.as_bytes()])?;
        }
        visitor.visit_seq(Elements {
            tracer: self,
            remaining: fields.len(),
            next: 0,
            step: field_step,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        let len = self.point(Kind::Enum, variants.len());
        let variants = variants.get(..len).unwrap_or(variants);
        self.named_event(b"enum", name, &[])?;
        for variant in variants {
            self.event(&[b"variant", variant.as_bytes()])?;
        }
        visitor.visit_enum(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// A struct field's path step: its index (saturating below the steps that
/// are not fields, so a struct past 32 767 fields is not cut).
pub(super) fn field_step(index: usize) -> u16 {
    u16::try_from(index).map_or(TUPLE_ELEMENT, |i| i.min(TUPLE_ELEMENT))
}

/// A tuple element's path step.
fn tuple_step(index: usize) -> u16 {
    u16::try_from(index).map_or(OPTION_VALUE - 1, |i| {
        TUPLE_ELEMENT.saturating_add(i).min(OPTION_VALUE - 1)
    })
}

/// The elements of a sequence, tuple or struct.
struct Elements<'t, 'c> {
    tracer: Tracer<'t, 'c>,
    remaining: usize,
    /// The next element's index.
    next: usize,
    /// The path step of the element at an index.
    step: fn(usize) -> u16,
}

impl<'t, 'c> Elements<'t, 'c> {
    fn tuple(tracer: Tracer<'t, 'c>, len: usize) -> Self {
        Self {
            tracer,
            remaining: len,
            next: 0,
            step: tuple_step,
        }
    }
}

impl<'de> de::SeqAccess<'de> for Elements<'_, '_> {
    type Error = Stop;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Stop> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let step = (self.step)(self.next);
        self.next += 1;
        seed.deserialize(self.tracer.deeper(Some(step))?).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

/// One entry of a map, to trace its key and value types.
struct Entries<'t, 'c> {
    tracer: Tracer<'t, 'c>,
    remaining: usize,
}

impl<'de> de::MapAccess<'de> for Entries<'_, '_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(self.tracer.deeper(Some(MAP_KEY))?)
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Stop> {
        seed.deserialize(self.tracer.deeper(Some(MAP_VALUE))?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

impl<'de> de::EnumAccess<'de> for Tracer<'_, '_> {
    type Error = Stop;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Stop> {
        let variant = seed.deserialize(U32Deserializer::<Stop>::new(0))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Tracer<'_, '_> {
    type Error = Stop;

    fn unit_variant(mut self) -> Result<(), Stop> {
        self.event(&[b"unit variant"])
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(mut self, seed: S) -> Result<S::Value, Stop> {
        self.event(&[b"newtype variant"])?;
        seed.deserialize(self.deeper(Some(VARIANT_CONTENT))?)
    }

    fn tuple_variant<V: Visitor<'de>>(mut self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.event(&[b"tuple variant", len.to_string().as_bytes()])?;
        self.path.push(VARIANT_CONTENT);
        visitor.visit_seq(Elements::tuple(self, len))
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
        self.path.push(VARIANT_CONTENT);
        visitor.visit_seq(Elements::tuple(self, fields.len()))
    }
}
