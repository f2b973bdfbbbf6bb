//! The map session: typed get, insert, remove and clear with change
//! tracking, and values of the wrong type.

use http::HeaderMap;
use sealed_session::{Error, ErrorKind, MapSession, Saved};

use crate::fixtures::{at, load_sync_at, manager, next_request, save_sync_at};

#[test]
fn a_map_session_gets_inserts_removes_and_clears() {
    let manager = manager();
    let mut session: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    assert_eq!(session.get::<u64>("user").unwrap(), None);
    assert!(!session.is_changed(), "reading does not mark changed");

    session.insert("user", &42u64).unwrap();
    session.insert("name", "alice").unwrap();
    session.insert("roles", &vec!["admin", "ops"]).unwrap();
    assert!(session.is_changed());
    assert_eq!(session.get::<u64>("user").unwrap(), Some(42));
    assert_eq!(session.get::<String>("name").unwrap(), Some("alice".into()));
    assert_eq!(
        session.get::<Vec<String>>("roles").unwrap(),
        Some(vec!["admin".to_owned(), "ops".to_owned()])
    );
    assert_eq!(session.data().len(), 3);
    assert_eq!(
        session.data().keys().collect::<Vec<_>>(),
        ["name", "roles", "user"]
    );

    let (_, response) = save_sync_at(&manager, &mut session, at(0));
    let request = next_request(&response);

    // Reading and re-inserting identical values: no change, no cookie.
    let mut session: MapSession = load_sync_at(&manager, &request, at(1));
    assert_eq!(session.get::<u64>("user").unwrap(), Some(42));
    assert!(!session.is_changed());
    session.insert("user", &42u64).unwrap();
    session.insert("name", "alice").unwrap();
    assert!(
        !session.is_changed(),
        "identical insert does not mark changed"
    );
    assert!(!session.remove("missing"));
    assert!(
        !session.is_changed(),
        "removing a missing key changes nothing"
    );
    let (saved, response) = save_sync_at(&manager, &mut session, at(1));
    assert_eq!(saved, Saved::Unchanged);
    assert!(response.is_empty());

    // A different value does.
    session.insert("user", &43u64).unwrap();
    assert!(session.is_changed());

    // Remove, then clear.
    let mut session: MapSession = load_sync_at(&manager, &request, at(1));
    assert!(session.remove("user"));
    assert!(session.is_changed());
    assert_eq!(session.get::<u64>("user").unwrap(), None);
    let (_, response) = save_sync_at(&manager, &mut session, at(1));
    let session: MapSession = load_sync_at(&manager, &next_request(&response), at(2));
    assert!(!session.data().contains_key("user"));
    assert!(session.data().contains_key("name"));

    let mut session: MapSession = load_sync_at(&manager, &request, at(1));
    session.clear();
    assert!(session.is_changed());
    assert!(session.data().is_empty());

    let mut empty: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    empty.clear();
    assert!(!empty.is_changed(), "clearing an empty map changes nothing");
}

#[test]
fn a_map_value_of_the_wrong_type_is_undecodable() {
    let manager = manager();
    let mut session: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    session.insert("user", &42u64).unwrap();
    session.insert("name", "alice").unwrap();
    fn kind<V: std::fmt::Debug>(r: Result<Option<V>, Error>) -> ErrorKind {
        r.unwrap_err().kind()
    }
    assert_eq!(kind(session.get::<String>("user")), ErrorKind::Undecodable);
    assert_eq!(kind(session.get::<bool>("user")), ErrorKind::Undecodable);
    // Decoding a prefix of the value and ignoring the rest is no match
    // either: "alice" is not a u8 (its length byte) plus trailing bytes.
    assert_eq!(kind(session.get::<u8>("name")), ErrorKind::Undecodable);
    assert_eq!(
        kind(session.get::<(u8, u8)>("name")),
        ErrorKind::Undecodable
    );
}
