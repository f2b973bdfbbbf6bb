#![allow(clippy::unwrap_used)]

use super::*;

const V3: u8 = wire::FORMAT_VERSION;

#[test]
fn times_past_what_the_clock_can_hold_saturate_far_in_the_future() {
    // 2^37 seconds: about 4,350 years from the epoch (the cap is
    // about 8,700).
    let far = UNIX_EPOCH + Duration::from_secs(1 << 37);
    for t in [from_secs(u64::MAX), from_millis(u64::MAX)] {
        assert!(t > far, "{t:?}");
    }
    assert_eq!(from_secs(u64::MAX), from_secs(u64::MAX - 1));
    assert_eq!(
        from_millis(1_500),
        UNIX_EPOCH + Duration::from_millis(1_500)
    );
}

#[test]
fn decode_raw_agrees_with_postcard_on_both_bodies() {
    let inline = Envelope {
        issued_at: 300,
        renewed_at: 1_700_000_000,
        session_id: [3; SESSION_ID_BYTES],
        subject: Some("user:42"),
        expiry: Some(SealedExpiry {
            idle: 60,
            absolute: 2_592_000,
            persistent: true,
        }),
        body: Body::Inline((7u8, "x".to_owned())),
    };
    let bytes = postcard::to_allocvec(&inline).unwrap();
    let value = postcard::to_allocvec(&(7u8, "x".to_owned())).unwrap();
    assert_eq!(
        decode_raw(&bytes, V3),
        Some(RawEnvelope {
            issued_at: 300,
            renewed_at: 1_700_000_000,
            session_id: [3; SESSION_ID_BYTES],
            subject: Some("user:42"),
            expiry: Some(SealedExpiry {
                idle: 60,
                absolute: 2_592_000,
                persistent: true,
            }),
            body: RawBody::Inline(&value[..]),
        })
    );
    let stored: Envelope<(), &str> = Envelope {
        issued_at: 1,
        renewed_at: 2,
        session_id: [4; SESSION_ID_BYTES],
        subject: None,
        expiry: Some(SealedExpiry {
            idle: u64::MAX,
            absolute: u64::MAX,
            persistent: false,
        }),
        body: Body::Stored([9; STORE_ID_BYTES]),
    };
    let bytes = postcard::to_allocvec(&stored).unwrap();
    assert_eq!(
        bytes.len(),
        MAX_POINTER_PLAINTEXT_BYTES - 10 - 10 + 1 + 1,
        "the largest pointer but for its times"
    );
    assert_eq!(
        decode_raw(&bytes, V3),
        Some(RawEnvelope {
            issued_at: 1,
            renewed_at: 2,
            session_id: [4; SESSION_ID_BYTES],
            subject: None,
            expiry: Some(SealedExpiry {
                idle: u64::MAX,
                absolute: u64::MAX,
                persistent: false,
            }),
            body: RawBody::Stored([9; STORE_ID_BYTES]),
        })
    );
    // Bytes after a store id, or an unknown tag.
    assert_eq!(decode_raw(&[bytes.as_slice(), &[0]].concat(), V3), None);
    let mut unknown_tag = vec![1, 2];
    unknown_tag.extend_from_slice(&[0; SESSION_ID_BYTES]);
    unknown_tag.extend_from_slice(&[0, 0, 2]);
    assert_eq!(decode_raw(&unknown_tag, V3), None);
    unknown_tag.pop();
    unknown_tag.push(1);
    assert_eq!(
        decode_raw(&unknown_tag, V3),
        None,
        "a pointer without an id"
    );
}

#[test]
fn millis_round_down_and_up_at_the_millisecond() {
    let t = UNIX_EPOCH + Duration::new(5, 1_500_000);
    assert_eq!(to_millis(t), 5001);
    assert_eq!(to_millis_ceil(t), 5002);
    let exact = UNIX_EPOCH + Duration::from_millis(5001);
    assert_eq!(to_millis_ceil(exact), 5001);
    assert_eq!(from_millis(5001), exact);
    assert_eq!(to_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
    assert_eq!(
        from_millis(u64::MAX),
        from_secs(u64::MAX / 1000) + Duration::from_millis(u64::MAX % 1000)
    );
}

#[test]
fn times_keep_milliseconds_of_issue_and_seconds_of_renewal() {
    let now = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    let t = Times::new(now);
    assert_eq!(
        t.issued_at(),
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
    );
    assert_eq!(
        t.renewed_at(),
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    );
    assert_eq!(t.to_secs(), (1_700_000_000, 1_700_000_000));
    assert_eq!(t.issued_at_millis(), 1_700_000_000_123);
    assert_eq!(Times::from_sealed(1_700_000_000_123, 1_700_000_000), t);
}
