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

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealed_session::limits::{DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
use sealed_session::{Algorithm, Codec, Key, KeyRing};

mod inspect;
mod seal;
mod text;

use inspect::run_inspect;
use seal::run_seal;

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
