// Frozen test vectors for wire format version 3 as sealed since 0.9, when a
// type's schema id stopped depending on type names (the shape's field and
// variant names and primitive types only): the `v3.rs` inputs, sealed with
// the same nonces, differing only in the schema id in the header (and so in
// the tag). The `v3.rs` strings, sealed before, carry `PAYLOAD_SCHEMA`
// (the shape with type names) and still open, due to be sealed again.
//
// Include `v1.rs`, `v2.rs` and `v3.rs` first. Changing a string here means
// the format changed: a new file, never an edit to this one.

/// `Payload`'s schema id as sealed since 0.9 (its shape without type names).
const PAYLOAD_SCHEMA_FIELDS: &str = "fe8ef173";

/// The `VECTORS_V3` inputs sealed since 0.9, in the same order.
const VECTORS_V3_FIELDS: &[&str] = &[
    "AwH9Ve9A_o7xc6ChoqOkpaanqKmqq0whFIFUqFNsoIh7LmfTF5y75tTs_tPS1IVHDGZkhZJLPvSqEtcajhAOS2Jn3UbkCsM4-hU7vlhj2m7k1MZlwQ",
    "AwLN6tAo_o7xc7CxsrO0tba3uLm6u7y9vr_AwcLDxMXGx4wdjYO6QOwQxB657qOklSA2Fh7FYIE7qVFirIoM0DNXZC4e1e6BEGfUgjOGVoA3AvOdnL2_-SFCNGeSM2OCLCN1ao99JFfKAoLPECDNOBjohBAQtEif3ceQ-IRf52e5__T4hGw",
    "AwOtxqFp_o7xc8DBwsPExcbHyMnKy8zNzs_Q0dLT1NXW19bsYKkocHxcTwmsZcYSoL3XhTv1kHJYmbQjt13-V_zGwK6s5wZyLdlnHCdKPVNmpI-uy2-rSPikSbL4Q062LNGkI8vw4fTq6LtRbfVtCsJg",
];
