//! The SQL stores' shared methods and [`Store`](crate::store::Store) impl,
//! as a macro: each store expands it over its own pool type and dialect.

/// The methods the SQL stores share, and their [`Store`](crate::store::Store)
/// impl. `$store` has the fields `pool`, `table`, `statements`, `clock` and
/// `timeout`.
macro_rules! sql_store_impl {
    ($store:ident, $pool:ty, $dialect:expr, $label:literal) => {
        impl $store {
            /// A store over `pool`, using the table
            /// [`DEFAULT_TABLE_NAME`](super::DEFAULT_TABLE_NAME), the system
            /// clock and the time limit
            /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT).
            /// Call [`migrate`](Self::migrate) once before use.
            pub fn new(pool: $pool) -> Self {
                Self {
                    pool,
                    table: super::DEFAULT_TABLE_NAME.into(),
                    statements: Arc::new(Statements::new(super::DEFAULT_TABLE_NAME, $dialect)),
                    clock: system_clock(),
                    timeout: super::DEFAULT_STORE_TIMEOUT,
                }
            }

            /// This store on the table `name` instead (default
            /// [`DEFAULT_TABLE_NAME`](super::DEFAULT_TABLE_NAME)). The name
            /// is quoted, so it is used exactly as given (case included);
            /// the index is named `{name}_expires_at` (`expires_at` in
            /// MySQL, where index names belong to their table).
            #[must_use]
            pub fn with_table_name(mut self, name: impl Into<String>) -> Self {
                let name: String = name.into();
                self.statements = Arc::new(Statements::new(&name, $dialect));
                self.table = name.into();
                self
            }

            /// This store with an injected clock, for tests: deadlines are
            /// compared with it rather than the system clock, so no test
            /// needs to sleep.
            #[must_use]
            pub fn with_clock(
                mut self,
                clock: impl Fn() -> SystemTime + Send + Sync + 'static,
            ) -> Self {
                self.clock = Arc::new(clock);
                self
            }

            /// This store with another time limit on each `create`, `load`,
            /// `save` and `delete` (default
            /// [`DEFAULT_STORE_TIMEOUT`](super::DEFAULT_STORE_TIMEOUT)); past it
            /// the operation fails with
            /// [`ErrorKind::Store`](crate::ErrorKind::Store).
            #[must_use]
            pub fn with_timeout(mut self, timeout: Duration) -> Self {
                self.timeout = timeout;
                self
            }

            /// The table name.
            pub fn table_name(&self) -> &str {
                &self.table
            }

            /// The connection pool.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Creates the table and its index if they do not exist. Safe to
            /// call at every start-up.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the
            /// database refuses or cannot be reached.
            pub async fn migrate(&self) -> Result<(), Error> {
                let statements = [
                    Some(&self.statements.create_table),
                    self.statements.create_index.as_ref(),
                ];
                for sql in statements.into_iter().flatten() {
                    sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                        .execute(&self.pool)
                        .await
                        .map_err(Error::store)?;
                }
                Ok(())
            }

            /// Deletes every row whose deadline has passed by the store's
            /// clock and returns how many it removed. Expired rows are never
            /// returned by `load`, so this only reclaims space: schedule it
            /// every few minutes (see the type's docs). It is not bounded by
            /// the per-operation time limit.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::Store`](crate::ErrorKind::Store) when the
            /// database refuses or cannot be reached.
            pub async fn delete_expired(&self) -> Result<u64, Error> {
                let done = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.delete_expired)))
                    .bind(self.now_millis())
                    .execute(&self.pool)
                    .await
                    .map_err(Error::store)?;
                Ok(done.rows_affected())
            }

            fn now_millis(&self) -> i64 {
                unix_millis((self.clock)())
            }

            fn statement(&self, pick: fn(&Statements) -> &Arc<str>) -> AssertSqlSafe<Arc<str>> {
                AssertSqlSafe(Arc::clone(pick(&self.statements)))
            }
        }

        impl super::expired::DeleteExpired for $store {
            fn delete_expired(&self) -> StoreFuture<'_, u64> {
                Box::pin($store::delete_expired(self))
            }
        }

        impl Store for $store {
            fn create<'a>(
                &'a self,
                id: &'a StoreId,
                value: &'a [u8],
                expires_at: SystemTime,
            ) -> StoreFuture<'a, bool> {
                Box::pin(async move {
                    let now = self.now_millis();
                    if let Some(sql) = &self.statements.delete_expired_id {
                        let query = sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                            .bind(id.as_bytes().as_slice())
                            .bind(now);
                        bounded(
                            self.timeout,
                            concat!($label, " delete expired"),
                            query.execute(&self.pool),
                        )
                        .await?;
                    }
                    let mut query = sqlx::query(self.statement(|s| &s.insert_if_absent))
                        .bind(id.as_bytes().as_slice())
                        .bind(value)
                        .bind(unix_millis(expires_at));
                    if self.statements.insert_binds_now {
                        query = query.bind(now);
                    }
                    bounded(self.timeout, concat!($label, " insert"), async {
                        match query.execute(&self.pool).await {
                            Ok(done) => Ok(done.rows_affected() == 1),
                            Err(e) if is_unique_violation(&e) => Ok(false),
                            Err(e) => Err(e),
                        }
                    })
                    .await
                })
            }

            fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
                Box::pin(
                    async move { Ok(self.load_with_deadline(id).await?.map(|(value, _)| value)) },
                )
            }

            fn load_with_deadline<'a>(
                &'a self,
                id: &'a StoreId,
            ) -> StoreFuture<'a, Option<(Vec<u8>, Option<SystemTime>)>> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.select))
                        .bind(id.as_bytes().as_slice())
                        .bind(self.now_millis());
                    let row = bounded(
                        self.timeout,
                        concat!($label, " select"),
                        query.fetch_optional(&self.pool),
                    )
                    .await?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let value = row.try_get::<Vec<u8>, _>(0).map_err(Error::store)?;
                    let millis = row.try_get::<i64, _>(1).map_err(Error::store)?;
                    Ok(Some((value, Some(from_unix_millis(millis)))))
                })
            }

            fn save<'a>(
                &'a self,
                id: &'a StoreId,
                value: &'a [u8],
                expires_at: SystemTime,
            ) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.upsert))
                        .bind(id.as_bytes().as_slice())
                        .bind(value)
                        .bind(unix_millis(expires_at));
                    bounded(
                        self.timeout,
                        concat!($label, " upsert"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(())
                })
            }

            fn touch<'a>(
                &'a self,
                id: &'a StoreId,
                expires_at: SystemTime,
            ) -> StoreFuture<'a, bool> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.touch))
                        .bind(unix_millis(expires_at))
                        .bind(id.as_bytes().as_slice())
                        .bind(self.now_millis());
                    let done = bounded(
                        self.timeout,
                        concat!($label, " touch"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn compare_and_save<'a>(
                &'a self,
                id: &'a StoreId,
                expected: &'a [u8],
                value: &'a [u8],
                expires_at: SystemTime,
            ) -> StoreFuture<'a, bool> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.compare_and_save))
                        .bind(value)
                        .bind(unix_millis(expires_at))
                        .bind(id.as_bytes().as_slice())
                        .bind(expected)
                        .bind(self.now_millis());
                    let done = bounded(
                        self.timeout,
                        concat!($label, " compare and save"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn kind(&self) -> &'static str {
                $label
            }

            fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let query =
                        sqlx::query(self.statement(|s| &s.delete)).bind(id.as_bytes().as_slice());
                    bounded(
                        self.timeout,
                        concat!($label, " delete"),
                        query.execute(&self.pool),
                    )
                    .await?;
                    Ok(())
                })
            }
        }

        impl super::StoreAdmin for $store {
            fn len(&self) -> StoreFuture<'_, u64> {
                Box::pin(async move {
                    let query = sqlx::query(self.statement(|s| &s.count)).bind(self.now_millis());
                    let row = bounded(
                        self.timeout,
                        concat!($label, " count"),
                        query.fetch_one(&self.pool),
                    )
                    .await?;
                    let count = row.try_get::<i64, _>(0).map_err(Error::store)?;
                    Ok(u64::try_from(count).unwrap_or(0))
                })
            }

            /// Not bounded by the per-operation time limit (a large table
            /// takes a while).
            fn clear(&self) -> StoreFuture<'_, u64> {
                Box::pin(async move {
                    let done = sqlx::query(self.statement(|s| &s.clear))
                        .execute(&self.pool)
                        .await
                        .map_err(Error::store)?;
                    Ok(done.rows_affected())
                })
            }
        }

        impl fmt::Debug for $store {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($store))
                    .field("table", &self.table)
                    .field("timeout", &self.timeout)
                    .finish_non_exhaustive()
            }
        }
    };
}

pub(crate) use sql_store_impl;
