// Frozen test vectors for wire format version 3: version 2's header and
// associated data; the envelope carries issued-at in milliseconds and the
// session's own expiry (idle and absolute seconds, persistent flag) after
// the subject.
//
// Same keys, nonces, cookie names, renewed-at clocks, payloads, session ids
// and subjects as `v1.rs` and `v2.rs` (include both first). `tests/vectors.rs`
// opens every one through the public API, and the crate's unit tests
// (`src/vectors_test.rs`) seal every payload with the fixed nonce and check
// the exact string.
//
// Changing a string here means the format changed: that is a new version
// byte and a new file (`v4.rs`), never an edit to this one.

/// What version 3 changes in a vector.
struct VectorV3 {
    /// Issued-at, milliseconds since the Unix epoch.
    issued_at_ms: u64,
    /// The session's own expiry: idle seconds, absolute seconds,
    /// persistent; `None` for the codec's timeouts.
    expiry: Option<(u64, u64, bool)>,
    /// The exact cookie value.
    cookie: &'static str,
}

/// The v1 and v2 vectors' inputs sealed in version 3, in the same order.
const VECTORS_V3: &[VectorV3] = &[
    VectorV3 {
        issued_at_ms: 1_700_000_000_000,
        expiry: None,
        cookie: "AwH9Ve9A4fATh6ChoqOkpaanqKmqq0whFIFUqFNsoIh7LmfTF5y75tTs_tPS1IVHDGZkhZJLPvSqEtcajhAOS2Jn3Ubk337Tsn8tG3-giXoGn0XVew",
    },
    VectorV3 {
        issued_at_ms: 1_700_000_000_250,
        expiry: Some((604_800, 2_592_000, true)),
        cookie: "AwLN6tAo4fATh7CxsrO0tba3uLm6u7y9vr_AwcLDxMXGx4wdjYO6QOwQxB657qOklSA2Fh7FYIE7qVFirIoM0DNXZC4e1e6BEGfUgjOGVoA3AvOdnL2_-SFCNGeSM2OCLCN1ao99JFfKAoLPECDNOBjohBAQtAeE5ILOrQlf5ZCA6nnPE9U",
    },
    VectorV3 {
        issued_at_ms: 1_750_000_000_999,
        expiry: Some((3_600, 172_800, false)),
        cookie: "AwOtxqFp4fATh8DBwsPExcbHyMnKy8zNzs_Q0dLT1NXW19bsYKkocHxcTwmsZcYSoL3XhTv1kHJYmbQjt13-V_zGwK6s5wZyLdlnHCdKPVNmpI-uy2-rSPikSbL4Q062LNEO-NsA5Gs3sQss7DL9q9Lh",
    },
];
