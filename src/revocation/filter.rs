//! A quick "certainly not" for revoked subjects, read without a lock.
//!
//! Once any subject is revoked, every load of a signed-in session asks
//! whether its subject is. The exact answer costs a keyed hash of the
//! subject (SipHash-1-3, about 300 instructions for a short one), a shard's
//! read lock and a table probe, so a Bloom filter answers first: a fixed
//! [`WORDS`] × 64 bits (64 KiB) that a subject sets two bits of, in one
//! word, picked by a seeded multiply-and-shift hash of its bytes (about 25
//! instructions). A subject with either bit clear was never revoked, and the
//! load goes on; otherwise it asks the tables.
//!
//! - **No false "not revoked".** A revocation sets its bits under its
//!   shard's write lock, after its entry is in the table, so a rebuild that
//!   has read that shard sees the bits and one that has not yet read it
//!   finds the entry.
//! - **Stale bits are dropped by a rebuild**, once as many entries have
//!   gone from the tables as are left (and at least [`REBUILD_AFTER`]):
//!   clear the bits, then set those of every entry left, shard by shard
//!   under each shard's read lock. Meanwhile the generation is odd and
//!   loads skip the filter; a load whose probe overlapped a rebuild sees
//!   the generation moved and asks the tables (a sequence lock, in atomics).
//! - **A false "maybe"** costs what the filter saves (the exact path). With
//!   k = 2 bits in one word of 2^19 bits it is about 0.002% at 1 000 live
//!   subjects, 0.15% at 10 000 and 10% at 100 000; past about a million
//!   the filter says "maybe" to most subjects and costs its 25
//!   instructions for nothing.
//!   The hash is not keyed against an attacker: subjects made to share bits
//!   only send their own loads down the exact path, which is what every
//!   load paid before.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Mutex, PoisonError};

/// Words of the filter: 2^13 × 64 = 2^19 bits.
const WORDS: usize = 1 << 13;

/// Entries dropped since the last rebuild before the next is worth its
/// cost, however few are left.
pub(super) const REBUILD_AFTER: usize = 1024;

pub(super) struct SubjectFilter {
    seed: u64,
    /// Even while the bits cover every entry in the tables; odd during a
    /// rebuild. Moves by one at each end of a rebuild.
    generation: AtomicU64,
    words: Box<[AtomicU64]>,
    /// Entries dropped from the tables since the last rebuild.
    dropped: AtomicUsize,
    /// The fewest drops worth a rebuild ([`REBUILD_AFTER`]; tests lower it).
    rebuild_after: usize,
    /// One rebuild at a time.
    rebuilding: Mutex<()>,
}

impl Default for SubjectFilter {
    fn default() -> Self {
        Self {
            seed: RandomState::new().hash_one(0x5e55_1075_u64),
            generation: AtomicU64::new(0),
            words: (0..WORDS).map(|_| AtomicU64::new(0)).collect(),
            dropped: AtomicUsize::new(0),
            rebuild_after: REBUILD_AFTER,
            rebuilding: Mutex::new(()),
        }
    }
}

impl SubjectFilter {
    /// A filter rebuilt after as few as `drops` drops (for tests that
    /// need many rebuilds).
    #[cfg(test)]
    pub(super) fn rebuilt_after(drops: usize) -> Self {
        Self {
            rebuild_after: drops,
            ..Self::default()
        }
    }

    /// The word and the two bits of `subject`.
    fn bits(&self, subject: &str) -> (usize, u64) {
        const MUL: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes = subject.as_bytes();
        let mut h = self.seed ^ (bytes.len() as u64).wrapping_mul(MUL);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = (h ^ u64::from_le_bytes(word)).wrapping_mul(MUL);
            h ^= h >> 29;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(rest) {
                *w = *b;
            }
            h = (h ^ u64::from_le_bytes(word)).wrapping_mul(MUL);
        }
        // MurmurHash3's finalizer: every output bit depends on every input bit.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        let word = (h as usize) % WORDS;
        let mask = 1u64 << ((h >> 52) & 63) | 1u64 << ((h >> 58) & 63);
        (word, mask)
    }

    /// Whether `subject` may be revoked: `false` only when it certainly is
    /// not.
    pub(super) fn may_contain(&self, subject: &str) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        if generation % 2 == 1 {
            return true;
        }
        let (word, mask) = self.bits(subject);
        let bits = self
            .words
            .get(word)
            .map_or(u64::MAX, |w| w.load(Ordering::Relaxed));
        if bits & mask == mask {
            return true;
        }
        // A bit cleared by a rebuild that began after the first read moved
        // the generation first (the rebuild's release fence pairs with this).
        fence(Ordering::Acquire);
        self.generation.load(Ordering::Relaxed) != generation
    }

    /// Sets `subject`'s bits. Called after its entry is in its table, under
    /// that table's write lock.
    pub(super) fn add(&self, subject: &str) {
        let (word, mask) = self.bits(subject);
        if let Some(w) = self.words.get(word) {
            w.fetch_or(mask, Ordering::Release);
        }
    }

    /// Counts `n` entries dropped from the tables; whether a rebuild is now
    /// worth its cost, with `live` entries left.
    pub(super) fn note_dropped(&self, n: usize, live: usize) -> bool {
        let dropped = self
            .dropped
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        dropped >= live.max(self.rebuild_after)
    }

    /// Rebuilds so far (the generation counts two per rebuild).
    #[cfg(test)]
    pub(super) fn rebuilds(&self) -> u64 {
        self.generation.load(Ordering::Relaxed) / 2
    }

    /// Clears the bits and sets those of every entry `refill` passes to
    /// its argument. `refill` reads the tables shard by shard, each under
    /// its read lock (see the module's documentation).
    pub(super) fn rebuild(&self, refill: impl FnOnce(&dyn Fn(&str))) {
        let _one = self
            .rebuilding
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.dropped.store(0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        for word in self.words.iter() {
            word.store(0, Ordering::Relaxed);
        }
        refill(&|subject| self.add(subject));
        self.generation.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn an_added_subject_may_be_contained_and_most_others_certainly_not() {
        let filter = SubjectFilter::default();
        for n in 0..1000 {
            filter.add(&format!("user:{n}"));
        }
        for n in 0..1000 {
            assert!(filter.may_contain(&format!("user:{n}")));
        }
        let false_maybes = (1000..101_000)
            .filter(|n| filter.may_contain(&format!("user:{n}")))
            .count();
        // k = 2 bits of 2^19 set by 1 000 subjects: about 4e-6 expected.
        assert!(false_maybes < 20, "{false_maybes} false maybes of 100 000");
    }

    #[test]
    fn a_rebuild_keeps_only_what_it_is_given() {
        let filter = SubjectFilter::default();
        filter.add("gone");
        filter.add("kept");
        filter.rebuild(|add| add("kept"));
        assert!(filter.may_contain("kept"));
        assert!(!filter.may_contain("gone"));
        assert_eq!(filter.generation.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn during_a_rebuild_every_subject_may_be_contained() {
        let filter = SubjectFilter::default();
        filter.rebuild(|_| assert!(filter.may_contain("anyone")));
        assert!(!filter.may_contain("anyone"));
    }

    #[test]
    fn rebuilds_wait_for_as_many_drops_as_entries_left() {
        let filter = SubjectFilter::default();
        assert!(!filter.note_dropped(REBUILD_AFTER - 1, 10));
        assert!(filter.note_dropped(1, 10));
        filter.rebuild(|_| {});
        assert!(!filter.note_dropped(REBUILD_AFTER, 5000));
        assert!(filter.note_dropped(4000, 5000));
    }
}
