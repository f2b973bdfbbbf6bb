//! Observability (features `tracing`, `metrics`): a full cycle (rotation,
//! spill, return, tampered cookie, expiry, store failure) captured by a
//! `tracing` subscriber and by a `metrics` recorder. The events must say
//! what happened and must never carry session data, subjects, session or
//! store ids, key material or cookie values; the counters must count
//! exactly what happened.
//!
//! With neither feature on there is nothing to observe, and the binary
//! holds no tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg(any(feature = "tracing", feature = "metrics"))]

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sealed_session::{Key, KeyRing, Location, Saved, Session, SessionManager};
use serde::{Deserialize, Serialize};

use flaky_store::FlakyStore;

/// Strings that must never reach an event or a label.
const DATA: &str = "SECRET-DATA-tiramisu";
const SUBJECT: &str = "subject-alice@example.org";

#[derive(Serialize, Deserialize, Default, Clone)]
struct Notes {
    text: String,
    pad: Vec<u8>,
}

/// Everything secret the cycle produced, and what it did.
#[derive(Default)]
struct Trail {
    secrets: Vec<String>,
    old_key_id: String,
    new_key_id: String,
}

fn pair(response: &HeaderMap) -> String {
    let line = response[SET_COOKIE].to_str().unwrap();
    line.split(';').next().unwrap().to_owned()
}

fn request(pair: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(pair).unwrap());
    headers
}

fn manager(ring: KeyRing, store: Arc<FlakyStore>) -> SessionManager {
    SessionManager::with_codec(
        sealed_session::Codec::builder(ring)
            .cookie_name("sid")
            .build()
            .unwrap(),
    )
    .store(store)
    .secure(false)
    .build()
    .unwrap()
}

/// Records what must stay secret about a session and its cookie.
fn remember(trail: &mut Trail, session: &Session<Notes>, pair: &str) {
    if let Some(id) = session.id() {
        trail.secrets.push(id.to_string());
    }
    if let Some(id) = session.store_id() {
        trail.secrets.push(id.to_hex());
    }
    let value = pair.split_once('=').unwrap().1;
    // Any 16-character run of the value would be a leak; these three
    // cover its start, middle and end.
    let n = value.len();
    for start in [0, n / 2 - 8, n - 16] {
        trail.secrets.push(value[start..start + 16].to_owned());
    }
}

/// The whole cycle; every step's outcome is checked here so the events and
/// counters the tests look at come from a cycle that did what it says.
async fn cycle() -> Trail {
    let mut trail = Trail::default();
    let old = Key::generate();
    let new = Key::generate();
    trail.old_key_id = old.id().to_string();
    trail.new_key_id = new.id().to_string();
    for key in [&old, &new] {
        trail.secrets.push(key.to_base64());
        trail.secrets.push(key.to_key_string());
    }
    let store = Arc::new(FlakyStore::default());
    let before = manager(KeyRing::new([old.clone()]).unwrap(), Arc::clone(&store));
    let after = manager(KeyRing::new([new, old]).unwrap(), Arc::clone(&store));

    // No cookie, then a small session under the old key.
    let mut session = before.load::<Notes>(&HeaderMap::new()).await.unwrap();
    session.text = DATA.to_owned();
    session.set_subject(SUBJECT).unwrap();
    let mut response = HeaderMap::new();
    let saved = before.save(&mut session, &mut response).await.unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }));
    let cookie = pair(&response);
    remember(&mut trail, &session, &cookie);

    // Rotation: the new primary opens it with the old key and re-seals.
    let mut session = after.load::<Notes>(&request(&cookie)).await.unwrap();
    assert!(!session.opened_with().unwrap().is_primary());
    session.pad = vec![7; 6000];
    let mut response = HeaderMap::new();
    let saved = after.save(&mut session, &mut response).await.unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let pointer = pair(&response);
    remember(&mut trail, &session, &pointer);

    // Back from the store, shrunk into the cookie again.
    let mut session = after.load::<Notes>(&request(&pointer)).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.text, DATA);
    session.pad.clear();
    let mut response = HeaderMap::new();
    let saved = after.save(&mut session, &mut response).await.unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    let small = pair(&response);
    remember(&mut trail, &session, &small);

    // A tampered cookie and an expired one give fresh sessions.
    let mut tampered = small.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let fresh = after.load::<Notes>(&request(&tampered)).await.unwrap();
    assert_eq!(
        fresh.fresh_reason(),
        Some(sealed_session::FreshReason::Rejected)
    );
    let later = SystemTime::now() + Duration::from_secs(400 * 24 * 3600);
    let fresh = after
        .load_at::<Notes>(&request(&small), later)
        .await
        .unwrap();
    assert_eq!(
        fresh.fresh_reason(),
        Some(sealed_session::FreshReason::Expired)
    );

    // Spill again, then the store goes down: the load of the pointer and a
    // save that must spill both fail.
    let mut session = after.load::<Notes>(&request(&small)).await.unwrap();
    session.pad = vec![9; 6000];
    let mut response = HeaderMap::new();
    let saved = after.save(&mut session, &mut response).await.unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let pointer = pair(&response);
    remember(&mut trail, &session, &pointer);
    store.set_down(true);
    assert!(after.load::<Notes>(&request(&pointer)).await.is_err());
    let mut big = after.load::<Notes>(&HeaderMap::new()).await.unwrap();
    big.text = DATA.to_owned();
    big.pad = vec![1; 6000];
    assert!(after.save(&mut big, &mut HeaderMap::new()).await.is_err());
    store.set_down(false);
    trail.secrets.push(DATA.to_owned());
    trail.secrets.push(SUBJECT.to_owned());
    trail
}

fn run<R>(future: impl Future<Output = R>) -> R {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A session sealed as `Old`, then loaded `loads` times as [`Notes`] (a
/// later release whose session type changed without a migration); the
/// schema id the cookie carries.
fn unknown_schema_loads<Old>(old: Old, loads: usize) -> sealed_session::SchemaId
where
    Old: Serialize + serde::de::DeserializeOwned + Default + 'static,
{
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let manager = SessionManager::builder(ring).build().unwrap();
    let mut session: Session<Old> = manager.load_sync(&HeaderMap::new()).unwrap();
    session.set(old);
    let mut response = HeaderMap::new();
    manager.save_sync(&mut session, &mut response).unwrap();
    let request = request(&pair(&response));
    for _ in 0..loads {
        let session: Session<Notes> = manager.load_sync(&request).unwrap();
        assert_eq!(
            session.fresh_reason(),
            Some(sealed_session::FreshReason::UnknownSchema)
        );
    }
    sealed_session::SchemaId::of::<Old>()
}

#[cfg(feature = "tracing")]
mod events {
    use std::cell::RefCell;
    use std::fmt::{self, Write as _};
    use std::sync::Once;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

    use super::{cycle, run};

    thread_local! {
        /// What the running test's thread captures, while it does.
        static LINES: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }

    /// Every span and event on a thread that captures, as one line each:
    /// level or `span`, target, name, and every field as `name=value`.
    ///
    /// One global subscriber for the whole binary, not one per test
    /// through `with_default`: tracing caches whether a callsite is
    /// enabled across threads, and a test on another thread without a
    /// subscriber could leave a callsite disabled for a capturing test.
    struct Capture;

    fn push(line: String) {
        LINES.with(|lines| {
            if let Some(lines) = lines.borrow_mut().as_mut() {
                lines.push(line);
            }
        });
    }

    /// Runs `f` with this thread's spans and events captured.
    fn capturing<R>(f: impl FnOnce() -> R) -> (Vec<String>, R) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
                .unwrap();
        });
        LINES.with(|lines| *lines.borrow_mut() = Some(Vec::new()));
        let result = f();
        let lines = LINES.with(|lines| lines.borrow_mut().take().unwrap_or_default());
        (lines, result)
    }

    struct Line<'a>(&'a mut String);

    impl Visit for Line<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            let meta = attrs.metadata();
            let mut line = format!("span {} {}", meta.target(), meta.name());
            attrs.record(&mut Line(&mut line));
            push(line);
        }

        fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
            let mut line = "record".to_owned();
            values.record(&mut Line(&mut line));
            push(line);
        }

        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let meta = event.metadata();
            let mut line = format!("{} {}", meta.level(), meta.target());
            event.record(&mut Line(&mut line));
            push(line);
        }
    }

    fn captured() -> (Vec<String>, super::Trail) {
        capturing(|| run(cycle()))
    }

    #[test]
    fn events_never_carry_data_ids_keys_or_cookie_values() {
        let (lines, trail) = captured();
        assert!(trail.secrets.len() > 20, "{}", trail.secrets.len());
        for line in &lines {
            for secret in &trail.secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "{secret:?} leaked in {line}"
                );
            }
        }
    }

    #[test]
    fn an_unknown_schema_is_a_warning_once_per_schema_id() {
        /// Release 1's session type (in no other test: the once-per-id
        /// memory is the process's).
        #[derive(serde::Serialize, serde::Deserialize, Default)]
        struct CartSession {
            items: Vec<u32>,
        }
        let (lines, schema) =
            capturing(|| super::unknown_schema_loads(CartSession { items: vec![1, 2] }, 3));
        let warnings: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("WARN sealed_session::load"))
            .collect();
        assert_eq!(warnings.len(), 1, "{lines:#?}");
        let warning = warnings[0];
        assert!(
            warning.contains(&format!("schema_id={schema}")),
            "{warning}"
        );
        assert!(warning.contains("location=\"cookie\""), "{warning}");
        assert!(warning.contains("declare a migration"), "{warning}");
        // Each load still says why its session is fresh.
        let fresh = lines
            .iter()
            .filter(|l| l.contains("fresh session reason=\"unknown_schema\""))
            .count();
        assert_eq!(fresh, 3, "{lines:#?}");
    }

    #[test]
    fn events_say_what_happened() {
        let (lines, trail) = captured();
        let has = |parts: &[&str]| lines.iter().any(|l| parts.iter().all(|p| l.contains(p)));
        let all = lines.join("\n");
        assert!(
            has(&["DEBUG sealed_session::load", "reason=\"no_cookie\""]),
            "{all}"
        );
        let rotated = format!("key_id={}", trail.old_key_id);
        assert!(
            has(&["DEBUG sealed_session::load", &rotated, "primary=false"]),
            "{all}"
        );
        let stored = format!("stored_key_id={}", trail.new_key_id);
        assert!(
            has(&["location=\"store\"", &stored, "stored_primary=true"]),
            "{all}"
        );
        assert!(
            has(&["TRACE sealed_session::load", "reason=\"rejected\""]),
            "{all}"
        );
        assert!(
            has(&["DEBUG sealed_session::load", "reason=\"expired\""]),
            "{all}"
        );
        assert!(
            has(&["outcome=\"store\"", "from=\"cookie\"", "to=\"store\""]),
            "{all}"
        );
        assert!(
            has(&["outcome=\"cookie\"", "from=\"store\"", "to=\"cookie\""]),
            "{all}"
        );
        assert!(
            has(&[
                "span sealed_session::store store_op",
                "store=\"custom\"",
                "op=\"create\""
            ]),
            "{all}"
        );
        assert!(
            has(&[
                "WARN sealed_session::store",
                "op=\"load\"",
                "store call failed"
            ]),
            "{all}"
        );
        assert!(
            has(&[
                "WARN sealed_session::save",
                "outcome=\"failed_store_error\""
            ]),
            "{all}"
        );
        assert!(
            has(&["WARN sealed_session::load", "session load failed"]),
            "{all}"
        );
    }
}

#[cfg(feature = "metrics")]
mod counters {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use sealed_session::observe::{
        LOADS, OPENS, RETURNS, SAVES, SPILLS, STORE_ERRORS, STORE_SECONDS, UNKNOWN_SCHEMAS,
    };

    use super::{Trail, cycle, run};

    /// A metric row: name, sorted `label=value` pairs, and the counter's
    /// value or the histogram's sample count.
    type Row = (String, Vec<String>, u64);

    /// Every metric `f` recorded, and what it returned.
    fn recording<R>(f: impl FnOnce() -> R) -> (Vec<Row>, R) {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let result = metrics::with_local_recorder(&recorder, f);
        let rows = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (_, key) = key.into_parts();
                let mut labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                labels.sort();
                let n = match value {
                    DebugValue::Counter(n) => n,
                    DebugValue::Histogram(samples) => samples.len() as u64,
                    DebugValue::Gauge(_) => u64::MAX,
                };
                (key.name().to_owned(), labels, n)
            })
            .collect();
        (rows, result)
    }

    /// Every metric the cycle recorded.
    fn recorded() -> (Vec<Row>, Trail) {
        recording(|| run(cycle()))
    }

    fn value(rows: &[Row], name: &str, labels: &[&str]) -> u64 {
        rows.iter()
            .filter(|(n, l, _)| n == name && labels.iter().all(|x| l.iter().any(|y| y == x)))
            .map(|(_, _, v)| v)
            .sum()
    }

    #[test]
    fn an_unknown_schema_is_counted_by_schema_id() {
        /// Release 1's session type (in no other test).
        #[derive(serde::Serialize, serde::Deserialize, Default)]
        struct ThemeSession {
            theme: String,
        }
        let (rows, schema) = recording(|| {
            super::unknown_schema_loads(
                ThemeSession {
                    theme: "dark".into(),
                },
                3,
            )
        });
        let id = format!("schema_id={schema}");
        assert_eq!(
            value(&rows, UNKNOWN_SCHEMAS, &[&id, "location=cookie"]),
            3,
            "{rows:?}"
        );
        assert_eq!(value(&rows, UNKNOWN_SCHEMAS, &[]), 3);
        assert_eq!(
            value(&rows, LOADS, &["outcome=unknown_schema", "location=none"]),
            3
        );
    }

    #[test]
    fn counters_count_the_cycle() {
        let (rows, trail) = recorded();
        let loads = LOADS;
        assert_eq!(
            value(&rows, loads, &["outcome=opened", "location=cookie"]),
            2
        );
        assert_eq!(
            value(&rows, loads, &["outcome=opened", "location=store"]),
            1
        );
        assert_eq!(
            value(&rows, loads, &["outcome=no_cookie", "location=none"]),
            2
        );
        assert_eq!(value(&rows, loads, &["outcome=rejected"]), 1);
        assert_eq!(value(&rows, loads, &["outcome=expired"]), 1);
        assert_eq!(
            value(&rows, loads, &["outcome=failed", "location=store"]),
            1
        );
        assert_eq!(value(&rows, loads, &[]), 8);

        let opens = OPENS;
        let old = format!("key_id={}", trail.old_key_id);
        let new = format!("key_id={}", trail.new_key_id);
        assert_eq!(
            value(&rows, opens, &[&old, "primary=false", "location=cookie"]),
            1
        );
        assert_eq!(
            value(&rows, opens, &[&new, "primary=true", "location=cookie"]),
            2
        );
        assert_eq!(
            value(&rows, opens, &[&new, "primary=true", "location=store"]),
            1
        );
        assert_eq!(value(&rows, opens, &["algorithm=xaes-256-gcm"]), 4);

        assert_eq!(value(&rows, SPILLS, &[]), 2);
        assert_eq!(value(&rows, RETURNS, &[]), 1);
        let saves = SAVES;
        assert_eq!(value(&rows, saves, &["outcome=cookie"]), 2);
        assert_eq!(value(&rows, saves, &["outcome=store"]), 2);
        assert_eq!(value(&rows, saves, &["outcome=failed_store_error"]), 1);
        assert_eq!(value(&rows, saves, &[]), 5);

        let errors = STORE_ERRORS;
        assert_eq!(value(&rows, errors, &["store=custom", "op=load"]), 1);
        assert_eq!(value(&rows, errors, &["store=custom", "op=create"]), 1);
        let seconds = STORE_SECONDS;
        // Two creates (one failed), one load that worked and one that
        // failed, one delete (the entry left behind on the way back).
        assert_eq!(value(&rows, seconds, &["store=custom", "op=create"]), 3);
        assert_eq!(value(&rows, seconds, &["store=custom", "op=load"]), 2);
        assert_eq!(value(&rows, seconds, &["store=custom", "op=delete"]), 1);
    }

    #[test]
    fn labels_never_carry_data_ids_keys_or_cookie_values() {
        let (rows, trail) = recorded();
        assert!(!rows.is_empty());
        for (name, labels, _) in &rows {
            assert!(name.starts_with("sealed_session_"), "{name}");
            for label in labels {
                for secret in &trail.secrets {
                    assert!(
                        !label.contains(secret.as_str()),
                        "{secret:?} in {name} {label}"
                    );
                }
            }
        }
    }

    /// A 10 KB session spilled into the store `make` builds (on the same
    /// runtime) and loaded back through a manager: the store calls are timed
    /// under the store's own kind, which is `kind`.
    #[cfg(any(
        feature = "memory",
        feature = "sqlx-sqlite",
        feature = "sqlx-postgres",
        feature = "redis"
    ))]
    fn store_calls_are_labelled<F, Fut>(kind: &str, make: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::sync::Arc<dyn sealed_session::store::Store>>,
    {
        use http::HeaderMap;
        use sealed_session::{Codec, Key, KeyRing, Location, SessionManager};

        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            run(async {
                let store = make().await;
                assert_eq!(store.kind(), kind);
                let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
                    .cookie_name("sid")
                    .build()
                    .unwrap();
                let manager = SessionManager::with_codec(codec)
                    .store(store)
                    .build()
                    .unwrap();
                let mut session = manager.load::<Vec<u8>>(&HeaderMap::new()).await.unwrap();
                session.set(vec![3; 10_000]);
                let mut response = HeaderMap::new();
                manager.save(&mut session, &mut response).await.unwrap();
                let pair = super::pair(&response);
                let loaded = manager
                    .load::<Vec<u8>>(&super::request(&pair))
                    .await
                    .unwrap();
                assert_eq!(loaded.location(), Location::Store);
            });
        });
        let rows: Vec<_> = snapshotter.snapshot().into_vec();
        for op in ["create", "load"] {
            let timed = rows.iter().any(|(key, _, _, value)| {
                let key = key.key();
                key.name() == STORE_SECONDS
                    && key
                        .labels()
                        .any(|l| l.key() == "store" && l.value() == kind)
                    && key.labels().any(|l| l.key() == "op" && l.value() == op)
                    && matches!(value, DebugValue::Histogram(samples) if samples.len() == 1)
            });
            assert!(timed, "{kind} {op}");
        }
    }

    #[cfg(feature = "memory")]
    #[test]
    fn the_memory_store_is_labelled_memory() {
        store_calls_are_labelled("memory", || async {
            std::sync::Arc::new(sealed_session::store::MemoryStore::new()) as _
        });
    }

    #[cfg(feature = "sqlx-sqlite")]
    #[test]
    fn the_sqlite_store_is_labelled_sqlite() {
        use sealed_session::store::SqliteStore;

        store_calls_are_labelled("sqlite", || async {
            let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
            store.migrate().await.unwrap();
            std::sync::Arc::new(store) as _
        });
    }

    #[cfg(feature = "sqlx-postgres")]
    #[test]
    #[ignore = "needs DATABASE_URL: see scripts/services.sh"]
    fn the_postgres_store_is_labelled_postgres() {
        use sealed_session::store::PostgresStore;

        let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
        let table = format!("observe_{:016x}", rand::random::<u64>());
        store_calls_are_labelled("postgres", || async move {
            let store = PostgresStore::connect(&url)
                .await
                .unwrap()
                .with_table_name(table);
            store.migrate().await.unwrap();
            std::sync::Arc::new(store) as _
        });
    }

    #[cfg(feature = "redis")]
    #[test]
    #[ignore = "needs REDIS_URL: see scripts/services.sh"]
    fn the_redis_store_is_labelled_redis() {
        use sealed_session::store::RedisStore;

        let url = std::env::var("REDIS_URL").expect("REDIS_URL");
        let prefix = format!("observe:{:016x}:", rand::random::<u64>());
        store_calls_are_labelled("redis", || async move {
            let store = RedisStore::builder(url).prefix(prefix).connect().await;
            std::sync::Arc::new(store.unwrap()) as _
        });
    }
}
