//! A one-at-a-time section for async code, with no runtime: what makes a
//! request's session load at most once and its saves and reloads run one
//! after another. Waiting tasks are woken when the holder leaves, also when
//! the holder's future is dropped half-way (cancelled), so nobody waits for
//! a turn that never ends.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Poll, Waker};

/// Lets one task in at a time; [`Gate::enter`] waits for the turn.
///
/// Entering and leaving an idle gate is one atomic operation each; the
/// lock is taken only when a task has to wait. A waiting task registers
/// its waker, raises `waiters` and tries once more; a leaving task lowers
/// `busy` and then looks at `waiters`. All four are `SeqCst`, so either
/// the waiter's second try sees the gate free or the leaver sees the
/// waiter and wakes it: no wake-up is lost.
#[derive(Default)]
pub(crate) struct Gate {
    busy: AtomicBool,
    /// Raised once a waker is registered; lowered by the leaver that takes
    /// the wakers.
    waiters: AtomicBool,
    /// Tasks waiting for a turn (no allocation until one waits).
    waiting: Mutex<Vec<Waker>>,
}

impl Gate {
    fn claim(&self) -> bool {
        self.busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Enters now if no other task is inside: the turn lasts until the
    /// returned guard is dropped. `None` when the gate is busy.
    pub(crate) fn try_enter(&self) -> Option<Turn<'_>> {
        self.claim().then(|| Turn { gate: self })
    }

    /// Waits until no other task is inside, then enters; the turn lasts
    /// until the returned guard is dropped.
    pub(crate) async fn enter(&self) -> Turn<'_> {
        poll_fn(|cx| {
            if self.claim() {
                return Poll::Ready(());
            }
            {
                let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                    waiting.push(cx.waker().clone());
                }
                self.waiters.store(true, Ordering::SeqCst);
            }
            // Left between the first try and the registration: this task
            // may have been missed by the leaver's look at `waiters`.
            if self.claim() {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
        Turn { gate: self }
    }
}

/// A turn inside a [`Gate`]; dropping it lets the next task in.
pub(crate) struct Turn<'a> {
    gate: &'a Gate,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let gate = self.gate;
        gate.busy.store(false, Ordering::SeqCst);
        if !gate.waiters.load(Ordering::SeqCst) {
            return;
        }
        let waiting = {
            let mut waiting = gate.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            gate.waiters.store(false, Ordering::SeqCst);
            std::mem::take(&mut *waiting)
        };
        // Every waiter polls again; the first in takes the turn, the others
        // wait again.
        for waker in waiting {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::future::Future;
    use std::pin::pin;
    use std::task::Context;

    use super::*;

    #[test]
    fn a_second_task_waits_until_the_first_leaves() {
        let gate = Gate::default();
        let mut cx = Context::from_waker(Waker::noop());
        let first = pin!(gate.enter());
        let Poll::Ready(turn) = first.poll(&mut cx) else {
            panic!("an idle gate lets the first task in");
        };
        let mut second = pin!(gate.enter());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        drop(turn);
        assert!(second.as_mut().poll(&mut cx).is_ready());
    }

    /// Counts its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_leaver_wakes_the_waiter_once_and_an_idle_leave_wakes_no_one() {
        let gate = Gate::default();
        let counter = std::sync::Arc::new(Counter(std::sync::atomic::AtomicUsize::new(0)));
        let waker = Waker::from(std::sync::Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let turn = gate.try_enter().unwrap();
        let mut second = pin!(gate.enter());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        // Polled again while still waiting: registered once.
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        drop(turn);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "woken once");
        let Poll::Ready(turn) = second.as_mut().poll(&mut cx) else {
            panic!("the woken waiter enters");
        };
        drop(turn);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "no one else waited");
    }

    #[test]
    fn try_enter_enters_only_an_idle_gate() {
        let gate = Gate::default();
        let turn = gate.try_enter().unwrap();
        assert!(gate.try_enter().is_none(), "a busy gate lets no one in");
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pin!(gate.enter()).poll(&mut cx).is_pending());
        drop(turn);
        assert!(gate.try_enter().is_some());
    }

    #[test]
    fn a_cancelled_turn_lets_the_next_task_in() {
        let gate = Gate::default();
        let mut cx = Context::from_waker(Waker::noop());
        {
            let first = pin!(gate.enter());
            let Poll::Ready(_turn) = first.poll(&mut cx) else {
                panic!("an idle gate lets the first task in");
            };
            // Dropped here, as a cancelled future drops it.
        }
        let next = pin!(gate.enter());
        assert!(next.poll(&mut cx).is_ready());
    }
}
