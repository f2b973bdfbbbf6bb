//! A one-at-a-time section for async code, with no runtime: what makes a
//! request's session load at most once and its saves and reloads run one
//! after another. Waiting tasks are woken when the holder leaves, also when
//! the holder's future is dropped half-way (cancelled), so nobody waits for
//! a turn that never ends.

use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

/// Lets one task in at a time; [`Gate::enter`] waits for the turn.
#[derive(Default)]
pub(crate) struct Gate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    busy: bool,
    /// Tasks waiting for a turn (no allocation until one waits).
    waiting: Vec<Waker>,
}

impl Gate {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enters now if no other task is inside: the turn lasts until the
    /// returned guard is dropped. `None` when the gate is busy.
    pub(crate) fn try_enter(&self) -> Option<Turn<'_>> {
        let mut state = self.state();
        if state.busy {
            return None;
        }
        state.busy = true;
        Some(Turn { gate: self })
    }

    /// Waits until no other task is inside, then enters; the turn lasts
    /// until the returned guard is dropped.
    pub(crate) async fn enter(&self) -> Turn<'_> {
        poll_fn(|cx| {
            let mut state = self.state();
            if !state.busy {
                state.busy = true;
                return Poll::Ready(());
            }
            if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                state.waiting.push(cx.waker().clone());
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
        let waiting = {
            let mut state = self.gate.state();
            state.busy = false;
            std::mem::take(&mut state.waiting)
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
