//! Building a [`RedisStore`]: one server or a cluster, its prefix and its
//! time limit, connected now or on first use.

use std::fmt;
use std::time::Duration;

use redis::Client;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Connection, DEFAULT_REDIS_PREFIX, RedisStore};
use crate::error::Error;
use crate::store::deadline::{DEFAULT_STORE_TIMEOUT, bounded};

/// Reconnect attempts the connection manager makes per outage before it
/// reports failure (the next command starts a new round).
const RECONNECT_ATTEMPTS: usize = 3;

/// Configures a [`RedisStore`].
///
/// Its `Debug` leaves out the URLs, which may hold a password.
#[must_use]
#[derive(Clone)]
pub struct RedisStoreBuilder {
    target: Target,
    prefix: String,
    timeout: Duration,
}

#[derive(Clone)]
enum Target {
    Single(String),
    #[cfg(feature = "redis-cluster")]
    Cluster(Vec<String>),
}

impl RedisStoreBuilder {
    /// The prefix put before every key (default
    /// [`DEFAULT_REDIS_PREFIX`]). Give each application sharing a Redis its
    /// own.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most one operation may take, including a wait for a reconnect
    /// (default [`DEFAULT_STORE_TIMEOUT`](crate::store::DEFAULT_STORE_TIMEOUT)).
    /// Also bounds each connection attempt and each response.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the store and connects now, so a wrong URL or an unreachable
    /// server shows at start-up.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the URL does not
    /// parse or the server cannot be reached within the timeout.
    pub async fn connect(self) -> Result<RedisStore, Error> {
        let timeout = self.timeout;
        let connection = match &self.target {
            Target::Single(url) => {
                let client = Client::open(url.as_str()).map_err(Error::store)?;
                let config = self.manager_config();
                let manager = bounded(
                    timeout,
                    "redis connect",
                    ConnectionManager::new_with_config(client, config),
                )
                .await?;
                Connection::Single(manager)
            }
            #[cfg(feature = "redis-cluster")]
            Target::Cluster(nodes) => {
                let client = self.cluster_client(nodes)?;
                let connection = bounded(
                    timeout,
                    "redis cluster connect",
                    client.get_async_connection(),
                )
                .await?;
                Connection::Cluster(connection)
            }
        };
        Ok(self.finish(connection))
    }

    /// Builds the store without connecting: the first operation connects.
    /// Lets an application start while Redis is down.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the URL does not
    /// parse or when called outside a Tokio runtime.
    pub fn build(self) -> Result<RedisStore, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::store(NoRuntime));
        }
        let connection = match &self.target {
            Target::Single(url) => {
                let client = Client::open(url.as_str()).map_err(Error::store)?;
                let manager =
                    ConnectionManager::new_lazy_with_config(client, self.manager_config())
                        .map_err(Error::store)?;
                Connection::Single(manager)
            }
            #[cfg(feature = "redis-cluster")]
            Target::Cluster(nodes) => {
                let client = self.cluster_client(nodes)?;
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout);
                Connection::Cluster(client.get_pending_async_connection_with_config(config))
            }
        };
        Ok(self.finish(connection))
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(self.timeout)
    }

    #[cfg(feature = "redis-cluster")]
    fn cluster_client(&self, nodes: &[String]) -> Result<redis::cluster::ClusterClient, Error> {
        redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .build()
            .map_err(Error::store)
    }

    fn finish(self, connection: Connection) -> RedisStore {
        RedisStore {
            connection,
            prefix: self.prefix.into(),
            timeout: self.timeout,
        }
    }
}

impl RedisStore {
    /// A builder for a store at `url` (`redis://[user:password@]host:port/db`,
    /// or `rediss://` with the `redis` crate's TLS features enabled).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            target: Target::Single(url.into()),
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            timeout: DEFAULT_STORE_TIMEOUT,
        }
    }

    /// A builder for a store in a Redis Cluster, given the URLs of some of
    /// its nodes (the rest are discovered). Keys are routed by hash slot;
    /// every operation touches one key, so no hash tags are needed.
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub fn cluster_builder<I, S>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisStoreBuilder {
            target: Target::Cluster(nodes.into_iter().map(Into::into).collect()),
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            timeout: DEFAULT_STORE_TIMEOUT,
        }
    }
}

impl Target {
    fn kind(&self) -> &'static str {
        match self {
            Self::Single(_) => "single",
            #[cfg(feature = "redis-cluster")]
            Self::Cluster(_) => "cluster",
        }
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("target", &self.target.kind())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `RedisStore::build` was called outside a Tokio runtime.
#[derive(Debug)]
struct NoRuntime;

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the redis store must be built inside a tokio runtime")
    }
}

impl std::error::Error for NoRuntime {}
