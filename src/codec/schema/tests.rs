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
