//! Sessions over `http` (tracker issue 3), through the public API only, one
//! module per concern: the request/response cycle and change tracking
//! (`cycle`), deadlines, renewal and key rotation (`renewal`), a session's
//! own expiry (`expiry`), concurrent writers (`concurrency`), sessions held
//! in the store (`stored`), overflow to the store and back (`spill`), store
//! failures and kept cookies (`faults`), builder validation (`builder`), the
//! map session (`map`), reading `Cookie` headers (`headers`) and use with
//! and without an async runtime (`runtime`). `fixtures` holds what they
//! share; `flaky_store` (a store that fails on demand) is shared with
//! `tests/tower.rs`.
//!
//! No test sleeps: every time-dependent test injects the clock through the
//! `*_at` methods and `MemoryStore::with_clock`.
//!
//! The tests that need the memory store (`stored`, `spill`, and a few in
//! `runtime`) build with the `memory` feature (a default); the rest also run
//! in the feature-less build (`cargo test --no-default-features`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../support/flaky_store.rs"]
mod flaky_store;

mod fixtures;

mod builder;
#[cfg(feature = "memory")]
mod concurrency;
mod csrf;
mod cycle;
mod expiry;
mod faults;
mod flash;
mod headers;
mod map;
mod renewal;
mod runtime;
#[cfg(feature = "memory")]
mod spill;
#[cfg(feature = "memory")]
mod stored;
