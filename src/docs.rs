//! Documentation-only pages: the wire format, the key rotation procedure,
//! the threat model, the architecture (the layers and the module graph)
//! and the performance measurements. Nothing here is code.

#[doc = include_str!("../docs/wire-format.md")]
pub mod wire_format {}

#[doc = include_str!("../docs/key-rotation.md")]
pub mod key_rotation {}

#[doc = include_str!("../docs/threat-model.md")]
pub mod threat_model {}

#[doc = include_str!("../docs/architecture.md")]
pub mod architecture {}

#[doc = include_str!("../docs/performance.md")]
pub mod performance {}
