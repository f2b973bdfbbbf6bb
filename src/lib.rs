#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod actix_web;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod codec;
mod crypto;
pub mod docs;
mod error;
#[cfg(any(feature = "tower", feature = "actix-web"))]
mod handle;
pub mod inspect;
pub mod limits;
mod manager;
pub mod observe;
pub mod revocation;
pub mod schema_lock;
mod session;
pub mod store;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[cfg(test)]
mod vectors_test;

pub use crate::codec::envelope::Times;
pub use crate::codec::{Codec, CodecBuilder, Expiry, Opened, SealedCookie, SessionId};
pub use crate::crypto::algorithm::Algorithm;
pub use crate::crypto::key::{Key, KeyId};
pub use crate::crypto::ring::KeyRing;
pub use crate::crypto::seal::OpenedWith;
pub use crate::crypto::wire::{FORMAT_VERSION, SchemaId};
pub use crate::error::{Error, ErrorKind};
pub use crate::manager::{Overflow, SameSite, Saved, SessionManager, SessionManagerBuilder};
pub use crate::session::flash::Flash;
pub use crate::session::map::{Map, MapSession};
pub use crate::session::{FreshReason, Location, Session};
/// Fills `dest` from the generator nonces, store ids and keys are drawn
/// from (fork-safe; see the threat model). For `benches/core.rs` only: not
/// part of the public API, and it may change or go away in any release.
#[doc(hidden)]
pub fn __bench_fill_random(dest: &mut [u8]) {
    crate::crypto::random::fill(dest);
}

#[doc(hidden)]
pub use crate::crypto::cipher::xaes::differential as __xaes_differential;
