//! `seal`: seals a map session given as JSON, for tests and debugging.

use std::fmt::Write as _;
use std::time::SystemTime;

use sealed_session::limits::{DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
use sealed_session::{Codec, Map, SessionManager, Times};

use super::text::unix;
use super::{Exit, SealArgs, codec};

pub(super) fn run_seal(args: &SealArgs, out: &mut String) -> Result<(), Exit> {
    let codec = codec(
        &args.ring,
        &args.ring.cookie_name,
        DEFAULT_IDLE_TIMEOUT,
        DEFAULT_ABSOLUTE_TIMEOUT,
    )?;
    let map = map_from_json(&codec, &args.json)?;
    let issued_at = match args.issued_at {
        Some(secs) => unix("--issued-at", secs)?,
        None => SystemTime::now(),
    };
    let renewed_at = match args.renewed_at {
        Some(secs) => unix("--renewed-at", secs)?,
        None => issued_at,
    };
    let times = Times::from_parts(issued_at, renewed_at);
    let sealed = codec
        .seal_with_times(&map, times)
        .map_err(|e| Exit::failure(format!("error: {e}")))?;
    let _ = writeln!(out, "{}", sealed.value());
    Ok(())
}

/// A [`Map`] built with the library's own `MapSession::insert`, so what this
/// seals is exactly what a map session reads.
fn map_from_json(codec: &Codec, json: &str) -> Result<Map, Exit> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|_| Exit::usage("error: --json must be a JSON object"))?;
    let manager = SessionManager::with_codec(codec.clone())
        .build()
        .map_err(|e| Exit::usage(format!("error: {e}")))?;
    let mut session = manager
        .load_sync::<Map>(&http::HeaderMap::new())
        .map_err(|e| Exit::usage(format!("error: {e}")))?;
    for (key, value) in &object {
        let inserted = match value {
            serde_json::Value::String(s) => session.insert(key.as_str(), s),
            serde_json::Value::Bool(b) => session.insert(key.as_str(), b),
            serde_json::Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    session.insert(key.as_str(), &u)
                } else if let Some(i) = n.as_i64() {
                    session.insert(key.as_str(), &i)
                } else {
                    session.insert(key.as_str(), &n.as_f64().unwrap_or(f64::NAN))
                }
            }
            _ => {
                return Err(Exit::usage(format!(
                    "error: --json value of {key:?} must be a string, number or boolean"
                )));
            }
        };
        inserted.map_err(|e| Exit::failure(format!("error: {e}")))?;
    }
    Ok(session.into_inner())
}
