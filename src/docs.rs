//! Documentation-only pages: the wire format, the key rotation procedure and
//! the threat model. Nothing here is code.

#[doc = include_str!("../docs/wire-format.md")]
pub mod wire_format {}

#[doc = include_str!("../docs/key-rotation.md")]
pub mod key_rotation {}

#[doc = include_str!("../docs/threat-model.md")]
pub mod threat_model {}
