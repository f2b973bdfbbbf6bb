//! Schema ids of shapes that differ and shapes that do not.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;

use super::trace::{MAX_TRACE_BYTES, trace};
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

/// A trace as text, one event a line, parts joined by `|`.
fn shown<T: serde::de::DeserializeOwned>() -> String {
    String::from_utf8(trace::<T>())
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
    assert!(trace::<wide_a::Wide>().len() > 2048);
    assert!(trace::<wide_a::Wide>().len() < MAX_TRACE_BYTES);
    assert_ne!(
        SchemaId::of::<wide_a::Wide>(),
        SchemaId::of::<wide_b::Wide>()
    );
    // 8 KiB of padding (32 KiB of trace): the trace stops at the bound and
    // the two types share an id, which is why such types name their schema
    // (`CodecBuilder::schema`).
    let (a, b) = (trace::<wider_a::Wider>(), trace::<wider_b::Wider>());
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
