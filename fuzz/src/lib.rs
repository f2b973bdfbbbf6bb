//! Fixtures shared by the fuzz targets: fixed keys, a fixed clock, the
//! session types the targets seal, byte edits, and a poll-once executor.
//!
//! Everything here uses `sealed_session`'s public API only.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use sealed_session::{Algorithm, Codec, Key, KeyRing, SessionManager};
use serde::{Deserialize, Serialize};

/// The fixed clock every target reads: 2025-06-15T15:06:40Z.
pub const NOW_SECS: u64 = 1_750_000_000;

/// The fixed clock as a `SystemTime`.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// The cookie name of the main codecs.
pub const COOKIE_NAME: &str = "session";

/// A second cookie name: the same keys under it must not open values sealed
/// under [`COOKIE_NAME`].
pub const OTHER_COOKIE_NAME: &str = "__Host-other";

/// The cookie name the seed corpora's sealed values are bound to: no codec
/// in the targets uses it, so those values carry the ring's key ids (and
/// reach the AEAD) but never open.
pub const SEED_COOKIE_NAME: &str = "seed";

/// Fixed key material, one key per algorithm. Deliberately not the keys of
/// the frozen vectors in `tests/vectors/v1.rs`, so those vectors (which are
/// seeds) exercise the unknown-key path.
const KEYS: [(Algorithm, [u8; 32]); 3] = [
    (Algorithm::Aes256Gcm, [0x11; 32]),
    (Algorithm::Xaes256Gcm, [0x22; 32]),
    (Algorithm::XChaCha20Poly1305, [0x33; 32]),
];

/// The three fixed keys with `primary` (taken modulo 3) first: a ring that
/// seals with that algorithm and opens all three.
pub fn ring(primary: usize) -> KeyRing {
    let n = KEYS.len();
    let keys = (0..n).map(|i| {
        let (algorithm, bytes) = KEYS[(primary + i) % n];
        Key::from_bytes(&bytes)
            .expect("32-byte key")
            .with_algorithm(algorithm)
    });
    KeyRing::new(keys).expect("three distinct keys")
}

/// Codec settings the targets choose between.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Cookie name.
    pub name: &'static str,
    /// Size limit on `name=value`.
    pub limit: usize,
    /// Idle timeout, seconds.
    pub idle_secs: u64,
    /// Absolute timeout, seconds.
    pub absolute_secs: u64,
}

/// The defaults (4096 bytes, one day idle, fourteen days absolute) and a
/// tight codec (256 bytes, one minute idle, one hour absolute).
pub const SETTINGS: [Settings; 2] = [
    Settings {
        name: COOKIE_NAME,
        limit: 4096,
        idle_secs: 24 * 60 * 60,
        absolute_secs: 14 * 24 * 60 * 60,
    },
    Settings {
        name: COOKIE_NAME,
        limit: 256,
        idle_secs: 60,
        absolute_secs: 60 * 60,
    },
];

fn build(primary: usize, s: Settings) -> Codec {
    Codec::builder(ring(primary))
        .migrate(FuzzSessionV0::upgrade)
        .cookie_name(s.name)
        .size_limit(s.limit)
        .idle_timeout(Duration::from_secs(s.idle_secs))
        .absolute_timeout(Duration::from_secs(s.absolute_secs))
        .build()
        .expect("valid codec settings")
}

/// Six codecs: each primary algorithm under each of [`SETTINGS`], index
/// `primary + 3 * settings`. Built once.
pub fn codecs() -> &'static [(Codec, Settings); 6] {
    static CODECS: OnceLock<[(Codec, Settings); 6]> = OnceLock::new();
    CODECS.get_or_init(|| {
        std::array::from_fn(|i| {
            let s = SETTINGS[i / 3];
            (build(i % 3, s), s)
        })
    })
}

/// A codec over the same ring as `codecs()[0]` but for
/// [`OTHER_COOKIE_NAME`].
pub fn other_name_codec() -> &'static Codec {
    static CODEC: OnceLock<Codec> = OnceLock::new();
    CODEC.get_or_init(|| {
        build(
            0,
            Settings {
                name: OTHER_COOKIE_NAME,
                ..SETTINGS[0]
            },
        )
    })
}

/// A manager without a store over `codecs()[0]`.
pub fn cookie_manager() -> &'static SessionManager {
    static MANAGER: OnceLock<SessionManager> = OnceLock::new();
    MANAGER.get_or_init(|| {
        SessionManager::with_codec(codecs()[0].0.clone())
            .build()
            .expect("valid manager settings")
    })
}

/// A role, to exercise postcard's enum encoding (unit, newtype, tuple and
/// struct variants).
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub enum Role {
    /// Unit variant.
    #[default]
    Guest,
    /// Struct variant.
    Member {
        /// Seconds.
        since: u64,
    },
    /// Tuple variant.
    Admin(String, u8),
    /// Newtype variant.
    Banned(Option<Box<Role>>),
}

/// An `f64` compared by its bits, so NaN round-trips equal.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, Copy, Default)]
pub struct Bits64(pub f64);

impl PartialEq for Bits64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

/// An `f32` compared by its bits.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, Copy, Default)]
pub struct Bits32(pub f32);

impl PartialEq for Bits32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

/// A nested record.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Item {
    /// A key.
    pub key: String,
    /// Some bytes.
    pub value: Vec<u8>,
    /// A signed number (zigzag varint).
    pub weight: i32,
}

/// The session value the targets seal: every shape postcard encodes
/// differently (varints of each width, zigzag, strings, chars, byte
/// vectors, arrays, options, maps, tuples, nested enums, floats, unit).
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct FuzzSession {
    /// Unsigned varint.
    pub user_id: u64,
    /// Signed, one byte.
    pub small: i8,
    /// Signed varint.
    pub mid: i64,
    /// 128-bit varints.
    pub wide: (i128, u128),
    /// A string.
    pub name: String,
    /// A bool.
    pub flag: bool,
    /// A char.
    pub initial: char,
    /// An enum.
    pub role: Role,
    /// Strings.
    pub tags: Vec<String>,
    /// Bytes.
    pub blob: Vec<u8>,
    /// A map.
    pub scores: BTreeMap<String, i64>,
    /// An option.
    pub last_page: Option<String>,
    /// A fixed array.
    pub csrf: [u8; 16],
    /// A tuple with an option.
    pub pair: (u16, Option<u32>),
    /// Floats.
    pub ratio: (Bits64, Bits32),
    /// Nested records.
    pub items: Vec<Item>,
    /// Unit.
    pub unit: (),
}

/// The fixed session value `mutate_sealed` and `store_pointer` seal.
/// An older schema of [`FuzzSession`]: every codec declares the migration
/// from it, so the schema dispatch and the migration path are fuzzed too.
#[derive(Arbitrary, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct FuzzSessionV0 {
    /// Becomes `FuzzSession::user_id`.
    pub user_id: u64,
    /// Becomes `FuzzSession::name`.
    pub name: String,
    /// Becomes `FuzzSession::role`.
    pub role: Role,
}

impl FuzzSessionV0 {
    /// The migration every codec declares.
    pub fn upgrade(self) -> FuzzSession {
        FuzzSession {
            user_id: self.user_id,
            name: self.name,
            role: self.role,
            ..FuzzSession::default()
        }
    }

    /// The old-schema value a session came from.
    pub fn from_session(session: &FuzzSession) -> Self {
        Self {
            user_id: session.user_id,
            name: session.name.clone(),
            role: session.role.clone(),
        }
    }
}

pub fn fixed_session() -> FuzzSession {
    FuzzSession {
        user_id: 42,
        small: -3,
        mid: -1_000_000,
        wide: (i128::MIN, u128::MAX),
        name: "alice".to_owned(),
        flag: true,
        initial: 'ë',
        role: Role::Admin("root".to_owned(), 7),
        tags: vec!["a".to_owned(), "bc".to_owned()],
        blob: vec![0, 1, 2, 0xff],
        scores: BTreeMap::from([("x".to_owned(), -1), ("y".to_owned(), 1 << 40)]),
        last_page: Some("/settings".to_owned()),
        csrf: [0xa5; 16],
        pair: (65535, Some(1)),
        ratio: (Bits64(0.5), Bits32(f32::NAN)),
        items: vec![Item {
            key: "k".to_owned(),
            value: vec![9; 3],
            weight: -2,
        }],
        unit: (),
    }
}

/// One edit to a byte string. Positions are taken modulo the length.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Edit {
    /// XOR one byte with a mask (a zero mask changes nothing).
    Flip {
        /// Position.
        at: u16,
        /// Mask.
        mask: u8,
    },
    /// Overwrite one byte with a base64url symbol (keeps the value
    /// decodable more often than a random byte).
    Symbol {
        /// Position.
        at: u16,
        /// Symbol index, modulo 64.
        symbol: u8,
    },
    /// Insert a byte.
    Insert {
        /// Position (modulo length + 1).
        at: u16,
        /// The byte.
        byte: u8,
    },
    /// Delete a byte.
    Delete {
        /// Position.
        at: u16,
    },
    /// Keep only a prefix.
    Truncate {
        /// New length (modulo length + 1).
        len: u16,
    },
    /// Swap two bytes.
    Swap {
        /// First position.
        a: u16,
        /// Second position.
        b: u16,
    },
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Applies `edits` to `bytes` in order.
pub fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Flip { at, mask } if len > 0 => bytes[usize::from(at) % len] ^= mask,
            Edit::Symbol { at, symbol } if len > 0 => {
                bytes[usize::from(at) % len] = BASE64URL[usize::from(symbol % 64)];
            }
            Edit::Insert { at, byte } => bytes.insert(usize::from(at) % (len + 1), byte),
            Edit::Delete { at } if len > 0 => {
                bytes.remove(usize::from(at) % len);
            }
            Edit::Truncate { len: to } => bytes.truncate(usize::from(to) % (len + 1)),
            Edit::Swap { a, b } if len > 0 => {
                bytes.swap(usize::from(a) % len, usize::from(b) % len)
            }
            _ => {}
        }
    }
}

/// Runs a future that is ready on its first poll (the manager's futures
/// over a `MemoryStore` never wait). Panics if it is not: that would be a
/// broken assumption of the harness, worth a crash report.
pub fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a MemoryStore future was not ready on its first poll"),
    }
}
