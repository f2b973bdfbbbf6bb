//! The opening side: a small per-thread cache of AES-256-GCM under recently
//! seen subkeys, keyed by (key, prefix).
//!
//! - **Per thread, no lock**: a hit is a thread-local borrow, a hash of the
//!   prefix and up to [`WAYS`] compares.
//! - **Filled only by values that authenticated.** A miss builds the
//!   subkey's AES-256-GCM on the stack and opens with it there; only when
//!   the tag checks does it move into the cache. A forged value (any
//!   prefix, any key id) leaves the cache exactly as it was, recency
//!   included, so forgeries can neither fill it nor push real entries out.
//!   A hit whose tag fails does not count as a use either.
//! - **Bounded**: [`ENTRIES`] entries, [`SETS`] sets of [`WAYS`], least
//!   recently used evicted within a set. The set is a multiplicative hash
//!   of the prefix and the key's number: prefixes sealed by this crate are
//!   random, so sets fill evenly, and an attacker who chooses prefixes
//!   cannot insert anything with them.
//! - **Wiped**: an evicted AES-256-GCM (its key schedules and GHASH key) is
//!   zeroized as it drops (aes-gcm's `zeroize` feature), and so is one that
//!   opened nothing, and the whole cache when its thread exits. As with
//!   every RustCrypto cipher object, moving one (into the cache) may leave
//!   a copy on the stack that is not wiped; safe Rust cannot prevent that.
//!
//! Memory: [`ENTRIES`] slots, each an AES-256-GCM object (384 bytes on
//! x86-64: the encrypt-only AES-256 key schedule and the GHASH key) and 48
//! bytes of key number, prefix and recency: 64 × 432 = 27 648 bytes (27 KiB)
//! per thread, in one allocation made on the thread's first XAES-256-GCM
//! open and freed, wiped, when the thread exits.
//! `tests::cache_memory_is_as_documented` pins the figure.
//!
//! A key is named by its [`Xaes`] object's number, not by its 4-byte key
//! id: the number is never shared by two keys, so no two keys can meet in
//! an entry. A key ring built again from the same keys starts cold.

use std::cell::RefCell;

use super::{PREFIX_BYTES, SubkeyGcm, Xaes};

/// Sets in a thread's cache.
pub(crate) const SETS: usize = 16;

/// Entries per set.
pub(crate) const WAYS: usize = 4;

/// Entries in a thread's cache.
pub(crate) const ENTRIES: usize = SETS * WAYS;

/// One entry: empty when `cipher` is `None`.
#[derive(Default)]
struct Slot {
    serial: u64,
    prefix: [u8; PREFIX_BYTES],
    used: u64,
    cipher: Option<SubkeyGcm>,
}

impl Slot {
    fn holds(&self, serial: u64, prefix: &[u8; PREFIX_BYTES]) -> Option<&SubkeyGcm> {
        self.cipher
            .as_ref()
            .filter(|_| self.serial == serial && self.prefix == *prefix)
    }
}

/// A thread's cache.
struct Cache {
    /// [`ENTRIES`] slots, [`WAYS`] consecutive ones per set. One allocation,
    /// made on first use (a thread that never opens an XAES-256-GCM value
    /// pays only this struct's thread-local storage).
    slots: Box<[Slot]>,
    /// Counts uses; an entry's `used` is the count at its last use.
    clock: u64,
}

impl Cache {
    fn new() -> Self {
        Self {
            slots: std::iter::repeat_with(Slot::default)
                .take(ENTRIES)
                .collect(),
            clock: 0,
        }
    }

    /// Runs `open` (which returns whether the value authenticated) with
    /// AES-256-GCM for `prefix` under `xaes`: a cached one, or one built
    /// now and cached only if `open` returns true.
    fn open(
        &mut self,
        xaes: &Xaes,
        prefix: &[u8; PREFIX_BYTES],
        open: impl FnOnce(&SubkeyGcm) -> bool,
    ) -> bool {
        let serial = xaes.serial();
        let Some(ways) = self
            .slots
            .chunks_exact_mut(WAYS)
            .nth(set_of(serial, prefix))
        else {
            return open(&xaes.cipher(prefix));
        };
        if let Some(slot) = ways.iter_mut().find(|s| s.holds(serial, prefix).is_some()) {
            let opened = slot.cipher.as_ref().is_some_and(open);
            if opened {
                self.clock += 1;
                slot.used = self.clock;
            }
            return opened;
        }
        // A miss: the cipher is built here and is wiped as it drops, unless
        // the value authenticated and it moves into the cache.
        let cipher = xaes.cipher(prefix);
        if !open(&cipher) {
            return false;
        }
        // The least recently used way, an empty one first.
        if let Some(victim) = ways.iter_mut().min_by_key(|s| (s.cipher.is_some(), s.used)) {
            self.clock += 1;
            // Assigning drops, and so wipes, the evicted cipher.
            victim.cipher = Some(cipher);
            (victim.serial, victim.prefix, victim.used) = (serial, *prefix, self.clock);
        }
        true
    }
}

/// The set for `prefix` under the key numbered `serial`: the top bits of a
/// multiplicative hash.
pub(super) fn set_of(serial: u64, prefix: &[u8; PREFIX_BYTES]) -> usize {
    let [a, b, c, d, e, f, g, h, i, j, k, l] = *prefix;
    let low = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
    let high = u64::from(u32::from_le_bytes([i, j, k, l]));
    let mixed = (low ^ high.rotate_left(17) ^ serial).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // SETS is a power of two; the shift keeps the top log2(SETS) bits.
    usize::try_from(mixed >> (u64::BITS - SETS.trailing_zeros())).unwrap_or(0) % SETS
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::new());
}

/// Runs `open` with AES-256-GCM for `prefix` under `xaes` through this
/// thread's cache (see the module docs), and returns what it returned.
///
/// `None`, without running `open`, when the cache cannot be reached (while
/// this thread's locals are being destroyed): the caller opens uncached.
pub(crate) fn open(
    xaes: &Xaes,
    prefix: &[u8; PREFIX_BYTES],
    open: impl FnOnce(&SubkeyGcm) -> bool,
) -> Option<bool> {
    let mut open = Some(open);
    CACHE
        .try_with(|cell| {
            let mut cache = cell.try_borrow_mut().ok()?;
            let open = open.take()?;
            Some(cache.open(xaes, prefix, open))
        })
        .ok()
        .flatten()
}

/// One entry as tests see it: key number, prefix and last use.
pub(crate) type EntryView = (u64, [u8; PREFIX_BYTES], u64);

/// What a thread's cache holds, without its ciphers: the use counter, and
/// each entry (`None` when empty), set by set.
pub(crate) type State = (u64, Vec<Option<EntryView>>);

/// What this thread's cache holds, for tests (and the differential fuzz
/// target): equal before and after an open exactly when the open changed
/// nothing, recency included. Allocates.
///
/// Empty while the cache cannot be reached (its thread is exiting).
pub(crate) fn snapshot() -> State {
    CACHE
        .try_with(|cell| {
            let cache = cell.try_borrow().ok()?;
            let entries = cache
                .slots
                .iter()
                .map(|s| s.cipher.as_ref().map(|_| (s.serial, s.prefix, s.used)))
                .collect();
            Some((cache.clock, entries))
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Whether this thread's cache holds `prefix` under `xaes`.
#[cfg(test)]
pub(crate) fn holds(xaes: &Xaes, prefix: &[u8; PREFIX_BYTES]) -> bool {
    CACHE.with_borrow(|cache| {
        cache
            .slots
            .iter()
            .any(|s| s.holds(xaes.serial(), prefix).is_some())
    })
}

/// Bytes one thread's cache takes, its one allocation.
#[cfg(test)]
pub(crate) fn bytes() -> usize {
    ENTRIES * std::mem::size_of::<Slot>()
}
