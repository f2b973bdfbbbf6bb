//! What the modules share: the session types sealed, a fixed instant,
//! sealing at it and opening a minute later, raw bytes in and out of a
//! cookie value, codecs over a ring, and `algorithm_suites!`, which runs a
//! file's tests once per algorithm.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealed_session::{Codec, Error, ErrorKind, Key, KeyRing, Times};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) admin: bool,
    pub(crate) last_seen: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flash {
    None,
    Notice(String),
    Error { code: u16, message: String },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Empty {}

/// A whole-second instant well after the epoch.
pub(crate) fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(crate) fn user() -> User {
    User {
        id: 42,
        name: "alice".to_owned(),
        admin: false,
        last_seen: Some(1_700_000_000),
    }
}

pub(crate) fn kind<T: std::fmt::Debug>(result: Result<T, Error>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// Seals `value` as issued at `t0()`.
pub(crate) fn seal_t0<T: Serialize + serde::de::DeserializeOwned + 'static>(
    codec: &Codec,
    value: &T,
) -> String {
    codec
        .seal_with_times(value, Times::new(t0()))
        .unwrap()
        .into_value()
}

pub(crate) fn decode(value: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value).unwrap()
}

pub(crate) fn encode(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// `raw` with byte `i` replaced by `byte`, encoded as a cookie value.
pub(crate) fn with_byte(raw: &[u8], i: usize, byte: u8) -> String {
    let mut bad = raw.to_vec();
    bad[i] = byte;
    encode(&bad)
}

/// Each byte of `raw` at `positions` XORed with 0x01, 0x80 and 0xff in
/// turn: the index, the mask and the encoded value.
pub(crate) fn flipped(raw: &[u8], positions: Range<usize>) -> Vec<(usize, u8, String)> {
    positions
        .flat_map(|i| [0x01, 0x80, 0xff].map(|mask| (i, mask, with_byte(raw, i, raw[i] ^ mask))))
        .collect()
}

pub(crate) fn ring(keys: impl IntoIterator<Item = Key>) -> KeyRing {
    KeyRing::new(keys).unwrap()
}

pub(crate) fn codec(ring: KeyRing) -> Codec {
    Codec::builder(ring).build().unwrap()
}

pub(crate) fn named(ring: KeyRing, name: &str) -> Codec {
    Codec::builder(ring).cookie_name(name).build().unwrap()
}

pub(crate) fn open_user(codec: &Codec, value: &str) -> Result<User, Error> {
    codec
        .open_at::<User>(value, t0() + secs(60))
        .map(|o| o.into_value())
}

/// One module per algorithm (`aes_256_gcm`, `xaes_256_gcm`,
/// `xchacha20_poly1305`) holding the given items, each with its `ALGORITHM`,
/// `key()` (a fresh key for it) and `sealed()`. A file of per-algorithm tests
/// is one invocation; `every_algorithm_has_a_suite` checks the list.
macro_rules! algorithm_suites {
    (@suite $name:ident, $algorithm:expr, $($items:tt)*) => {
        mod $name {
            use super::*;

            const ALGORITHM: sealed_session::Algorithm = $algorithm;

            fn key() -> sealed_session::Key {
                sealed_session::Key::generate().with_algorithm(ALGORITHM)
            }

            /// A codec and a value it sealed at `t0()`.
            #[allow(dead_code, reason = "the size limit tests seal their own values")]
            fn sealed() -> (sealed_session::Codec, String) {
                let codec = $crate::fixtures::codec($crate::fixtures::ring([key()]));
                let value = $crate::fixtures::seal_t0(&codec, &$crate::fixtures::user());
                (codec, value)
            }

            $($items)*
        }
    };
    ($($items:tt)*) => {
        $crate::fixtures::algorithm_suites!(
            @suite aes_256_gcm, sealed_session::Algorithm::Aes256Gcm, $($items)*
        );
        $crate::fixtures::algorithm_suites!(
            @suite xaes_256_gcm, sealed_session::Algorithm::Xaes256Gcm, $($items)*
        );
        $crate::fixtures::algorithm_suites!(
            @suite xchacha20_poly1305, sealed_session::Algorithm::XChaCha20Poly1305, $($items)*
        );
    };
}

pub(crate) use algorithm_suites;
