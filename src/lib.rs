#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod builder;
mod cipher;
mod codec;
pub mod docs;
mod envelope;
mod error;
mod headers;
pub mod inspect;
mod key;
mod manager;
mod map;
mod random;
mod ring;
mod seal;
mod session;
pub mod store;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod wire;

#[cfg(test)]
mod vectors_test;

pub use crate::algorithm::Algorithm;
pub use crate::builder::{DEFAULT_RENEWAL_THRESHOLD, Overflow, SessionManagerBuilder};
pub use crate::codec::{
    Codec, CodecBuilder, DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, MAX_COOKIE_BYTES,
    MAX_COOKIE_NAME_BYTES, MIN_COOKIE_BYTES, Opened, SealedCookie,
};
pub use crate::envelope::Times;
pub use crate::error::{Error, ErrorKind};
pub use crate::headers::{
    MAX_ATTRIBUTE_BYTES, MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS, MAX_SESSION_CANDIDATES,
    SameSite,
};
pub use crate::key::{KEY_BYTES, Key, KeyId, MIN_SECRET_BYTES};
pub use crate::manager::{Saved, SessionManager};
pub use crate::map::{Map, MapSession};
pub use crate::ring::{KeyRing, MAX_KEYS};
pub use crate::seal::OpenedWith;
pub use crate::session::{FreshReason, Location, Session};
pub use crate::wire::FORMAT_VERSION;

/// Fills `dest` from the generator nonces, store ids and keys are drawn
/// from (fork-safe; see the threat model). For `benches/core.rs` only: not
/// part of the public API, and it may change or go away in any release.
#[doc(hidden)]
pub fn __bench_fill_random(dest: &mut [u8]) {
    random::fill(dest);
}
