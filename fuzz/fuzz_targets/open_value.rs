//! Arbitrary bytes as a cookie value, opened by codecs whose ring holds a
//! key of every algorithm. The ring sealed nothing the fuzzer can see, so
//! nothing may open, every failure is the one opaque `Rejected`, and no
//! error message echoes the input.

#![no_main]

use fuzz_support::{FuzzSession, codecs, now, other_name_codec};
use libfuzzer_sys::fuzz_target;
use sealed_session::{Codec, ErrorKind};

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    for (codec, _) in codecs() {
        check(codec, &value);
    }
    check(other_name_codec(), &value);
});

/// The message of a rejection that carries no input at all.
fn rejected_message(codec: &Codec) -> String {
    match codec.open_at::<()>("", now()) {
        Ok(_) => panic!("the empty value opened"),
        Err(e) => e.to_string(),
    }
}

fn check(codec: &Codec, value: &str) {
    match codec.open_at::<FuzzSession>(value, now()) {
        Ok(_) => panic!("a value the ring never sealed opened"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Rejected, "forged value got {e:?}");
            // One fixed message for every rejection: nothing of the input
            // is echoed.
            assert_eq!(e.to_string(), rejected_message(codec));
        }
    }
    // The unit type asks nothing of the payload; still nothing opens.
    assert!(codec.open_at::<()>(value, now()).is_err());
}
