//! Per algorithm: a changed cookie value is `Rejected`: every byte flipped,
//! every truncation, appended bytes, padded or non-base64 input, and changes
//! to the header's version, algorithm and key id bytes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
use sealed_session::ErrorKind;

use crate::fixtures::{
    User, algorithm_suites, codec, decode, encode, flipped, kind, open_user, ring, seal_t0, t0,
    user, with_byte,
};

algorithm_suites! {
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
            if !raw.len().is_multiple_of(3) {
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
}
