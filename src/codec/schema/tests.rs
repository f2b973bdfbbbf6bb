//! Schema ids of shapes that differ and shapes that do not.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;

use super::trace::{Cut, MAX_TRACE_BYTES, trace};
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
    let trace = named_trace::<List>();
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

/// The trace with type names: how ids were derived before 0.9 (and still
/// are for the ids values sealed then carry), pinned by these tests.
fn named_trace<T: serde::de::DeserializeOwned>() -> Vec<u8> {
    trace::<T>(true, &Cut::default()).bytes
}

/// A trace as text, one event a line, parts joined by `|`.
fn shown<T: serde::de::DeserializeOwned>() -> String {
    String::from_utf8(named_trace::<T>())
        .unwrap()
        .replace("\0\n", "\n")
        .replace('\0', "|")
}

#[test]
fn traces_are_exactly_the_events_asked_for() {
    assert_eq!(shown::<Vec<u8>>(), "seq\nu8\n");
    assert_eq!(shown::<Option<bool>>(), "option\nbool\n");
    assert_eq!(shown::<(u8, String)>(), "tuple|2\nu8\nstr\n");
    assert_eq!(
        shown::<V1>(),
        "struct|V1\nfield|user_id\nfield|display_name\nu64\nstr\n"
    );
    assert_eq!(shown::<BTreeMap<u16, u32>>(), "map\nu16\nu32\n");
    // Not human-readable, as postcard is not: an address traces as the
    // four bytes postcard writes, not as a string.
    assert_eq!(shown::<std::net::Ipv4Addr>(), "tuple|4\nu8\nu8\nu8\nu8\n");
}

/// One level of nesting.
#[derive(Deserialize)]
struct W<T>(T);

/// `T` nested in `W` four times.
type Deep4<T> = W<W<W<W<T>>>>;

/// `T` nested in `W` fifteen times: one level above the depth bound.
type Deep15<T> = Deep4<Deep4<Deep4<W<W<W<T>>>>>>;

/// `T` nested in `W` sixteen times: at the trace's depth bound.
type Deep16<T> = W<Deep15<T>>;

#[test]
fn sequences_and_maps_at_the_depth_bound_trace_no_element() {
    // Fifteen levels down, an element is traced; at sixteen the sequence
    // or map is recorded but not entered, and the trace ends there.
    let seq15 = shown::<Deep15<Vec<u8>>>();
    assert!(seq15.ends_with("seq\nu8\n"), "{seq15}");
    let seq16 = shown::<Deep16<Vec<u8>>>();
    assert!(seq16.ends_with("newtype struct|W\nseq\n"), "{seq16}");
    let map16 = shown::<Deep16<BTreeMap<u8, u8>>>();
    assert!(map16.ends_with("newtype struct|W\nmap\n"), "{map16}");
    // One level further, the bound itself is recorded.
    let deeper = shown::<W<Deep16<u8>>>();
    assert!(deeper.ends_with("newtype struct|W\ndeep\n"), "{deeper}");
    assert_eq!(deeper.matches("newtype struct|W").count(), 17);
}

#[test]
fn a_recursive_type_stops_at_the_depth_bound() {
    let list = shown::<List>();
    assert!(list.ends_with("field|next\ndeep\n"), "{list}");
    // Each level is two steps down (the field, then the option's value).
    assert_eq!(list.matches("struct|List").count(), 9);
}

mod wide_a {
    #[derive(serde::Deserialize)]
    pub(super) struct Wide {
        pub(super) pad: [[u8; 32]; 16],
        pub(super) last: u8,
    }
}

mod wide_b {
    #[derive(serde::Deserialize)]
    pub(super) struct Wide {
        pub(super) pad: [[u8; 32]; 16],
        pub(super) last: u16,
    }
}

mod wider_a {
    #[derive(serde::Deserialize)]
    pub(super) struct Wider {
        pub(super) pad: [[[u8; 32]; 32]; 8],
        pub(super) last: u8,
    }
}

mod wider_b {
    #[derive(serde::Deserialize)]
    pub(super) struct Wider {
        pub(super) pad: [[[u8; 32]; 32]; 8],
        pub(super) last: u16,
    }
}

#[test]
fn the_trace_sees_changes_within_its_byte_bound_and_none_past_it() {
    // 512 bytes of padding (2 KiB of trace), then a field whose type
    // differs: within the bound, so the ids differ.
    assert!(named_trace::<wide_a::Wide>().len() > 2048);
    assert!(named_trace::<wide_a::Wide>().len() < MAX_TRACE_BYTES);
    assert_ne!(
        SchemaId::of::<wide_a::Wide>(),
        SchemaId::of::<wide_b::Wide>()
    );
    // 8 KiB of padding (32 KiB of trace): the trace stops at the bound and
    // the two types share an id, which is why such types name their schema
    // (`CodecBuilder::schema`).
    let (a, b) = (
        named_trace::<wider_a::Wider>(),
        named_trace::<wider_b::Wider>(),
    );
    assert_eq!(a, b);
    assert_eq!(
        SchemaId::of::<wider_a::Wider>(),
        SchemaId::of::<wider_b::Wider>()
    );
    // The bound is exceeded, not reached: with this struct name an event
    // ends at exactly MAX_TRACE_BYTES, and the trace goes one event (a
    // 4-byte `u8`) past it.
    assert_eq!(a.len(), MAX_TRACE_BYTES + 4);
}

/// A trace without type names, as text.
fn shape<T: serde::de::DeserializeOwned>() -> String {
    String::from_utf8(trace::<T>(false, &Cut::default()).bytes)
        .unwrap()
        .replace("\0\n", "\n")
        .replace('\0', "|")
}

mod renamed {
    /// `super::V1` under another name, in another module.
    #[derive(serde::Deserialize)]
    pub(super) struct AccountSession {
        pub(super) user_id: u64,
        pub(super) display_name: String,
    }

    /// `super::Role` under another name.
    #[derive(serde::Deserialize)]
    pub(super) enum Access {
        Member,
        Admin { since: u64 },
    }

    /// `super::Outer` with every type inside renamed but `InnerRenamed`'s.
    #[derive(serde::Deserialize)]
    pub(super) struct Wrapper {
        pub(super) inner: Option<Vec<super::Inner>>,
    }
}

#[test]
fn the_id_comes_from_the_shape_not_the_type_names() {
    assert_eq!(
        shape::<V1>(),
        "struct\nfield|user_id\nfield|display_name\nu64\nstr\n"
    );
    assert_eq!(
        SchemaId::of::<V1>(),
        SchemaId::of::<renamed::AccountSession>()
    );
    assert_eq!(SchemaId::of::<Role>(), SchemaId::of::<renamed::Access>());
    assert_eq!(SchemaId::of::<Outer>(), SchemaId::of::<renamed::Wrapper>());
    // Field and variant names still count.
    assert_ne!(SchemaId::of::<V1>(), SchemaId::of::<V2>());
    assert_ne!(SchemaId::of::<Outer>(), SchemaId::of::<other::Outer>());
    // Before 0.9 the names counted, and that id is still known.
    assert_ne!(
        SchemaId::named_shape_of::<V1>(),
        SchemaId::named_shape_of::<renamed::AccountSession>()
    );
    assert_ne!(SchemaId::named_shape_of::<V1>(), SchemaId::of::<V1>());
}

#[derive(Deserialize)]
struct V1Extended {
    user_id: u64,
    display_name: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    visits: u32,
}

#[derive(Deserialize)]
struct V1ExtendedWithoutDefault {
    user_id: u64,
    display_name: String,
    theme: String,
}

#[derive(Deserialize)]
struct V1InsertedInTheMiddle {
    user_id: u64,
    #[serde(default)]
    theme: String,
    display_name: String,
}

#[derive(Deserialize)]
struct WithRole {
    user_id: u64,
    role: Role,
}

#[derive(Deserialize)]
struct WithMoreRoles {
    user_id: u64,
    role: RoleMore,
}

#[test]
fn a_type_reads_the_ids_of_its_trailing_default_prefixes() {
    // Both older definitions: one and two fields shorter.
    let one_short = reading::<V1Extended>(SchemaId::of::<V1>()).unwrap();
    assert!(one_short.cuts_structs());
    assert!(reading::<V1Extended>(SchemaId::named_shape_of::<V1>()).is_none());
    // The id before 0.9 of the type itself (same name, same fields).
    assert_eq!(
        reading::<V1Extended>(SchemaId::named_shape_of::<V1Extended>()),
        Some(Cut::default())
    );
    let ids: Vec<SchemaId> = readings::<V1Extended>().iter().map(|(id, _)| *id).collect();
    // Named and name-free, for two older definitions, and the named id of
    // the type as it is; never its own id.
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(!ids.contains(&SchemaId::of::<V1Extended>()));
    assert!(ids.contains(&SchemaId::of::<V1>()));
}

#[test]
fn a_field_without_a_default_or_not_at_the_end_is_no_reading() {
    assert!(reading::<V1ExtendedWithoutDefault>(SchemaId::of::<V1>()).is_none());
    assert!(reading::<V1InsertedInTheMiddle>(SchemaId::of::<V1>()).is_none());
    // Nothing at all for the one without a default but its named id.
    assert_eq!(readings::<V1ExtendedWithoutDefault>().len(), 1);
}

#[test]
fn an_enum_reads_the_ids_of_its_definitions_with_fewer_trailing_variants() {
    let cut = reading::<WithMoreRoles>(SchemaId::of::<WithRole>()).unwrap();
    // Fewer variants decode as they are.
    assert!(!cut.cuts_structs());
    assert!(reading::<WithRole>(SchemaId::of::<WithMoreRoles>()).is_none());
}

/// Six defaulted fields after one that has none, and six enums: thousands
/// of older definitions.
#[derive(Deserialize)]
#[allow(clippy::struct_field_names)]
struct Many {
    id: u64,
    #[serde(default)]
    a: u8,
    #[serde(default)]
    b: u8,
    #[serde(default)]
    c: u8,
    #[serde(default)]
    d: u8,
    #[serde(default)]
    e: Option<Role>,
    #[serde(default)]
    f: Option<RoleMore>,
    #[serde(default)]
    g: [Option<RoleMore>; 4],
}

#[test]
fn readings_are_bounded_and_nearest_first() {
    let readings = readings::<Many>();
    // At most MAX_READINGS cuts, each with a name-free and a named id.
    assert!(readings.len() > MAX_READINGS, "{}", readings.len());
    assert!(readings.len() <= 2 * MAX_READINGS + 1, "{}", readings.len());
    // The nearest older definition (the last field missing) is read.
    #[derive(Deserialize)]
    struct ManyBefore {
        id: u64,
        a: u8,
        b: u8,
        c: u8,
        d: u8,
        e: Option<Role>,
        f: Option<RoleMore>,
    }
    assert!(reading::<Many>(SchemaId::of::<ManyBefore>()).is_some());
    #[derive(Deserialize)]
    struct First {
        id: u64,
    }
    // The farthest (six fields missing) is past the nearest MAX_READINGS.
    assert!(reading::<Many>(SchemaId::of::<First>()).is_none());
}
