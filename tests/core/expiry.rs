//! Per algorithm: the idle and absolute deadlines, renewal (which extends
//! the one but not the other), and a tampered value that is also expired
//! (`Rejected`, not `Expired`).

use std::time::Duration;

use sealed_session::{Codec, ErrorKind, Times};

use crate::fixtures::{User, algorithm_suites, decode, encode, kind, ring, secs, t0, user};

algorithm_suites! {
    #[test]
    fn expires_at_the_idle_deadline() {
        let codec = Codec::builder(ring([key()]))
            .idle_timeout(secs(30 * 60))
            .build()
            .unwrap();
        let value = codec.seal_with_times(&user(), Times::new(t0())).unwrap();
        let open = |at| codec.open_at::<User>(value.value(), at);
        open(t0() + secs(30 * 60 - 1)).unwrap();
        open(t0() + secs(30 * 60) - Duration::from_millis(1)).unwrap();
        assert_eq!(kind(open(t0() + secs(30 * 60))), ErrorKind::Expired);
        assert_eq!(kind(open(t0() + secs(365 * 86_400))), ErrorKind::Expired);
    }

    #[test]
    fn renewal_extends_the_idle_deadline_but_not_the_absolute_one() {
        let codec = Codec::builder(ring([key()]))
            .idle_timeout(secs(3_600))
            .absolute_timeout(secs(86_400))
            .build()
            .unwrap();
        let renewed = Times::from_parts(t0(), t0() + secs(86_000));
        let value = codec.seal_with_times(&user(), renewed).unwrap();
        let open = |at| codec.open_at::<User>(value.value(), at);
        // Past the first idle window, inside the renewed one.
        let opened = open(t0() + secs(86_399)).unwrap();
        assert_eq!(opened.times(), renewed);
        // The absolute deadline comes first now.
        assert_eq!(kind(open(t0() + secs(86_400))), ErrorKind::Expired);
    }

    #[test]
    fn expires_at_the_absolute_deadline() {
        let codec = Codec::builder(ring([key()]))
            .idle_timeout(secs(3_600))
            .absolute_timeout(secs(7 * 86_400))
            .build()
            .unwrap();
        let absolute = secs(7 * 86_400);
        let times = Times::from_parts(t0(), t0() + absolute - secs(60));
        let value = codec.seal_with_times(&user(), times).unwrap();
        let open = |at| codec.open_at::<User>(value.value(), at);
        open(t0() + absolute - secs(1)).unwrap();
        assert_eq!(kind(open(t0() + absolute)), ErrorKind::Expired);
    }

    #[test]
    fn rejects_a_tampered_value_that_is_also_expired() {
        let (codec, value) = sealed();
        let late = t0() + codec.absolute_timeout() + secs(1);
        assert_eq!(
            kind(codec.open_at::<User>(&value, late)),
            ErrorKind::Expired
        );
        let mut raw = decode(&value);
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(
            kind(codec.open_at::<User>(&encode(&raw), late)),
            ErrorKind::Rejected
        );
        raw[last] ^= 1;
        raw[6 + ALGORITHM.nonce_len()] ^= 1;
        assert_eq!(
            kind(codec.open_at::<User>(&encode(&raw), late)),
            ErrorKind::Rejected
        );
    }
}
