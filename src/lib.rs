#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod cipher;
mod codec;
mod cookie;
pub mod docs;
mod envelope;
mod error;
pub mod inspect;
mod key;
pub mod limits;
mod manager;
mod map;
mod migrate;
mod ring;
mod schema;
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
pub use crate::codec::{Codec, CodecBuilder, Opened, SealedCookie};
pub use crate::envelope::Times;
pub use crate::error::{Error, ErrorKind};
pub use crate::key::{Key, KeyId};
pub use crate::manager::{Overflow, SameSite, Saved, SessionManager, SessionManagerBuilder};
pub use crate::map::{Map, MapSession};
pub use crate::ring::KeyRing;
pub use crate::schema::SchemaId;
pub use crate::seal::OpenedWith;
pub use crate::session::{FreshReason, Location, Session};
pub use crate::wire::FORMAT_VERSION;
