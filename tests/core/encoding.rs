//! Per algorithm: values round-trip (structs, enums, maps, unit and empty
//! values, with an injected or the real clock), sealing is randomised, the
//! header and length are as documented, and opening as the wrong type is
//! `UnknownSchema` (or `Undecodable` when its schema matches).

use std::collections::BTreeMap;

use sealed_session::{ErrorKind, FORMAT_VERSION, SchemaId, Times};
use serde::Serialize;

use crate::fixtures::{
    Empty, Flash, User, algorithm_suites, codec, decode, kind, ring, seal_t0, secs, t0, user,
};

algorithm_suites! {
    fn round_trip<T>(value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
    {
        let codec = codec(ring([key()]));
        let sealed = codec.seal_with_times(value, Times::new(t0())).unwrap();
        let opened = codec.open_at::<T>(sealed.value(), t0() + secs(1)).unwrap();
        assert_eq!(opened.value(), value);
        assert_eq!(opened.times(), Times::new(t0()));
        assert_eq!(opened.opened_with().key_id(), codec.ring().primary_id());
        assert_eq!(opened.opened_with().algorithm(), ALGORITHM);
        assert!(opened.opened_with().is_primary());
        assert_eq!(
            sealed.size(),
            codec.cookie_name().len() + 1 + sealed.value().len()
        );
    }

    #[test]
    fn round_trips_a_struct() {
        round_trip(&user());
    }

    #[test]
    fn round_trips_every_enum_variant() {
        round_trip(&Flash::None);
        round_trip(&Flash::Notice("saved".to_owned()));
        round_trip(&Flash::Error {
            code: 404,
            message: "not found".to_owned(),
        });
    }

    #[test]
    fn round_trips_a_nested_map() {
        let mut inner = BTreeMap::new();
        inner.insert("theme".to_owned(), vec![Some(1u8), None]);
        inner.insert("ünïcode ✓".to_owned(), vec![]);
        let mut outer = BTreeMap::new();
        outer.insert(3u32, inner.clone());
        outer.insert(0, BTreeMap::new());
        outer.insert(u32::MAX, inner);
        round_trip(&outer);
    }

    #[test]
    fn round_trips_unit_and_empty_values() {
        round_trip(&());
        round_trip(&Empty {});
        round_trip(&String::new());
        round_trip(&Vec::<u8>::new());
        round_trip(&BTreeMap::<String, String>::new());
        round_trip(&None::<u64>);
    }

    #[test]
    fn round_trips_through_seal_and_open_with_the_real_clock() {
        let codec = codec(ring([key()]));
        let sealed = codec.seal(&user()).unwrap();
        assert_eq!(codec.open::<User>(sealed.value()).unwrap().value(), &user());
    }

    #[test]
    fn seals_the_same_value_differently_each_time() {
        let codec = codec(ring([key()]));
        let a = codec.seal_with_times(&user(), Times::new(t0())).unwrap();
        let b = codec.seal_with_times(&user(), Times::new(t0())).unwrap();
        assert_ne!(a.value(), b.value());
        assert_eq!(a.size(), b.size());
    }

    #[test]
    fn writes_the_documented_header_and_length() {
        let (codec, value) = sealed();
        let raw = decode(&value);
        assert_eq!(raw[0], FORMAT_VERSION);
        assert_eq!(raw[1], ALGORITHM.wire_id());
        assert_eq!(raw[2..6], codec.ring().primary_id().to_bytes());
        assert_eq!(raw[6..10], SchemaId::of::<User>().to_bytes());
        let size = codec.sealed_size(&user()).unwrap();
        assert_eq!(size, codec.cookie_name().len() + 1 + value.len());
        // Plaintext: issued-at in milliseconds (a 6-byte varint),
        // renewed-at in seconds (5), the 16-byte session id, no
        // subject (1), no expiry (1), the inline tag, then the user:
        // id 1, name 1 + 5, admin 1, last_seen 1 + 5.
        let plaintext = 6 + 5 + 16 + 1 + 1 + 1 + 1 + 6 + 1 + 6;
        assert_eq!(raw.len(), 10 + ALGORITHM.nonce_len() + plaintext + 16);
    }

    #[test]
    fn reports_an_unknown_schema_for_another_type() {
        let codec = codec(ring([key()]));
        let at = t0() + secs(1);
        let s = seal_t0(&codec, &"hello world".to_owned());
        let unknown = ErrorKind::UnknownSchema {
            schema: SchemaId::of::<String>(),
        };
        assert_eq!(kind(codec.open_at::<u8>(&s, at)), unknown);
        assert_eq!(kind(codec.open_at::<User>(&s, at)), unknown);
        assert_eq!(kind(codec.open_at::<Vec<u8>>(&s, at)), unknown);
    }

    #[test]
    fn reports_undecodable_when_the_schema_matches_but_the_bytes_do_not() {
        // Every type declared under one schema name, so each value reaches
        // postcard as whatever type is asked for.
        let codec = sealed_session::Codec::builder(ring([key()]))
            .schema::<String>("one")
            .schema::<u8>("one")
            .schema::<()>("one")
            .schema::<bool>("one")
            .schema::<User>("one")
            .schema::<Flash>("one")
            .schema::<Option<u8>>("one")
            .schema::<Vec<u8>>("one")
            .build()
            .unwrap();
        let at = t0() + secs(1);
        // Trailing bytes once the wrong type is read.
        let s = seal_t0(&codec, &"hello world".to_owned());
        assert_eq!(kind(codec.open_at::<u8>(&s, at)), ErrorKind::Undecodable);
        assert_eq!(kind(codec.open_at::<()>(&s, at)), ErrorKind::Undecodable);
        // Not a valid bool, too short for the struct.
        assert_eq!(kind(codec.open_at::<bool>(&s, at)), ErrorKind::Undecodable);
        let s = seal_t0(&codec, &7u8);
        assert_eq!(kind(codec.open_at::<User>(&s, at)), ErrorKind::Undecodable);
        // An enum variant the reader does not have.
        let s = seal_t0(
            &codec,
            &Flash::Error {
                code: 1,
                message: String::new(),
            },
        );
        assert_eq!(
            kind(codec.open_at::<Option<u8>>(&s, at)),
            ErrorKind::Undecodable
        );
        // Invalid UTF-8 for a String.
        let s = seal_t0(&codec, &vec![1u8, 0xff]);
        assert_eq!(
            kind(codec.open_at::<String>(&s, at)),
            ErrorKind::Undecodable
        );
        // The right type still opens.
        assert_eq!(
            codec.open_at::<Vec<u8>>(&s, at).unwrap().value(),
            &[1, 0xff]
        );
    }
}
