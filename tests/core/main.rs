//! The sealed core over its public API, one module per concern. Run once
//! per algorithm (through `fixtures::algorithm_suites!`): round trips, the
//! header and the wrong type (`encoding`), the size limit (`size_limits`),
//! every byte flipped, every truncation and header changes (`tampering`),
//! wrong keys, swapped cookie names and rotation (`rotation`) and expiry
//! (`expiry`). Then keys and rings (`keys`), the codec builder (`builder`)
//! and error messages (`errors`). `fixtures` holds what they share.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sealed_session::Algorithm;

mod fixtures;

mod builder;
mod encoding;
mod errors;
mod expiry;
mod keys;
mod rotation;
mod size_limits;
mod tampering;

#[test]
fn every_algorithm_has_a_suite() {
    // When this fails, an algorithm was added: add its suite to
    // `fixtures::algorithm_suites!`.
    assert_eq!(
        Algorithm::ALL,
        [
            Algorithm::Aes256Gcm,
            Algorithm::Xaes256Gcm,
            Algorithm::XChaCha20Poly1305,
        ]
    );
}
