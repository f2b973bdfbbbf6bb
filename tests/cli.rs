//! The `sealed-session` operator tool, run as a built binary: keygen output
//! parses, seal → inspect round trips (and a map session reads what seal
//! wrote), rotation shows up as "primary: no", tampered values are rejected
//! with exit code 1, expiry under short timeouts, store pointers, usage
//! errors exit 2, and no key bytes it is given ever reach its output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sealed_session::store::MemoryStore;
use sealed_session::{
    Algorithm, Codec, Key, KeyRing, Map, MapSession, Overflow, SessionManager, Times,
};

const BIN: &str = env!("CARGO_BIN_EXE_sealed-session");

/// Runs the tool with `keys` (if any) in `SESSION_KEYS` and `stdin` on its
/// standard input.
fn run_with(args: &[&str], keys: Option<&str>, stdin: &str) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("SESSION_KEYS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(keys) = keys {
        command.env("SESSION_KEYS", keys);
    }
    let mut child = command.spawn().expect("the sealed-session binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn run(args: &[&str], keys: Option<&str>) -> Output {
    run_with(args, keys, "")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The value of the `label: value` line, if any.
fn field(output: &Output, label: &str) -> Option<String> {
    stdout(output)
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{label}: ")).map(str::to_owned))
}

fn success(output: Output) -> Output {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(&output),
        stderr(&output)
    );
    output
}

/// Drives a future that needs no reactor (the in-memory store's) to the end.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Seals a map session with the tool; returns the cookie value.
fn seal(keys: &str, extra: &[&str]) -> String {
    let args = [&["seal"][..], extra].concat();
    let output = success(run(&args, Some(keys)));
    let value = stdout(&output).trim().to_owned();
    assert_eq!(stdout(&output).lines().count(), 1, "seal prints one line");
    value
}

/// Runs `inspect` with `args` and `keys` in `SESSION_KEYS`.
fn inspect(args: &[&str], keys: &str) -> Output {
    run(&[&["inspect"][..], args].concat(), Some(keys))
}

/// Runs `inspect` on `value` under an idle and an absolute timeout, in
/// seconds.
fn inspect_with_timeouts(idle: &str, absolute: &str, value: &str, keys: &str) -> Output {
    inspect(&["--idle", idle, "--absolute", absolute, value], keys)
}

fn codec(keys: &str) -> Codec {
    Codec::builder(KeyRing::from_key_strings(keys).unwrap())
        .build()
        .unwrap()
}

#[test]
fn keygen_prints_a_key_that_parses_with_its_id_and_algorithm() {
    for &algorithm in Algorithm::ALL {
        let output = success(run(&["keygen", "--algorithm", algorithm.name()], None));
        let key = Key::parse(&field(&output, "key").unwrap()).unwrap();
        assert_eq!(field(&output, "key id").unwrap(), key.id().to_string());
        assert_eq!(field(&output, "algorithm").unwrap(), algorithm.name());
        assert_eq!(key.algorithm(), algorithm);
        assert!(stderr(&output).is_empty());
    }
    // The default is the library's default, and every run is a new key.
    let a = success(run(&["keygen"], None));
    let b = success(run(&["keygen"], None));
    let key = Key::parse(&field(&a, "key").unwrap()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::default());
    assert_ne!(field(&a, "key"), field(&b, "key"));
    // The key string is exactly what `KeyRing::from_env` reads.
    KeyRing::from_key_strings(&field(&a, "key").unwrap()).unwrap();
}

#[test]
fn seal_then_inspect_shows_key_primary_inline_and_size() {
    let key = Key::generate().with_algorithm(Algorithm::Aes256Gcm);
    let keys = key.to_key_string();
    let issued = now_secs() - 30;
    let value = seal(
        &keys,
        &[
            "--json",
            r#"{"user":"alice","n":42}"#,
            "--issued-at",
            &issued.to_string(),
        ],
    );

    let output = success(inspect(&[&value], &keys));
    assert_eq!(field(&output, "key id").unwrap(), key.id().to_string());
    assert_eq!(field(&output, "algorithm").unwrap(), "aes-256-gcm");
    assert_eq!(field(&output, "key in ring").unwrap(), "yes");
    assert_eq!(field(&output, "primary").unwrap(), "yes");
    assert_eq!(field(&output, "location").unwrap(), "inline");
    assert_eq!(field(&output, "expired").unwrap(), "no");
    let issued_line = field(&output, "issued at").unwrap();
    assert!(
        issued_line.ends_with(&format!("Z ({issued})")),
        "{issued_line}"
    );
    assert_eq!(field(&output, "renewed at").unwrap(), issued_line);

    // The payload is postcard of the map session.
    let expected: BTreeMap<String, Vec<u8>> = [
        ("n".to_owned(), postcard::to_allocvec(&42u64).unwrap()),
        ("user".to_owned(), postcard::to_allocvec("alice").unwrap()),
    ]
    .into();
    let expected = postcard::to_allocvec(&expected).unwrap();
    assert_eq!(
        field(&output, "payload bytes").unwrap(),
        expected.len().to_string()
    );
    assert_eq!(
        field(&output, "cookie bytes").unwrap(),
        format!(
            "{} (name=value; limit 4096)",
            "__Host-session=".len() + value.len()
        )
    );

    let hex = success(inspect(&["--hex", &value], &keys));
    let hex_expected: String = expected.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(field(&hex, "payload").unwrap(), hex_expected);

    let json = success(inspect(&["--json-type", "map", &value], &keys));
    assert_eq!(
        field(&json, "payload").unwrap(),
        r#"{"n":"2a","user":"05616c696365"}"#
    );
}

#[test]
fn a_map_session_reads_what_seal_wrote() {
    let keys = Key::generate().to_key_string();
    let value = seal(
        &keys,
        &[
            "--json",
            r#"{"user":"alice","n":42,"neg":-3,"ok":true,"pi":3.5}"#,
        ],
    );
    let manager = SessionManager::with_codec(codec(&keys)).build().unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        format!("__Host-session={value}").parse().unwrap(),
    );
    let session: MapSession = manager.load_sync(&headers).unwrap();
    assert!(!session.is_new(), "{:?}", session.fresh_reason());
    assert_eq!(session.get::<String>("user").unwrap().unwrap(), "alice");
    assert_eq!(session.get::<u64>("n").unwrap(), Some(42));
    assert_eq!(session.get::<i64>("neg").unwrap(), Some(-3));
    assert_eq!(session.get::<bool>("ok").unwrap(), Some(true));
    assert_eq!(session.get::<f64>("pi").unwrap(), Some(3.5));
}

#[test]
fn seal_binds_the_cookie_name() {
    let keys = Key::generate().to_key_string();
    let value = seal(&keys, &["--cookie-name", "__Host-sid"]);
    success(inspect(&["--cookie-name", "__Host-sid", &value], &keys));
    let other = inspect(&[&value], &keys);
    assert_eq!(other.status.code(), Some(1));
    assert_eq!(stderr(&other).trim(), "rejected");
}

#[test]
fn a_key_rotated_out_of_primary_shows_primary_no() {
    let (old, new) = (Key::generate(), Key::generate());
    let value = seal(&old.to_key_string(), &[]);
    let ring = format!("{},{}", new.to_key_string(), old.to_key_string());
    let output = success(inspect(&[&value], &ring));
    assert_eq!(field(&output, "key id").unwrap(), old.id().to_string());
    assert_eq!(field(&output, "key in ring").unwrap(), "yes");
    assert_eq!(field(&output, "primary").unwrap(), "no");
}

#[test]
fn a_key_dropped_from_the_ring_is_rejected_and_named_from_the_header() {
    let (old, new) = (Key::generate(), Key::generate());
    let value = seal(&old.to_key_string(), &[]);
    let output = inspect(&[&value], &new.to_key_string());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).trim(), "rejected");
    assert_eq!(
        field(&output, "key id").unwrap(),
        format!("{} (from the header, unauthenticated)", old.id())
    );
    assert_eq!(field(&output, "key in ring").unwrap(), "no");
    assert_eq!(field(&output, "primary"), None);
}

#[test]
fn a_tampered_value_is_rejected_with_exit_code_1() {
    let keys = Key::generate().to_key_string();
    let value = seal(&keys, &["--json", r#"{"user":"alice"}"#]);
    let mut bytes = value.clone().into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    for candidate in [tampered.as_str(), &value[..value.len() - 1], "garbage", ""] {
        let output = inspect(&["--hex", candidate], &keys);
        assert_eq!(output.status.code(), Some(1), "{candidate}");
        assert_eq!(stderr(&output).trim(), "rejected");
        assert_eq!(field(&output, "payload"), None);
        assert_eq!(field(&output, "primary"), None);
    }
}

#[test]
fn expired_shows_under_a_short_idle_timeout_and_an_old_issued_at() {
    let keys = Key::generate().to_key_string();
    let issued = (now_secs() - 100).to_string();
    let value = seal(&keys, &["--issued-at", &issued]);

    let live = success(inspect(&[&value], &keys));
    assert_eq!(field(&live, "expired").unwrap(), "no");

    let idle = success(inspect_with_timeouts("10", "1000", &value, &keys));
    assert_eq!(
        field(&idle, "expired").unwrap(),
        "yes (idle deadline passed)"
    );
    let deadline = field(&idle, "idle deadline").unwrap();
    let expected = issued.parse::<u64>().unwrap() + 10;
    assert!(deadline.ends_with(&format!("Z ({expected})")), "{deadline}");

    let absolute = success(inspect_with_timeouts("50", "50", &value, &keys));
    assert_eq!(
        field(&absolute, "expired").unwrap(),
        "yes (idle and absolute deadlines passed)"
    );

    // Renewed recently but issued long ago: only the absolute deadline.
    let renewed = (now_secs() - 5).to_string();
    let value = seal(&keys, &["--issued-at", &issued, "--renewed-at", &renewed]);
    let output = success(inspect_with_timeouts("60", "90", &value, &keys));
    assert_eq!(
        field(&output, "expired").unwrap(),
        "yes (absolute deadline passed)"
    );
}

#[test]
fn inspect_reads_the_value_from_stdin_with_or_without_the_cookie_name() {
    let keys = Key::generate().to_key_string();
    let value = seal(&keys, &[]);
    for input in [format!("{value}\n"), format!("__Host-session={value}\n")] {
        let output = success(run_with(&["inspect", "-"], Some(&keys), &input));
        assert_eq!(field(&output, "location").unwrap(), "inline");
    }
}

#[test]
fn json_types_decode_primitives_and_refuse_the_wrong_type() {
    let keys = Key::generate().to_key_string();
    let codec = codec(&keys);
    let cases: [(&str, String, &str); 3] = [
        (
            "string",
            codec.seal(&"hello".to_owned()).unwrap().into_value(),
            r#""hello""#,
        ),
        ("u64", codec.seal(&300u64).unwrap().into_value(), "300"),
        (
            "bytes",
            codec.seal(&vec![1u8, 0xfe]).unwrap().into_value(),
            r#""01fe""#,
        ),
    ];
    for (ty, value, json) in &cases {
        let output = success(inspect(&["--json-type", ty, value], &keys));
        assert_eq!(field(&output, "payload").unwrap(), *json);
    }
    // "hello" is not a u64 (trailing bytes), and not a map.
    for ty in ["u64", "map"] {
        let output = inspect(&["--json-type", ty, &cases[0].1], &keys);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            stderr(&output).trim(),
            format!("payload does not decode as {ty}")
        );
        // The inspection itself was still printed.
        assert_eq!(field(&output, "location").unwrap(), "inline");
    }
}

#[test]
fn a_store_pointer_shows_its_store_id() {
    let keys = Key::generate().to_key_string();
    let codec = Codec::builder(KeyRing::from_key_strings(&keys).unwrap())
        .size_limit(256)
        .build()
        .unwrap();
    let manager = SessionManager::with_codec(codec)
        .store(Arc::new(MemoryStore::new()))
        .overflow(Overflow::Store)
        .build()
        .unwrap();
    let (value, id) = block_on(async {
        let mut session: MapSession = manager.load(&http::HeaderMap::new()).await.unwrap();
        session.insert("big", &"x".repeat(1000)).unwrap();
        let mut headers = http::HeaderMap::new();
        manager.save(&mut session, &mut headers).await.unwrap();
        let set_cookie = headers[http::header::SET_COOKIE].to_str().unwrap();
        let pair = set_cookie.split(';').next().unwrap();
        let value = pair.strip_prefix("__Host-session=").unwrap().to_owned();
        (value, session.store_id().unwrap())
    });

    let output = success(inspect(&[&value], &keys));
    assert_eq!(field(&output, "location").unwrap(), "store");
    assert_eq!(field(&output, "store id").unwrap(), id.to_hex());
    assert_eq!(field(&output, "payload bytes"), None);
    let hex = inspect(&["--hex", &value], &keys);
    assert_eq!(hex.status.code(), Some(1));
    assert!(stderr(&hex).contains("in the store"));
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let keys = Key::generate().to_key_string();
    let value = seal(&keys, &[]);
    let cases: [(&[&str], Option<&str>); 8] = [
        (&["inspect", &value], None),
        (&["inspect", &value], Some("not-a-key")),
        (&["inspect"], Some(&keys)),
        (
            &["inspect", "--hex", "--json-type", "map", &value],
            Some(&keys),
        ),
        (
            &["inspect", "--idle", "100", "--absolute", "10", &value],
            Some(&keys),
        ),
        (&["seal", "--json", "[1]"], Some(&keys)),
        (&["seal", "--json", r#"{"a":{"b":1}}"#], Some(&keys)),
        (&["keygen", "--algorithm", "rot13"], None),
    ];
    for (args, keys) in cases {
        let output = run(args, keys);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).is_empty());
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    let missing = run(&["seal"], None);
    assert!(stderr(&missing).contains("SESSION_KEYS"));
}

#[test]
fn key_bytes_given_never_appear_in_any_output() {
    let (a, b) = (
        Key::generate(),
        Key::generate().with_algorithm(Algorithm::XChaCha20Poly1305),
    );
    let keys = format!("{},{}", a.to_key_string(), b.to_key_string());
    let old_only = Key::generate();
    let value = seal(&keys, &["--json", r#"{"user":"alice"}"#]);
    let old_value = seal(&old_only.to_key_string(), &[]);
    let codec = codec(&keys);
    let string_value = codec.seal(&"x".to_owned()).unwrap().into_value();
    let expired = seal(&keys, &["--issued-at", "1000"]);

    let runs: Vec<Vec<&str>> = vec![
        vec!["keygen"],
        vec!["--help"],
        vec!["inspect", "--help"],
        vec!["seal", "--help"],
        vec!["seal"],
        vec!["seal", "--json", r#"{"k":"v"}"#, "--issued-at", "5"],
        vec!["seal", "--json", "nope"],
        vec!["inspect", &value],
        vec!["inspect", "--hex", &value],
        vec!["inspect", "--json-type", "map", &value],
        vec!["inspect", "--json-type", "u64", &value],
        vec!["inspect", "--json-type", "string", &string_value],
        vec!["inspect", &expired],
        vec!["inspect", &old_value],
        vec!["inspect", "garbage"],
        vec!["inspect", "--cookie-name", "bad name", &value],
        vec!["inspect", "--keys-env", "SESSION_KEYS_UNSET", &value],
    ];
    let secrets = [a.to_base64(), b.to_base64()];
    for args in &runs {
        let output = run(args, Some(&keys));
        let all = format!("{}{}", stdout(&output), stderr(&output));
        for secret in &secrets {
            // Not the key, nor a recognisable piece of it (base64 of a
            // 32-byte key is 43 characters; any 16 of them in a row would be
            // a leak).
            for window in secret.as_bytes().windows(16) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!all.contains(window), "{args:?} printed part of a key");
            }
        }
    }
}

#[test]
fn inspect_agrees_with_the_library_on_times() {
    let keys = Key::generate().to_key_string();
    let codec = codec(&keys);
    let issued = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let map = Map::default();
    let value = codec
        .seal_with_times(&map, Times::new(issued))
        .unwrap()
        .into_value();
    let output = success(inspect(&[&value], &keys));
    assert_eq!(
        field(&output, "issued at").unwrap(),
        "2023-11-14T22:13:20Z (1700000000)"
    );
    assert_eq!(
        field(&output, "idle deadline").unwrap(),
        "2023-11-15T22:13:20Z (1700086400)"
    );
    assert_eq!(
        field(&output, "absolute deadline").unwrap(),
        "2023-11-28T22:13:20Z (1701209600)"
    );
    assert_eq!(
        field(&output, "expired").unwrap(),
        "yes (idle and absolute deadlines passed)"
    );
    assert_eq!(field(&output, "payload bytes").unwrap(), "1");
}

#[test]
fn a_pasted_name_equals_value_is_inspected_under_its_own_name() {
    let keys = Key::generate().to_key_string();
    let value = seal(&keys, &["--cookie-name", "cart"]);
    // As a browser's devtools show it: the name comes with the value, and
    // wins over the default --cookie-name.
    let output = success(inspect(&[&format!("cart={value}")], &keys));
    assert_eq!(
        field(&output, "cookie name").as_deref(),
        Some("cart (from the value)")
    );
    assert_eq!(field(&output, "primary").as_deref(), Some("yes"));
    // The seal subcommand seals a map session: its schema id is shown.
    let map_schema = sealed_session::SchemaId::of::<sealed_session::Map>().to_string();
    assert_eq!(field(&output, "schema"), Some(map_schema));
    assert_eq!(
        field(&output, "format version"),
        Some(sealed_session::FORMAT_VERSION.to_string())
    );
}

#[test]
fn a_value_sealed_for_another_cookie_name_gets_a_hint() {
    let keys = Key::generate().to_key_string();
    let value = seal(&keys, &["--cookie-name", "cart"]);
    let output = inspect(&[&value], &keys);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).trim(), "rejected");
    assert_eq!(field(&output, "key in ring").as_deref(), Some("yes"));
    let hint = field(&output, "hint").unwrap();
    assert!(
        hint.contains("another cookie name than __Host-session"),
        "{hint}"
    );
    // A key the ring does not hold gets no such hint.
    let other_keys = Key::generate().to_key_string();
    let output = inspect(&[&value], &other_keys);
    assert_eq!(field(&output, "key in ring").as_deref(), Some("no"));
    assert_eq!(field(&output, "hint"), None);
}
