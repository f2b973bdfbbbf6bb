//! Property tests over the public API: any value round-trips under every
//! algorithm, and no edit of a sealed value opens (or panics).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::sample::Index;
use sealed_session::{Algorithm, Codec, ErrorKind, Key, KeyRing, Times};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct Session {
    id: u64,
    name: String,
    blob: Vec<u8>,
    flag: Option<bool>,
    counts: BTreeMap<String, u32>,
}

fn session() -> impl Strategy<Value = Session> {
    (
        any::<u64>(),
        ".{0,40}",
        prop::collection::vec(any::<u8>(), 0..200),
        any::<Option<bool>>(),
        prop::collection::btree_map(".{0,8}", any::<u32>(), 0..8),
    )
        .prop_map(|(id, name, blob, flag, counts)| Session {
            id,
            name,
            blob,
            flag,
            counts,
        })
}

/// One codec per algorithm, built once.
static CODECS: LazyLock<Vec<Codec>> = LazyLock::new(|| {
    Algorithm::ALL
        .iter()
        .map(|&algorithm| {
            let ring = KeyRing::new([Key::generate().with_algorithm(algorithm)]).unwrap();
            Codec::builder(ring).build().unwrap()
        })
        .collect()
});

fn codec() -> impl Strategy<Value = &'static Codec> {
    prop::sample::select(CODECS.iter().collect::<Vec<_>>())
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn later() -> SystemTime {
    t0() + Duration::from_secs(60)
}

/// `value` sealed by `codec` as issued at `t0()`.
fn seal_t0(codec: &Codec, value: &Session) -> String {
    codec
        .seal_with_times(value, Times::new(t0()))
        .unwrap()
        .into_value()
}

/// One edit of a sequence of `T`.
#[derive(Debug, Clone)]
enum Edit<T> {
    /// Flip one bit of the element at a position.
    Flip(Index, u8),
    Insert(Index, T),
    Delete(Index),
    Replace(Index, T),
}

fn edits<T: std::fmt::Debug + Clone>(
    element: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Vec<Edit<T>>> {
    let edit = prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Edit::Flip(i, bit)),
        (any::<Index>(), element.clone()).prop_map(|(i, e)| Edit::Insert(i, e)),
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), element).prop_map(|(i, e)| Edit::Replace(i, e)),
    ];
    prop::collection::vec(edit, 1..=4)
}

fn apply<T: Clone>(items: &mut Vec<T>, edits: &[Edit<T>], flip: impl Fn(&T, u8) -> T) {
    for edit in edits {
        match edit {
            Edit::Insert(i, e) => {
                let at = i.index(items.len() + 1);
                items.insert(at, e.clone());
            }
            Edit::Flip(..) | Edit::Delete(_) | Edit::Replace(..) if items.is_empty() => {}
            Edit::Flip(i, bit) => {
                let at = i.index(items.len());
                items[at] = flip(&items[at], *bit);
            }
            Edit::Delete(i) => {
                items.remove(i.index(items.len()));
            }
            Edit::Replace(i, e) => {
                let at = i.index(items.len());
                items[at] = e.clone();
            }
        }
    }
}

/// Flips one of the low seven bits of an ASCII character (the sealed value
/// is ASCII), keeping it ASCII.
fn flip_char(c: &char, bit: u8) -> char {
    char::from((*c as u8) ^ (1 << (bit % 7)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn opens_what_it_seals(value in session(), codec in codec()) {
        let sealed = codec.seal_with_times(&value, Times::new(t0())).unwrap();
        prop_assert_eq!(
            sealed.size(),
            codec.cookie_name().len() + 1 + sealed.value().len()
        );
        let opened = codec.open_at::<Session>(sealed.value(), later()).unwrap();
        prop_assert_eq!(opened.value(), &value);
        prop_assert_eq!(opened.times(), Times::new(t0()));
        prop_assert!(opened.opened_with().is_primary());
    }

    #[test]
    fn no_edit_of_the_string_opens(
        value in session(),
        codec in codec(),
        edits in edits(any::<char>()),
    ) {
        let sealed = seal_t0(codec, &value);
        let mut chars: Vec<char> = sealed.chars().collect();
        apply(&mut chars, &edits, flip_char);
        let edited: String = chars.into_iter().collect();
        let result = codec.open_at::<Session>(&edited, later());
        if edited == sealed {
            prop_assert_eq!(result.unwrap().into_value(), value);
        } else {
            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::Rejected);
        }
    }

    #[test]
    fn no_edit_of_the_bytes_opens(
        value in session(),
        codec in codec(),
        edits in edits(any::<u8>()),
    ) {
        let sealed = seal_t0(codec, &value);

        let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let mut edited = raw.clone();
        apply(&mut edited, &edits, |b, bit| b ^ (1 << bit));
        let result = codec.open_at::<Session>(&URL_SAFE_NO_PAD.encode(&edited), later());
        if edited == raw {
            prop_assert_eq!(result.unwrap().into_value(), value);
        } else {
            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::Rejected);
        }
    }
}
