//! Frozen test vectors, sealed: with the nonce fixed, sealing each vector's
//! payload gives exactly its version-3 cookie string as sealed since 0.9 (`tests/vectors.rs`
//! opens them, and the version-1 strings, through the public API). Also the one decode failure only a key holder
//! can produce: an authentic value with trailing bytes after the envelope.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::codec::envelope::{Body, Envelope};
use crate::codec::{Identity, SessionId, envelope};
use crate::crypto::{seal, wire};
use crate::{Algorithm, Codec, ErrorKind, Key, KeyRing, Times};

include!("../tests/vectors/v1.rs");
include!("../tests/vectors/v2.rs");
include!("../tests/vectors/v3.rs");
include!("../tests/vectors/v3_fields.rs");

fn codec_for(v: &Vector) -> Codec {
    let algorithm: Algorithm = v.algorithm.parse().unwrap();
    let key = Key::from_base64(v.key).unwrap().with_algorithm(algorithm);
    assert_eq!(key.id().to_string(), v.key_id, "key id of {}", v.algorithm);
    let ring = KeyRing::new([key]).unwrap();
    Codec::builder(ring)
        .cookie_name(v.cookie_name)
        .build()
        .unwrap()
}

/// A vector's expiry as the public type.
fn expiry_of(v3: &VectorV3) -> Option<crate::Expiry> {
    v3.expiry.map(|(idle, absolute, persistent)| {
        let (idle, absolute) = (Duration::from_secs(idle), Duration::from_secs(absolute));
        if persistent {
            crate::Expiry::persistent(idle, absolute)
        } else {
            crate::Expiry::browser_session(idle, absolute)
        }
    })
}

#[test]
fn seals_every_frozen_vector_to_its_exact_string() {
    assert_eq!(VECTORS.len(), VECTORS_V2.len());
    assert_eq!(VECTORS.len(), VECTORS_V3.len());
    assert_eq!(VECTORS.len(), VECTORS_V3_FIELDS.len());
    let all = VECTORS.iter().zip(VECTORS_V2).zip(VECTORS_V3);
    for (((v, v2), v3), cookie) in all.zip(VECTORS_V3_FIELDS) {
        let codec = codec_for(v);
        let nonce = hex(v.nonce);
        assert_eq!(nonce.len(), codec.ring().primary_algorithm().nonce_len());
        let mut fixed = [0u8; 24];
        fixed[..nonce.len()].copy_from_slice(&nonce);
        assert_eq!(v3.issued_at_ms / 1000, v.issued_at);
        let times = Times::from_parts(
            UNIX_EPOCH + Duration::from_millis(v3.issued_at_ms),
            at(v.renewed_at),
        );
        let identity = Identity {
            id: SessionId::from_bytes(hex(v2.session_id).try_into().unwrap()),
            subject: v2.subject,
            expiry: expiry_of(v3),
        };
        let env = envelope(times, identity, Body::Inline(&v.payload));
        let sealed = {
            let _fixed = seal::fix_nonce(fixed);
            codec
                .seal_envelope(codec.schema_of::<Payload>(), &env)
                .unwrap()
        };
        assert_eq!(sealed.value(), *cookie, "vector for {}", v.algorithm);
        assert_eq!(sealed.size(), v.cookie_name.len() + 1 + cookie.len());
        // Under the id with type names, the string sealed before 0.9.
        let before = {
            let _fixed = seal::fix_nonce(fixed);
            codec
                .seal_envelope(crate::SchemaId::named_shape_of::<Payload>(), &env)
                .unwrap()
        };
        assert_eq!(before.value(), v3.cookie, "vector for {}", v.algorithm);

        // The guard is gone: the next seal has a random nonce again.
        let random = codec.seal_with_times(&v.payload, times).unwrap();
        assert_ne!(random.value(), *cookie);
    }
}

#[test]
fn the_version_2_strings_open_and_are_due_to_be_sealed_again() {
    for (v, v2) in VECTORS.iter().zip(VECTORS_V2) {
        let opened = codec_for(v)
            .open_at::<Payload>(v2.cookie, at(v.renewed_at + 1))
            .unwrap();
        assert_eq!(opened.value(), &v.payload);
        assert_eq!(opened.opened_with().format_version(), 2);
        assert!(opened.opened_with().needs_reseal());
        assert_eq!(opened.expiry(), None);
    }
}

#[test]
fn the_payload_schema_ids_are_frozen() {
    assert_eq!(
        crate::SchemaId::of::<Payload>().to_string(),
        PAYLOAD_SCHEMA_FIELDS
    );
    assert_eq!(
        crate::SchemaId::named_shape_of::<Payload>().to_string(),
        PAYLOAD_SCHEMA
    );
}

#[test]
fn rejects_trailing_bytes_after_an_authentic_envelope_as_undecodable() {
    let payload = &VECTORS[0].payload;
    let now = at(1_700_000_000);
    for &algorithm in Algorithm::ALL {
        let ring = KeyRing::new([Key::generate().with_algorithm(algorithm)]).unwrap();
        let codec = Codec::builder(ring.clone()).build().unwrap();
        let env: Envelope<_, &str> = Envelope {
            issued_at: 1_700_000_000_000,
            renewed_at: 1_700_000_000,
            session_id: [7; 16],
            subject: None,
            expiry: None,
            body: Body::Inline(payload),
        };
        let seal_with_trailing = |trailing: &[u8]| {
            let prefix = wire::prefix_len(algorithm);
            let mut buf = postcard::to_extend(&env, vec![0u8; prefix]).unwrap();
            buf.extend_from_slice(trailing);
            let plaintext_len = buf.len() - prefix;
            buf.extend_from_slice(&[0u8; 16]);
            let len = seal::seal_in_place(
                &ring,
                codec.schema_of::<Payload>(),
                codec.cookie_name().as_bytes(),
                &mut buf,
                plaintext_len,
            )
            .unwrap();
            URL_SAFE_NO_PAD.encode(&buf[..len])
        };

        // Control: built this way without trailing bytes, the value opens.
        let opened = codec
            .open_at::<Payload>(&seal_with_trailing(&[]), now)
            .unwrap();
        assert_eq!(opened.value(), payload);

        for trailing in [&[0u8][..], &[0xff], &[0, 0, 0, 0]] {
            let err = codec
                .open_at::<Payload>(&seal_with_trailing(trailing), now)
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::Undecodable,
                "{algorithm}: {trailing:?}"
            );
        }
    }
}

#[test]
fn a_legacy_value_is_resealed_in_the_current_format() {
    for v in VECTORS {
        let legacy = Codec::builder(
            KeyRing::new([Key::from_base64(v.key)
                .unwrap()
                .with_algorithm(v.algorithm.parse().unwrap())])
            .unwrap(),
        )
        .cookie_name(v.cookie_name)
        .open_legacy_v1(true)
        .build()
        .unwrap();
        let opened = legacy
            .open_at::<Payload>(v.cookie, at(v.renewed_at + 1))
            .unwrap();
        assert!(opened.opened_with().needs_reseal());
        let resealed = legacy
            .seal_with_times(opened.value(), opened.times())
            .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(resealed.value()).unwrap()[0],
            wire::FORMAT_VERSION
        );
        // Without the opt-in, only the resealed value opens.
        let strict = codec_for(v);
        assert!(
            strict
                .open_at::<Payload>(v.cookie, at(v.renewed_at + 1))
                .is_err()
        );
        assert_eq!(
            strict
                .open_at::<Payload>(resealed.value(), at(v.renewed_at + 1))
                .unwrap()
                .value(),
            &v.payload
        );
    }
}
