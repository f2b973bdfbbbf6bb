// Frozen test vectors for wire format version 2: version 1's layout with a
// four-byte schema id after the key id, inside the associated data.
//
// Same keys, nonces, cookie names, clocks and payloads as `v1.rs` (whose
// `Payload`, `Role`, `Vector`, `at` and `hex` this file uses: include it
// first). `tests/vectors.rs` opens every one through the public API, and the
// crate's unit tests (`src/vectors_test.rs`) seal every payload with the
// fixed nonce and check the exact string.
//
// `PAYLOAD_SCHEMA` pins the schema id of `Payload`'s serde shape: a change
// to how shapes are traced or digested would change it, and with it every
// session's schema, so it is frozen with the format.
//
// Changing a string here means the format changed: that is a new version
// byte and a new file (`v3.rs`), never an edit to this one.

/// The schema id of `Payload`, as `SchemaId` displays it.
const PAYLOAD_SCHEMA: &str = "e1f01387";

/// What version 2 adds to a vector: the session id and subject sealed in
/// the envelope, and the exact cookie string.
struct VectorV2 {
    /// The session id, 32 hex digits.
    session_id: &'static str,
    /// The subject, if any.
    subject: Option<&'static str>,
    /// The exact cookie value.
    cookie: &'static str,
}

/// The v1 vectors' inputs sealed in version 2, in the same order.
const VECTORS_V2: &[VectorV2] = &[
    VectorV2 {
        session_id: "00112233445566778899aabbccddeeff",
        subject: None,
        cookie: "AgH9Ve9A4fATh6ChoqOkpaanqKmqq0wTTtTuGTFBxSR9P1TCYI2I9yv9zcKlxbZW82ZjgPQiNvumcbIbjBIITWBl033RwMGC-unpjubaYxOJC1Y",
    },
    VectorV2 {
        session_id: "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
        subject: Some("user:1234567890"),
        cookie: "AgLN6tAo4fATh7CxsrO0tba3uLm6u7y9vr_AwcLDxMXGx_Yu19YA4YIhobJv76ClkiE1FxHEY4A8qFJjcoR21iVALCUd1OmAE2bbgzq2hYUa6ncDWNN9UvLG5YTlUk2ZhuYTGFj_6d2-Z8mSZ5Mt6oZ5QnYZwVpNxA8VOw",
    },
    VectorV2 {
        session_id: "ffffffffffffffffffffffffffffffff",
        subject: Some("Zoë"),
        cookie: "AgOtxqFp4fATh8DBwsPExcbHyMnKy8zNzs_Q0dLT1NXW17GQWMrZsm5-Tc1VZcYSoL3XhTv1kHJYmbQjSVigYlCua1DDBHlL2CaYHNm1wq2YdI-uNZBUtgZ0MJemy__WtNHvaBuoFgzKqQ",
    },
];
