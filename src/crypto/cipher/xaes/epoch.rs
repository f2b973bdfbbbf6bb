//! Sealing epochs: one random prefix, and its AES-256-GCM built once, for up
//! to [`MAX_SEALS_PER_EPOCH`] seals.
//!
//! # The bound
//!
//! Within an epoch every message is AES-256-GCM under one subkey with a
//! random 96-bit nonce (the suffix). For at most `q = 2^24` such nonces the
//! chance that two collide is at most `q² / 2^97 = 2^48 / 2^97 = 2^-49` per
//! epoch (the birthday bound, `q(q-1)/2` pairs each equal with probability
//! 2^-96). NIST SP 800-38D allows 2^32 random nonces per key; this stays
//! 2^8 times below that. Prefixes are themselves random 96-bit values, so
//! two epochs share a subkey only with probability 2^-96 per pair: no
//! practical number of epochs ever does.
//!
//! # Who shares an epoch
//!
//! A process keeps one current epoch per key ([`Shared`], behind a mutex
//! that is only ever *tried*), and each thread leases
//! [`SEALS_PER_LEASE`] seals of it at a time into thread-local storage, so
//! the hot path takes no lock and touches no shared memory: a thread-local
//! lookup, a counter decrement and a process-id compare. A new epoch starts
//! when the current one has leased all its seals, when a draw reports
//! another process id than the epoch was made in (`fork`), and for every
//! new key or key ring (each [`Xaes`] has its own epochs). When the mutex
//! is held (another thread is leasing at the same moment, or a `fork`
//! copied it locked), the thread makes a private epoch instead of waiting:
//! never a block, never a deadlock in a forked child.
//!
//! A thread remembers leases for up to [`LEASE_SLOTS`] keys; sealing with
//! more keys in turn on one thread starts a new epoch (one derivation) each
//! time its lease was evicted, which is what every seal cost before epochs.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::{PREFIX_BYTES, SubkeyGcm, Xaes};
use crate::crypto::random;

/// Most seals under one epoch's subkey.
pub(crate) const MAX_SEALS_PER_EPOCH: u32 = 1 << 24;

/// Seals a thread takes from an epoch at a time.
pub(crate) const SEALS_PER_LEASE: u32 = 1 << 16;

/// Leases an epoch hands out: `MAX_SEALS_PER_EPOCH / SEALS_PER_LEASE`.
pub(crate) const LEASES_PER_EPOCH: u32 = MAX_SEALS_PER_EPOCH / SEALS_PER_LEASE;

/// Keys a thread holds a lease for at once.
pub(crate) const LEASE_SLOTS: usize = 4;

/// A prefix and AES-256-GCM under its subkey, made in process `pid`.
pub(crate) struct Epoch {
    prefix: [u8; PREFIX_BYTES],
    cipher: SubkeyGcm,
    pid: u32,
}

impl Epoch {
    /// A new epoch for `xaes`: a random prefix (the generator, having just
    /// checked the process id, is this process's), and its subkey's cipher.
    fn new(xaes: &Xaes, pid: u32) -> Self {
        let mut prefix = [0u8; PREFIX_BYTES];
        random::fill(&mut prefix);
        Self {
            cipher: xaes.cipher(&prefix),
            prefix,
            pid,
        }
    }
}

/// A key's current epoch in this process, and how many leases it gave.
#[derive(Default)]
pub(crate) struct Shared {
    current: Mutex<Option<(Arc<Epoch>, u32)>>,
}

impl Shared {
    /// A lease of [`SEALS_PER_LEASE`] seals for process `pid`: from the
    /// current epoch while it has leases left and was made in `pid`, else
    /// from a new one, which becomes current. Never waits for the mutex.
    fn lease(&self, xaes: &Xaes, pid: u32) -> Arc<Epoch> {
        let Ok(mut current) = self.current.try_lock() else {
            return Arc::new(Epoch::new(xaes, pid));
        };
        if let Some((epoch, leased)) = current.as_mut()
            && epoch.pid == pid
            && *leased < LEASES_PER_EPOCH
        {
            *leased += 1;
            return Arc::clone(epoch);
        }
        let epoch = Arc::new(Epoch::new(xaes, pid));
        *current = Some((Arc::clone(&epoch), 1));
        epoch
    }
}

/// A thread's right to seal `left` more messages under `epoch` for the key
/// numbered `serial`.
struct Lease {
    serial: u64,
    epoch: Arc<Epoch>,
    left: u32,
}

/// This thread's leases, and which slot to give up next.
#[derive(Default)]
struct Leases {
    slots: [Option<Lease>; LEASE_SLOTS],
    next: usize,
}

impl Leases {
    /// A lease with a seal left for `xaes` in process `pid`, taking a new
    /// one when there is none, it is used up, or it was made in another
    /// process. Takes one seal from it.
    fn take(&mut self, xaes: &Xaes, pid: u32) -> Option<&Epoch> {
        let serial = xaes.serial();
        let found = self
            .slots
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|l| l.serial == serial));
        let index = found.unwrap_or_else(|| {
            let index = self.next;
            self.next = (self.next + 1) % LEASE_SLOTS;
            index
        });
        let slot = self.slots.get_mut(index)?;
        if !slot
            .as_ref()
            .is_some_and(|l| l.serial == serial && l.left > 0 && l.epoch.pid == pid)
        {
            *slot = Some(Lease {
                serial,
                epoch: xaes.epochs.lease(xaes, pid),
                left: SEALS_PER_LEASE,
            });
        }
        let lease = slot.as_mut()?;
        lease.left -= 1;
        Some(&lease.epoch)
    }
}

thread_local! {
    static LEASES: RefCell<Leases> = RefCell::new(Leases::default());
}

/// Runs `seal` with the prefix and cipher of an epoch of `xaes` that has a
/// seal left for this thread in process `pid`.
///
/// Where this thread's leases cannot be reached (while its thread-locals
/// are being destroyed), seals under a one-message epoch of its own.
/// `None` only if `seal` was not run, which does not happen.
pub(crate) fn with_epoch<R>(
    xaes: &Xaes,
    pid: u32,
    seal: impl FnOnce(&[u8; PREFIX_BYTES], &SubkeyGcm) -> R,
) -> Option<R> {
    let mut seal = Some(seal);
    let leased = LEASES.try_with(|cell| {
        let mut leases = cell.try_borrow_mut().ok()?;
        let epoch = leases.take(xaes, pid)?;
        let seal = seal.take()?;
        Some(seal(&epoch.prefix, &epoch.cipher))
    });
    if let Ok(Some(result)) = leased {
        return Some(result);
    }
    // The leases were out of reach, so `seal` was not taken.
    let seal = seal.take()?;
    let epoch = Epoch::new(xaes, pid);
    Some(seal(&epoch.prefix, &epoch.cipher))
}

/// Uses up this thread's lease for `xaes` and records `leased` leases as
/// taken from its current epoch, for tests of the bound.
#[cfg(test)]
pub(crate) fn use_up(xaes: &Xaes, leased: u32) {
    LEASES.with_borrow_mut(|leases| {
        for lease in leases.slots.iter_mut().flatten() {
            if lease.serial == xaes.serial() {
                lease.left = 0;
            }
        }
    });
    if let Ok(mut current) = xaes.epochs.current.lock()
        && let Some((_, taken)) = current.as_mut()
    {
        *taken = leased;
    }
}

/// How many leases `xaes`'s current epoch has given, for tests.
#[cfg(test)]
pub(crate) fn leases_taken(xaes: &Xaes) -> Option<u32> {
    let current = xaes.epochs.current.lock().ok()?;
    current.as_ref().map(|(_, taken)| *taken)
}
