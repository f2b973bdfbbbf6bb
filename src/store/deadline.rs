//! A per-operation time limit shared by the network stores.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::error::Error;

/// Default limit on one store operation (including any reconnect it waits
/// for): two seconds.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `operation`, failing with a [`ErrorKind::Store`](crate::ErrorKind::Store)
/// error that names `what` when it takes longer than `limit`.
pub(super) async fn bounded<T, E>(
    limit: Duration,
    what: &'static str,
    operation: impl Future<Output = Result<T, E>>,
) -> Result<T, Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(limit, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::store(e)),
        Err(_) => Err(Error::store(TimedOut { what, limit })),
    }
}

/// A store operation did not finish within its time limit.
#[derive(Debug)]
struct TimedOut {
    what: &'static str,
    limit: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} did not answer within {:?}", self.what, self.limit)
    }
}

impl std::error::Error for TimedOut {}
