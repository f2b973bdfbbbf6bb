//! Per algorithm: which keys open a value: not a ring without its key, not
//! under another cookie name, not the same key material under another
//! algorithm, not relabelled with another key of the ring; and after
//! rotation, any older key still in the ring, reported as not the primary.

use sealed_session::limits::MAX_KEYS;
use sealed_session::{Algorithm, ErrorKind, Key, KeyRing, Times};

use crate::fixtures::{
    User, algorithm_suites, codec, decode, encode, kind, named, open_user, ring, seal_t0, secs, t0,
    user, with_byte,
};

algorithm_suites! {
    #[test]
    fn rejects_a_ring_without_the_key() {
        let (_, value) = sealed();
        let other = codec(ring([key(), key()]));
        assert_eq!(kind(open_user(&other, &value)), ErrorKind::Rejected);
    }

    #[test]
    fn rejects_swapped_cookie_name() {
        let ring = ring([key()]);
        let a = named(ring.clone(), "a");
        let b = named(ring, "b");
        let value = a.seal_with_times(&user(), Times::new(t0())).unwrap();
        assert_eq!(open_user(&a, value.value()).unwrap(), user());
        assert_eq!(kind(open_user(&b, value.value())), ErrorKind::Rejected);
    }

    #[test]
    fn rejects_the_same_key_material_under_another_algorithm() {
        let key = key();
        let codec_here = codec(ring([key.clone()]));
        let value = seal_t0(&codec_here, &user());
        for other in Algorithm::ALL.iter().copied().filter(|&a| a != ALGORITHM) {
            let codec_there = codec(ring([key.clone().with_algorithm(other)]));
            assert_eq!(codec_there.ring().primary_id(), key.id());
            assert_eq!(kind(open_user(&codec_there, &value)), ErrorKind::Rejected);
            // Relabelled to the other algorithm, it still fails.
            let relabelled = with_byte(&decode(&value), 1, other.wire_id());
            assert_eq!(
                kind(open_user(&codec_there, &relabelled)),
                ErrorKind::Rejected
            );
        }
    }

    #[test]
    fn rejects_a_value_relabelled_with_another_key_in_the_ring() {
        let (a, b) = (key(), key());
        let sealer = codec(ring([a.clone()]));
        let opener = codec(ring([a, b.clone()]));
        let value = seal_t0(&sealer, &user());
        let mut raw = decode(&value);
        raw[2..6].copy_from_slice(&b.id().to_bytes());
        assert_eq!(kind(open_user(&opener, &encode(&raw))), ErrorKind::Rejected);
    }

    #[test]
    fn opens_a_value_sealed_by_an_older_key_and_reports_it() {
        let (a, b) = (key(), key());
        let value = seal_t0(&codec(ring([a.clone()])), &user());

        let rotated = codec(ring([b.clone(), a.clone()]));
        let opened = rotated.open_at::<User>(&value, t0() + secs(1)).unwrap();
        assert_eq!(opened.value(), &user());
        assert_eq!(opened.opened_with().key_id(), a.id());
        assert_eq!(opened.opened_with().algorithm(), ALGORITHM);
        assert!(!opened.opened_with().is_primary());

        // Re-sealed by the rotated codec, it names the new key.
        let resealed = rotated
            .seal_with_times(opened.value(), opened.times())
            .unwrap();
        let again = rotated
            .open_at::<User>(resealed.value(), t0() + secs(1))
            .unwrap();
        assert_eq!(again.opened_with().key_id(), b.id());
        assert!(again.opened_with().is_primary());
        assert_eq!(again.times(), Times::new(t0()));

        // The old key alone still opens the old value.
        let old_only = codec(ring([a.clone()]));
        let opened = old_only.open_at::<User>(&value, t0() + secs(1)).unwrap();
        assert!(opened.opened_with().is_primary());

        // Once the old key is dropped, the old value is rejected.
        let new_only = codec(ring([b]));
        assert_eq!(kind(open_user(&new_only, &value)), ErrorKind::Rejected);
    }

    #[test]
    fn opens_with_any_of_many_older_keys() {
        let keys: Vec<Key> = (0..MAX_KEYS).map(|_| key()).collect();
        let ring = ring(keys.clone());
        for key in keys.iter().step_by(7) {
            let value = seal_t0(&codec(KeyRing::new([key.clone()]).unwrap()), &user());

            let opened = codec(ring.clone())
                .open_at::<User>(&value, t0() + secs(1))
                .unwrap();
            assert_eq!(opened.opened_with().key_id(), key.id());
            assert_eq!(opened.opened_with().is_primary(), key.id() == keys[0].id());
        }
    }
}
