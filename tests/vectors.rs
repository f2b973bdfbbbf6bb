//! Frozen test vectors (wire format versions 1 and 2), opened through the
//! public API: every release must open these exact cookie strings to the
//! same payload, times and key id (version 1 only when the codec allows
//! legacy values). The crate's unit tests check that sealing the same
//! payloads with the same nonces gives the version-2 strings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealed_session::{Algorithm, Codec, ErrorKind, FORMAT_VERSION, Key, KeyRing, SchemaId, Times};

include!("vectors/v1.rs");
include!("vectors/v2.rs");

/// Every frozen cookie string: (vector, cookie, format version).
fn cookies() -> impl Iterator<Item = (&'static Vector, &'static str, u8)> {
    let v1 = VECTORS.iter().map(|v| (v, v.cookie, 1));
    let v2 = VECTORS
        .iter()
        .zip(VECTORS_V2)
        .map(|(v, v2)| (v, v2.cookie, 2));
    v1.chain(v2)
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
        assert_eq!(
            opened.times(),
            Times {
                issued_at: at(v.issued_at),
                renewed_at: at(v.renewed_at),
            }
        );
        let with = opened.opened_with();
        assert_eq!(with.key_id().to_string(), v.key_id);
        assert_eq!(with.algorithm().name(), v.algorithm);
        assert!(with.is_primary());
        assert_eq!(with.format_version(), version);
        // A version-1 value names no schema and is due to be sealed again.
        let schema = with.schema().map(|s| s.to_string());
        match version {
            1 => assert!(schema.is_none() && with.needs_reseal()),
            _ => assert!(schema.as_deref() == Some(PAYLOAD_SCHEMA) && !with.needs_reseal()),
        }
    }
}

#[test]
fn version_2_vectors_carry_their_session_id_and_subject() {
    for (v, v2) in VECTORS.iter().zip(VECTORS_V2) {
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        let opened = codec
            .open_at::<Payload>(v2.cookie, at(v.renewed_at + 60))
            .unwrap();
        assert_eq!(opened.session_id().to_string(), v2.session_id);
        assert_eq!(opened.subject(), v2.subject);
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
fn version_2_vectors_do_not_open_as_another_schema() {
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
    for (v, cookie) in VECTORS.iter().zip(VECTORS_V2.iter().map(|v2| v2.cookie)) {
        let codec = codec_for(v, KeyRing::new([key_for(v)]).unwrap());
        let err = codec
            .open_at::<Lookalike>(cookie, at(v.renewed_at + 60))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Undecodable, "{}", v.algorithm);
        assert_ne!(SchemaId::of::<Lookalike>().to_string(), PAYLOAD_SCHEMA);
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
            assert_eq!(version, FORMAT_VERSION);
            assert_eq!(raw[6..10], hex(PAYLOAD_SCHEMA));
            10
        };
        assert_eq!(raw[header..header + nonce.len()], nonce);
        // Sealed size predictions assume a session without a subject.
        let has_subject = VECTORS_V2
            .iter()
            .any(|v2| v2.cookie == cookie && v2.subject.is_some());
        if version == 1 || has_subject {
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
        let idle = codec.idle_timeout().as_secs();
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
