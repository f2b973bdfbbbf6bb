//! Schema identity and migrations, through the public API: a value sealed
//! for one session type never opens as another of the same wire shape, and
//! a declared migration upgrades old sessions instead of logging everyone
//! out. The stored-session cases use the memory store (feature `memory`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
#[cfg(feature = "memory")]
use sealed_session::Location;
#[cfg(feature = "memory")]
use sealed_session::store::{MemoryStore, Store};
use sealed_session::{
    Codec, CodecBuilder, ErrorKind, FreshReason, Key, KeyRing, MapSession, Saved, SchemaId,
    Session, SessionManager,
};
use serde::{Deserialize, Serialize};

/// What the application stored first.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct V1 {
    user_id: u64,
    display_name: String,
}

/// The same wire shape: a `V1` cookie decodes as this one byte for byte.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct Lookalike {
    user_id: u64,
    role: String,
}

/// V1 with a defaulted field appended (old values open with its default,
/// or through a migration when one is declared).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct V2 {
    user_id: u64,
    display_name: String,
    #[serde(default)]
    theme: String,
}

/// V2 reshaped.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct V3 {
    user_id: u64,
    profile: Profile,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct Profile {
    name: String,
    theme: String,
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn alice() -> V1 {
    V1 {
        user_id: 7,
        display_name: "admin".to_owned(),
    }
}

fn v1_to_v2(v1: V1) -> V2 {
    V2 {
        user_id: v1.user_id,
        display_name: v1.display_name,
        theme: "light".to_owned(),
    }
}

fn v2_to_v3(v2: V2) -> V3 {
    V3 {
        user_id: v2.user_id,
        profile: Profile {
            name: v2.display_name,
            theme: v2.theme,
        },
    }
}

fn manager(codec: CodecBuilder) -> SessionManager {
    SessionManager::with_codec(codec.build().unwrap())
        .build()
        .unwrap()
}

/// A session of `data` saved at `now`, as the next request's headers.
fn saved<T>(manager: &SessionManager, data: T, now: SystemTime) -> HeaderMap
where
    T: Serialize + serde::de::DeserializeOwned + Default + 'static,
{
    let mut session: Session<T> = manager.load_sync_at(&HeaderMap::new(), now).unwrap();
    session.set(data);
    let mut response = HeaderMap::new();
    manager
        .save_sync_at(&mut session, &mut response, now)
        .unwrap();
    next_request(&response)
}

fn next_request(response: &HeaderMap) -> HeaderMap {
    let line = response[SET_COOKIE].to_str().unwrap();
    let pair = line.split(';').next().unwrap();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, pair.parse().unwrap());
    request
}

#[test]
fn a_cookie_of_another_type_with_the_same_wire_shape_is_not_reinterpreted() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let manager = manager(Codec::builder(ring));
    let request = saved(&manager, alice(), at(0));

    // Before schema ids, this opened with role == "admin".
    let session: Session<Lookalike> = manager.load_sync_at(&request, at(1)).unwrap();
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::UnknownSchema));
    assert_eq!(session.role, "");
    // The codec says the same.
    let value = request[COOKIE].to_str().unwrap().split_once('=').unwrap().1;
    let err = manager
        .codec()
        .open_at::<Lookalike>(value, at(1))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownSchema { .. }));
    assert_eq!(
        manager.codec().open_at::<V1>(value, at(1)).unwrap().value(),
        &alice()
    );
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn a_stored_value_of_another_type_with_the_same_wire_shape_is_not_reinterpreted() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_codec(
        Codec::builder(KeyRing::new([Key::generate()]).unwrap())
            .build()
            .unwrap(),
    )
    .store(store)
    .build()
    .unwrap();
    let big = V1 {
        user_id: 7,
        display_name: "x".repeat(5000),
    };
    let mut session: Session<V1> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(big.clone());
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    let request = next_request(&response);

    let other: Session<Lookalike> = manager.load(&request).await.unwrap();
    assert_eq!(other.fresh_reason(), Some(FreshReason::UnknownSchema));
    let same: Session<V1> = manager.load(&request).await.unwrap();
    assert_eq!(*same, big);
}

#[test]
fn renaming_a_schema_is_one_line_and_refuses_the_old_values() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let before = manager(Codec::builder(ring.clone()).schema::<V1>("user/1"));
    let request = saved(&before, alice(), at(0));
    let same_name = manager(Codec::builder(ring.clone()).schema::<V1>("user/1"));
    let session: Session<V1> = same_name.load_sync_at(&request, at(1)).unwrap();
    assert_eq!(*session, alice());

    // Same type, same shape, new meaning: a new name, and old values no
    // longer open as it.
    let renamed = manager(Codec::builder(ring.clone()).schema::<V1>("user/2"));
    let session: Session<V1> = renamed.load_sync_at(&request, at(1)).unwrap();
    assert_eq!(session.fresh_reason(), Some(FreshReason::UnknownSchema));
    assert_eq!(renamed.codec().schema_of::<V1>(), SchemaId::named("user/2"));
    // The shape id is not the name's.
    let unnamed = manager(Codec::builder(ring));
    let session: Session<V1> = unnamed.load_sync_at(&request, at(1)).unwrap();
    assert_eq!(session.fresh_reason(), Some(FreshReason::UnknownSchema));
}

#[test]
fn sessions_upgrade_from_v1_to_v2_to_v3_across_three_requests() {
    let ring = KeyRing::new([Key::generate()]).unwrap();

    // Request 1, release 1: the application stores a V1.
    let release1 = manager(Codec::builder(ring.clone()));
    let request1 = saved(&release1, alice(), at(0));

    // Request 2, release 2: V2 appended a defaulted field. Without a
    // migration the old cookie opens with the default; with one, the
    // declared conversion wins.
    let no_migration = manager(Codec::builder(ring.clone()));
    let kept: Session<V2> = no_migration.load_sync_at(&request1, at(1)).unwrap();
    assert_eq!(kept.fresh_reason(), None);
    assert_eq!(kept.theme, "");
    assert_eq!((kept.user_id, &*kept.display_name), (7, "admin"));

    let release2 = manager(Codec::builder(ring.clone()).migrate(v1_to_v2));
    let mut session: Session<V2> = release2.load_sync_at(&request1, at(1)).unwrap();
    assert_eq!(*session, v1_to_v2(alice()));
    let with = session.opened_with().unwrap();
    assert!(with.is_migrated() && with.needs_reseal());
    assert_eq!(with.schema(), Some(SchemaId::of::<V1>()));
    // Read-only, yet sealed again under V2's schema on this response.
    let mut response = HeaderMap::new();
    let written = release2
        .save_sync_at(&mut session, &mut response, at(1))
        .unwrap();
    assert!(matches!(written, Saved::Cookie { .. }), "{written:?}");
    let request2 = next_request(&response);
    let session: Session<V2> = release2.load_sync_at(&request2, at(2)).unwrap();
    let with = session.opened_with().unwrap();
    assert!(!with.is_migrated() && !with.needs_reseal());
    assert_eq!(with.schema(), Some(SchemaId::of::<V2>()));

    // Request 3, release 3: V3 reshaped V2. Both steps are declared, so a V2
    // cookie and a V1 cookie (a user away for two releases) open as V3.
    let release3 = manager(Codec::builder(ring).migrate(v1_to_v2).migrate(v2_to_v3));
    let expected = v2_to_v3(v1_to_v2(alice()));
    for request in [&request2, &request1] {
        let mut session: Session<V3> = release3.load_sync_at(request, at(3)).unwrap();
        assert_eq!(*session, expected);
        assert!(session.opened_with().unwrap().is_migrated());
        let mut response = HeaderMap::new();
        release3
            .save_sync_at(&mut session, &mut response, at(3))
            .unwrap();
        let session: Session<V3> = release3
            .load_sync_at(&next_request(&response), at(4))
            .unwrap();
        assert_eq!(*session, expected);
        assert_eq!(
            session.opened_with().unwrap().schema(),
            Some(SchemaId::of::<V3>())
        );
    }
    // Loading as the middle type still works too: chains stop where asked.
    let session: Session<V2> = release3.load_sync_at(&request1, at(3)).unwrap();
    assert_eq!(*session, v1_to_v2(alice()));
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn a_stored_session_migrates_and_is_stored_again_under_the_new_schema() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let with_store = |codec: CodecBuilder| {
        SessionManager::with_codec(codec.build().unwrap())
            .store(Arc::clone(&store))
            .build()
            .unwrap()
    };
    let old = with_store(Codec::builder(ring.clone()));
    let big = V1 {
        user_id: 9,
        display_name: "y".repeat(5000),
    };
    let mut session: Session<V1> = old.load(&HeaderMap::new()).await.unwrap();
    session.set(big.clone());
    let mut response = HeaderMap::new();
    old.save(&mut session, &mut response).await.unwrap();
    let id = session.store_id().unwrap();

    let new = with_store(Codec::builder(ring).migrate(v1_to_v2));
    let mut session: Session<V2> = new.load(&next_request(&response)).await.unwrap();
    assert_eq!(*session, v1_to_v2(big.clone()));
    assert_eq!(session.store_id(), Some(id));
    let mut response = HeaderMap::new();
    let written = new.save(&mut session, &mut response).await.unwrap();
    assert!(matches!(written, Saved::Store { .. }), "{written:?}");
    let session: Session<V2> = new.load(&next_request(&response)).await.unwrap();
    assert!(!session.opened_with().unwrap().needs_reseal());
    assert_eq!(*session, v1_to_v2(big));
}

#[test]
fn migrations_that_cannot_be_followed_are_refused_at_build() {
    let ring = || KeyRing::new([Key::generate()]).unwrap();
    let err = Codec::builder(ring())
        .migrate(v1_to_v2)
        .migrate(|v1: V1| v2_to_v3(v1_to_v2(v1)))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateMigration);
    // Two old types under one schema name: a value of that schema could be
    // either, so the second migration from it is refused too.
    let err = Codec::builder(ring())
        .schema::<V1>("user/old")
        .schema::<Lookalike>("user/old")
        .migrate(v1_to_v2)
        .migrate(|l: Lookalike| V2 {
            user_id: l.user_id,
            display_name: l.role,
            theme: String::new(),
        })
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateMigration);

    // Two types of one shape: the migration could never run.
    let err = Codec::builder(ring())
        .migrate(|v: V1| V1 { ..v })
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MigrationToSameSchema);
    // Naming one of them makes it possible.
    assert!(
        Codec::builder(ring())
            .schema::<V1>("user/2")
            .migrate(|v: V2| V1 {
                user_id: v.user_id,
                display_name: v.display_name,
            })
            .build()
            .is_ok()
    );
}

#[test]
fn a_map_session_keeps_its_schema_across_codecs() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let first = manager(Codec::builder(ring.clone()));
    let mut session: MapSession = first.load_sync_at(&HeaderMap::new(), at(0)).unwrap();
    session.insert("user", &7u64).unwrap();
    let mut response = HeaderMap::new();
    first
        .save_sync_at(&mut session, &mut response, at(0))
        .unwrap();
    let second = manager(Codec::builder(ring).migrate(v1_to_v2));
    let session: MapSession = second
        .load_sync_at(&next_request(&response), at(1))
        .unwrap();
    assert_eq!(session.get::<u64>("user").unwrap(), Some(7));
}

#[test]
fn naming_several_schemas_keeps_each_name_and_the_last_name_of_a_type_wins() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .schema::<V1>("user/1")
        .schema::<V2>("user/2")
        .schema::<V3>("user/3")
        .schema::<V2>("user/2b")
        .build()
        .unwrap();
    assert_eq!(codec.schema_of::<V1>(), SchemaId::named("user/1"));
    assert_eq!(codec.schema_of::<V2>(), SchemaId::named("user/2b"));
    assert_eq!(codec.schema_of::<V3>(), SchemaId::named("user/3"));
    // A type never named keeps its shape's id.
    assert_eq!(codec.schema_of::<Lookalike>(), SchemaId::of::<Lookalike>());
}

#[test]
fn a_migration_starts_from_the_old_type_s_own_named_schema() {
    let ring = KeyRing::new([Key::generate()]).unwrap();
    let old = manager(Codec::builder(ring.clone()).schema::<V1>("user/1"));
    let request = saved(&old, alice(), at(0));
    // Both types named, the new one first: the migration must start from
    // V1's name, not from whichever name the builder holds first.
    let new = manager(
        Codec::builder(ring)
            .schema::<V2>("user/2")
            .schema::<V1>("user/1")
            .migrate(v1_to_v2),
    );
    let session: Session<V2> = new.load_sync_at(&request, at(1)).unwrap();
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(*session, v1_to_v2(alice()));
    let with = session.opened_with().unwrap();
    assert!(with.is_migrated());
    assert_eq!(with.schema(), Some(SchemaId::named("user/1")));
}

#[test]
fn a_chain_that_does_not_reach_the_type_opened_converts_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let ring = KeyRing::new([Key::generate()]).unwrap();
    let request = saved(&manager(Codec::builder(ring.clone())), alice(), at(0));
    // V1 -> V2 is declared, but the handler opens a V3: no chain reaches it,
    // so the V1 value is not decoded and V1 -> V2 never runs.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let codec = Codec::builder(ring)
        .migrate(move |v1: V1| {
            counted.fetch_add(1, Ordering::SeqCst);
            v1_to_v2(v1)
        })
        .build()
        .unwrap();
    let manager = SessionManager::with_codec(codec).build().unwrap();
    let session: Session<V3> = manager.load_sync_at(&request, at(1)).unwrap();
    assert_eq!(session.fresh_reason(), Some(FreshReason::UnknownSchema));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Opened as V2, the same cookie converts once.
    let session: Session<V2> = manager.load_sync_at(&request, at(1)).unwrap();
    assert_eq!(*session, v1_to_v2(alice()));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn debug_of_a_codec_names_its_migrations() {
    let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
        .migrate(v1_to_v2)
        .build()
        .unwrap();
    let shown = format!("{codec:?}");
    let expected = format!(
        "migrations: [({:?}, {:?})]",
        std::any::type_name::<V1>(),
        SchemaId::of::<V1>()
    );
    assert!(shown.contains(&expected), "{expected} in {shown}");
}
