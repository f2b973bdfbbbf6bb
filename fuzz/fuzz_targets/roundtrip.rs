//! An arbitrary session value and times, sealed by one of six codecs (each
//! algorithm as primary, default and tight limits and timeouts), then
//! opened: equal value and times unless a timeout has passed, `TooLarge`
//! with both sizes when it does not fit, never anything else. The same
//! value's old-schema form opens through the declared migration, and no
//! value opens as the other schema.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use fuzz_support::{FuzzSession, FuzzSessionV0, NOW_SECS, codecs, now, other_name_codec};
use libfuzzer_sys::fuzz_target;
use sealed_session::{ErrorKind, Times};

/// A time: near the fixed clock, or anywhere.
#[derive(Arbitrary, Debug)]
enum Time {
    Offset(i32),
    Raw(u64),
}

impl Time {
    fn secs(&self) -> Option<u64> {
        match *self {
            Time::Offset(off) => NOW_SECS.checked_add_signed(i64::from(off)),
            Time::Raw(secs) => Some(secs),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    codec: u8,
    issued: Time,
    renewed: Time,
    session: FuzzSession,
}

fn at(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fuzz_target!(|input: Input| {
    let (Some(issued), Some(renewed)) = (input.issued.secs(), input.renewed.secs()) else {
        return;
    };
    // Issue times are sealed in milliseconds (a u64): past year 584 million
    // they saturate, so they cannot round-trip.
    if issued > u64::MAX / 1000 {
        return;
    }
    let (Some(issued_at), Some(renewed_at)) = (at(issued), at(renewed)) else {
        return;
    };
    let times = Times::from_parts(issued_at, renewed_at);
    let index = usize::from(input.codec) % codecs().len();
    let (codec, settings) = &codecs()[index];

    let sealed = match codec.seal_with_times(&input.session, times) {
        Ok(sealed) => sealed,
        Err(e) => match e.kind() {
            ErrorKind::TooLarge { size, limit } => {
                assert_eq!(limit, settings.limit);
                assert!(size > limit, "TooLarge with size {size} <= limit {limit}");
                return;
            }
            kind => panic!("seal failed with {kind:?}"),
        },
    };
    let value = sealed.value();
    assert_eq!(sealed.size(), settings.name.len() + 1 + value.len());
    assert!(sealed.size() <= settings.limit);
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "not base64url without padding"
    );

    let expired = NOW_SECS >= renewed.saturating_add(settings.idle_secs)
        || NOW_SECS >= issued.saturating_add(settings.absolute_secs);
    match codec.open_at::<FuzzSession>(value, now()) {
        Ok(opened) => {
            assert!(!expired, "opened past a timeout");
            assert_eq!(opened.value(), &input.session);
            assert_eq!(opened.times(), times);
            assert!(opened.opened_with().is_primary());
            assert_eq!(
                opened.opened_with().algorithm(),
                codec.ring().primary_algorithm()
            );
        }
        Err(e) => {
            assert!(expired, "a fresh value failed to open: {e:?}");
            assert_eq!(e.kind(), ErrorKind::Expired);
        }
    }

    // The same keys with another primary (same settings) open it as an
    // older key: rotation.
    let rotated = &codecs()[(index % 3 + 1) % 3 + index / 3 * 3].0;
    match rotated.open_at::<FuzzSession>(value, now()) {
        Ok(opened) => {
            assert!(!expired);
            assert_eq!(opened.value(), &input.session);
            assert!(!opened.opened_with().is_primary());
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Expired),
    }

    // Another cookie name never opens it.
    let moved = other_name_codec().open_at::<FuzzSession>(value, now());
    assert_eq!(
        moved.map(|_| ()).map_err(|e| e.kind()),
        Err(ErrorKind::Rejected)
    );

    // The value never opens as the old schema (no migration goes back).
    if !expired {
        let back = codec.open_at::<FuzzSessionV0>(value, now());
        assert!(
            matches!(
                back.map(|_| ()).map_err(|e| e.kind()),
                Err(ErrorKind::UnknownSchema { .. })
            ),
            "opened as the old schema"
        );
    }

    // Sealed as the old schema, it opens through the migration.
    let old = FuzzSessionV0::from_session(&input.session);
    let Ok(sealed_old) = codec.seal_with_times(&old, times) else {
        return;
    };
    match codec.open_at::<FuzzSession>(sealed_old.value(), now()) {
        Ok(opened) => {
            assert!(!expired, "opened past a timeout");
            assert_eq!(opened.value(), &old.clone().upgrade());
            assert!(opened.opened_with().is_migrated());
            assert!(opened.opened_with().needs_reseal());
        }
        Err(e) => assert!(expired && e.kind() == ErrorKind::Expired, "{e:?}"),
    }
});
