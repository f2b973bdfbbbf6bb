//! Store calls, timed and counted: the manager's store is wrapped once when
//! the manager is built, so `load` and `save` call it as before.

/// The store the manager will call: `store` itself when both features are
/// off, else `store` wrapped so each call is timed, counted and traced.
#[cfg(not(any(feature = "metrics", feature = "tracing")))]
#[inline(always)]
pub(crate) fn wrap_store(
    store: std::sync::Arc<dyn crate::manager::Store>,
) -> std::sync::Arc<dyn crate::manager::Store> {
    store
}

#[cfg(any(feature = "metrics", feature = "tracing"))]
pub(crate) use self::observed::{StoreOpName, wrap_store};

#[cfg(any(feature = "metrics", feature = "tracing"))]
mod observed {
    use std::fmt;
    use std::sync::Arc;
    use std::time::{Instant, SystemTime};

    use crate::codec::store_id::StoreId;
    use crate::manager::{Store, StoreFuture};

    pub(crate) fn wrap_store(store: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(Observed { inner: store })
    }

    /// A store call, as labelled.
    #[derive(Clone, Copy)]
    pub(crate) enum StoreOpName {
        Create,
        Load,
        Save,
        Delete,
        Touch,
        CompareAndSave,
    }

    impl StoreOpName {
        pub(crate) fn name(self) -> &'static str {
            match self {
                Self::Create => "create",
                Self::Load => "load",
                Self::Save => "save",
                Self::Delete => "delete",
                Self::Touch => "touch",
                Self::CompareAndSave => "compare_and_save",
            }
        }
    }

    /// The application's store, each call observed.
    struct Observed {
        inner: Arc<dyn Store>,
    }

    impl fmt::Debug for Observed {
        /// The wrapped store's, unchanged: the wrapper is an implementation
        /// detail.
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&self.inner, f)
        }
    }

    fn observe<'a, T: 'a>(
        kind: &'static str,
        op: StoreOpName,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let start = Instant::now();
            #[cfg(feature = "tracing")]
            let result = {
                use tracing::Instrument;
                let span = tracing::debug_span!(
                    target: "sealed_session::store",
                    "store_op",
                    store = kind,
                    op = op.name()
                );
                call.instrument(span).await
            };
            #[cfg(not(feature = "tracing"))]
            let result = call.await;
            let elapsed = start.elapsed();
            #[cfg(feature = "metrics")]
            super::super::metrics::store_op(kind, op, elapsed, result.is_ok());
            #[cfg(feature = "tracing")]
            super::super::tracing::store_op(kind, op, elapsed, result.is_ok());
            result
        })
    }

    impl Store for Observed {
        fn create<'a>(
            &'a self,
            id: &'a StoreId,
            value: &'a [u8],
            expires_at: SystemTime,
        ) -> StoreFuture<'a, bool> {
            let call = self.inner.create(id, value, expires_at);
            observe(self.inner.kind(), StoreOpName::Create, call)
        }

        fn load<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, Option<Vec<u8>>> {
            observe(self.inner.kind(), StoreOpName::Load, self.inner.load(id))
        }

        fn save<'a>(
            &'a self,
            id: &'a StoreId,
            value: &'a [u8],
            expires_at: SystemTime,
        ) -> StoreFuture<'a, ()> {
            let call = self.inner.save(id, value, expires_at);
            observe(self.inner.kind(), StoreOpName::Save, call)
        }

        fn delete<'a>(&'a self, id: &'a StoreId) -> StoreFuture<'a, ()> {
            observe(
                self.inner.kind(),
                StoreOpName::Delete,
                self.inner.delete(id),
            )
        }

        fn touch<'a>(&'a self, id: &'a StoreId, expires_at: SystemTime) -> StoreFuture<'a, bool> {
            let call = self.inner.touch(id, expires_at);
            observe(self.inner.kind(), StoreOpName::Touch, call)
        }

        fn compare_and_save<'a>(
            &'a self,
            id: &'a StoreId,
            expected: &'a [u8],
            value: &'a [u8],
            expires_at: SystemTime,
        ) -> StoreFuture<'a, bool> {
            let call = self.inner.compare_and_save(id, expected, value, expires_at);
            observe(self.inner.kind(), StoreOpName::CompareAndSave, call)
        }

        fn kind(&self) -> &'static str {
            self.inner.kind()
        }
    }
}
