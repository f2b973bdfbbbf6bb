//! `sealed-session`: the operator tool. Generates keys, inspects cookie
//! values (which key sealed them, their times, expiry, where the session
//! lives) and seals map sessions for tests.
//!
//! Keys are read only from an environment variable, never from the command
//! line, and no key bytes it is given are ever printed: only key ids.
//!
//! Exit codes: 0 success; 1 a value was rejected or undecodable, its payload
//! could not be shown as asked, or sealing failed; 2 a usage or configuration
//! error (bad arguments, key variable unset or invalid).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealed_session::inspect::{self, Contents, Header, Inspection, Payload};
use sealed_session::limits::{DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
use sealed_session::{Algorithm, Codec, ErrorKind, Key, KeyRing, Map, SessionManager, Times};

/// Longest input read from standard input: far above any cookie, so a
/// mistaken pipe cannot exhaust memory.
const MAX_STDIN_BYTES: u64 = 64 * 1024;

#[derive(Parser)]
#[command(
    name = "sealed-session",
    version,
    about = "Operator tool for sealed-session cookies: generate keys, inspect and seal values",
    after_help = "Keys are read from an environment variable (comma-separated `algorithm:base64` \
                  keys, primary first), never from the command line. Key bytes are never printed.\n\
                  Exit codes: 0 success, 1 rejected/undecodable value or failed seal, 2 usage or \
                  configuration error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a new random key (`algorithm:base64`), its key id and algorithm.
    Keygen {
        /// The algorithm the key seals with.
        #[arg(long, value_enum, default_value_t = AlgorithmArg::Xaes256Gcm)]
        algorithm: AlgorithmArg,
    },
    /// Open a cookie value with the ring and show its key, times, expiry and contents.
    Inspect(InspectArgs),
    /// Seal a map session (for tests and debugging) and print the cookie value.
    Seal(SealArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    #[value(name = "aes-256-gcm")]
    Aes256Gcm,
    #[value(name = "xaes-256-gcm")]
    Xaes256Gcm,
    #[value(name = "xchacha20-poly1305")]
    XChaCha20Poly1305,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(arg: AlgorithmArg) -> Self {
        match arg {
            AlgorithmArg::Aes256Gcm => Algorithm::Aes256Gcm,
            AlgorithmArg::Xaes256Gcm => Algorithm::Xaes256Gcm,
            AlgorithmArg::XChaCha20Poly1305 => Algorithm::XChaCha20Poly1305,
        }
    }
}

#[derive(Args)]
struct RingArgs {
    /// Environment variable holding the key ring: comma-separated
    /// `algorithm:base64` keys, primary first.
    #[arg(long, value_name = "VAR", default_value = "SESSION_KEYS")]
    keys_env: String,
    /// The cookie name the value is sealed under (it is bound into the value).
    #[arg(long, value_name = "NAME", default_value = sealed_session::limits::DEFAULT_COOKIE_NAME)]
    cookie_name: String,
}

#[derive(Args)]
struct InspectArgs {
    #[command(flatten)]
    ring: RingArgs,
    /// Idle timeout in seconds, for the expiry check.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle: u64,
    /// Absolute timeout in seconds, for the expiry check.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_ABSOLUTE_TIMEOUT.as_secs())]
    absolute: u64,
    /// Also print the session's payload bytes as hex.
    #[arg(long, conflicts_with = "json_type")]
    hex: bool,
    /// Also print the payload decoded as TYPE, as JSON.
    #[arg(
        long,
        value_enum,
        value_name = "TYPE",
        long_help = "Also print the payload decoded as TYPE, as JSON.\n\n\
                     Payloads are postcard, which is not self-describing: the bytes do not say \
                     what type they hold, so they can only be decoded as a type named here. Only \
                     these built-in types are known: `map` (the library's map session; each \
                     value is shown as the hex of its postcard bytes, since its type is not \
                     recorded either), `string`, `u64` and `bytes` (shown as hex). For an \
                     application's own session struct, use --hex, or decode with \
                     `sealed_session::inspect::Payload::decode` in Rust."
    )]
    json_type: Option<JsonType>,
    /// The cookie value, or `NAME=VALUE` as a browser shows it (the name then
    /// replaces --cookie-name), or `-` to read it from standard input and
    /// keep it out of shell history.
    #[arg(value_name = "COOKIE-VALUE")]
    value: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum JsonType {
    /// The map session: an object of hex-encoded postcard values.
    Map,
    /// A string.
    String,
    /// An unsigned integer.
    U64,
    /// A byte vector, as hex.
    Bytes,
}

#[derive(Args)]
struct SealArgs {
    #[command(flatten)]
    ring: RingArgs,
    /// The map session as a JSON object. Strings are stored as `String`,
    /// booleans as `bool`, whole numbers as `u64` (negative ones as `i64`),
    /// other numbers as `f64`, each as its postcard bytes.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    json: String,
    /// Issued-at time, in seconds since the Unix epoch (default: now).
    #[arg(long, value_name = "SECS")]
    issued_at: Option<u64>,
    /// Last-renewed time, in seconds since the Unix epoch (default: the
    /// issued-at time).
    #[arg(long, value_name = "SECS")]
    renewed_at: Option<u64>,
}

/// Why the tool stops: an exit code and what to say on standard error.
struct Exit {
    code: u8,
    message: String,
}

impl Exit {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    fn failure(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = String::new();
    let result = match cli.command {
        Command::Keygen { algorithm } => {
            keygen(algorithm.into(), &mut out);
            Ok(())
        }
        Command::Inspect(args) => run_inspect(&args, &mut out),
        Command::Seal(args) => run_seal(&args, &mut out),
    };
    // A closed pipe (`| head`) is not worth a panic or a message.
    let _ = io::stdout().lock().write_all(out.as_bytes());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(exit) => {
            let _ = writeln!(io::stderr().lock(), "{}", exit.message);
            ExitCode::from(exit.code)
        }
    }
}

fn keygen(algorithm: Algorithm, out: &mut String) {
    let key = Key::generate().with_algorithm(algorithm);
    // The one place key bytes are printed: a key this run generated.
    let _ = writeln!(out, "key: {}", key.to_key_string());
    let _ = writeln!(out, "key id: {}", key.id());
    let _ = writeln!(out, "algorithm: {}", key.algorithm());
}

/// The ring from the environment, and a codec over it for `cookie_name`.
fn codec(
    ring: &RingArgs,
    cookie_name: &str,
    idle: Duration,
    absolute: Duration,
) -> Result<Codec, Exit> {
    let keys = KeyRing::from_env(&ring.keys_env)
        .map_err(|e| Exit::usage(format!("error: keys from ${}: {e}", ring.keys_env)))?;
    Codec::builder(keys)
        .cookie_name(cookie_name)
        .idle_timeout(idle)
        .absolute_timeout(absolute)
        .build()
        .map_err(|e| Exit::usage(format!("error: {e}")))
}

fn run_inspect(args: &InspectArgs, out: &mut String) -> Result<(), Exit> {
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
    let _ = writeln!(out, "issued at: {}", timestamp(times.issued_at));
    let _ = writeln!(out, "renewed at: {}", timestamp(times.renewed_at));
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

fn run_seal(args: &SealArgs, out: &mut String) -> Result<(), Exit> {
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
    let times = Times {
        issued_at,
        renewed_at,
    };
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

/// The time `secs` seconds after the Unix epoch, given as `flag`; a usage
/// error (not an overflow panic) past what `SystemTime` holds.
fn unix(flag: &str, secs: u64) -> Result<SystemTime, Exit> {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or_else(|| Exit::usage(format!("error: {flag} is too far in the future")))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// RFC 3339 in UTC with the Unix seconds after it:
/// `2023-11-14T22:13:20Z (1700000000)`.
fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z ({secs})",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn huge_issued_at_is_a_usage_error_not_a_panic() {
        for flag in ["--issued-at", "--renewed-at"] {
            let exit = super::unix(flag, u64::MAX).err();
            assert!(
                exit.is_some_and(|e| e.code == 2 && e.message.contains(flag)),
                "{flag}"
            );
        }
        assert!(super::unix("--issued-at", 1_700_000_000).is_ok());
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(unix(0)), "1970-01-01T00:00:00Z (0)");
        assert_eq!(
            timestamp(unix(1_700_000_000)),
            "2023-11-14T22:13:20Z (1700000000)"
        );
        // A leap day, and the last second of a century leap year.
        assert_eq!(
            timestamp(unix(951_782_400)),
            "2000-02-29T00:00:00Z (951782400)"
        );
        assert_eq!(
            timestamp(unix(978_307_199)),
            "2000-12-31T23:59:59Z (978307199)"
        );
        assert_eq!(
            timestamp(unix(4_107_542_400)),
            "2100-03-01T00:00:00Z (4107542400)"
        );
    }

    #[test]
    fn civil_from_days_round_trips_against_counting() {
        let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
        for days in 0..200_000 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

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

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0x00, 0xAB, 0x7f]), "00ab7f");
        assert_eq!(hex(&[]), "");
    }
}
