//! The bottom layer: keys, the key ring, the AEAD seam, the wire format and
//! sealing raw bytes. Nothing here knows about sessions, envelopes or HTTP.

pub(crate) mod algorithm;
pub(crate) mod cipher;
pub(crate) mod csrf;
pub(crate) mod key;
pub(crate) mod legacy_id;
pub(crate) mod random;
pub(crate) mod ring;
pub(crate) mod seal;
pub(crate) mod wire;
