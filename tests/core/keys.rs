//! Keys and rings: `Debug` never shows key material (nor a sealed cookie's
//! value), key length and secret length errors, ring size and duplicate
//! keys, key strings and base64, and key ids.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sealed_session::limits::{KEY_BYTES, MAX_KEYS};
use sealed_session::{Algorithm, Codec, ErrorKind, Key, KeyRing};

use crate::fixtures::{User, kind, user};

/// Fixed, irregular key bytes, so leaks are recognisable.
const BYTES: [u8; KEY_BYTES] = [
    0x9c, 0x3e, 0x51, 0x07, 0xd4, 0xa2, 0x6b, 0xf0, 0x18, 0x8d, 0x3a, 0xc5, 0x72, 0xe9, 0x0f, 0x44,
    0xb6, 0x2d, 0x93, 0x5e, 0x81, 0xfa, 0x27, 0x6c, 0xc0, 0x39, 0xae, 0x15, 0x7b, 0xd2, 0x64, 0x8f,
];

fn leaks(text: &str) -> Vec<String> {
    let hex: String = BYTES.iter().map(|b| format!("{b:02x}")).collect();
    let forms = [
        STANDARD_NO_PAD.encode(BYTES),
        URL_SAFE_NO_PAD.encode(BYTES),
        hex.clone(),
        hex.to_uppercase(),
        // Any eight consecutive bytes, in hex.
        hex[..16].to_owned(),
        hex[48..].to_owned(),
        format!("{BYTES:?}"),
        format!("{BYTES:#?}"),
        format!("{:?}", &BYTES[..4])
            .trim_end_matches(']')
            .to_owned(),
        format!("{:x?}", &BYTES[..4])
            .trim_end_matches(']')
            .to_owned(),
        format!("{}, {}, {}", BYTES[0], BYTES[1], BYTES[2]),
    ];
    forms
        .into_iter()
        .filter(|form| text.contains(form.as_str()))
        .collect()
}

#[test]
fn debug_does_not_leak_key() {
    for &algorithm in Algorithm::ALL {
        let key = Key::from_bytes(&BYTES).unwrap().with_algorithm(algorithm);
        for text in [format!("{key:?}"), format!("{key:#?}")] {
            assert_eq!(leaks(&text), Vec::<String>::new(), "{text}");
            assert!(text.contains(&key.id().to_string()), "{text}");
        }
        // Sanity: the leak check does see the key's own encodings.
        assert!(!leaks(&key.to_base64()).is_empty());
    }
}

#[test]
fn debug_of_ring_and_codec_does_not_leak_key() {
    let key = Key::from_bytes(&BYTES).unwrap();
    let ring = KeyRing::new([key]).unwrap();
    let codec = Codec::builder(ring.clone()).build().unwrap();
    for text in [
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{codec:#?}"),
    ] {
        assert_eq!(leaks(&text), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn debug_of_codec_and_builder_shows_the_configuration() {
    let key = Key::from_bytes(&BYTES).unwrap();
    let ring = KeyRing::new([key.clone()]).unwrap();
    let builder = Codec::builder(ring).cookie_name("sid").size_limit(2048);
    let shown_builder = format!("{builder:?}");
    let codec = builder.build().unwrap();
    let shown_codec = format!("{codec:?}");
    let key_id = key.id().to_string();
    for (text, head) in [
        (&shown_builder, "CodecBuilder { config: Config { "),
        (&shown_codec, "Codec { "),
    ] {
        assert!(text.starts_with(head), "{text}");
        for part in ["cookie_name: \"sid\"", "size_limit: 2048", key_id.as_str()] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        assert_eq!(leaks(text), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn debug_of_a_sealed_cookie_does_not_show_its_value() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap();
    let sealed = codec.seal(&user()).unwrap();
    let shown = format!("{sealed:?}");
    assert!(!shown.contains(sealed.value()));
    assert_eq!(
        shown,
        format!("SealedCookie {{ size: {}, .. }}", sealed.size())
    );
}

#[test]
fn key_length_error_names_the_length() {
    let err = Key::from_bytes(&[0u8; 7]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyLength { len: 7 });
    assert_eq!(err.to_string(), "key is 7 bytes; a key is 32 bytes");
    assert_eq!(
        kind(Key::from_bytes(&[0u8; 33])),
        ErrorKind::KeyLength { len: 33 }
    );
    assert_eq!(
        kind(Key::from_base64(&STANDARD_NO_PAD.encode([1u8; 7]))),
        ErrorKind::KeyLength { len: 7 }
    );
    assert_eq!(kind(Key::from_bytes(&[])), ErrorKind::KeyLength { len: 0 });
}

#[test]
fn derive_from_secret_rejects_short_secrets() {
    let err = Key::derive_from_secret(&[b'x'; 31]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SecretTooShort { len: 31 });
    assert_eq!(
        kind(Key::derive_from_secret(b"")),
        ErrorKind::SecretTooShort { len: 0 }
    );
    let secret = [b'x'; 32];
    let a = Key::derive_from_secret(&secret).unwrap();
    let b = Key::derive_from_secret(&secret).unwrap();
    assert_eq!(a.id(), b.id(), "derivation is deterministic");
    assert_eq!(a.to_base64(), b.to_base64());
    let c = Key::derive_from_secret(&[b'y'; 32]).unwrap();
    assert_ne!(a.id(), c.id());
    // The derived key is not the secret itself.
    assert_ne!(a.to_base64(), STANDARD_NO_PAD.encode(secret));
}

#[test]
fn rejects_a_duplicate_key_in_a_ring() {
    let key = Key::generate();
    assert_eq!(
        kind(KeyRing::new([key.clone(), key.clone()])),
        ErrorKind::DuplicateKeyId
    );
    // The same material under another algorithm is still the same key.
    assert_eq!(
        kind(KeyRing::new([
            key.clone(),
            Key::generate(),
            key.with_algorithm(Algorithm::Aes256Gcm),
        ])),
        ErrorKind::DuplicateKeyId
    );
}

#[test]
fn rejects_an_empty_ring() {
    assert_eq!(kind(KeyRing::new([])), ErrorKind::EmptyKeyRing);
    assert_eq!(kind(KeyRing::from_key_strings("")), ErrorKind::EmptyKeyRing);
    assert_eq!(
        kind(KeyRing::from_key_strings(" , ,")),
        ErrorKind::EmptyKeyRing
    );
}

#[test]
fn rejects_more_keys_than_a_ring_holds() {
    let keys = |n| (0..n).map(|_| Key::generate()).collect::<Vec<_>>();
    assert_eq!(KeyRing::new(keys(MAX_KEYS)).unwrap().len(), MAX_KEYS);
    for count in [MAX_KEYS + 1, MAX_KEYS + 8] {
        let err = KeyRing::new(keys(count)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyKeys { count });
        assert_eq!(
            err.to_string(),
            format!("key ring has {count} keys; the most a ring holds is 32")
        );
    }
}

#[test]
fn from_key_strings_sets_each_keys_algorithm() {
    let (a, b) = (Key::generate(), Key::generate());
    let list = format!("aes-256-gcm:{}, {}\n", a.to_base64(), b.to_base64());
    let ring = KeyRing::from_key_strings(&list).unwrap();
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.key_ids().collect::<Vec<_>>(), [a.id(), b.id()]);
    assert_eq!(ring.primary_algorithm(), Algorithm::Aes256Gcm);
    // The second key has no prefix, so the default algorithm: a value it
    // sealed opens through the ring as XAES-256-GCM.
    let sealer = Codec::builder(KeyRing::new([b.clone()]).unwrap())
        .build()
        .unwrap();
    let value = sealer.seal(&user()).unwrap();
    let opened = Codec::builder(ring)
        .build()
        .unwrap()
        .open::<User>(value.value())
        .unwrap();
    assert_eq!(opened.opened_with().algorithm(), Algorithm::Xaes256Gcm);
    assert_eq!(opened.opened_with().key_id(), b.id());
    assert!(!opened.opened_with().is_primary());
}

#[test]
fn rejects_bad_key_strings() {
    let good = Key::generate().to_base64();
    for bad in [
        format!("aes-128-gcm:{good}"),
        format!(":{good}"),
        "not base64!".to_owned(),
        format!("{good}*"),
    ] {
        assert_eq!(kind(Key::parse(&bad)), ErrorKind::KeyEncoding, "{bad}");
    }
    assert_eq!(
        kind(KeyRing::from_key_strings(&format!("{good},xchacha:{good}"))),
        ErrorKind::KeyEncoding
    );
}

#[test]
fn key_strings_round_trip() {
    for &algorithm in Algorithm::ALL {
        let key = Key::generate().with_algorithm(algorithm);
        let string = key.to_key_string();
        assert!(string.starts_with(&format!("{}:", algorithm.name())));
        for parsed in [
            Key::parse(&string).unwrap(),
            string.parse::<Key>().unwrap(),
            // Names are case-insensitive; whitespace around is ignored.
            Key::parse(&format!(
                "  {}:{}  ",
                algorithm.name().to_uppercase(),
                key.to_base64()
            ))
            .unwrap(),
        ] {
            assert_eq!(parsed.id(), key.id());
            assert_eq!(parsed.algorithm(), algorithm);
            assert_eq!(parsed.to_base64(), key.to_base64());
        }
    }
}

#[test]
fn from_base64_accepts_either_alphabet_with_or_without_padding() {
    let key = Key::from_bytes(&BYTES).unwrap();
    for encoded in [
        STANDARD_NO_PAD.encode(BYTES),
        base64::engine::general_purpose::STANDARD.encode(BYTES),
        URL_SAFE_NO_PAD.encode(BYTES),
        URL_SAFE.encode(BYTES),
    ] {
        let parsed = Key::from_base64(&encoded).unwrap();
        assert_eq!(parsed.id(), key.id(), "{encoded}");
        assert_eq!(parsed.algorithm(), Algorithm::Xaes256Gcm);
    }
}

#[test]
fn key_ids_are_distinct_public_and_stable() {
    let key = Key::from_bytes(&BYTES).unwrap();
    let id = key.id();
    assert_eq!(id.to_string().len(), 8);
    assert_eq!(format!("{id:?}"), format!("KeyId({id})"));
    assert_eq!(sealed_session::KeyId::from_bytes(id.to_bytes()), id);
    // The id depends on the key material only.
    assert_eq!(key.clone().with_algorithm(Algorithm::Aes256Gcm).id(), id);
    assert_ne!(Key::generate().id(), id);
}
