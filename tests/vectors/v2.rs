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

/// The v1 vectors' inputs sealed in version 2, in the same order.
const VECTORS_V2: &[&str] = &[
    "AgH9Ve9A4fATh6ChoqOkpaanqKmqq0wTTtTuGTFBxSR9KXOQSLGN5aNkZntqHF2v9G5UhkTRS9C4G7ChxrmQZ1VW",
    "AgLN6tAo4fATh7CxsrO0tba3uLm6u7y9vr_AwcLDxMXGx_Yu19YA4YIhobK_7PeuivDnmqbeElrhfKPPFv93zC5VZcqCWTK1NHPQuJNF0tF3zCt1QodCfGwAXw",
    "AgOtxqFp4fATh8DBwsPExcbHyMnKy8zNzs_Q0dLT1NXW17GQWMrZsm5-Tc2qZcYSoL3XhTv1bo2nZ0rzt6MF8mz6lFD7gH2s4KAfPx5r5YNdAMsA",
];
