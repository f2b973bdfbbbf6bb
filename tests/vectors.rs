//! Frozen test vectors (wire format versions 1, 2 and 3), opened through
//! the public API: every release must open these exact cookie strings to
//! the same payload, times and key id (version 1 only when the codec allows
//! legacy values). The crate's unit tests check that sealing the same
//! payloads with the same nonces gives the version-3 strings. The version-3
//! AES-256-GCM and XAES-256-GCM strings were also opened and their
//! envelopes decoded by an independent implementation written from
//! docs/wire-format.md (Python `cryptography`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::{Duration, UNIX_EPOCH};

use sealed_session::{
    Algorithm, Codec, ErrorKind, Expiry, FORMAT_VERSION, Key, KeyRing, SchemaId, Times,
};

include!("vectors/v1.rs");
include!("vectors/v2.rs");
include!("vectors/v3.rs");
include!("vectors/v3_fields.rs");

/// Every frozen cookie string: (vector, cookie, format version).
fn cookies() -> impl Iterator<Item = (&'static Vector, &'static str, u8)> {
    let v1 = VECTORS.iter().map(|v| (v, v.cookie, 1));
    let v2 = VECTORS
        .iter()
        .zip(VECTORS_V2)
        .map(|(v, v2)| (v, v2.cookie, 2));
    let v3 = VECTORS
        .iter()
        .zip(VECTORS_V3)
        .map(|(v, v3)| (v, v3.cookie, 3));
    let v3_fields = VECTORS
        .iter()
        .zip(VECTORS_V3_FIELDS)
        .map(|(v, cookie)| (v, *cookie, 3));
    v1.chain(v2).chain(v3).chain(v3_fields)
}

/// The version-3 inputs of a frozen cookie string, if it is one.
fn v3_of(cookie: &str) -> Option<&'static VectorV3> {
    VECTORS_V3
        .iter()
        .zip(VECTORS_V3_FIELDS)
        .find(|(v3, fields)| v3.cookie == cookie || **fields == cookie)
        .map(|(v3, _)| v3)
}

/// The schema id a frozen version-2 or -3 cookie string carries: the
/// shape with type names before 0.9, without since.
fn schema_in(cookie: &str) -> &'static str {
    if VECTORS_V3_FIELDS.contains(&cookie) {
        PAYLOAD_SCHEMA_FIELDS
    } else {
        PAYLOAD_SCHEMA
    }
}

/// A vector's expiry as the public type.
fn expiry_of(v3: &VectorV3) -> Option<Expiry> {
    v3.expiry.map(|(idle, absolute, persistent)| {
        let (idle, absolute) = (Duration::from_secs(idle), Duration::from_secs(absolute));
        if persistent {
            Expiry::persistent(idle, absolute)
        } else {
            Expiry::browser_session(idle, absolute)
        }
    })
}

fn key_for(v: &Vector) -> Key {
    let algorithm: Algorithm = v.algorithm.parse().unwrap();
    Key::from_base64(v.key).unwrap().with_algorithm(algorithm)
}

fn codec_for(v: &Vector, ring: KeyRing) -> Codec {
    Codec::builder(ring)
        .cookie_name(v.cookie_name)
        .open_legacy_v1(true)
        .build()
        .unwrap()
}

#[test]
fn there_is_one_vector_per_algorithm() {
    let mut names: Vec<_> = VECTORS.iter().map(|v| v.algorithm).collect();
    names.sort_unstable();
    let mut all: Vec<_> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    all.sort_unstable();
    assert_eq!(names, all);
}

#[test]
fn opens_every_frozen_vector_to_its_payload_times_and_key_id() {
    for (v, cookie, version) in cookies() {
        let key = key_for(v);
        assert_eq!(key.id().to_string(), v.key_id, "{}", v.algorithm);
        let codec = codec_for(v, KeyRing::new([key]).unwrap());
        let opened = codec
            .open_at::<Payload>(cookie, at(v.renewed_at + 60))
            .unwrap_or_else(|e| panic!("{}: {e}", v.algorithm));
        assert_eq!(opened.value(), &v.payload, "{}", v.algorithm);
        // Versions 1 and 2 seal issued-at in whole seconds, 3 in
        // milliseconds.
        let issued_at = v3_of(cookie).map_or(at(v.issued_at), |v3| {
            UNIX_EPOCH + Duration::from_millis(v3.issued_at_ms)
        });
        assert_eq!(
            opened.times(),
            Times::from_parts(issued_at, at(v.renewed_at))
        );
        assert_eq!(opened.expiry(), v3_of(cookie).and_then(expiry_of));
        let with = opened.opened_with();
        assert_eq!(with.key_id().to_string(), v.key_id);
        assert_eq!(with.algorithm().name(), v.algorithm);
        assert!(with.is_primary());
        assert_eq!(with.format_version(), version);
        // A version-1 value names no schema; values of earlier versions,
        // and values whose schema id has type names (sealed before 0.9),
        // are due to be sealed again.
        let schema = with.schema().map(|s| s.to_string());
        match version {
            1 => assert!(schema.is_none()),
            _ => assert_eq!(schema.as_deref(), Some(schema_in(cookie))),
        }
        assert_eq!(
            with.needs_reseal(),
            version != FORMAT_VERSION || schema_in(cookie) != PAYLOAD_SCHEMA_FIELDS
        );
    }
}

#[test]
fn version_2_and_3_vectors_carry_their_session_id_and_subject() {
    for ((v, v2), v3) in VECTORS.iter().zip(VECTORS_V2).zip(VECTORS_V3) {
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        for cookie in [v2.cookie, v3.cookie] {
            let opened = codec
                .open_at::<Payload>(cookie, at(v.renewed_at + 60))
                .unwrap();
            assert_eq!(opened.session_id().to_string(), v2.session_id);
            assert_eq!(opened.subject(), v2.subject);
        }
    }
}

#[test]
fn a_version_2_value_is_sealed_again_in_version_3_with_its_identity() {
    for (v, v2) in VECTORS.iter().zip(VECTORS_V2) {
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        let now = at(v.renewed_at + 60);
        let opened = codec.open_at::<Payload>(v2.cookie, now).unwrap();
        assert!(opened.opened_with().needs_reseal());
        let resealed = codec
            .seal_with_times(opened.value(), opened.times())
            .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(resealed.value()).unwrap()[0],
            FORMAT_VERSION
        );
        let again = codec.open_at::<Payload>(resealed.value(), now).unwrap();
        assert_eq!(again.value(), &v.payload);
        // The second the version-2 value knew, now to the millisecond.
        assert_eq!(again.times(), opened.times());
        assert!(!again.opened_with().needs_reseal());
    }
}

#[test]
fn refuses_version_1_vectors_unless_allowed() {
    for v in VECTORS {
        let codec = Codec::builder(KeyRing::new([key_for(v)]).unwrap())
            .cookie_name(v.cookie_name)
            .build()
            .unwrap();
        let err = codec
            .open_at::<Payload>(v.cookie, at(v.renewed_at + 60))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rejected, "{}", v.algorithm);
    }
}

#[test]
fn version_2_and_3_vectors_do_not_open_as_another_schema() {
    /// `Payload`'s wire shape, field for field, under other names.
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Lookalike {
        user_id: u64,
        display_name: String,
        role: Role,
        last_page: Option<String>,
        csrf: [u8; 8],
    }
    for (v, cookie, version) in cookies() {
        if version == 1 {
            continue;
        }
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        let err = codec
            .open_at::<Lookalike>(cookie, at(v.renewed_at + 60))
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::UnknownSchema {
                schema: SchemaId::from_bytes(hex(schema_in(cookie)).try_into().unwrap())
            },
            "{}",
            v.algorithm
        );
        assert_ne!(SchemaId::of::<Lookalike>().to_string(), schema_in(cookie));
    }
}

#[test]
fn every_frozen_vector_has_the_documented_layout() {
    for (v, cookie, version) in cookies() {
        let raw = URL_SAFE_NO_PAD.decode(cookie).unwrap();
        let algorithm: Algorithm = v.algorithm.parse().unwrap();
        let nonce = hex(v.nonce);
        assert_eq!(nonce.len(), algorithm.nonce_len());
        assert_eq!(raw[0], version);
        assert_eq!(raw[1], algorithm.wire_id());
        assert_eq!(raw[2..6], hex(v.key_id));
        let header = if version == 1 {
            6
        } else {
            assert!(version == 2 || version == FORMAT_VERSION);
            assert_eq!(raw[6..10], hex(schema_in(cookie)));
            10
        };
        assert_eq!(raw[header..header + nonce.len()], nonce);
        // Sealed size predictions are for the current version and assume a
        // session without a subject or its own expiry.
        let plain = VECTORS_V2.iter().zip(VECTORS_V3).any(|(v2, v3)| {
            v3_of(cookie).is_some_and(|found| std::ptr::eq(found, v3))
                && v2.subject.is_none()
                && v3.expiry.is_none()
        });
        if !plain {
            continue;
        }
        // The size the codec predicts for the payload is the vector's size.
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        let size = codec.sealed_size(&v.payload).unwrap();
        assert_eq!(
            size,
            v.cookie_name.len() + 1 + cookie.len(),
            "{}",
            v.algorithm
        );
    }
}

#[test]
fn opens_every_frozen_vector_with_its_key_no_longer_primary() {
    for (v, cookie, _) in cookies() {
        let ring = KeyRing::new([Key::generate(), key_for(v)]).unwrap();
        let opened = codec_for(v, ring)
            .open_at::<Payload>(cookie, at(v.renewed_at + 60))
            .unwrap();
        assert_eq!(opened.value(), &v.payload);
        assert_eq!(opened.opened_with().key_id().to_string(), v.key_id);
        assert!(!opened.opened_with().is_primary());
    }
}

#[test]
fn every_frozen_vector_expires_at_its_idle_deadline() {
    for (v, cookie, _) in cookies() {
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        // Its own idle timeout, capped at the codec's limit; or the codec's.
        let idle = v3_of(cookie)
            .and_then(expiry_of)
            .map_or(codec.idle_timeout(), |e| {
                e.idle_timeout().min(codec.max_idle_timeout())
            })
            .as_secs();
        codec
            .open_at::<Payload>(cookie, at(v.renewed_at + idle - 1))
            .unwrap();
        let err = codec
            .open_at::<Payload>(cookie, at(v.renewed_at + idle))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired, "{}", v.algorithm);
    }
}

#[test]
fn rejects_every_frozen_vector_under_another_cookie_name() {
    for (v, cookie, _) in cookies() {
        let codec = Codec::builder(KeyRing::new([key_for(v)]).unwrap())
            .cookie_name(format!("{}x", v.cookie_name))
            .open_legacy_v1(true)
            .build()
            .unwrap();
        let err = codec
            .open_at::<Payload>(cookie, at(v.renewed_at + 60))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rejected, "{}", v.algorithm);
    }
}

#[test]
fn inspect_reads_every_frozen_vector_s_times_and_identity() {
    // `inspect` decodes the envelope by its documented layout, without the
    // session type: versions 1 and 2 seal issued-at in seconds, 3 in
    // milliseconds.
    for (v, cookie, version) in cookies() {
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        let inspection =
            sealed_session::inspect::inspect_at(&codec, cookie, at(v.renewed_at + 60)).unwrap();
        let issued_at = v3_of(cookie).map_or(at(v.issued_at), |v3| {
            UNIX_EPOCH + Duration::from_millis(v3.issued_at_ms)
        });
        let times = Times::from_parts(issued_at, at(v.renewed_at));
        assert_eq!(inspection.times(), times, "{} v{version}", v.algorithm);
        assert_eq!(inspection.opened_with().format_version(), version);
        assert_eq!(inspection.expiry(), v3_of(cookie).and_then(expiry_of));
        assert!(!inspection.is_expired());
        let payload = inspection.payload().expect("an inline session");
        assert_eq!(payload.decode::<Payload>().unwrap(), v.payload);
    }
}
