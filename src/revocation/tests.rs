use std::time::UNIX_EPOCH;

use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

#[test]
fn a_revoked_id_is_revoked_until_its_deadline_then_dropped() {
    let registry = Registry::in_memory();
    let id = SessionId::generate();
    registry.revoke(id, at(100));
    assert!(registry.is_revoked(id, None, at(0), at(99)));
    assert!(!registry.is_revoked(id, None, at(0), at(100)));
    assert!(!registry.is_revoked(SessionId::generate(), None, at(0), at(1)));
    assert_eq!(registry.len(), 1);
    registry.purge_at(at(100));
    assert!(registry.is_empty());
}

#[test]
fn a_subject_revocation_covers_only_older_sessions_of_that_subject() {
    let registry = Registry::in_memory();
    registry.revoke_subject("user:1", at(50), Duration::from_secs(1000));
    let id = SessionId::generate();
    assert!(registry.is_revoked(id, Some("user:1"), at(49), at(60)));
    assert!(
        !registry.is_revoked(id, Some("user:1"), at(50), at(60)),
        "the next login"
    );
    assert!(!registry.is_revoked(id, Some("user:2"), at(0), at(60)));
    assert!(!registry.is_revoked(id, None, at(0), at(60)));
    // Past the absolute timeout the entry covers nothing, and goes.
    assert!(!registry.is_revoked(id, Some("user:1"), at(0), at(1050)));
    registry.purge_at(at(1050));
    assert!(registry.is_empty());
}

#[test]
fn debug_shows_counts_not_ids_or_subjects() {
    let registry = Registry::in_memory();
    registry.revoke_subject("user:secret", at(0), Duration::from_secs(1));
    let debug = format!("{registry:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("revoked_subjects: 1"), "{debug}");
}
