// Frozen test vectors for wire format version 1.
//
// Each vector is a cookie string sealed with a fixed key, nonce, cookie name
// and clock. `tests/vectors.rs` opens every one through the public API, and
// the crate's unit tests (`src/vectors_test.rs`) seal every payload with the
// fixed nonce and check the exact string. Both `include!` this file.
//
// The strings were sealed by this crate with the nonce fixed, and checked
// against an independent implementation written from docs/wire-format.md
// (Python `cryptography`: HKDF-SHA256, AES-256-GCM, XAES-256-GCM per C2SP,
// XChaCha20-Poly1305 as HChaCha20 + ChaCha20-Poly1305).
//
// Changing a string here means the format changed: that is a new version
// byte and a new file (`v2.rs`), never an edit to this one.

/// A role, to pin postcard's enum encoding (a varint variant index).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Member,
    Admin,
}

/// The session value every vector seals: varints, a string, an enum, an
/// option and a fixed-size array.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Eq)]
struct Payload {
    user_id: u64,
    name: std::borrow::Cow<'static, str>,
    role: Role,
    last_page: Option<std::borrow::Cow<'static, str>>,
    csrf: [u8; 8],
}

/// One frozen vector.
struct Vector {
    /// The key's algorithm, as `Algorithm::name` prints it.
    algorithm: &'static str,
    /// The 32 bytes of key material, standard base64 without padding.
    key: &'static str,
    /// The key id the key material derives, as `KeyId` displays it.
    key_id: &'static str,
    /// The nonce in hex: 12 bytes for AES-256-GCM, 24 for the others.
    nonce: &'static str,
    cookie_name: &'static str,
    /// Seconds since the Unix epoch.
    issued_at: u64,
    /// Seconds since the Unix epoch.
    renewed_at: u64,
    payload: Payload,
    /// The exact cookie value.
    cookie: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector {
        algorithm: "aes-256-gcm",
        key: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        key_id: "fd55ef40",
        nonce: "a0a1a2a3a4a5a6a7a8a9aaab",
        cookie_name: "session",
        issued_at: 1_700_000_000,
        renewed_at: 1_700_000_000,
        payload: Payload {
            user_id: 7,
            name: std::borrow::Cow::Borrowed("alice"),
            role: Role::Member,
            last_page: None,
            csrf: [1, 2, 3, 4, 5, 6, 7, 8],
        },
        cookie: "AQH9Ve9AoKGio6SlpqeoqaqrTBNO1O4ZMUHFJH0pc5BIsY3lo2Rme2ocXa_0btnXuGBh4QJqHGX0TpT8AjE",
    },
    Vector {
        algorithm: "xaes-256-gcm",
        key: "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
        key_id: "cdead028",
        nonce: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7",
        cookie_name: "__Host-session",
        issued_at: 1_700_000_000,
        renewed_at: 1_700_003_600,
        payload: Payload {
            user_id: 1_234_567_890,
            name: std::borrow::Cow::Borrowed("Zoë"),
            role: Role::Admin,
            last_page: Some(std::borrow::Cow::Borrowed("/settings")),
            csrf: [0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33],
        },
        cookie: "AQLN6tAosLGys7S1tre4ubq7vL2-v8DBwsPExcbH9i7X1gDhgiGhsr_s966K8Oeapt4SWuF8o88W_3fMLlVlyoJZMrU0c9Agtef6LLG1sifrdJhWbkRn",
    },
    Vector {
        algorithm: "xchacha20-poly1305",
        key: "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8",
        key_id: "adc6a169",
        nonce: "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7",
        cookie_name: "id",
        issued_at: 1_750_000_000,
        renewed_at: 1_750_086_000,
        payload: Payload {
            user_id: u64::MAX,
            name: std::borrow::Cow::Borrowed(""),
            role: Role::Member,
            last_page: Some(std::borrow::Cow::Borrowed("/")),
            csrf: [0xff; 8],
        },
        cookie: "AQOtxqFpwMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbXsZBYytmybn5NzaplxhKgvdeFO_VujadnSvO3owXybPqUUPnI1a9V9l_21UKwukIqgXw",
    },
];

fn at(secs: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
