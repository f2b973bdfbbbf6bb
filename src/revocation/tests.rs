#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

/// A registry in this process on a clock the test moves (seconds after
/// `at(0)`).
fn registry_on_clock() -> (Registry, Arc<AtomicU64>) {
    let clock = Arc::new(AtomicU64::new(0));
    let time = Arc::clone(&clock);
    let registry = Registry::in_memory().with_clock(move || at(time.load(Ordering::SeqCst)));
    (registry, clock)
}

const SLACK: u64 = CLOCK_ALLOWANCE.as_secs();

#[test]
fn a_revoked_id_is_revoked_until_its_deadline_and_the_slack_then_dropped() {
    let (registry, _) = registry_on_clock();
    let id = SessionId::generate();
    registry.revoke(id, at(100));
    assert!(registry.is_revoked(id, None, at(0), at(99 + SLACK)));
    assert!(!registry.is_revoked(id, None, at(0), at(100 + SLACK)));
    assert!(!registry.is_revoked(SessionId::generate(), None, at(0), at(1)));
    assert_eq!(registry.len(), 1);
    registry.purge_at(at(99 + SLACK));
    assert_eq!(registry.len(), 1);
    registry.purge_at(at(100 + SLACK));
    assert!(registry.is_empty());
}

#[test]
fn a_subject_revocation_covers_only_older_sessions_of_that_subject() {
    let (registry, _) = registry_on_clock();
    registry.revoke_subject("user:1", at(50), Duration::from_secs(1000));
    let id = SessionId::generate();
    assert!(registry.is_revoked(id, Some("user:1"), at(49), at(60)));
    assert!(
        !registry.is_revoked(id, Some("user:1"), at(50), at(60)),
        "the next login"
    );
    assert!(!registry.is_revoked(id, Some("user:2"), at(0), at(60)));
    assert!(!registry.is_revoked(id, None, at(0), at(60)));
    // Past the absolute timeout (and the slack) the entry covers nothing,
    // and goes.
    assert!(registry.is_revoked(id, Some("user:1"), at(0), at(1049 + SLACK)));
    assert!(!registry.is_revoked(id, Some("user:1"), at(0), at(1050 + SLACK)));
    registry.purge_at(at(1050 + SLACK));
    assert!(registry.is_empty());
}

#[test]
fn copies_are_covered_for_their_idle_timeout_from_the_revocation_never_past_the_absolute_deadline()
{
    let (registry, _) = registry_on_clock();
    let (short, long) = (SessionId::generate(), SessionId::generate());
    let idle = Duration::from_secs(600);
    // Idle ends first: revoked at 100, copies open until 700 at most.
    registry.revoke_copies(
        short,
        Reach {
            idle,
            absolute: at(10_000),
        },
        at(100),
    );
    // The absolute deadline ends first.
    registry.revoke_copies(
        long,
        Reach {
            idle,
            absolute: at(300),
        },
        at(100),
    );
    assert!(registry.is_revoked(short, None, at(0), at(699 + SLACK)));
    assert!(!registry.is_revoked(short, None, at(0), at(700 + SLACK)));
    assert!(registry.is_revoked(long, None, at(0), at(299)));
    assert!(!registry.is_revoked(long, None, at(0), at(300)));
}

#[test]
fn writes_sweep_what_expired_in_their_shard_and_give_the_memory_back() {
    let (registry, clock) = registry_on_clock();
    let ids: Vec<SessionId> = (0..20_000).map(|_| SessionId::generate()).collect();
    for &id in &ids {
        registry.revoke(id, at(10));
    }
    assert_eq!(registry.len(), 20_000);
    // Later, new revocations reach every shard and sweep it.
    clock.store(10 + SLACK + super::local::SWEEP_SECS, Ordering::SeqCst);
    let fresh: Vec<SessionId> = (0..20_000).map(|_| SessionId::generate()).collect();
    for &id in &fresh {
        registry.revoke(id, at(100_000));
    }
    let now = at(10 + SLACK + super::local::SWEEP_SECS);
    assert!(
        fresh
            .iter()
            .all(|&id| registry.is_revoked(id, None, at(0), now))
    );
    assert!(
        !ids.iter()
            .any(|&id| registry.is_revoked(id, None, at(0), now))
    );
    // A shard that got no write keeps its expired entries until then.
    let held = registry.len();
    assert!((20_000..22_000).contains(&held), "{held}");
    registry.purge_at(now);
    assert_eq!(registry.len(), 20_000);
}

#[test]
fn live_pages_give_back_every_live_revocation_once() {
    let (registry, _) = registry_on_clock();
    let ids: Vec<SessionId> = (0..3_000).map(|_| SessionId::generate()).collect();
    for &id in &ids {
        registry.revoke(id, at(1_000));
    }
    registry.revoke(SessionId::generate(), at(1));
    registry.revoke_subject("user:1", at(5), Duration::from_secs(1_000));
    let now = at(1 + SLACK);
    let mut page = 0;
    let mut seen = Vec::new();
    while let Some(revocations) = registry.live_page(page, now) {
        seen.extend(revocations);
        page += 1;
    }
    assert_eq!(page, super::local::ID_SHARDS + 64);
    assert_eq!(seen.len(), 3_001, "the expired one is left out");
    let again = Registry::in_memory().with_clock(|| at(0));
    again.apply(&seen);
    assert!(ids.iter().all(|&id| again.is_revoked(id, None, at(0), now)));
    assert!(again.is_revoked(SessionId::generate(), Some("user:1"), at(4), now));
}

#[test]
fn debug_shows_counts_not_ids_or_subjects() {
    let (registry, _) = registry_on_clock();
    registry.revoke_subject("user:secret", at(0), Duration::from_secs(1));
    let debug = format!("{registry:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("revoked_subjects: 1"), "{debug}");
}

fn record(id: SessionId, issued: u64, renewed: u64, label: Option<&str>) -> SessionRecord {
    SessionRecord::new(
        id,
        at(issued),
        at(renewed),
        at(100_000),
        label.map(str::to_owned),
    )
}

#[test]
fn a_subject_keeps_its_newest_records_up_to_the_cap() {
    let (registry, _) = registry_on_clock();
    let ids: Vec<SessionId> = (0..MAX_RECORDS_PER_SUBJECT + 5)
        .map(|_| SessionId::generate())
        .collect();
    for (n, &id) in ids.iter().enumerate().rev() {
        registry.record_session(
            "user:1",
            record(id, n as u64, n as u64, Some("phone")),
            at(0),
        );
    }
    registry.record_session("user:2", record(ids[0], 0, 0, None), at(0));
    let first = listed(&registry, "user:1", at(10));
    let kept: Vec<SessionId> = first.iter().map(|r| r.id).collect();
    assert_eq!(
        kept,
        ids[5..],
        "the oldest logins go, the list is in login order"
    );
    assert_eq!(listed(&registry, "user:2", at(10)).len(), 1);
    // An update without a label keeps the label.
    registry.record_session("user:1", record(ids[10], 10, 50, None), at(0));
    let updated = listed(&registry, "user:1", at(10));
    let found = updated
        .iter()
        .find(|r| r.id == ids[10])
        .map(|r| (r.renewed_at, r.label.clone()));
    assert_eq!(found, Some((at(50), Some("phone".to_owned()))));
    assert_eq!(registry.record_count(), MAX_RECORDS_PER_SUBJECT + 1);
}

#[test]
fn past_the_limit_the_records_renewed_longest_ago_go() {
    // 64 shards of one record each; with every subject in its own list.
    let (registry, _) = registry_on_clock();
    let registry = registry.with_record_limit(640);
    for n in 0..10_000u64 {
        let id = SessionId::generate();
        registry.record_session(&format!("user:{n}"), record(id, n, n, None), at(0));
    }
    let held = registry.record_count();
    assert!((560..=640).contains(&held), "{held}");
    // The newest are there, the oldest are not.
    assert_eq!(listed(&registry, "user:9999", at(1)).len(), 1);
    assert!(listed(&registry, "user:0", at(1)).is_empty());
}

fn listed(registry: &Registry, subject: &str, now: SystemTime) -> Vec<SessionRecord> {
    pollster(registry.sessions_at(subject, now)).expect("an in-memory registry does not fail")
}

/// Runs a future that never waits (a registry in this process).
fn pollster<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("an in-memory registry never waits"),
    }
}

mod subject_model {
    //! The subject tables and their filter against a reference model:
    //! random revocations (in bursts, so that sweeps drop enough for the
    //! filter to be rebuilt), clock moves, purges and checks.

    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::super::local::Revocations;
    use super::*;
    use crate::codec::envelope::to_millis_ceil;

    #[derive(Debug, Clone)]
    enum Op {
        /// Subjects `first..first + count`, signed out at `before`
        /// (seconds after `at(0)`) until `before + life`.
        Revoke {
            first: u32,
            count: u32,
            before: u64,
            life: u64,
        },
        Advance(u64),
        Purge,
        /// Whether a session of `subject` issued at `issued` is revoked.
        Check {
            subject: u32,
            issued: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u32..3000, 1u32..200, 0u64..400, 1u64..300).prop_map(
                |(first, count, before, life)| Op::Revoke { first, count, before, life }
            ),
            2 => (0u64..120).prop_map(Op::Advance),
            1 => Just(Op::Purge),
            6 => (0u32..3200, 0u64..400).prop_map(|(subject, issued)| Op::Check { subject, issued }),
        ]
    }

    /// What the model holds per subject: `before` in milliseconds and
    /// `until` in seconds since the epoch.
    type Model = HashMap<u32, (u64, u64)>;

    fn revoked(model: &Model, subject: u32, issued_ms: u64, now: u64) -> bool {
        model
            .get(&subject)
            .is_some_and(|&(before, until)| now < until && issued_ms < before)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A table may keep an expired entry until it is swept, and a later
        /// revocation of the same subject then merges into it; so the
        /// registry's answer lies between two models: one where an expired
        /// entry is replaced (never a "no" where it says "yes": nothing
        /// revoked opens, the filter included) and one where entries always
        /// merge (never a "yes" where it says "no"). Run by
        /// `the_model_rebuilds_the_filter`, which counts the rebuilds.
        fn subject_checks_agree_with_the_model(ops in proptest::collection::vec(op(), 1..120)) {
            let revocations = Revocations::with_subject_rebuilds_after(16);
            let (mut replaced, mut merged) = (Model::new(), Model::new());
            let mut now = to_secs(at(0));
            for op in ops {
                match op {
                    Op::Revoke { first, count, before, life } => {
                        let before_at = at(before);
                        let until = to_secs(before_at) + life;
                        let batch: Vec<Revocation> = (first..first + count)
                            .map(|s| Revocation::Subject {
                                subject: format!("user:{s}"),
                                before: before_at,
                                until: from_secs(until),
                            })
                            .collect();
                        revocations.apply(&batch, now);
                        if now < until {
                            let before_ms = to_millis_ceil(before_at);
                            for s in first..first + count {
                                let r = replaced.entry(s).or_insert((0, 0));
                                *r = if now >= r.1 {
                                    (before_ms, until)
                                } else {
                                    (r.0.max(before_ms), r.1.max(until))
                                };
                                let m = merged.entry(s).or_insert((0, 0));
                                *m = (m.0.max(before_ms), m.1.max(until));
                            }
                        }
                    }
                    Op::Advance(secs) => now += secs,
                    Op::Purge => revocations.purge(now),
                    Op::Check { subject, issued } => {
                        let issued_ms = to_millis(at(issued));
                        let got = revocations.is_revoked(
                            SessionId::generate(),
                            Some(&format!("user:{subject}")),
                            issued_ms,
                            now,
                        );
                        if revoked(&replaced, subject, issued_ms, now) {
                            prop_assert!(got, "user:{subject} issued {issued} at {now}: revoked, opened");
                        }
                        if !revoked(&merged, subject, issued_ms, now) {
                            prop_assert!(!got, "user:{subject} issued {issued} at {now}: refused");
                        }
                    }
                }
            }
            REBUILDS.fetch_add(revocations.subject_filter_rebuilds(), Ordering::Relaxed);
        }
    }

    static REBUILDS: AtomicU64 = AtomicU64::new(0);

    /// The model above is only as good as the rebuilds it went through.
    #[test]
    fn the_model_rebuilds_the_filter() {
        subject_checks_agree_with_the_model();
        assert!(
            REBUILDS.load(Ordering::Relaxed) > 64,
            "{REBUILDS:?} rebuilds in 64 cases"
        );
    }
}
