//! Random bytes for nonces, store ids and keys, safe across `fork`.
//!
//! Each thread keeps a ChaCha12 generator ([`StdRng`]) seeded from the
//! operating system, so a nonce costs a few nanoseconds of ChaCha instead of
//! a system call. A user-space generator has one hazard a system call does
//! not: `fork` copies it. A forked child (a pre-forking server's worker, a
//! daemon that forks after start-up) would then draw exactly the bytes its
//! parent draws, and two cookies sealed under one key with the same nonce
//! break AES-GCM and XAES-256-GCM. rand 0.9's thread RNG, used before, is
//! not reseeded on fork.
//!
//! So every draw first checks that it runs in the process that seeded the
//! thread's generator: the generator records the process id at seeding, and
//! a different id means this is a forked child (or a thread's first draw),
//! which reseeds from the operating system before drawing. The check is a
//! `getpid` system call on every platform. On Linux, a page advised
//! `MADV_WIPEONFORK` would make the check a plain memory read, but no
//! well-kept crate offers that advice through a safe API, and this crate
//! forbids `unsafe`.
//!
//! The one gap a process-id check leaves is id reuse: a grandchild that
//! inherits a generator its parent never drew from after forking, and that
//! happens to get the process id of the long-gone process which seeded that
//! generator, is not detected. That takes the ids to wrap around to one
//! exact value; a `fork` without `exec` two levels deep, with the original
//! process dead, is also rare.

use std::cell::RefCell;

use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};

/// A thread's generator and the process that seeded it.
struct Seeded {
    rng: StdRng,
    pid: u32,
}

impl Seeded {
    /// A generator seeded from the operating system for process `pid`.
    ///
    /// Panics, as rand's own thread RNG does, only if the operating
    /// system's random source fails: there is no safe way to go on.
    fn new(pid: u32) -> Self {
        Self {
            rng: StdRng::from_os_rng(),
            pid,
        }
    }
}

thread_local! {
    static RNG: RefCell<Option<Seeded>> = const { RefCell::new(None) };
}

/// Fills `dest` with random bytes from this thread's generator, reseeding it
/// from the operating system first when this is the thread's first draw or
/// the process was forked since it was seeded.
///
/// Panics only if the operating system's random source fails.
pub(crate) fn fill(dest: &mut [u8]) {
    fill_in_process(&mut [dest]);
}

/// Fills every slice of `dests` from this thread's generator under one
/// process check, and returns the id of the process the draw was checked
/// against.
///
/// One check covers every slice because no other code runs between it and
/// the draws: a seal makes it after the user's `Serialize` has run, so a
/// `fork` inside that is still caught. A caller that keeps other
/// per-process state (XAES-256-GCM's sealing epochs) compares the returned
/// id with the id that state was made in, and so notices a `fork` without a
/// second `getpid` call.
///
/// Panics only if the operating system's random source fails.
pub(crate) fn fill_in_process(dests: &mut [&mut [u8]]) -> u32 {
    let pid = std::process::id();
    let draw = |rng: &mut StdRng, dests: &mut [&mut [u8]]| {
        dests.iter_mut().for_each(|dest| rng.fill_bytes(dest));
    };
    let drawn = RNG.try_with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return false;
        };
        if slot.as_ref().is_none_or(|seeded| seeded.pid != pid) {
            *slot = Some(Seeded::new(pid));
        }
        slot.as_mut()
            .map(|seeded| draw(&mut seeded.rng, &mut *dests))
            .is_some()
    });
    if drawn != Ok(true) {
        // Only while this thread's locals are being destroyed: a generator
        // for this one draw.
        draw(&mut Seeded::new(pid).rng, dests);
    }
    pid
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    #[test]
    fn fills_every_length() {
        for len in [0, 1, 12, 16, 24, 32, 100, 1000] {
            let mut a = vec![0u8; len];
            let mut b = vec![0u8; len];
            fill(&mut a);
            fill(&mut b);
            if len >= 12 {
                assert_ne!(a, b);
                assert!(a.iter().any(|&byte| byte != 0));
            }
        }
    }

    #[test]
    fn reseeds_when_the_process_id_changes() {
        let mut before = [0u8; 24];
        fill(&mut before);
        // What a forked child sees: the parent's generator, recorded under
        // another process id.
        let mut copied = RNG.with_borrow_mut(|slot| {
            let seeded = slot.as_mut().expect("seeded by the draw above");
            seeded.pid = seeded.pid.wrapping_add(1);
            seeded.rng.clone()
        });
        let mut inherited = [0u8; 24];
        copied.fill_bytes(&mut inherited);
        let mut drawn = [0u8; 24];
        fill(&mut drawn);
        assert_ne!(drawn, inherited, "drew from the inherited state");
        RNG.with_borrow(|slot| {
            let seeded = slot.as_ref().expect("reseeded");
            assert_eq!(seeded.pid, std::process::id());
        });
    }

    #[test]
    fn fill_in_process_returns_this_process_id() {
        let mut bytes = [0u8; 12];
        assert_eq!(fill_in_process(&mut [&mut bytes]), std::process::id());
    }

    #[test]
    fn one_draw_fills_every_slice_with_different_bytes() {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        fill_in_process(&mut [&mut a, &mut b]);
        assert_ne!(a, [0; 16]);
        assert_ne!(b, [0; 16]);
        assert_ne!(a, b);
    }

    #[test]
    fn threads_draw_different_bytes() {
        let mut here = [0u8; 24];
        fill(&mut here);
        let there = std::thread::spawn(|| {
            let mut bytes = [0u8; 24];
            fill(&mut bytes);
            bytes
        })
        .join()
        .expect("thread");
        assert_ne!(here, there);
    }
}
