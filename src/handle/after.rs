//! What both adapters' response futures do after the inner service: the
//! inner service's future runs, then the adapter finishes the request with
//! what it gave (saving the session if the handler loaded it), at once
//! when nothing has to wait, else through a boxed future that waits on the
//! store.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

/// How an adapter finishes a request once the inner service answered.
pub(crate) trait Finish<I> {
    /// What the adapter's response future gives.
    type Output;

    /// The future of a finish that waits on the store (boxed).
    type Later: Future<Output = Self::Output> + Unpin;

    /// Finishes with `input`, the inner service's output: done, or a
    /// future to wait for.
    fn finish(&self, input: I) -> Result<Self::Output, Self::Later>;
}

pin_project! {
    /// The inner service's future `F`, then the finish `K` (which may hand
    /// over a future `L` to wait for).
    #[project = AfterProj]
    pub(crate) enum After<F, K, L> {
        /// The inner service runs.
        Inner {
            #[pin]
            future: F,
            finish: K,
        },
        /// The finish waits on the store.
        Later {
            future: L,
        },
    }
}

impl<F, K, L> After<F, K, L>
where
    F: Future,
    K: Finish<F::Output, Later = L>,
    L: Future<Output = K::Output> + Unpin,
{
    /// Runs the inner service's `future`, then `finish`.
    pub(crate) fn new(future: F, finish: K) -> Self {
        Self::Inner { future, finish }
    }

    /// Polls the inner service, then the finish.
    pub(crate) fn poll_after(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<K::Output> {
        loop {
            let later = match self.as_mut().project() {
                AfterProj::Later { future } => return Pin::new(future).poll(cx),
                AfterProj::Inner { future, finish } => {
                    let input = ready!(future.poll(cx));
                    match finish.finish(input) {
                        Ok(output) => return Poll::Ready(output),
                        Err(later) => later,
                    }
                }
            };
            self.set(Self::Later { future: later });
        }
    }
}

impl<F, K, L> fmt::Debug for After<F, K, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inner { .. } => "inner service",
            Self::Later { .. } => "saving",
        })
    }
}
