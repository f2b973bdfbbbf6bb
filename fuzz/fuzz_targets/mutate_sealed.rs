//! A valid sealed value (one per algorithm, sealed once) with
//! fuzzer-chosen edits: it opens to the original only when the edits left
//! the string unchanged, and is otherwise `Rejected`.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use fuzz_support::{Edit, FuzzSession, apply, codecs, fixed_session, now};
use libfuzzer_sys::fuzz_target;
use sealed_session::{ErrorKind, Times};

#[derive(Arbitrary, Debug)]
struct Input {
    which: u8,
    edits: Vec<Edit>,
}

/// The fixed session sealed by each default codec (one per algorithm),
/// issued ten seconds before the fixed clock.
fn sealed() -> &'static [String; 3] {
    static SEALED: OnceLock<[String; 3]> = OnceLock::new();
    SEALED.get_or_init(|| {
        let times = Times::new(now() - Duration::from_secs(10));
        std::array::from_fn(|i| {
            codecs()[i]
                .0
                .seal_with_times(&fixed_session(), times)
                .expect("the fixed session fits a cookie")
                .into_value()
        })
    })
}

fuzz_target!(|input: Input| {
    let index = usize::from(input.which) % 3;
    let original = &sealed()[index];
    let codec = &codecs()[index].0;
    let mut bytes = original.as_bytes().to_vec();
    apply(&mut bytes, &input.edits);
    // Lossy: invalid UTF-8 becomes U+FFFD, which differs from the
    // all-ASCII original, so `value == original` iff the bytes are unchanged.
    let value = String::from_utf8_lossy(&bytes);
    let result = codec.open_at::<FuzzSession>(&value, now());
    if value == original.as_str() {
        let opened = result.expect("the unchanged value opens");
        assert_eq!(opened.value(), &fixed_session());
    } else {
        match result {
            Ok(_) => panic!("an edited value opened"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Rejected),
        }
    }
});
