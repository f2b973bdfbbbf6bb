//! The codec builder: cookie names, size limits, timeouts and their
//! defaults, and a codec that is cheap to share.

use std::time::Duration;

use sealed_session::{Codec, ErrorKind, Key, KeyRing};

use crate::fixtures::{kind, secs};

fn builder() -> sealed_session::CodecBuilder {
    Codec::builder(KeyRing::new([Key::generate()]).unwrap())
}

#[test]
fn rejects_bad_cookie_names() {
    let long = "a".repeat(257);
    for name in [
        "", "a b", "a;b", "a=b", "a,b", "a\"b", "é", "a\tb", "a\0b", &long,
    ] {
        assert_eq!(
            kind(builder().cookie_name(name).build()),
            ErrorKind::InvalidCookieName,
            "{name:?}"
        );
    }
    for name in [
        "session",
        "__Host-session",
        "__Secure-id",
        "a.b_c-d~!#$%&'*+^`|",
        &long[1..],
    ] {
        assert_eq!(
            builder().cookie_name(name).build().unwrap().cookie_name(),
            name
        );
    }
}

#[test]
fn rejects_size_limits_browsers_do_not_keep() {
    // The smallest limit holds the largest store pointer cookie: name,
    // `=`, and base64 of header (10), nonce (24), pointer (two 10-byte
    // times, 16-byte session id, no subject, an expiry of two 10-byte
    // varints with its tag and flag, body tag, 16-byte store id: 76)
    // and tag (16).
    let min = "__Host-session=".len() + ((10 + 24 + 76 + 16usize) * 4).div_ceil(3);
    assert_eq!(min, 183);
    for limit in [0, 63, min - 1, 4097, 5000] {
        assert_eq!(
            kind(builder().size_limit(limit).build()),
            ErrorKind::InvalidSizeLimit { limit, min }
        );
    }
    let err = builder().size_limit(5000).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "size limit is 5000 bytes; it must be between 183 (a store pointer cookie \
         under this name and key) and 4096 (what browsers keep)"
    );
    for limit in [min, 1024, 4096] {
        assert_eq!(
            builder().size_limit(limit).build().unwrap().size_limit(),
            limit
        );
    }
}

#[test]
fn the_defaults_are_one_day_idle_and_fourteen_days_absolute() {
    use sealed_session::limits::{DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
    assert_eq!(DEFAULT_IDLE_TIMEOUT, Duration::from_secs(86_400));
    assert_eq!(DEFAULT_ABSOLUTE_TIMEOUT, Duration::from_secs(1_209_600));
    let codec = builder().build().unwrap();
    assert_eq!(codec.idle_timeout(), DEFAULT_IDLE_TIMEOUT);
    assert_eq!(codec.absolute_timeout(), DEFAULT_ABSOLUTE_TIMEOUT);
}

#[test]
fn rejects_timeouts_out_of_order() {
    let cases = [
        (secs(3_600), secs(60)),
        (Duration::ZERO, secs(60)),
        (Duration::from_millis(999), secs(60)),
    ];
    for (idle, absolute) in cases {
        assert_eq!(
            kind(
                builder()
                    .idle_timeout(idle)
                    .absolute_timeout(absolute)
                    .build()
            ),
            ErrorKind::TimeoutsOutOfOrder,
            "{idle:?} {absolute:?}"
        );
    }
    let codec = builder()
        .idle_timeout(secs(60))
        .absolute_timeout(secs(60))
        .build()
        .unwrap();
    assert_eq!(codec.idle_timeout(), codec.absolute_timeout());
}

#[test]
fn codec_is_cheap_to_share() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<Codec>();
    assert_shareable::<KeyRing>();
    assert_shareable::<Key>();
}
