//! Seals a session, prints the `Set-Cookie` value, and opens it again.
//!
//! ```sh
//! cargo run --example seal
//! SESSION_KEYS="$(cargo run -q --example seal -- --keygen)" cargo run --example seal
//! ```

use std::time::Duration;

use sealed_session::{Codec, Key, KeyRing};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Session {
    user_id: u64,
    name: String,
    role: String,
    csrf: [u8; 32],
}

fn main() -> Result<(), sealed_session::Error> {
    if std::env::args().any(|a| a == "--keygen") {
        let key = Key::generate();
        println!("{}", key.to_key_string());
        eprintln!("key id {} ({})", key.id(), key.algorithm());
        return Ok(());
    }
    // Keys come from SESSION_KEYS (comma-separated, primary first) when set;
    // otherwise a throwaway key for this run.
    let ring = match std::env::var_os("SESSION_KEYS") {
        Some(_) => KeyRing::from_env("SESSION_KEYS")?,
        None => KeyRing::new([Key::generate()])?,
    };
    let codec = Codec::builder(ring)
        .cookie_name("__Host-session")
        .idle_timeout(Duration::from_secs(30 * 60))
        .absolute_timeout(Duration::from_secs(8 * 60 * 60))
        .build()?;

    let session = Session {
        user_id: 42,
        name: "Ada Lovelace".into(),
        role: "admin".into(),
        csrf: [7; 32],
    };
    let sealed = codec.seal(&session)?;
    println!(
        "Set-Cookie: {}={}; HttpOnly; Secure; SameSite=Lax; Path=/",
        codec.cookie_name(),
        sealed.value()
    );
    println!(
        "cookie name+value: {} bytes (limit {})",
        sealed.size(),
        codec.size_limit()
    );

    let opened = codec.open::<Session>(sealed.value())?;
    let with = opened.opened_with();
    println!(
        "opened with key {} ({}), primary: {}",
        with.key_id(),
        with.algorithm(),
        with.is_primary()
    );
    println!("session: {:?}", opened.value());
    assert_eq!(opened.into_value(), session);
    Ok(())
}
