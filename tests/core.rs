//! The sealed core over its public API: one suite per algorithm (round
//! trips, size limit, every byte flipped, every truncation, wrong key,
//! unknown key id, swapped cookie name, header changes, rotation, expiry,
//! wrong type), then keys, rings, the codec builder and error messages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sealed_session::limits::{KEY_BYTES, MAX_COOKIE_BYTES, MAX_KEYS};
use sealed_session::{
    Algorithm, Codec, Error, ErrorKind, FORMAT_VERSION, Key, KeyRing, SchemaId, Times,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct User {
    id: u64,
    name: String,
    admin: bool,
    last_seen: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
enum Flash {
    None,
    Notice(String),
    Error { code: u16, message: String },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct Empty {}

/// A whole-second instant well after the epoch.
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn user() -> User {
    User {
        id: 42,
        name: "alice".to_owned(),
        admin: false,
        last_seen: Some(1_700_000_000),
    }
}

fn kind<T: std::fmt::Debug>(result: Result<T, Error>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// Seals `value` as issued at `t0()`.
fn seal_t0<T: Serialize + serde::de::DeserializeOwned + 'static>(
    codec: &Codec,
    value: &T,
) -> String {
    codec
        .seal_with_times(value, Times::new(t0()))
        .unwrap()
        .into_value()
}

fn decode(value: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value).unwrap()
}

fn encode(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// `raw` with byte `i` replaced by `byte`, encoded as a cookie value.
fn with_byte(raw: &[u8], i: usize, byte: u8) -> String {
    let mut bad = raw.to_vec();
    bad[i] = byte;
    encode(&bad)
}

/// Each byte of `raw` at `positions` XORed with 0x01, 0x80 and 0xff in
/// turn: the index, the mask and the encoded value.
fn flipped(raw: &[u8], positions: Range<usize>) -> Vec<(usize, u8, String)> {
    positions
        .flat_map(|i| [0x01, 0x80, 0xff].map(|mask| (i, mask, with_byte(raw, i, raw[i] ^ mask))))
        .collect()
}

macro_rules! algorithm_suite {
    ($name:ident, $algorithm:expr) => {
        mod $name {
            use super::*;

            const ALGORITHM: Algorithm = $algorithm;

            fn key() -> Key {
                Key::generate().with_algorithm(ALGORITHM)
            }

            fn ring(keys: impl IntoIterator<Item = Key>) -> KeyRing {
                KeyRing::new(keys).unwrap()
            }

            fn codec(ring: KeyRing) -> Codec {
                Codec::builder(ring).build().unwrap()
            }

            fn named(ring: KeyRing, name: &str) -> Codec {
                Codec::builder(ring).cookie_name(name).build().unwrap()
            }

            /// A codec and a value it sealed at `t0()`.
            fn sealed() -> (Codec, String) {
                let codec = codec(ring([key()]));
                let value = seal_t0(&codec, &user());
                (codec, value)
            }

            fn open_user(codec: &Codec, value: &str) -> Result<User, Error> {
                codec
                    .open_at::<User>(value, t0() + secs(60))
                    .map(|o| o.into_value())
            }

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
            fn seals_up_to_the_size_limit_and_reports_one_byte_over_exactly() {
                let codec = codec(ring([key()]));
                let limit = codec.size_limit();
                assert_eq!(limit, MAX_COOKIE_BYTES);
                let size_of = |n: usize| codec.sealed_size(&vec![0xA5u8; n]).unwrap();
                // The largest byte vector whose cookie fits.
                let n = (0..limit).rev().find(|&n| size_of(n) <= limit).unwrap();
                assert!(size_of(n + 1) > limit);

                let fits = codec.seal(&vec![0xA5u8; n]).unwrap();
                assert_eq!(fits.size(), size_of(n));
                assert_eq!(
                    fits.size(),
                    codec.cookie_name().len() + 1 + fits.value().len()
                );
                assert!(fits.size() <= limit && fits.size() >= limit - 1);
                let opened = codec.open::<Vec<u8>>(fits.value()).unwrap();
                assert_eq!(opened.value().len(), n);

                // One byte more: the error carries the exact size, measured
                // independently by sealing under a shorter cookie name.
                let short = named(codec.ring().clone(), "s");
                let over = short.seal(&vec![0xA5u8; n + 1]).unwrap();
                let expected = codec.cookie_name().len() + 1 + over.value().len();
                assert_eq!(expected, size_of(n + 1));
                assert!(expected == limit + 1 || expected == limit + 2);
                match kind(codec.seal(&vec![0xA5u8; n + 1])) {
                    ErrorKind::TooLarge { size, limit: l } => {
                        assert_eq!((size, l), (expected, limit));
                    }
                    other => panic!("expected TooLarge, got {other:?}"),
                }
            }

            #[test]
            fn a_cookie_exactly_at_the_size_limit_seals_and_opens() {
                let ring = ring([key()]);
                let value = vec![0xA5u8; 1000];
                let size = codec(ring.clone()).sealed_size(&value).unwrap();
                let exact = Codec::builder(ring).size_limit(size).build().unwrap();
                let sealed = exact.seal(&value).unwrap();
                assert_eq!((sealed.size(), exact.size_limit()), (size, size));
                let opened = exact.open::<Vec<u8>>(sealed.value()).unwrap();
                assert_eq!(opened.value(), &value);
                // One byte less and the same value neither seals nor opens.
                let under = Codec::builder(exact.ring().clone())
                    .size_limit(size - 1)
                    .build()
                    .unwrap();
                assert_eq!(
                    kind(under.seal(&value)),
                    ErrorKind::TooLarge {
                        size,
                        limit: size - 1
                    }
                );
                assert_eq!(
                    kind(under.open::<Vec<u8>>(sealed.value())),
                    ErrorKind::Rejected
                );
            }

            #[test]
            fn reports_the_configured_limit_when_too_large() {
                let codec = Codec::builder(ring([key()]))
                    .size_limit(512)
                    .build()
                    .unwrap();
                let value = vec![0u8; 600];
                let size = codec.sealed_size(&value).unwrap();
                assert_eq!(
                    kind(codec.seal(&value)),
                    ErrorKind::TooLarge { size, limit: 512 }
                );
                // Far over even the largest buffer, the sizes are still exact.
                let huge = vec![0u8; 10_000];
                let size = codec.sealed_size(&huge).unwrap();
                assert!(size > MAX_COOKIE_BYTES);
                assert_eq!(
                    kind(codec.seal(&huge)),
                    ErrorKind::TooLarge { size, limit: 512 }
                );
            }

            #[test]
            fn rejects_a_value_longer_than_the_size_limit_before_decoding() {
                let ring = ring([key()]);
                let big = codec(ring.clone()).seal(&vec![1u8; 1000]).unwrap();
                let small = Codec::builder(ring).size_limit(512).build().unwrap();
                assert_eq!(
                    kind(small.open::<Vec<u8>>(big.value())),
                    ErrorKind::Rejected
                );
            }

            #[test]
            fn rejects_every_flipped_byte() {
                let (codec, value) = sealed();
                let raw = decode(&value);
                for (i, mask, bad) in flipped(&raw, 0..raw.len()) {
                    assert_eq!(
                        kind(open_user(&codec, &bad)),
                        ErrorKind::Rejected,
                        "byte {i} ^ {mask:#04x}"
                    );
                }
                assert_eq!(open_user(&codec, &value).unwrap(), user());
            }

            #[test]
            fn rejects_every_truncation() {
                let (codec, value) = sealed();
                for len in 0..value.len() {
                    assert_eq!(
                        kind(open_user(&codec, &value[..len])),
                        ErrorKind::Rejected,
                        "string truncated to {len}"
                    );
                }
                let raw = decode(&value);
                for len in 0..raw.len() {
                    assert_eq!(
                        kind(open_user(&codec, &encode(&raw[..len]))),
                        ErrorKind::Rejected,
                        "bytes truncated to {len}"
                    );
                }
            }

            #[test]
            fn rejects_appended_bytes() {
                let (codec, value) = sealed();
                for suffix in ["A", "AA", "AAA", "AAAA", "Zm9v"] {
                    let bad = format!("{value}{suffix}");
                    assert_eq!(
                        kind(open_user(&codec, &bad)),
                        ErrorKind::Rejected,
                        "{suffix}"
                    );
                }
                for extra in [&[0u8][..], &[0xff], &[0, 0, 0], &[7; 16]] {
                    let mut raw = decode(&value);
                    raw.extend_from_slice(extra);
                    assert_eq!(
                        kind(open_user(&codec, &encode(&raw))),
                        ErrorKind::Rejected,
                        "{extra:?}"
                    );
                }
            }

            #[test]
            fn rejects_padded_and_non_base64_input() {
                let codec = codec(ring([key()]));
                // Names one byte apart give every sealed length mod 3.
                for name in ["bob", "bobb", "bobbb"] {
                    let u = User {
                        name: name.to_owned(),
                        ..user()
                    };
                    let value = seal_t0(&codec, &u);
                    let raw = decode(&value);
                    let open = |v: &str| kind(codec.open_at::<User>(v, t0()));
                    codec.open_at::<User>(&value, t0()).unwrap();

                    let padded = URL_SAFE.encode(&raw);
                    if padded != value {
                        assert_eq!(open(&padded), ErrorKind::Rejected, "padded");
                    }
                    assert_eq!(open(&format!("{value}=")), ErrorKind::Rejected);
                    assert_eq!(open(&format!("{value}==")), ErrorKind::Rejected);
                    assert_eq!(open(&format!(" {value}")), ErrorKind::Rejected);
                    assert_eq!(open(&format!("{value}\n")), ErrorKind::Rejected);
                    let mid = value.len() / 2;
                    for c in [" ", ".", "%", "é", "\0", "+", "/"] {
                        let bad = format!("{}{c}{}", &value[..mid], &value[mid..]);
                        assert_eq!(open(&bad), ErrorKind::Rejected, "{c:?} inserted");
                        let bad = format!("{}{c}{}", &value[..mid], &value[mid + 1..]);
                        assert_eq!(open(&bad), ErrorKind::Rejected, "{c:?} replaced");
                    }
                    // The standard alphabet is not the URL-safe one.
                    let standard = STANDARD_NO_PAD.encode(&raw);
                    if standard != value {
                        assert_eq!(open(&standard), ErrorKind::Rejected, "standard");
                    }
                    // Non-zero unused bits in the last character.
                    if raw.len() % 3 != 0 {
                        let alphabet =
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                        let last = value.as_bytes()[value.len() - 1];
                        let index = alphabet.iter().position(|&c| c == last).unwrap();
                        let sloppy = alphabet[index ^ 1] as char;
                        let bad = format!("{}{sloppy}", &value[..value.len() - 1]);
                        assert_eq!(open(&bad), ErrorKind::Rejected, "trailing bits");
                    }
                }
                for junk in ["", "=", "!!!!", "AAAA", "not a cookie", "\u{1F36A}"] {
                    assert_eq!(
                        kind(codec.open_at::<User>(junk, t0())),
                        ErrorKind::Rejected,
                        "{junk:?}"
                    );
                }
            }

            #[test]
            fn rejects_a_ring_without_the_key() {
                let (_, value) = sealed();
                let other = codec(ring([key(), key()]));
                assert_eq!(kind(open_user(&other, &value)), ErrorKind::Rejected);
            }

            #[test]
            fn rejects_swapped_cookie_name() {
                let ring = ring([key()]);
                let a = named(ring.clone(), "a");
                let b = named(ring, "b");
                let value = a.seal_with_times(&user(), Times::new(t0())).unwrap();
                assert_eq!(open_user(&a, value.value()).unwrap(), user());
                assert_eq!(kind(open_user(&b, value.value())), ErrorKind::Rejected);
            }

            #[test]
            fn rejects_a_changed_algorithm_byte() {
                let (codec, value) = sealed();
                let raw = decode(&value);
                for byte in (0..=u8::MAX).filter(|&b| b != ALGORITHM.wire_id()) {
                    let bad = with_byte(&raw, 1, byte);
                    assert_eq!(
                        kind(open_user(&codec, &bad)),
                        ErrorKind::Rejected,
                        "algorithm byte {byte}"
                    );
                }
            }

            #[test]
            fn rejects_the_same_key_material_under_another_algorithm() {
                let key = key();
                let codec_here = codec(ring([key.clone()]));
                let value = seal_t0(&codec_here, &user());
                for other in Algorithm::ALL.iter().copied().filter(|&a| a != ALGORITHM) {
                    let codec_there = codec(ring([key.clone().with_algorithm(other)]));
                    assert_eq!(codec_there.ring().primary_id(), key.id());
                    assert_eq!(kind(open_user(&codec_there, &value)), ErrorKind::Rejected);
                    // Relabelled to the other algorithm, it still fails.
                    let relabelled = with_byte(&decode(&value), 1, other.wire_id());
                    assert_eq!(
                        kind(open_user(&codec_there, &relabelled)),
                        ErrorKind::Rejected
                    );
                }
            }

            #[test]
            fn rejects_changed_key_id_bytes() {
                let (codec, value) = sealed();
                let raw = decode(&value);
                for (i, mask, bad) in flipped(&raw, 2..6) {
                    assert_eq!(
                        kind(open_user(&codec, &bad)),
                        ErrorKind::Rejected,
                        "key id byte {i} ^ {mask:#04x}"
                    );
                }
            }

            #[test]
            fn rejects_a_value_relabelled_with_another_key_in_the_ring() {
                let (a, b) = (key(), key());
                let sealer = codec(ring([a.clone()]));
                let opener = codec(ring([a, b.clone()]));
                let value = seal_t0(&sealer, &user());
                let mut raw = decode(&value);
                raw[2..6].copy_from_slice(&b.id().to_bytes());
                assert_eq!(kind(open_user(&opener, &encode(&raw))), ErrorKind::Rejected);
            }

            #[test]
            fn rejects_a_future_version() {
                let (codec, value) = sealed();
                let raw = decode(&value);
                // Version 1 too: a codec opens it only when told to. And
                // version 2 (read, but the version byte is authenticated:
                // a version-3 value relabelled as 2 does not open).
                for version in [0, 1, 2, 4, 0x81, 0xff] {
                    let bad = with_byte(&raw, 0, version);
                    assert_eq!(
                        kind(open_user(&codec, &bad)),
                        ErrorKind::Rejected,
                        "version {version}"
                    );
                }
            }

            #[test]
            fn opens_a_value_sealed_by_an_older_key_and_reports_it() {
                let (a, b) = (key(), key());
                let value = seal_t0(&codec(ring([a.clone()])), &user());

                let rotated = codec(ring([b.clone(), a.clone()]));
                let opened = rotated.open_at::<User>(&value, t0() + secs(1)).unwrap();
                assert_eq!(opened.value(), &user());
                assert_eq!(opened.opened_with().key_id(), a.id());
                assert_eq!(opened.opened_with().algorithm(), ALGORITHM);
                assert!(!opened.opened_with().is_primary());

                // Re-sealed by the rotated codec, it names the new key.
                let resealed = rotated
                    .seal_with_times(opened.value(), opened.times())
                    .unwrap();
                let again = rotated
                    .open_at::<User>(resealed.value(), t0() + secs(1))
                    .unwrap();
                assert_eq!(again.opened_with().key_id(), b.id());
                assert!(again.opened_with().is_primary());
                assert_eq!(again.times(), Times::new(t0()));

                // The old key alone still opens the old value.
                let old_only = codec(ring([a.clone()]));
                let opened = old_only.open_at::<User>(&value, t0() + secs(1)).unwrap();
                assert!(opened.opened_with().is_primary());

                // Once the old key is dropped, the old value is rejected.
                let new_only = codec(ring([b]));
                assert_eq!(kind(open_user(&new_only, &value)), ErrorKind::Rejected);
            }

            #[test]
            fn opens_with_any_of_many_older_keys() {
                let keys: Vec<Key> = (0..MAX_KEYS).map(|_| key()).collect();
                let ring = ring(keys.clone());
                for key in keys.iter().step_by(7) {
                    let value = seal_t0(&codec(KeyRing::new([key.clone()]).unwrap()), &user());

                    let opened = codec(ring.clone())
                        .open_at::<User>(&value, t0() + secs(1))
                        .unwrap();
                    assert_eq!(opened.opened_with().key_id(), key.id());
                    assert_eq!(opened.opened_with().is_primary(), key.id() == keys[0].id());
                }
            }

            #[test]
            fn expires_at_the_idle_deadline() {
                let codec = Codec::builder(ring([key()]))
                    .idle_timeout(secs(30 * 60))
                    .build()
                    .unwrap();
                let value = codec.seal_with_times(&user(), Times::new(t0())).unwrap();
                let open = |at| codec.open_at::<User>(value.value(), at);
                open(t0() + secs(30 * 60 - 1)).unwrap();
                open(t0() + secs(30 * 60) - Duration::from_millis(1)).unwrap();
                assert_eq!(kind(open(t0() + secs(30 * 60))), ErrorKind::Expired);
                assert_eq!(kind(open(t0() + secs(365 * 86_400))), ErrorKind::Expired);
            }

            #[test]
            fn renewal_extends_the_idle_deadline_but_not_the_absolute_one() {
                let codec = Codec::builder(ring([key()]))
                    .idle_timeout(secs(3_600))
                    .absolute_timeout(secs(86_400))
                    .build()
                    .unwrap();
                let renewed = Times {
                    issued_at: t0(),
                    renewed_at: t0() + secs(86_000),
                };
                let value = codec.seal_with_times(&user(), renewed).unwrap();
                let open = |at| codec.open_at::<User>(value.value(), at);
                // Past the first idle window, inside the renewed one.
                let opened = open(t0() + secs(86_399)).unwrap();
                assert_eq!(opened.times(), renewed);
                // The absolute deadline comes first now.
                assert_eq!(kind(open(t0() + secs(86_400))), ErrorKind::Expired);
            }

            #[test]
            fn expires_at_the_absolute_deadline() {
                let codec = Codec::builder(ring([key()]))
                    .idle_timeout(secs(3_600))
                    .absolute_timeout(secs(7 * 86_400))
                    .build()
                    .unwrap();
                let absolute = secs(7 * 86_400);
                let times = Times {
                    issued_at: t0(),
                    renewed_at: t0() + absolute - secs(60),
                };
                let value = codec.seal_with_times(&user(), times).unwrap();
                let open = |at| codec.open_at::<User>(value.value(), at);
                open(t0() + absolute - secs(1)).unwrap();
                assert_eq!(kind(open(t0() + absolute)), ErrorKind::Expired);
            }

            #[test]
            fn rejects_a_tampered_value_that_is_also_expired() {
                let (codec, value) = sealed();
                let late = t0() + codec.absolute_timeout() + secs(1);
                assert_eq!(
                    kind(codec.open_at::<User>(&value, late)),
                    ErrorKind::Expired
                );
                let mut raw = decode(&value);
                let last = raw.len() - 1;
                raw[last] ^= 1;
                assert_eq!(
                    kind(codec.open_at::<User>(&encode(&raw), late)),
                    ErrorKind::Rejected
                );
                raw[last] ^= 1;
                raw[6 + ALGORITHM.nonce_len()] ^= 1;
                assert_eq!(
                    kind(codec.open_at::<User>(&encode(&raw), late)),
                    ErrorKind::Rejected
                );
            }

            #[test]
            fn reports_undecodable_for_the_wrong_type() {
                let codec = codec(ring([key()]));
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
    };
}

algorithm_suite!(aes_256_gcm, Algorithm::Aes256Gcm);
algorithm_suite!(xaes_256_gcm, Algorithm::Xaes256Gcm);
algorithm_suite!(xchacha20_poly1305, Algorithm::XChaCha20Poly1305);

#[test]
fn every_algorithm_has_a_suite() {
    // When this fails, an algorithm was added: add its suite above.
    assert_eq!(
        Algorithm::ALL,
        [
            Algorithm::Aes256Gcm,
            Algorithm::Xaes256Gcm,
            Algorithm::XChaCha20Poly1305,
        ]
    );
}

mod keys {
    use super::*;

    /// Fixed, irregular key bytes, so leaks are recognisable.
    const BYTES: [u8; KEY_BYTES] = [
        0x9c, 0x3e, 0x51, 0x07, 0xd4, 0xa2, 0x6b, 0xf0, 0x18, 0x8d, 0x3a, 0xc5, 0x72, 0xe9, 0x0f,
        0x44, 0xb6, 0x2d, 0x93, 0x5e, 0x81, 0xfa, 0x27, 0x6c, 0xc0, 0x39, 0xae, 0x15, 0x7b, 0xd2,
        0x64, 0x8f,
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
}

mod builder {
    use super::*;

    fn builder() -> sealed_session::CodecBuilder {
        Codec::builder(KeyRing::new([Key::generate()]).unwrap())
    }

    #[test]
    fn rejects_bad_cookie_names() {
        let long = "a".repeat(257);
        for name in [
            "", "a b", "a;b", "a=b", "a,b", "a\"b", "é", "a\tb", "a\0b", &long,
        ] {
            assert_eq!(
                kind(builder().cookie_name(name).build()),
                ErrorKind::InvalidCookieName,
                "{name:?}"
            );
        }
        for name in [
            "session",
            "__Host-session",
            "__Secure-id",
            "a.b_c-d~!#$%&'*+^`|",
            &long[1..],
        ] {
            assert_eq!(
                builder().cookie_name(name).build().unwrap().cookie_name(),
                name
            );
        }
    }

    #[test]
    fn rejects_size_limits_browsers_do_not_keep() {
        // The smallest limit holds the largest store pointer cookie: name,
        // `=`, and base64 of header (10), nonce (24), pointer (two 10-byte
        // times, 16-byte session id, no subject, an expiry of two 10-byte
        // varints with its tag and flag, body tag, 16-byte store id: 76)
        // and tag (16).
        let min = "__Host-session=".len() + ((10 + 24 + 76 + 16usize) * 4).div_ceil(3);
        assert_eq!(min, 183);
        for limit in [0, 63, min - 1, 4097, 5000] {
            assert_eq!(
                kind(builder().size_limit(limit).build()),
                ErrorKind::InvalidSizeLimit { limit, min }
            );
        }
        let err = builder().size_limit(5000).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "size limit is 5000 bytes; it must be between 183 (a store pointer cookie \
             under this name and key) and 4096 (what browsers keep)"
        );
        for limit in [min, 1024, 4096] {
            assert_eq!(
                builder().size_limit(limit).build().unwrap().size_limit(),
                limit
            );
        }
    }

    #[test]
    fn the_defaults_are_one_day_idle_and_fourteen_days_absolute() {
        use sealed_session::limits::{DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
        assert_eq!(DEFAULT_IDLE_TIMEOUT, Duration::from_secs(86_400));
        assert_eq!(DEFAULT_ABSOLUTE_TIMEOUT, Duration::from_secs(1_209_600));
        let codec = builder().build().unwrap();
        assert_eq!(codec.idle_timeout(), DEFAULT_IDLE_TIMEOUT);
        assert_eq!(codec.absolute_timeout(), DEFAULT_ABSOLUTE_TIMEOUT);
    }

    #[test]
    fn rejects_timeouts_out_of_order() {
        let cases = [
            (secs(3_600), secs(60)),
            (Duration::ZERO, secs(60)),
            (Duration::from_millis(999), secs(60)),
        ];
        for (idle, absolute) in cases {
            assert_eq!(
                kind(
                    builder()
                        .idle_timeout(idle)
                        .absolute_timeout(absolute)
                        .build()
                ),
                ErrorKind::TimeoutsOutOfOrder,
                "{idle:?} {absolute:?}"
            );
        }
        let codec = builder()
            .idle_timeout(secs(60))
            .absolute_timeout(secs(60))
            .build()
            .unwrap();
        assert_eq!(codec.idle_timeout(), codec.absolute_timeout());
    }

    #[test]
    fn codec_is_cheap_to_share() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<Codec>();
        assert_shareable::<KeyRing>();
        assert_shareable::<Key>();
    }
}

mod errors {
    use super::*;

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
        assert_eq!(err.kind(), ErrorKind::Undecodable);
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
}
