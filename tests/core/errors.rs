//! Error messages: they do not echo the input, and they are lowercase
//! without a trailing period.

use std::time::Duration;

use sealed_session::{Codec, Error, ErrorKind, Key, KeyRing};

use crate::fixtures::{User, decode, encode, kind, user};

#[test]
fn error_messages_do_not_echo_input() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .build()
        .unwrap();
    let sealed = codec.seal(&user()).unwrap().into_value();
    let mut raw = decode(&sealed);
    raw[10] ^= 1;
    let tampered = encode(&raw);
    for input in [
        "c2VjcmV0LWNvb2tpZS12YWx1ZQ".to_owned(),
        "secret cookie value".to_owned(),
        tampered.clone(),
        format!("{sealed}AAAA"),
        sealed[..40].to_owned(),
    ] {
        let err = codec.open::<User>(&input).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rejected);
        for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!text.contains(&input), "{text}");
            // Not even a recognisable piece of it.
            assert!(!text.contains(&input[..input.len().min(8)]), "{text}");
        }
    }
    // Wrong type: authentic, and still nothing of the value is echoed.
    let err = codec.open::<u8>(&sealed).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownSchema { .. }));
    assert!(!err.to_string().contains("alice"));
    assert!(!format!("{err:?}").contains("alice"));
}

#[test]
fn error_messages_are_lowercase_without_a_trailing_period() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let errors = [
        ErrorKind::Rejected,
        ErrorKind::Expired,
        ErrorKind::Undecodable,
        ErrorKind::TooLarge {
            size: 5000,
            limit: 4096,
        },
        ErrorKind::Serialize,
        kind(Key::from_bytes(&[0; 7])),
        kind(Key::derive_from_secret(b"short")),
        kind(Key::parse("?")),
        kind(KeyRing::new([])),
        kind(KeyRing::from_env(
            "SEALED_SESSION_TEST_SURELY_UNSET_VARIABLE",
        )),
        kind(Codec::builder(ring.clone()).cookie_name("").build()),
        kind(Codec::builder(ring.clone()).size_limit(1).build()),
        kind(Codec::builder(ring).idle_timeout(Duration::ZERO).build()),
    ];
    for kind in errors {
        let text = Error::from(kind).to_string();
        assert_eq!(text, kind.to_string());
        let first = text.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}
