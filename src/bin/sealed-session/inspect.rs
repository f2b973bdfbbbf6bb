//! `inspect`: opens a cookie value with the ring and prints what it holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read as _};
use std::time::Duration;

use sealed_session::inspect::{self, Contents, Header, Inspection, Payload};
use sealed_session::{Codec, ErrorKind};

use super::text::{hex, timestamp, yes_no};
use super::{Exit, InspectArgs, JsonType, MAX_STDIN_BYTES, codec};

pub(super) fn run_inspect(args: &InspectArgs, out: &mut String) -> Result<(), Exit> {
    let input = if args.value == "-" {
        read_stdin()?
    } else {
        args.value.clone()
    };
    // A pasted `NAME=VALUE` names the cookie it came from: use that name
    // (base64url has no `=`, so any `=` ends a name).
    let (name, value) = cookie_value(&input);
    let name = name.unwrap_or(&args.ring.cookie_name);
    if name != args.ring.cookie_name {
        let _ = writeln!(out, "cookie name: {name} (from the value)");
    }
    let codec = codec(
        &args.ring,
        name,
        Duration::from_secs(args.idle),
        Duration::from_secs(args.absolute),
    )?;
    let seen = match inspect::inspect(&codec, value) {
        Ok(seen) => seen,
        Err(e) => {
            if let Some(header) = Header::peek(value) {
                write_header(out, &codec, header);
                if e.kind() == ErrorKind::Rejected && codec.ring().contains(header.key_id()) {
                    let _ = writeln!(
                        out,
                        "hint: the ring holds this key but the value did not authenticate: \
                         sealed for another cookie name than {name}? (give it with \
                         --cookie-name or paste NAME=VALUE), or tampered or truncated"
                    );
                }
            }
            let verdict = match e.kind() {
                ErrorKind::Undecodable => "undecodable",
                _ => "rejected",
            };
            return Err(Exit::failure(verdict));
        }
    };
    write_inspection(out, &codec, &seen);
    match (&seen.contents(), args.hex, args.json_type) {
        (_, false, None) => Ok(()),
        (Contents::Inline(payload), true, _) => {
            let _ = writeln!(out, "payload: {}", hex(payload.as_bytes()));
            Ok(())
        }
        (Contents::Inline(payload), false, Some(ty)) => {
            let json = payload_json(payload, ty)?;
            let _ = writeln!(out, "payload: {json}");
            Ok(())
        }
        _ => Err(Exit::failure(
            "no payload to show: the session is in the store, the cookie holds only its id",
        )),
    }
}

/// The cookie's name, when the input is `NAME=VALUE`, and its value, with
/// surrounding whitespace removed.
fn cookie_value(input: &str) -> (Option<&str>, &str) {
    let input = input.trim();
    match input.split_once('=') {
        Some((name, value)) => (Some(name.trim()), value.trim()),
        None => (None, input),
    }
}

fn read_stdin() -> Result<String, Exit> {
    let mut input = String::new();
    io::stdin()
        .take(MAX_STDIN_BYTES)
        .read_to_string(&mut input)
        .map_err(|_| Exit::usage("error: standard input is not readable text"))?;
    Ok(input)
}

/// Header fields for a value that did not open: not authenticated.
fn write_header(out: &mut String, codec: &Codec, header: Header) {
    let _ = writeln!(
        out,
        "key id: {} (from the header, unauthenticated)",
        header.key_id()
    );
    let _ = writeln!(
        out,
        "algorithm: {} (from the header, unauthenticated)",
        header.algorithm()
    );
    if let Some(schema) = header.schema() {
        let _ = writeln!(out, "schema: {schema} (from the header, unauthenticated)");
    }
    let _ = writeln!(
        out,
        "key in ring: {}",
        yes_no(codec.ring().contains(header.key_id()))
    );
}

fn write_inspection(out: &mut String, codec: &Codec, seen: &Inspection) {
    let with = seen.opened_with();
    let times = seen.times();
    let _ = writeln!(out, "key id: {}", with.key_id());
    let _ = writeln!(out, "algorithm: {}", with.algorithm());
    let _ = writeln!(out, "key in ring: yes");
    let _ = writeln!(out, "primary: {}", yes_no(with.is_primary()));
    let _ = writeln!(out, "format version: {}", with.format_version());
    let _ = writeln!(out, "session id: {}", seen.session_id());
    if let Some(subject) = seen.subject() {
        let _ = writeln!(out, "subject: {subject}");
    }
    if let Some(schema) = with.schema() {
        let _ = writeln!(out, "schema: {schema}");
    }
    let _ = writeln!(out, "issued at: {}", timestamp(times.issued_at()));
    let _ = writeln!(out, "renewed at: {}", timestamp(times.renewed_at()));
    if let Some(expiry) = seen.expiry() {
        let _ = writeln!(
            out,
            "own expiry: idle {} s, absolute {} s, {} cookie",
            expiry.idle_timeout().as_secs(),
            expiry.absolute_timeout().as_secs(),
            if expiry.is_persistent() {
                "persistent"
            } else {
                "browser-session"
            }
        );
    }
    let _ = writeln!(out, "idle deadline: {}", timestamp(seen.idle_deadline()));
    let _ = writeln!(
        out,
        "absolute deadline: {}",
        timestamp(seen.absolute_deadline())
    );
    let expired = match (seen.idle_expired(), seen.absolute_expired()) {
        (false, false) => "no",
        (true, false) => "yes (idle deadline passed)",
        (false, true) => "yes (absolute deadline passed)",
        (true, true) => "yes (idle and absolute deadlines passed)",
    };
    let _ = writeln!(out, "expired: {expired}");
    match seen.contents() {
        Contents::Inline(payload) => {
            let _ = writeln!(out, "location: inline");
            let _ = writeln!(out, "payload bytes: {}", payload.len());
        }
        Contents::Stored(id) => {
            let _ = writeln!(out, "location: store");
            // The whole id, so an operator can find the entry; the
            // library's `Display` of an id is redacted.
            let _ = writeln!(out, "store id: {}", id.to_hex());
        }
        // `Contents` is non-exhaustive: a later library version may add kinds.
        _ => {
            let _ = writeln!(out, "location: unknown");
        }
    }
    let _ = writeln!(
        out,
        "cookie bytes: {} (name=value; limit {})",
        seen.cookie_bytes(),
        codec.size_limit()
    );
}

fn payload_json(payload: &Payload, ty: JsonType) -> Result<String, Exit> {
    let (name, json) = match ty {
        JsonType::Map => (
            "map",
            payload.decode::<BTreeMap<String, Vec<u8>>>().map(|map| {
                let object = map
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(hex(v))))
                    .collect::<serde_json::Map<_, _>>();
                serde_json::Value::Object(object)
            }),
        ),
        JsonType::String => ("string", payload.decode::<String>().map(Into::into)),
        JsonType::U64 => ("u64", payload.decode::<u64>().map(Into::into)),
        JsonType::Bytes => ("bytes", payload.decode::<Vec<u8>>().map(|b| hex(&b).into())),
    };
    json.map(|v| v.to_string())
        .map_err(|_| Exit::failure(format!("payload does not decode as {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_value_strips_whitespace_and_takes_the_name() {
        assert_eq!(cookie_value(" abc\n"), (None, "abc"));
        assert_eq!(cookie_value("session=abc"), (Some("session"), "abc"));
        assert_eq!(
            cookie_value("__Host-session=AQ"),
            (Some("__Host-session"), "AQ")
        );
        assert_eq!(cookie_value(" other = abc "), (Some("other"), "abc"));
        assert_eq!(cookie_value("sessionabc"), (None, "sessionabc"));
    }
}
