//! The revoked-id tables: one shard of them, which loads read while a
//! writer inserts.
//!
//! A shard's table is an open-addressing table of 12-byte slots (the key's
//! two 32-bit words and a deadline in seconds), each word an atomic, so that
//! a write (an insert into a free slot, a later deadline for a key already
//! there, an expired entry marked gone) happens beside the loads reading
//! the table, under the same read lock; a writer preempted in the middle of
//! one holds up no load. The shard's write lock is taken only to swap in a
//! table rebuilt beside the old one (to grow, or to give memory back once
//! most of it expired): a pointer's worth of work, and only when no load
//! holds the lock (a writer waiting in `RwLock::write` would make the loads
//! after it wait for the scheduler to run it).
//!
//! - **Slots.** A slot's deadline is [`EMPTY`] until the slot is first
//!   used and [`GONE`] once its entry is dropped; otherwise the entry's
//!   deadline (seconds, at least [`MIN_UNTIL`]). A writer fills a slot's
//!   key, then publishes its deadline (release); a load reads the deadline
//!   (acquire), then the key. A slot whose entry was dropped is used again
//!   by a later insert (a load that read the old deadline and the new key
//!   took the insert as not yet made, which it was not).
//! - **Probing** is linear from the bucket the key's first word picks (the
//!   ids are random: no hashing), past taken and dropped slots, to the key
//!   or an empty slot. Taken and dropped slots stay below
//!   [`MAX_LOAD_NUM`]/[`MAX_LOAD_DEN`] of the table, so a miss (the common
//!   case: most sessions were never revoked) reads a few adjacent slots.
//! - **One writer at a time** per shard (its writer lock): the writer alone
//!   knows how many slots are taken.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{
    Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError,
};

use super::backend::RevocationKey;

/// A slot never used: a probe stops here.
const EMPTY: u32 = 0;
/// A slot whose entry was dropped: a probe goes on past it.
const GONE: u32 = 1;
/// The earliest deadline a slot holds: an entry's deadline is raised to it
/// (an entry with a deadline this early has expired anyway).
const MIN_UNTIL: u32 = 2;

/// Slots taken or dropped, at most this fraction of the table (4/5).
const MAX_LOAD_NUM: usize = 4;
const MAX_LOAD_DEN: usize = 5;

/// The fewest slots a table has.
const MIN_SLOTS: usize = 8;

/// Slots of a table of `slots` that may be taken or dropped.
fn room(slots: usize) -> usize {
    slots / MAX_LOAD_DEN * MAX_LOAD_NUM
}

/// The fewest slots (a power of two) with room for `entries`.
fn slots_for(entries: usize) -> usize {
    let mut slots = MIN_SLOTS;
    while room(slots) < entries && slots < usize::MAX / 4 {
        slots *= 2;
    }
    slots
}

/// A revoked id's key as two 32-bit words: the registry keeps a revoked
/// id's first 8 bytes ([`RevocationKey`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Key(u32, u32);

impl Key {
    pub(super) fn new(key: RevocationKey) -> Self {
        let [a, b, c, d, e, f, g, h] = key.to_bytes();
        Self(
            u32::from_le_bytes([a, b, c, d]),
            u32::from_le_bytes([e, f, g, h]),
        )
    }

    pub(super) fn revocation_key(self) -> RevocationKey {
        let [a, b, c, d] = self.0.to_le_bytes();
        let [e, f, g, h] = self.1.to_le_bytes();
        RevocationKey::from_bytes([a, b, c, d, e, f, g, h])
    }

    /// The shard, out of `shards`: the low bits of the second word (the
    /// table inside starts its probe at the low bits of the first).
    pub(super) fn shard(self, shards: usize) -> usize {
        self.1 as usize % shards
    }
}

#[derive(Default)]
struct Slot {
    until: AtomicU32,
    k0: AtomicU32,
    k1: AtomicU32,
}

/// One table of a shard (see the module's documentation).
pub(super) struct Table {
    slots: Box<[Slot]>,
}

impl Table {
    /// An empty table of `slots` slots (a power of two).
    fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots).map(|_| Slot::default()).collect(),
        }
    }

    /// Slots that may be taken or dropped before the table must grow.
    fn room(&self) -> usize {
        room(self.slots.len())
    }

    /// The slots from `key`'s bucket on, around the end, each once.
    fn probe(&self, key: Key) -> impl Iterator<Item = &Slot> {
        let start = key.0 as usize & (self.slots.len() - 1);
        let (before, after) = self.slots.split_at(start);
        after.iter().chain(before)
    }

    /// `key`'s deadline (seconds), if it is in the table.
    pub(super) fn get(&self, key: Key) -> Option<u32> {
        for slot in self.probe(key) {
            match slot.until.load(Ordering::Acquire) {
                EMPTY => return None,
                GONE => {}
                until => {
                    if slot.k0.load(Ordering::Relaxed) == key.0
                        && slot.k1.load(Ordering::Relaxed) == key.1
                    {
                        return Some(until);
                    }
                }
            }
        }
        None
    }

    /// The entries in the table: key and deadline.
    pub(super) fn entries(&self) -> impl Iterator<Item = (Key, u32)> + '_ {
        self.slots.iter().filter_map(|slot| {
            let until = slot.until.load(Ordering::Acquire);
            (until >= MIN_UNTIL).then(|| {
                (
                    Key(
                        slot.k0.load(Ordering::Relaxed),
                        slot.k1.load(Ordering::Relaxed),
                    ),
                    until,
                )
            })
        })
    }
}

/// What [`IdShard::insert`]'s writer knows of the current table.
struct Writer {
    /// When the shard was last swept (seconds).
    swept_at: u64,
    /// Entries in the table.
    live: usize,
    /// Slots taken or dropped (never empty again until a rebuild).
    used: usize,
}

/// One shard of the revoked ids: a [`Table`] that loads and the one writer
/// read under the read lock, and the writer's lock.
pub(super) struct IdShard {
    table: RwLock<Table>,
    writer: Mutex<Writer>,
}

impl Default for IdShard {
    fn default() -> Self {
        Self {
            table: RwLock::new(Table::new(MIN_SLOTS)),
            writer: Mutex::new(Writer {
                swept_at: 0,
                live: 0,
                used: 0,
            }),
        }
    }
}

fn read(lock: &RwLock<Table>) -> RwLockReadGuard<'_, Table> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// The write lock, taken only while no load holds the read lock: a writer
/// blocked in `RwLock::write` would hold every load that comes after it
/// until the scheduler runs the writer again, so this one never blocks and
/// yields its core between tries instead.
pub(super) fn write_when_free<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    loop {
        match lock.try_write() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => std::thread::yield_now(),
        }
    }
}

fn lock(lock: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IdShard {
    /// `key`'s deadline, if the shard holds it.
    pub(super) fn get(&self, key: Key) -> Option<u32> {
        read(&self.table).get(key)
    }

    /// Reads the table.
    pub(super) fn table(&self) -> RwLockReadGuard<'_, Table> {
        read(&self.table)
    }

    /// Revokes `key` until `until` (seconds; a later deadline already there
    /// stays) at `now`, after sweeping the shard when its sweep is due
    /// (every `sweep_secs`). Returns how many entries the shard gained
    /// (negative when the sweep dropped more).
    pub(super) fn insert(&self, key: Key, until: u32, now: u64, sweep_secs: u64) -> isize {
        let mut writer = lock(&self.writer);
        let mut gained = 0;
        if now >= writer.swept_at.saturating_add(sweep_secs) {
            writer.swept_at = now;
            gained -= self.sweep_locked(&mut writer, now);
        }
        if now >= u64::from(until) {
            return gained;
        }
        let until = until.max(MIN_UNTIL);
        let (room, slots) = {
            let table = read(&self.table);
            (table.room(), table.slots.len())
        };
        if writer.used >= room {
            // Twice the slots, or as many again when dropped entries took
            // more than half the room.
            let slots = if writer.live * 2 >= room {
                slots.saturating_mul(2)
            } else {
                slots
            };
            self.rebuild(&mut writer, |_| true, slots);
        }
        let table = read(&self.table);
        let mut free = None;
        for slot in table.probe(key) {
            match slot.until.load(Ordering::Relaxed) {
                EMPTY => {
                    free = free.or(Some(slot));
                    break;
                }
                GONE => free = free.or(Some(slot)),
                _ => {
                    if slot.k0.load(Ordering::Relaxed) == key.0
                        && slot.k1.load(Ordering::Relaxed) == key.1
                    {
                        slot.until.fetch_max(until, Ordering::Release);
                        return gained;
                    }
                }
            }
        }
        // The table has room (above): a probe meets an empty slot.
        if let Some(slot) = free {
            if slot.until.load(Ordering::Relaxed) == EMPTY {
                writer.used += 1;
            }
            slot.k0.store(key.0, Ordering::Relaxed);
            slot.k1.store(key.1, Ordering::Relaxed);
            slot.until.store(until, Ordering::Release);
            writer.live += 1;
            gained += 1;
        }
        gained
    }

    /// Sweeps the shard now, whenever it was last swept. Returns how many
    /// entries it dropped.
    pub(super) fn sweep(&self, now: u64) -> isize {
        let mut writer = lock(&self.writer);
        writer.swept_at = now;
        self.sweep_locked(&mut writer, now)
    }

    /// Drops the entries past their deadline at `now`: marks their slots
    /// dropped, beside the loads, or rebuilds the table (giving the memory
    /// back) when most of it would be empty. Returns how many went.
    fn sweep_locked(&self, writer: &mut Writer, now: u64) -> isize {
        let expired = |until: u32| now >= u64::from(until);
        let (dropped, slots) = {
            let table = read(&self.table);
            let dropped = table.entries().filter(|&(_, u)| expired(u)).count();
            (dropped, table.slots.len())
        };
        if dropped == 0 {
            return 0;
        }
        let live = writer.live.saturating_sub(dropped);
        if live.saturating_mul(4) < room(slots) && slots > MIN_SLOTS {
            // Most of the table would be empty: half as full after.
            let slots = slots_for(live.saturating_mul(2));
            return self.rebuild(writer, |u| !expired(u), slots);
        }
        let table = read(&self.table);
        for slot in table.slots.iter() {
            let until = slot.until.load(Ordering::Relaxed);
            if until >= MIN_UNTIL && expired(until) {
                slot.until.store(GONE, Ordering::Release);
            }
        }
        writer.live = live;
        isize::try_from(dropped).unwrap_or(isize::MAX)
    }

    /// Replaces the table with one of `slots` slots (at least those the
    /// entries kept need) holding the entries whose deadline `keep` keeps,
    /// built beside the table under the read lock; the write lock is held
    /// for the swap alone, and the old table is freed after it. Returns how
    /// many entries went.
    fn rebuild(&self, writer: &mut Writer, keep: impl Fn(u32) -> bool, slots: usize) -> isize {
        let new = {
            let table = read(&self.table);
            let kept = table.entries().filter(|&(_, u)| keep(u)).count();
            let new = Table::new(slots.max(slots_for(kept)));
            for (key, until) in table.entries().filter(|&(_, u)| keep(u)) {
                // A fresh table: the first empty slot of the probe.
                if let Some(slot) = new
                    .probe(key)
                    .find(|s| s.until.load(Ordering::Relaxed) == EMPTY)
                {
                    slot.k0.store(key.0, Ordering::Relaxed);
                    slot.k1.store(key.1, Ordering::Relaxed);
                    slot.until.store(until, Ordering::Relaxed);
                }
            }
            (new, kept)
        };
        let (new, kept) = new;
        let old = std::mem::replace(&mut *write_when_free(&self.table), new);
        drop(old);
        let dropped = writer.live.saturating_sub(kept);
        writer.live = kept;
        writer.used = kept;
        isize::try_from(dropped).unwrap_or(isize::MAX)
    }

    /// Bytes of slots (for the tests).
    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        read(&self.table).slots.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation,
        reason = "tests"
    )]

    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// Key number `key` (of a few, so that keys come back) until `until`.
        Insert {
            key: u8,
            until: u32,
        },
        Advance(u64),
        Sweep,
        Get(u8),
    }

    /// Keys that share buckets: the first word's low bits repeat every 16.
    fn key(n: u8) -> Key {
        Key(u32::from(n % 16) | u32::from(n) << 16, u32::from(n) * 7)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), 0u32..400).prop_map(|(key, until)| Op::Insert { key, until }),
            1 => (0u64..100).prop_map(Op::Advance),
            1 => Just(Op::Sweep),
            4 => any::<u8>().prop_map(Op::Get),
        ]
    }

    proptest! {
        /// Against a map of the entries not yet expired: an expired entry
        /// may stay until a sweep, so a get answers the model's deadline,
        /// or for a key the model dropped, nothing or a deadline already
        /// past.
        #[test]
        fn the_table_agrees_with_a_map(ops in proptest::collection::vec(op(), 1..400), sweep_secs in 1u64..200) {
            let shard = IdShard::default();
            let mut model: HashMap<u8, u32> = HashMap::new();
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Insert { key: k, until } => {
                        shard.insert(key(k), until, now, sweep_secs);
                        model.retain(|_, u| now < u64::from(*u));
                        if now < u64::from(until) {
                            let e = model.entry(k).or_insert(0);
                            *e = (*e).max(until.max(MIN_UNTIL));
                        }
                    }
                    Op::Advance(secs) => now += secs,
                    Op::Sweep => {
                        shard.sweep(now);
                        model.retain(|_, u| now < u64::from(*u));
                    }
                    Op::Get(k) => {
                        let got = shard.get(key(k)).filter(|&u| now < u64::from(u));
                        let want = model.get(&k).copied().filter(|&u| now < u64::from(u));
                        prop_assert_eq!(got, want, "key {} at {}", k, now);
                    }
                }
                let writer = lock(&shard.writer);
                let table = read(&shard.table);
                prop_assert!(writer.used <= table.room() || table.slots.len() == MIN_SLOTS);
                prop_assert_eq!(writer.live, table.entries().count());
            }
        }
    }

    /// A load that begins after an insert returned finds it, whatever the
    /// writer does meanwhile (grow, sweep, reuse dropped slots): the
    /// writer counts the inserts it finished, the reader checks keys below
    /// the count. Whatever the threads' interleaving, nothing may be
    /// missed, so the test's outcome does not depend on the scheduler.
    #[test]
    fn loads_beside_a_writer_find_every_finished_insert() {
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        const N: u32 = 60_000;
        let live = |n: u32| Key(n.wrapping_mul(2_654_435_761), n);
        // Keys that expire at 50: swept away as the clock passes it,
        // leaving dropped slots for the live keys to reuse.
        let brief = |n: u32| Key(n.wrapping_mul(2_246_822_519), !n);
        let shard = IdShard::default();
        let finished = AtomicUsize::new(0);
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                for n in 0..N {
                    let now = u64::from(n / 1000) * 10;
                    shard.insert(brief(n), 50 + n / 1000 * 10, now, 20);
                    shard.insert(live(n), 1_000_000, now, 20);
                    finished.store(n as usize + 1, Ordering::Release);
                }
                done.store(true, Ordering::Release);
            });
            let mut draw = 0x9e37_79b9_u32;
            let mut checked = 0u64;
            while !done.load(Ordering::Acquire) || checked < 10_000 {
                let upto = finished.load(Ordering::Acquire) as u32;
                if upto == 0 {
                    std::thread::yield_now();
                    continue;
                }
                draw = draw.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = draw % upto;
                assert_eq!(shard.get(live(n)), Some(1_000_000), "key {n} of {upto}");
                checked += 1;
            }
        });
        assert_eq!(
            shard
                .table()
                .entries()
                .filter(|&(_, u)| u == 1_000_000)
                .count(),
            N as usize
        );
    }

    #[test]
    fn a_table_grows_and_gives_the_memory_back() {
        let shard = IdShard::default();
        for n in 0..10_000u32 {
            shard.insert(Key(n.wrapping_mul(2_654_435_761), n), 100, 0, 1000);
        }
        assert_eq!(shard.table().entries().count(), 10_000);
        // Grown by doubling at 4/5 full: 16 384 slots (61% full).
        assert_eq!(shard.slots(), 16_384);
        for n in 0..10_000u32 {
            assert_eq!(shard.get(Key(n.wrapping_mul(2_654_435_761), n)), Some(100));
        }
        assert_eq!(shard.sweep(100), 10_000);
        assert_eq!(shard.slots(), MIN_SLOTS);
    }
}
