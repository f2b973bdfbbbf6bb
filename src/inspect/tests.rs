//! Inspection agrees with opening, and shows what it should.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::*;
use crate::codec::envelope;
use crate::codec::envelope::{Body, STORE_ID_BYTES};
use crate::crypto::cipher::TAG_BYTES;
use crate::crypto::key::Key;
use crate::crypto::ring::KeyRing;
use crate::crypto::{seal, wire};
use crate::limits::MAX_COOKIE_BYTES;
use crate::session::FreshReason;
use crate::session::Session;
use crate::session::map::Map;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct User {
    id: u64,
    name: String,
    roles: Vec<String>,
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn codec_with(keys: Vec<Key>, name: &str) -> Codec {
    Codec::builder(KeyRing::new(keys).unwrap())
        .cookie_name(name)
        .idle_timeout(Duration::from_secs(60))
        .absolute_timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

fn codec(algorithm: Algorithm) -> Codec {
    codec_with(vec![Key::generate().with_algorithm(algorithm)], "session")
}

/// Seals raw envelope bytes (not necessarily a valid envelope).
fn seal_plaintext(codec: &Codec, plaintext: &[u8]) -> String {
    let prefix = wire::prefix_len(codec.ring().primary_algorithm());
    let mut buf = vec![0u8; prefix];
    buf.extend_from_slice(plaintext);
    buf.extend_from_slice(&[0u8; TAG_BYTES]);
    let len = seal::seal_in_place(
        codec.ring(),
        SchemaId::named("inspect test"),
        codec.cookie_name().as_bytes(),
        &mut buf,
        plaintext.len(),
    )
    .unwrap();
    wire::encode_base64(&buf[..len])
}

#[test]
fn payload_is_the_postcard_of_the_session_for_every_algorithm() {
    let user = User {
        id: 7,
        name: "alice".into(),
        roles: vec!["admin".into()],
    };
    for &algorithm in Algorithm::ALL {
        let codec = codec(algorithm);
        let sealed = codec.seal_with_times(&user, Times::new(t0())).unwrap();
        let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
        assert_eq!(seen.opened_with().algorithm(), algorithm);
        assert_eq!(seen.opened_with().key_id(), codec.ring().primary_id());
        assert!(seen.opened_with().is_primary());
        assert_eq!(seen.times(), Times::new(t0()));
        assert_eq!(seen.cookie_bytes(), sealed.size());
        let payload = seen.payload().unwrap();
        assert_eq!(payload.as_bytes(), postcard::to_allocvec(&user).unwrap());
        assert_eq!(payload.decode::<User>().unwrap(), user);
    }
}

#[test]
fn agrees_with_open_on_every_value_that_opens() {
    let codec = codec(Algorithm::Aes256Gcm);
    let sealed = codec
        .seal_with_times(&(1u8, "x".to_owned()), Times::new(t0()))
        .unwrap();
    let opened = codec.open_at::<(u8, String)>(sealed.value(), t0()).unwrap();
    let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
    assert_eq!(seen.opened_with(), opened.opened_with());
    assert_eq!(seen.times(), opened.times());
}

#[test]
fn zero_sized_session_has_an_empty_payload() {
    let codec = codec(Algorithm::Xaes256Gcm);
    let sealed = codec.seal_with_times(&(), Times::new(t0())).unwrap();
    let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
    assert!(seen.payload().unwrap().is_empty());
    seen.payload().unwrap().decode::<()>().unwrap();
}

#[test]
fn map_session_payload_decodes_as_a_btreemap_of_bytes() {
    let codec = codec(Algorithm::Xaes256Gcm);
    let mut session: Session<Map> = Session::fresh(FreshReason::NoCookie, codec.clone());
    session.insert("user", "alice").unwrap();
    session.insert("n", &42u64).unwrap();
    let map = session.into_inner();
    let sealed = codec.seal_with_times(&map, Times::new(t0())).unwrap();
    let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
    let payload = seen.payload().unwrap();
    assert_eq!(payload.decode::<Map>().unwrap(), map);
    let entries = payload.decode::<BTreeMap<String, Vec<u8>>>().unwrap();
    assert_eq!(entries["user"], postcard::to_allocvec("alice").unwrap());
    assert_eq!(entries["n"], vec![42]);
}

#[test]
fn store_pointer_shows_its_id_and_no_payload() {
    let codec = codec(Algorithm::XChaCha20Poly1305);
    let id = StoreId::generate();
    let identity = crate::codec::Identity {
        id: SessionId::from_bytes([5; 16]),
        subject: None,
        expiry: None,
    };
    let env = envelope::<()>(Times::new(t0()), identity, Body::Stored(id.to_bytes()));
    let sealed = codec.seal_envelope(SchemaId::of::<()>(), &env).unwrap();
    let seen = inspect_at(&codec, sealed.value(), t0()).unwrap();
    assert_eq!(seen.contents(), &Contents::Stored(id));
    assert!(seen.payload().is_none());
    assert_eq!(seen.session_id(), SessionId::from_bytes([5; 16]));
    assert_eq!(seen.subject(), None);
}

#[test]
fn reports_each_deadline_exactly_when_open_would_expire() {
    let codec = codec(Algorithm::Aes256Gcm);
    let renewed = t0() + Duration::from_secs(580);
    let times = Times::from_parts(t0(), renewed);
    let sealed = codec.seal_with_times(&1u8, times).unwrap();
    let at = |secs: u64| inspect_at(&codec, sealed.value(), t0() + Duration::from_secs(secs));

    let live = at(599).unwrap();
    assert!(!live.is_expired());
    assert_eq!(live.idle_deadline(), renewed + Duration::from_secs(60));
    assert_eq!(live.absolute_deadline(), t0() + Duration::from_secs(600));

    let absolute = at(600).unwrap();
    assert!(absolute.absolute_expired() && !absolute.idle_expired());
    let both = at(640).unwrap();
    assert!(both.absolute_expired() && both.idle_expired());

    for secs in [0, 599, 600, 640] {
        let now = t0() + Duration::from_secs(secs);
        let expired = codec
            .open_at::<u8>(sealed.value(), now)
            .is_err_and(|e| e.kind() == ErrorKind::Expired);
        assert_eq!(at(secs).unwrap().is_expired(), expired, "at {secs}");
    }
}

#[test]
fn idle_deadline_alone_expires_a_value() {
    let codec = codec(Algorithm::Xaes256Gcm);
    let sealed = codec.seal_with_times(&1u8, Times::new(t0())).unwrap();
    let seen = inspect_at(&codec, sealed.value(), t0() + Duration::from_secs(60)).unwrap();
    assert!(seen.idle_expired() && !seen.absolute_expired() && seen.is_expired());
}

#[test]
fn non_primary_key_is_reported() {
    let (old, new) = (Key::generate(), Key::generate());
    let before = codec_with(vec![old.clone()], "session");
    let after = codec_with(vec![new, old.clone()], "session");
    let sealed = before.seal_with_times(&1u8, Times::new(t0())).unwrap();
    let seen = inspect_at(&after, sealed.value(), t0()).unwrap();
    assert_eq!(seen.opened_with().key_id(), old.id());
    assert!(!seen.opened_with().is_primary());
}

#[test]
fn rejects_what_open_rejects() {
    let key = Key::generate();
    let codec = codec_with(vec![key.clone()], "session");
    let sealed = codec
        .seal_with_times(&"hello".to_owned(), Times::new(t0()))
        .unwrap();
    let value = sealed.value();
    let rejected = |codec: &Codec, v: &str| {
        inspect_at(codec, v, t0()).is_err_and(|e| e.kind() == ErrorKind::Rejected)
    };

    // Every character changed, every truncation.
    for i in 0..value.len() {
        let mut bytes = value.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert!(
            rejected(&codec, std::str::from_utf8(&bytes).unwrap()),
            "flip {i}"
        );
        assert!(rejected(&codec, &value[..i]), "truncate {i}");
    }
    // Another cookie name, a ring without the key, garbage, over-long.
    assert!(rejected(&codec_with(vec![key], "other"), value));
    assert!(rejected(
        &codec_with(vec![Key::generate()], "session"),
        value
    ));
    assert!(rejected(&codec, "é not base64"));
    assert!(rejected(&codec, &"A".repeat(MAX_COOKIE_BYTES)));
}

#[test]
fn rejects_an_undecodable_envelope_after_authentication() {
    let codec = codec(Algorithm::Xaes256Gcm);
    // Times 0 and 0, a session id, no subject, no expiry, then the body.
    let head = [&[0u8, 0][..], &[9; 16], &[0, 0]].concat();
    let with = |rest: &[u8]| [&head[..], rest].concat();
    let stored_with_trailing = with(&[&[1][..], &[7u8; STORE_ID_BYTES + 1]].concat());
    for plaintext in [
        with(&[2]),
        vec![0, 0],
        with(&[1, 1, 2]),
        // An expiry tag that is neither 0 nor 1.
        [&[0u8, 0][..], &[9; 16], &[0, 2, 0]].concat(),
        stored_with_trailing,
        [&[0u8, 0][..], &[9; 15]].concat(),
    ] {
        let value = seal_plaintext(&codec, &plaintext);
        let err = inspect_at(&codec, &value, t0()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Undecodable, "{plaintext:?}");
    }
    // And a hand-made envelope that is valid opens.
    let plaintext = [&[5u8, 6][..], &[9; 16], &[1, 1, b'u', 0, 0, 0xAB]].concat();
    let value = seal_plaintext(&codec, &plaintext);
    let seen = inspect_at(&codec, &value, t0()).unwrap();
    assert_eq!(seen.payload().unwrap().as_bytes(), [0xAB]);
    assert_eq!(seen.times(), Times::from_sealed(5, 6));
    assert_eq!(seen.expiry(), None);
    assert_eq!(seen.session_id(), SessionId::from_bytes([9; 16]));
    assert_eq!(seen.subject(), Some("u"));
    // With an expiry: a week idle, thirty days absolute, persistent.
    let plaintext = [
        &[5u8, 6][..],
        &[9; 16],
        &[0, 1, 0x80, 0xf5, 0x24, 0x80, 0x9a, 0x9e, 0x01, 1, 0, 0xAB],
    ]
    .concat();
    let seen = inspect_at(&codec, &seal_plaintext(&codec, &plaintext), t0()).unwrap();
    let day = std::time::Duration::from_secs(86_400);
    assert_eq!(
        seen.expiry(),
        Some(crate::Expiry::persistent(7 * day, 30 * day))
    );
    assert_eq!(seen.subject(), None);
}

#[test]
fn header_peek_reads_the_clear_header_only() {
    let key = Key::generate().with_algorithm(Algorithm::Aes256Gcm);
    let codec = codec_with(vec![key.clone()], "session");
    let sealed = codec.seal(&1u8).unwrap();
    let header = Header::peek(sealed.value()).unwrap();
    assert_eq!(header.key_id(), key.id());
    assert_eq!(header.algorithm(), Algorithm::Aes256Gcm);
    assert_eq!(header.version(), crate::FORMAT_VERSION);
    assert_eq!(header.schema(), Some(SchemaId::of::<u8>()));
    // Only the first sixteen characters matter: the rest can be anything.
    assert_eq!(Header::peek(&sealed.value()[..16]), Some(header));
    assert_eq!(Header::peek(&sealed.value()[..15]), None);
    // Another version or algorithm byte, or no base64.
    let other_version = wire::encode_base64(&[3, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let other_algorithm = wire::encode_base64(&[2, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Header::peek(&other_version), None);
    assert_eq!(Header::peek(&other_algorithm), None);
    assert_eq!(Header::peek("éééééééé"), None);
    assert_eq!(Header::peek("!!!!!!!!"), None);
}

#[test]
fn payload_debug_shows_no_bytes() {
    let payload = Payload(Zeroizing::new(b"secret".to_vec()));
    let debug = format!("{payload:?}");
    assert_eq!(debug, "Payload { len: 6, .. }");
}

#[test]
fn payload_decode_rejects_trailing_bytes() {
    let payload = Payload(Zeroizing::new(vec![1, 2]));
    assert_eq!(
        payload.decode::<u8>().unwrap_err().kind(),
        ErrorKind::Undecodable
    );
}
