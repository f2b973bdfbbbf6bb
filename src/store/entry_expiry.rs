//! What the moka-backed stores share: an entry evicted at its own deadline,
//! measured on an injectable clock.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use moka::Expiry;

/// The clock a moka-backed store measures deadlines against.
pub(super) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A cache entry with the instant after which it must not be served.
pub(super) trait Deadline {
    /// After this, the entry is gone.
    fn deadline(&self) -> SystemTime;
}

/// Evicts each entry at its [`Deadline`], by `clock`.
pub(super) struct AtDeadline {
    pub(super) clock: Clock,
}

impl AtDeadline {
    fn remaining(&self, entry: &impl Deadline) -> Option<Duration> {
        Some(
            entry
                .deadline()
                .duration_since((self.clock)())
                .unwrap_or(Duration::ZERO),
        )
    }
}

impl<E: Deadline> Expiry<[u8; 16], E> for AtDeadline {
    fn expire_after_create(&self, _: &[u8; 16], entry: &E, _: Instant) -> Option<Duration> {
        self.remaining(entry)
    }

    fn expire_after_update(
        &self,
        _: &[u8; 16],
        entry: &E,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.remaining(entry)
    }
}
