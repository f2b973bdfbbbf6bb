//! A full request cycle through the session manager (tracker issue 3): load
//! from the request's `Cookie` header, change the session, save to the
//! response's `Set-Cookie`.
//!
//! - `small_inline_sync`: a ~90-byte session held entirely in the cookie,
//!   through the sync API with no store and no runtime;
//! - `10kb_memory_store_async`: a ~10 KB session that lives in the memory
//!   store behind a pointer cookie, through the async API driven by a
//!   current-thread tokio runtime's `block_on`.
//!
//! - `load/registry_none` and `load/registry_10k`: loading a small cookie
//!   session without a revocation registry and with one holding 10 000 live
//!   revocations (5 000 ids, 5 000 subjects); the goal is a ratio of
//!   at most 1.1. `load/shared_registry_10k` (with the `shared-registry`
//!   feature): the same 10 000 in a shared registry on the in-process
//!   backend, refreshing in the background (the hot path adds a staleness
//!   check).
//!
//! - `observe/*`: the small cycle and the 10 KB store cycle as above, to
//!   price observability (issue 16). `nothing_installed` is the row to
//!   compare between a build without the `tracing` and `metrics` features
//!   (their hooks compile to nothing) and one with them (the facades' no-op
//!   paths run); with them on, `prometheus` adds the Prometheus exporter's
//!   recorder and `prometheus_and_debug_events` also a `tracing` subscriber
//!   that takes every event and span at DEBUG and visits their fields.
//!
//! - `renewal/10kb_store_touch` and `renewal/10kb_store_rewrite`: renewing
//!   an unchanged 10 KB stored session with `Store::touch` against writing
//!   it again; `cycle/10kb_memory_store_optimistic`: the 10 KB change cycle
//!   with optimistic concurrency on.
//!
//! Run with `cargo bench --bench session`; for observability,
//! `cargo bench --bench session -- observe --save-baseline off`, then
//! `cargo bench --bench session --features tracing,metrics -- observe --baseline off`.

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure must abort the run, not be measured"
)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::revocation::Registry;
use sealed_session::store::{MemoryStore, Store};
use sealed_session::{Codec, Key, KeyRing, Saved, Session, SessionId, SessionManager};
use serde::{Deserialize, Serialize};

/// A typical small session.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct SmallSession {
    user_id: u64,
    name: String,
    role: String,
    csrf: [u8; 32],
    visits: u64,
}

/// A session too large for a cookie: about 10 KB of postcard.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct LargeSession {
    user_id: u64,
    visits: u64,
    history: Vec<u8>,
}

const LARGE_BYTES: usize = 10_000;

fn codec() -> Codec {
    Codec::builder(KeyRing::new([Key::generate()]).expect("one key"))
        .build()
        .expect("default codec")
}

/// The request headers a browser sends back after `response`.
fn next_request(response: &HeaderMap) -> HeaderMap {
    let line = response
        .get(SET_COOKIE)
        .expect("a Set-Cookie")
        .to_str()
        .expect("ascii");
    let pair = line.split(';').next().expect("name=value");
    let mut request = HeaderMap::new();
    request.insert(COOKIE, pair.parse().expect("a header value"));
    request
}

fn small_inline_sync(c: &mut Criterion) {
    let manager = SessionManager::with_codec(codec())
        .build()
        .expect("manager");
    let mut session: Session<SmallSession> = manager.load_sync(&HeaderMap::new()).expect("fresh");
    session.set(SmallSession {
        user_id: 42,
        name: "alice".to_owned(),
        role: "admin".to_owned(),
        csrf: [0x5a; 32],
        visits: 0,
    });
    let mut response = HeaderMap::new();
    let saved = manager
        .save_sync(&mut session, &mut response)
        .expect("first save");
    eprintln!("small_inline_sync: {saved:?}");
    let request = next_request(&response);

    c.benchmark_group("cycle")
        .measurement_time(Duration::from_secs(3))
        .bench_function("small_inline_sync", |b| {
            b.iter(|| {
                let mut session: Session<SmallSession> =
                    manager.load_sync(black_box(&request)).expect("load");
                session.visits += 1;
                let mut response = HeaderMap::new();
                let saved = manager
                    .save_sync(&mut session, &mut response)
                    .expect("save");
                black_box((saved, response))
            });
        });
}

fn large_memory_store_async(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(codec())
        .store(store)
        .build()
        .expect("manager");
    let request = runtime.block_on(async {
        let mut session: Session<LargeSession> =
            manager.load(&HeaderMap::new()).await.expect("fresh");
        session.set(LargeSession {
            user_id: 42,
            visits: 0,
            history: (0..LARGE_BYTES)
                .map(|i| u8::try_from(i % 251).expect("under 256"))
                .collect(),
        });
        let mut response = HeaderMap::new();
        let saved = manager
            .save(&mut session, &mut response)
            .await
            .expect("first save");
        assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
        eprintln!("10kb_memory_store_async: {saved:?}");
        next_request(&response)
    });

    c.benchmark_group("cycle")
        .measurement_time(Duration::from_secs(3))
        .bench_function("10kb_memory_store_async", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut session: Session<LargeSession> =
                        manager.load(black_box(&request)).await.expect("load");
                    session.visits += 1;
                    let mut response = HeaderMap::new();
                    let saved = manager
                        .save(&mut session, &mut response)
                        .await
                        .expect("save");
                    black_box((saved, response))
                })
            });
        });
}

fn load_with_registry(c: &mut Criterion) {
    let registry = Registry::in_memory();
    let far = std::time::SystemTime::now() + Duration::from_secs(24 * 3600);
    for i in 0..5_000u32 {
        registry.revoke(SessionId::generate(), far);
        registry.revoke_subject(&format!("user:{i}"), far, Duration::from_secs(24 * 3600));
    }
    assert_eq!(registry.len(), 10_000);
    let ring = KeyRing::new([Key::generate()]).expect("one key");
    let plain = SessionManager::builder(ring.clone())
        .build()
        .expect("manager");
    let with_registry = SessionManager::builder(ring)
        .registry(registry)
        .build()
        .expect("manager");
    // One cookie, signed in (a subject, so both lookups run), opened by both.
    let mut session: Session<SmallSession> = plain.load_sync(&HeaderMap::new()).expect("fresh");
    session.set(SmallSession {
        user_id: 42,
        name: "alice".to_owned(),
        role: "admin".to_owned(),
        csrf: [0x5a; 32],
        visits: 0,
    });
    session.set_subject("user:alice").expect("subject");
    let mut response = HeaderMap::new();
    plain.save_sync(&mut session, &mut response).expect("save");
    let request = next_request(&response);
    for manager in [&plain, &with_registry] {
        let loaded: Session<SmallSession> = manager.load_sync(&request).expect("load");
        assert!(!loaded.is_new(), "{:?}", loaded.fresh_reason());
    }

    #[cfg(feature = "shared-registry")]
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    #[cfg(feature = "shared-registry")]
    let with_shared = {
        let shared = runtime.block_on(async {
            let shared = Registry::shared(sealed_session::revocation::MemoryBackend::new())
                .start()
                .await
                .expect("shared registry");
            for i in 0..5_000u32 {
                shared.revoke(SessionId::generate(), far);
                shared.revoke_subject(&format!("user:{i}"), far, Duration::from_secs(24 * 3600));
            }
            shared.flush().await.expect("flush");
            shared
        });
        assert_eq!(shared.len(), 10_000);
        let manager = SessionManager::builder(plain.codec().ring().clone())
            .registry(shared)
            .build()
            .expect("manager");
        let loaded: Session<SmallSession> = manager.load_sync(&request).expect("load");
        assert!(!loaded.is_new(), "{:?}", loaded.fresh_reason());
        manager
    };
    let mut managers = vec![("registry_none", &plain), ("registry_10k", &with_registry)];
    #[cfg(feature = "shared-registry")]
    managers.push(("shared_registry_10k", &with_shared));

    let mut group = c.benchmark_group("load");
    group.measurement_time(Duration::from_secs(3));
    for (name, manager) in managers {
        group.bench_function(name, |b| {
            b.iter(|| {
                let session: Session<SmallSession> =
                    manager.load_sync(black_box(&request)).expect("load");
                black_box(session)
            });
        });
    }
    group.finish();
}

/// The small cookie cycle and the 10 KB store cycle, each run by `around`
/// (which installs whatever is being priced around the measurement).
fn observe_rows(c: &mut Criterion, row: &str, around: &dyn Fn(&mut dyn FnMut())) {
    let small = SessionManager::with_codec(codec())
        .build()
        .expect("manager");
    let mut session: Session<SmallSession> = small.load_sync(&HeaderMap::new()).expect("fresh");
    session.set(SmallSession {
        user_id: 42,
        name: "alice".to_owned(),
        role: "admin".to_owned(),
        csrf: [0x5a; 32],
        visits: 0,
    });
    let mut response = HeaderMap::new();
    small.save_sync(&mut session, &mut response).expect("save");
    let small_request = next_request(&response);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let large = SessionManager::with_codec(codec())
        .store(Arc::new(MemoryStore::new()))
        .build()
        .expect("manager");
    let large_request = runtime.block_on(async {
        let mut session: Session<LargeSession> =
            large.load(&HeaderMap::new()).await.expect("fresh");
        session.history = vec![7; LARGE_BYTES];
        let mut response = HeaderMap::new();
        let saved = large.save(&mut session, &mut response).await.expect("save");
        assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
        next_request(&response)
    });

    let mut group = c.benchmark_group("observe");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function(format!("small_cycle/{row}"), |b| {
        around(&mut || {
            b.iter(|| {
                let mut session: Session<SmallSession> =
                    small.load_sync(black_box(&small_request)).expect("load");
                assert!(!session.is_new());
                session.visits += 1;
                let mut response = HeaderMap::new();
                let saved = small.save_sync(&mut session, &mut response).expect("save");
                black_box((saved, response))
            });
        });
    });
    group.bench_function(format!("10kb_store_cycle/{row}"), |b| {
        around(&mut || {
            b.iter(|| {
                runtime.block_on(async {
                    let mut session: Session<LargeSession> =
                        large.load(black_box(&large_request)).await.expect("load");
                    assert!(!session.is_new());
                    session.visits += 1;
                    let mut response = HeaderMap::new();
                    let saved = large.save(&mut session, &mut response).await.expect("save");
                    black_box((saved, response))
                })
            });
        });
    });
    group.finish();
}

fn observe(c: &mut Criterion) {
    eprintln!(
        "observe: features tracing={} metrics={}",
        cfg!(feature = "tracing"),
        cfg!(feature = "metrics")
    );
    observe_rows(c, "nothing_installed", &|run| run());
    #[cfg(feature = "metrics")]
    {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        observe_rows(c, "prometheus", &|run| {
            metrics::with_local_recorder(&recorder, &mut *run);
        });
        #[cfg(feature = "tracing")]
        observe_rows(c, "prometheus_and_debug_events", &|run| {
            let subscriber = events::Visiting::subscriber();
            tracing::subscriber::with_default(subscriber, || {
                metrics::with_local_recorder(&recorder, &mut *run);
            });
        });
        // What the exporter renders: proof the rows above recorded.
        let rendered = recorder.handle().render();
        assert!(
            rendered.contains("sealed_session_opens_total"),
            "{rendered}"
        );
    }
}

/// A subscriber that takes every span and event at DEBUG and below and
/// visits every field into a reused buffer: what a formatter does, without
/// the I/O.
#[cfg(all(feature = "tracing", feature = "metrics"))]
mod events {
    use std::fmt::{self, Write as _};
    use std::sync::Mutex;

    use tracing::field::{Field, Visit};
    use tracing::level_filters::LevelFilter;
    use tracing::span::Attributes;
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

    pub(crate) struct Visiting(Mutex<String>);

    struct Into<'a>(&'a mut String);

    impl Visit for Into<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl<S: Subscriber> Layer<S> for Visiting {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &tracing::span::Id, _: Context<'_, S>) {
            if let Ok(mut line) = self.0.lock() {
                line.clear();
                attrs.record(&mut Into(&mut line));
            }
        }

        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            if let Ok(mut line) = self.0.lock() {
                line.clear();
                event.record(&mut Into(&mut line));
            }
        }
    }

    impl Visiting {
        pub(crate) fn subscriber() -> impl Subscriber + Send + Sync {
            tracing_subscriber::registry()
                .with(Visiting(Mutex::new(String::with_capacity(256))))
                .with(LevelFilter::DEBUG)
        }
    }
}

/// A store that forwards everything but `touch` (the trait's default,
/// `false`): what a renewal costs when the whole value is written again.
#[derive(Debug)]
struct NoTouch(MemoryStore);

impl Store for NoTouch {
    fn create<'a>(
        &'a self,
        id: &'a sealed_session::store::StoreId,
        value: &'a [u8],
        expires_at: std::time::SystemTime,
    ) -> sealed_session::store::StoreFuture<'a, bool> {
        self.0.create(id, value, expires_at)
    }

    fn load<'a>(
        &'a self,
        id: &'a sealed_session::store::StoreId,
    ) -> sealed_session::store::StoreFuture<'a, Option<Vec<u8>>> {
        self.0.load(id)
    }

    fn save<'a>(
        &'a self,
        id: &'a sealed_session::store::StoreId,
        value: &'a [u8],
        expires_at: std::time::SystemTime,
    ) -> sealed_session::store::StoreFuture<'a, ()> {
        self.0.save(id, value, expires_at)
    }

    fn delete<'a>(
        &'a self,
        id: &'a sealed_session::store::StoreId,
    ) -> sealed_session::store::StoreFuture<'a, ()> {
        self.0.delete(id)
    }
}

/// A 10 KB stored session through managers that renew it on every request
/// (`renewal_threshold(0.0)`), unchanged: `touch` moves the entry's
/// deadline (`renewal/10kb_store_touch`) against sealing and writing the
/// value again (`renewal/10kb_store_rewrite`, a store without `touch`).
/// And a change through a manager with optimistic concurrency
/// (`cycle/10kb_memory_store_optimistic`, beside
/// `cycle/10kb_memory_store_async`): the copy of the loaded value and the
/// compare-and-save.
fn stored_renewal_and_concurrency(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let manager_over = |store: Arc<dyn Store>, optimistic: bool, threshold: f64| {
        SessionManager::with_codec(codec())
            .store(store)
            .renewal_threshold(threshold)
            .optimistic_concurrency(optimistic)
            .build()
            .expect("manager")
    };
    let first = |manager: &SessionManager| {
        runtime.block_on(async {
            let mut session: Session<LargeSession> =
                manager.load(&HeaderMap::new()).await.expect("fresh");
            session.history = vec![7; LARGE_BYTES];
            let mut response = HeaderMap::new();
            let saved = manager
                .save(&mut session, &mut response)
                .await
                .expect("save");
            assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
            next_request(&response)
        })
    };
    let touch = manager_over(Arc::new(MemoryStore::new()), false, 0.0);
    let rewrite = manager_over(Arc::new(NoTouch(MemoryStore::new())), false, 0.0);
    let optimistic = manager_over(Arc::new(MemoryStore::new()), true, 0.5);
    let rows = [
        ("renewal", "10kb_store_touch", &touch, false),
        ("renewal", "10kb_store_rewrite", &rewrite, false),
        ("cycle", "10kb_memory_store_optimistic", &optimistic, true),
    ];
    for (group, name, manager, change) in rows {
        let request = first(manager);
        let mut group = c.benchmark_group(group);
        group.measurement_time(Duration::from_secs(3));
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut session: Session<LargeSession> =
                        manager.load(black_box(&request)).await.expect("load");
                    assert!(!session.is_new());
                    if change {
                        session.visits += 1;
                    }
                    let mut response = HeaderMap::new();
                    let saved = manager
                        .save(&mut session, &mut response)
                        .await
                        .expect("save");
                    black_box((saved, response))
                })
            });
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    small_inline_sync,
    large_memory_store_async,
    stored_renewal_and_concurrency,
    load_with_registry,
    observe
);
criterion_main!(benches);
