//! Per algorithm: the size limit, sealing up to it and exactly at it, the
//! exact size in `TooLarge`, and values longer than the limit rejected
//! before they are decoded.

use sealed_session::limits::MAX_COOKIE_BYTES;
use sealed_session::{Codec, ErrorKind};

use crate::fixtures::{algorithm_suites, codec, kind, named, ring};

algorithm_suites! {
    #[test]
    fn seals_up_to_the_size_limit_and_reports_one_byte_over_exactly() {
        let codec = codec(ring([key()]));
        let limit = codec.size_limit();
        assert_eq!(limit, MAX_COOKIE_BYTES);
        let size_of = |n: usize| codec.sealed_size(&vec![0xA5u8; n]).unwrap();
        // The largest byte vector whose cookie fits.
        let n = (0..limit).rev().find(|&n| size_of(n) <= limit).unwrap();
        assert!(size_of(n + 1) > limit);

        let fits = codec.seal(&vec![0xA5u8; n]).unwrap();
        assert_eq!(fits.size(), size_of(n));
        assert_eq!(
            fits.size(),
            codec.cookie_name().len() + 1 + fits.value().len()
        );
        assert!(fits.size() <= limit && fits.size() >= limit - 1);
        let opened = codec.open::<Vec<u8>>(fits.value()).unwrap();
        assert_eq!(opened.value().len(), n);

        // One byte more: the error carries the exact size, measured
        // independently by sealing under a shorter cookie name.
        let short = named(codec.ring().clone(), "s");
        let over = short.seal(&vec![0xA5u8; n + 1]).unwrap();
        let expected = codec.cookie_name().len() + 1 + over.value().len();
        assert_eq!(expected, size_of(n + 1));
        assert!(expected == limit + 1 || expected == limit + 2);
        match kind(codec.seal(&vec![0xA5u8; n + 1])) {
            ErrorKind::TooLarge { size, limit: l } => {
                assert_eq!((size, l), (expected, limit));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn a_cookie_exactly_at_the_size_limit_seals_and_opens() {
        let ring = ring([key()]);
        let value = vec![0xA5u8; 1000];
        let size = codec(ring.clone()).sealed_size(&value).unwrap();
        let exact = Codec::builder(ring).size_limit(size).build().unwrap();
        let sealed = exact.seal(&value).unwrap();
        assert_eq!((sealed.size(), exact.size_limit()), (size, size));
        let opened = exact.open::<Vec<u8>>(sealed.value()).unwrap();
        assert_eq!(opened.value(), &value);
        // One byte less and the same value neither seals nor opens.
        let under = Codec::builder(exact.ring().clone())
            .size_limit(size - 1)
            .build()
            .unwrap();
        assert_eq!(
            kind(under.seal(&value)),
            ErrorKind::TooLarge {
                size,
                limit: size - 1
            }
        );
        assert_eq!(
            kind(under.open::<Vec<u8>>(sealed.value())),
            ErrorKind::Rejected
        );
    }

    #[test]
    fn reports_the_configured_limit_when_too_large() {
        let codec = Codec::builder(ring([key()]))
            .size_limit(512)
            .build()
            .unwrap();
        let value = vec![0u8; 600];
        let size = codec.sealed_size(&value).unwrap();
        assert_eq!(
            kind(codec.seal(&value)),
            ErrorKind::TooLarge { size, limit: 512 }
        );
        // Far over even the largest buffer, the sizes are still exact.
        let huge = vec![0u8; 10_000];
        let size = codec.sealed_size(&huge).unwrap();
        assert!(size > MAX_COOKIE_BYTES);
        assert_eq!(
            kind(codec.seal(&huge)),
            ErrorKind::TooLarge { size, limit: 512 }
        );
    }

    #[test]
    fn rejects_a_value_longer_than_the_size_limit_before_decoding() {
        let ring = ring([key()]);
        let big = codec(ring.clone()).seal(&vec![1u8; 1000]).unwrap();
        let small = Codec::builder(ring).size_limit(512).build().unwrap();
        assert_eq!(
            kind(small.open::<Vec<u8>>(big.value())),
            ErrorKind::Rejected
        );
    }
}
