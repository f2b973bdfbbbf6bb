//! A valid pointer cookie whose store entry the fuzzer overwrites: with
//! arbitrary bytes, with edits of the entry's own sealed value, or with
//! edits of an entry sealed under another store id; or the entry is
//! deleted. The load never panics or errs, and gives the original session
//! only when the entry holds exactly the original sealed bytes; otherwise
//! a fresh session, `Rejected` (or `MissingFromStore` when deleted).

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use fuzz_support::{Edit, FuzzSession, apply, codecs, fixed_session, now, ready};
use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use libfuzzer_sys::fuzz_target;
use sealed_session::store::{MemoryStore, Store, StoreId};
use sealed_session::{FreshReason, Location, Saved, SessionManager};

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(Vec<u8>),
    Own(Vec<Edit>),
    Other(Vec<Edit>),
    Deleted,
}

struct Fixture {
    manager: SessionManager,
    store: Arc<MemoryStore>,
    /// A request carrying the pointer cookie.
    request: HeaderMap,
    id: StoreId,
    /// The sealed bytes saved under `id`.
    original: Vec<u8>,
    /// The same session sealed under another id.
    other: Vec<u8>,
    data: FuzzSession,
}

/// Saves `data` as a new session; returns its store id and the
/// `name=value` pair of its pointer cookie.
fn spill(manager: &SessionManager, data: &FuzzSession) -> (StoreId, String) {
    let mut session = ready(manager.load_at::<FuzzSession>(&HeaderMap::new(), now()))
        .expect("load without cookies");
    session.set(data.clone());
    let mut response = HeaderMap::new();
    let saved = ready(manager.save_at(&mut session, &mut response, now())).expect("save");
    assert!(
        matches!(saved, Saved::Store { .. }),
        "did not spill: {saved:?}"
    );
    let set_cookie = response[SET_COOKIE].to_str().expect("ASCII Set-Cookie");
    let pair = set_cookie.split(';').next().expect("a pair").to_owned();
    (session.store_id().expect("stored session"), pair)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let store = Arc::new(MemoryStore::new().with_clock(now));
        // The tight codec (256-byte limit) spills the fixed session.
        let manager = SessionManager::with_codec(codecs()[3].0.clone())
            .store(Arc::clone(&store) as Arc<dyn Store>)
            .build()
            .expect("manager");
        let mut data = fixed_session();
        data.blob = vec![0x5a; 300];
        let (id, pair) = spill(&manager, &data);
        let (other_id, _) = spill(&manager, &data);
        assert_ne!(id, other_id);
        let load = |id: &StoreId| {
            ready(store.load(id))
                .expect("memory store load")
                .expect("entry present")
        };
        let mut request = HeaderMap::new();
        request.insert(COOKIE, pair.parse().expect("cookie header"));
        let fixture = Fixture {
            original: load(&id),
            other: load(&other_id),
            manager,
            store,
            request,
            id,
            data,
        };
        let session = ready(
            fixture
                .manager
                .load_at::<FuzzSession>(&fixture.request, now()),
        )
        .expect("load");
        assert_eq!(session.data(), &fixture.data, "the fixture round-trips");
        fixture
    })
}

fuzz_target!(|input: Input| {
    let f = fixture();
    let entry = match input {
        Input::Raw(bytes) => Some(bytes),
        Input::Own(edits) => {
            let mut bytes = f.original.clone();
            apply(&mut bytes, &edits);
            Some(bytes)
        }
        Input::Other(edits) => {
            let mut bytes = f.other.clone();
            apply(&mut bytes, &edits);
            Some(bytes)
        }
        Input::Deleted => None,
    };
    match &entry {
        Some(bytes) => {
            let expires_at = now() + Duration::from_secs(365 * 24 * 60 * 60);
            ready(f.store.save(&f.id, bytes, expires_at)).expect("memory store save");
        }
        None => ready(f.store.delete(&f.id)).expect("memory store delete"),
    }
    let session = ready(f.manager.load_at::<FuzzSession>(&f.request, now()))
        .expect("a memory store never fails, so neither does the load");
    match entry {
        Some(bytes) if bytes == f.original => {
            assert!(!session.is_new());
            assert_eq!(session.data(), &f.data);
            assert_eq!(session.store_id(), Some(f.id));
            assert_eq!(session.location(), Location::Store);
        }
        entry => {
            assert!(session.is_new(), "a forged store entry opened");
            assert_eq!(session.data(), &FuzzSession::default());
            let expected = match entry {
                Some(_) => FreshReason::Rejected,
                None => FreshReason::MissingFromStore,
            };
            assert_eq!(session.fresh_reason(), Some(expected));
        }
    }
});
