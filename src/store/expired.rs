//! A background task that deletes expired sessions from a store that keeps
//! them (the SQL stores), on a Tokio runtime, with a handle to stop it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::StoreFuture;

/// A store whose expired entries stay until deleted (they are never
/// returned): what [`ExpiredDeletion`] sweeps. Implemented by the SQL
/// stores; Redis and the memory store expire entries themselves.
pub trait DeleteExpired: Send + Sync + 'static {
    /// Deletes every entry past its deadline; how many it removed.
    fn delete_expired(&self) -> StoreFuture<'_, u64>;
}

/// Deletes expired sessions every interval in the background, like
/// tower-sessions' `ExpiredDeletion`: start it once per application (one
/// server is enough; several are harmless), stop it with
/// [`shutdown`](Self::shutdown). A failed sweep is counted and retried at
/// the next interval; it never ends the task.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use sealed_session::store::{ExpiredDeletion, PostgresStore};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
/// let sweeper = ExpiredDeletion::spawn(store.clone(), Duration::from_secs(300));
/// // ... serve ...
/// sweeper.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct ExpiredDeletion {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    deleted: AtomicU64,
    sweeps: AtomicU64,
    failures: AtomicU64,
}

impl ExpiredDeletion {
    /// Starts sweeping `store` every `every` (the first sweep at once) on
    /// the current Tokio runtime. Panics outside a Tokio runtime, as
    /// `tokio::spawn` does.
    pub fn spawn<S: DeleteExpired>(store: S, every: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let counts = Arc::new(Counts::default());
        let task_counts = Arc::clone(&counts);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => return,
                }
                // A sweep in progress finishes before a stop is seen: it is
                // one statement, bounded by the store's own limits.
                match store.delete_expired().await {
                    Ok(n) => {
                        task_counts.deleted.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(_) => {
                        task_counts.failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                task_counts.sweeps.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self { stop, task, counts }
    }

    /// Entries deleted so far.
    pub fn deleted(&self) -> u64 {
        self.counts.deleted.load(Ordering::Relaxed)
    }

    /// Sweeps run so far, failed ones included.
    pub fn sweeps(&self) -> u64 {
        self.counts.sweeps.load(Ordering::Relaxed)
    }

    /// Sweeps that failed (the store was unreachable or refused).
    pub fn failures(&self) -> u64 {
        self.counts.failures.load(Ordering::Relaxed)
    }

    /// Stops the task after the sweep in progress, if any, and waits for it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl fmt::Debug for ExpiredDeletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpiredDeletion")
            .field("sweeps", &self.sweeps())
            .field("deleted", &self.deleted())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}
