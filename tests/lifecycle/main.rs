//! The session lifecycle where features meet: revocation with
//! remember-me, subjects with device lists, renewal with a session's own
//! expiry, legacy cookies, stale cookies. `regressions` holds one test per
//! promise that once broke; `model` drives the public API with random
//! operations against a small reference model of every promise (the
//! invariants are listed in docs/threat-model.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fixtures;
mod model;
mod regressions;
