//! The MongoDB store, on the official `mongodb` driver.

use std::fmt;
use std::future::IntoFuture as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::error::{ErrorKind as MongoErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};

use super::deadline::{DEFAULT_STORE_TIMEOUT, bounded};
use super::{Store, StoreAdmin, StoreFuture, StoreId};
use crate::error::Error;

/// The collection a [`MongoStore`] uses unless told otherwise.
pub const DEFAULT_COLLECTION_NAME: &str = "sealed_sessions";

/// The database [`MongoStore::connect`] uses when its URL names none.
pub const DEFAULT_DATABASE_NAME: &str = "sealed_session";

/// MongoDB's code for a duplicate key.
const DUPLICATE_KEY: i32 = 11000;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A store in MongoDB: one document per session.
///
/// | field | BSON type | holds |
/// |---|---|---|
/// | `_id` | string | the [`StoreId`] as 32 lowercase hex digits (as in the Redis key) |
/// | `value` | string | the sealed session, base64 (standard alphabet, padded) |
/// | `expires_at` | date | the deadline |
///
/// [`migrate`](Self::migrate) creates a TTL index on `expires_at`
/// (`expireAfterSeconds: 0`), so MongoDB deletes each document after its
/// deadline (its TTL monitor runs about once a minute). Until it does, the
/// store never returns it: `load` asks for `expires_at` later than the
/// application's clock. `create` deletes an expired document under its id,
/// then inserts, and a duplicate key means a live session holds the id;
/// `save` replaces the whole document (upsert); `delete` removes it.
///
/// **Why strings.** A binary `_id` and value would be smaller (16 bytes for
/// the id, no base64 for the value). Strings were chosen so the one layout
/// works on MongoDB and on servers that speak its wire protocol but handle
/// binary fields incompletely: the tests run against nx-27017 (a MongoDB
/// wire-protocol server over SQLite), where a query on a binary `_id`
/// matches nothing and a replacement carrying binary data fails. The cost
/// is a third more bytes per value. A session value is limited by
/// MongoDB's 16 MiB document size, so about 12 MiB of sealed bytes.
///
/// The driver is built with its default features: TLS through rustls
/// (`tls=true` in the URL) and `mongodb+srv://` resolution.
///
/// The driver reconnects by itself after the server goes away; every
/// operation is bounded by a time limit ([`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT)
/// unless set with [`with_timeout`](Self::with_timeout)), past which it fails
/// with [`ErrorKind::Store`](crate::ErrorKind::Store). Cloning shares the
/// client.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use sealed_session::store::{MongoStore, Store};
///
/// # async fn run() -> Result<(), sealed_session::Error> {
/// let store = MongoStore::connect("mongodb://127.0.0.1:27017/myapp").await?;
/// store.migrate().await?; // the TTL index; safe at every start-up
/// let store: Arc<dyn Store> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MongoStore {
    database: Database,
    collection: Collection<Document>,
    clock: Clock,
    timeout: Duration,
}

impl MongoStore {
    /// Connects to `url` (`mongodb://…` or `mongodb+srv://…`) and returns a
    /// store in its default database (the URL's path, else
    /// [`DEFAULT_DATABASE_NAME`]) and the collection
    /// [`DEFAULT_COLLECTION_NAME`]. Unless the URL sets them, server
    /// selection and connection attempts give up after
    /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT). The driver
    /// connects lazily, so an unreachable server shows at the first
    /// operation (call [`migrate`](Self::migrate) at start-up).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the URL does not
    /// parse (or, for `mongodb+srv://`, its DNS records cannot be read).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let mut options = bounded(
            DEFAULT_STORE_TIMEOUT,
            "mongodb url",
            ClientOptions::parse(url).into_future(),
        )
        .await?;
        options
            .server_selection_timeout
            .get_or_insert(DEFAULT_STORE_TIMEOUT);
        options.connect_timeout.get_or_insert(DEFAULT_STORE_TIMEOUT);
        let client = Client::with_options(options).map_err(Error::store)?;
        let database = client
            .default_database()
            .unwrap_or_else(|| client.database(DEFAULT_DATABASE_NAME));
        Ok(Self::new(&database))
    }

    /// A store in `database`'s collection [`DEFAULT_COLLECTION_NAME`], with
    /// the system clock and the time limit
    /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT). Call
    /// [`migrate`](Self::migrate) once before use.
    pub fn new(database: &Database) -> Self {
        Self {
            database: database.clone(),
            collection: database.collection(DEFAULT_COLLECTION_NAME),
            clock: Arc::new(SystemTime::now),
            timeout: DEFAULT_STORE_TIMEOUT,
        }
    }

    /// This store on the collection `name` (in the same database) instead.
    #[must_use]
    pub fn with_collection_name(mut self, name: &str) -> Self {
        self.collection = self.database.collection(name);
        self
    }

    /// This store with an injected clock, for tests: `load` and `create`
    /// compare deadlines with it rather than the system clock. (MongoDB's
    /// TTL monitor still deletes by the server's clock.)
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// This store with another time limit on each operation (default
    /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT)).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The collection's name.
    pub fn collection_name(&self) -> &str {
        self.collection.name()
    }

    /// Creates the TTL index on `expires_at` if it does not exist. Safe to
    /// call at every start-up.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the server refuses
    /// or cannot be reached within the time limit.
    pub async fn migrate(&self) -> Result<(), Error> {
        let index = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(
                IndexOptions::builder()
                    .expire_after(Duration::ZERO)
                    .name("expires_at_ttl".to_owned())
                    .build(),
            )
            .build();
        bounded(
            self.timeout,
            "mongodb createIndexes",
            self.collection.create_index(index).into_future(),
        )
        .await?;
        Ok(())
    }

    fn now(&self) -> DateTime {
        DateTime::from_system_time((self.clock)())
    }

    fn document(id: &str, value: &[u8], expires_at: SystemTime) -> Document {
        doc! {
            "_id": id,
            "value": STANDARD.encode(value),
            "expires_at": DateTime::from_system_time(expires_at),
        }
    }
}

/// Whether `error` is the server refusing a duplicate `_id`.
fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    matches!(
        &*error.kind,
        MongoErrorKind::Write(WriteFailure::WriteError(e)) if e.code == DUPLICATE_KEY
    )
}

/// A stored document whose value is missing or not base64: the store holds
/// something this crate did not write.
#[derive(Debug)]
struct Malformed;

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mongodb session document lacks a base64 string value or a date expires_at")
    }
}

impl std::error::Error for Malformed {}

impl Store for MongoStore {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    fn create<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = id.to_hex();
            let expired = doc! { "_id": &key, "expires_at": { "$lte": self.now() } };
            bounded(
                self.timeout,
                "mongodb delete expired",
                self.collection.delete_one(expired).into_future(),
            )
            .await?;
            let document = Self::document(&key, value, expires_at);
            bounded(self.timeout, "mongodb insert", async {
                match self.collection.insert_one(document).await {
                    Ok(_) => Ok(true),
                    Err(e) if is_duplicate_key(&e) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await
        })
    }

    fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.load_with_deadline(id).await?.map(|(value, _)| value)) })
    }

    fn load_with_deadline<'a>(
        &'a self,
        id: &'a StoreId,
    ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
        Box::pin(async move {
            let filter = doc! { "_id": id.to_hex(), "expires_at": { "$gt": self.now() } };
            let found = bounded(
                self.timeout,
                "mongodb find",
                self.collection.find_one(filter).into_future(),
            )
            .await?;
            let Some(document) = found else {
                return Ok(None);
            };
            let encoded = document
                .get_str("value")
                .map_err(|_| Error::store(Malformed))?;
            let value = STANDARD
                .decode(encoded)
                .map_err(|_| Error::store(Malformed))?;
            let expires_at = document
                .get_datetime("expires_at")
                .map_err(|_| Error::store(Malformed))?
                .to_system_time();
            Ok(Some((value, Some(expires_at))))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a StoreId,
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = id.to_hex();
            // The replacement repeats `_id`, so an upsert keeps it.
            let document = Self::document(&key, value, expires_at);
            bounded(
                self.timeout,
                "mongodb replace",
                self.collection
                    .replace_one(doc! { "_id": &key }, document)
                    .upsert(true)
                    .into_future(),
            )
            .await?;
            Ok(())
        })
    }

    /// `replace_one` filtered on the id, the expected value and a live
    /// deadline: the server matches and replaces in one operation.
    fn compare_and_save<'a>(
        &'a self,
        id: &'a StoreId,
        expected: &'a [u8],
        value: &'a [u8],
        expires_at: SystemTime,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = id.to_hex();
            let filter = doc! {
                "_id": &key,
                "value": STANDARD.encode(expected),
                "expires_at": { "$gt": self.now() },
            };
            let document = Self::document(&key, value, expires_at);
            let done = bounded(
                self.timeout,
                "mongodb replace if",
                self.collection.replace_one(filter, document).into_future(),
            )
            .await?;
            Ok(done.matched_count == 1)
        })
    }

    fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            bounded(
                self.timeout,
                "mongodb delete",
                self.collection
                    .delete_one(doc! { "_id": id.to_hex() })
                    .into_future(),
            )
            .await?;
            Ok(())
        })
    }
}

/// `count_documents` over the live documents and `delete_many` over all.
/// (`touch` is the trait's default, a rewrite by the manager: an in-place
/// `$set` of the date would be right for MongoDB, but the stand-in server
/// these tests run against, nx-27017, stores a `$set` date as a string,
/// which no later `expires_at` comparison matches.)
impl StoreAdmin for MongoStore {
    fn len(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let live = doc! { "expires_at": { "$gt": self.now() } };
            bounded(
                self.timeout,
                "mongodb count",
                self.collection.count_documents(live).into_future(),
            )
            .await
        })
    }

    fn clear(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let done = bounded(
                self.timeout,
                "mongodb delete many",
                self.collection.delete_many(doc! {}).into_future(),
            )
            .await?;
            Ok(done.deleted_count)
        })
    }
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.database.name())
            .field("collection", &self.collection.name())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
