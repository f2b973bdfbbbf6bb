//! Schema identity: which session type a sealed value was written for.
//!
//! postcard is not self-describing: a value written as
//! `V1 { user_id: u64, display_name: String }` decodes without complaint as
//! `V2 { user_id: u64, role: String }`. So every value this crate seals
//! carries a four-byte [`SchemaId`] in its header, inside the associated
//! data: a value opens only as the schema it was sealed for, as a newer
//! definition of it that only appended defaulted fields or variants
//! ([`readings`]), or through a migration declared from that schema.

use std::any::TypeId;
use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

pub(crate) use self::read::from_bytes_cut;
pub(crate) use self::trace::Cut;
use self::trace::{Kind, Point, trace};

mod read;
mod trace;

use crate::crypto::wire::SCHEMA_ID_BYTES;
pub(crate) use crate::crypto::wire::SchemaId;

/// Most older definitions a type is read as (see [`readings`]): the
/// nearest ones, by how many fields and variants they lack.
pub(crate) const MAX_READINGS: usize = 64;

/// Digest domains: a shape without type names (since 0.9), a shape with
/// them (before), an explicit name.
const SHAPE: &[u8] = b"fields";
const NAMED_SHAPE: &[u8] = b"shape";
const NAME: &[u8] = b"name";

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
        let id = Self::digest(SHAPE, &trace::<T>(false, &Cut::default()).bytes);
        SHAPES.with(|shapes| shapes.borrow_mut().push((type_id, id)));
        id
    }

    /// The schema id of an explicit schema name.
    pub fn named(name: &str) -> Self {
        Self::digest(NAME, name.as_bytes())
    }

    /// The schema id `T` had before 0.9, when the shape included the type's
    /// own name (and the names of the types inside it).
    pub(crate) fn named_shape_of<T: DeserializeOwned + 'static>() -> Self {
        Self::digest(NAMED_SHAPE, &trace::<T>(true, &Cut::default()).bytes)
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

/// The other schema ids a `T` opens, each with how to decode it: the id
/// `T` had before 0.9 (named shape), and the ids of `T`'s older
/// definitions, those with fewer trailing `#[serde(default)]` fields in a
/// struct reached through fields from the top, or fewer trailing variants
/// in an enum (name-free and named, the [`MAX_READINGS`] nearest). Traced
/// once per type and thread, on the first value that needs it.
pub(crate) fn reading<T: DeserializeOwned + 'static>(schema: SchemaId) -> Option<Cut> {
    let type_id = TypeId::of::<T>();
    let cached = READINGS.with(|readings| {
        readings
            .borrow()
            .iter()
            .find(|(t, _)| *t == type_id)
            .map(|(_, r)| Rc::clone(r))
    });
    let readings = cached.unwrap_or_else(|| {
        let r: Readings = readings::<T>().into();
        READINGS.with(|readings| readings.borrow_mut().push((type_id, Rc::clone(&r))));
        r
    });
    readings
        .iter()
        .find(|(id, _)| *id == schema)
        .map(|(_, cut)| cut.clone())
}

/// Most characters of a [`describe`]d shape.
const MAX_DESCRIPTION_CHARS: usize = 400;

/// `T`'s shape (without type names) in one line, for people: each struct
/// with its field names, each enum with its variant names, then the
/// primitive types, in the order the trace met them. Cut at
/// [`MAX_DESCRIPTION_CHARS`].
pub(crate) fn describe<T: DeserializeOwned>() -> String {
    let bytes = trace::<T>(false, &Cut::default()).bytes;
    let mut out: Vec<String> = Vec::new();
    for event in bytes.split(|&b| b == b'\n').filter(|e| !e.is_empty()) {
        let parts: Vec<String> = event
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        match parts.as_slice() {
            [tag, name] if tag == "field" || tag == "variant" => match out.last_mut() {
                Some(last) if last.ends_with(')') => {
                    last.pop();
                    if !last.ends_with('(') {
                        last.push(' ');
                    }
                    last.push_str(name);
                    last.push(')');
                }
                _ => out.push(name.clone()),
            },
            [tag] if tag == "struct" || tag == "enum" => out.push(format!("{tag}()")),
            _ => out.push(parts.join(":").replace(' ', "-")),
        }
    }
    let mut line = out.join(" ");
    if let Some((cut, _)) = line.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        line.truncate(cut);
        line.push('…');
    }
    line
}

/// Every id [`reading`] accepts for `T`, nearest first.
pub(crate) fn readings<T: DeserializeOwned + 'static>() -> Vec<(SchemaId, Cut)> {
    let current = SchemaId::of::<T>();
    let mut out = vec![(SchemaId::named_shape_of::<T>(), Cut::default())];
    for cut in older_cuts::<T>() {
        let shape = trace::<T>(false, &cut);
        if shape.short {
            continue;
        }
        let named = trace::<T>(true, &cut);
        out.push((SchemaId::digest(SHAPE, &shape.bytes), cut.clone()));
        out.push((SchemaId::digest(NAMED_SHAPE, &named.bytes), cut));
    }
    let mut seen = vec![current];
    out.retain(|(id, _)| {
        let new = !seen.contains(id);
        seen.push(*id);
        new
    });
    out
}

/// The cuts of `T`'s older definitions, nearest first (fewest fields and
/// variants missing), at most [`MAX_READINGS`].
fn older_cuts<T: DeserializeOwned>() -> Vec<Cut> {
    // Each point, and the fewest fields (variants) it could have had.
    let full = trace::<T>(false, &Cut::default());
    let mut ranges: Vec<(&Point, usize)> = Vec::new();
    for point in &full.points {
        let fewest = match point.kind {
            // An enum keeps at least its first variant (the one traced).
            Kind::Enum => 1,
            // A struct may lose trailing fields as long as each has a
            // default: probe one field at a time.
            Kind::Struct => {
                let mut len = point.len;
                while len > 0 && !trace::<T>(false, &point.cut(len - 1)).short {
                    len -= 1;
                }
                len
            }
        };
        if fewest < point.len {
            ranges.push((point, fewest));
        }
    }
    let most_missing: usize = ranges.iter().map(|(p, fewest)| p.len - fewest).sum();
    let mut cuts = Vec::new();
    for total in 1..=most_missing {
        spread(&ranges, total, &mut Vec::new(), &mut cuts);
        if cuts.len() >= MAX_READINGS {
            break;
        }
    }
    cuts.truncate(MAX_READINGS);
    cuts
}

/// Every way to take `total` fields and variants off `ranges` (each point
/// at most down to its fewest), given how many `chosen` already took off
/// the points before them; appended to `out` until it holds
/// [`MAX_READINGS`].
fn spread(ranges: &[(&Point, usize)], total: usize, chosen: &mut Vec<usize>, out: &mut Vec<Cut>) {
    if out.len() >= MAX_READINGS {
        return;
    }
    let Some(&(point, fewest)) = ranges.get(chosen.len()) else {
        if total == 0 {
            out.push(Cut::new(
                ranges
                    .iter()
                    .zip(chosen.iter())
                    .filter(|&(_, &m)| m > 0)
                    .map(|((p, _), &m)| (p.kind, p.path.clone(), p.len - m)),
            ));
        }
        return;
    };
    for m in 0..=total.min(point.len - fewest) {
        chosen.push(m);
        spread(ranges, total - m, chosen, out);
        chosen.pop();
    }
}

/// A type's [`readings`], shared by the loads on one thread.
type Readings = Rc<[(SchemaId, Cut)]>;

thread_local! {
    /// Shape ids traced on this thread, by type. A program has few session
    /// types, so a scan beats hashing.
    static SHAPES: RefCell<Vec<(TypeId, SchemaId)>> = const { RefCell::new(Vec::new()) };

    /// [`readings`] traced on this thread, by type.
    static READINGS: RefCell<Vec<(TypeId, Readings)>> = const { RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests;
