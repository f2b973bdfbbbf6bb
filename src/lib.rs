#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod cipher;
mod codec;
pub mod docs;
mod envelope;
mod error;
mod key;
mod ring;
mod seal;
mod wire;

pub use crate::algorithm::Algorithm;
pub use crate::codec::{
    Codec, CodecBuilder, DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, MAX_COOKIE_BYTES,
    MAX_COOKIE_NAME_BYTES, MIN_COOKIE_BYTES, Opened, SealedCookie,
};
pub use crate::envelope::Times;
pub use crate::error::{Error, ErrorKind};
pub use crate::key::{KEY_BYTES, Key, KeyId, MIN_SECRET_BYTES};
pub use crate::ring::{KeyRing, MAX_KEYS};
pub use crate::seal::OpenedWith;
pub use crate::wire::FORMAT_VERSION;
