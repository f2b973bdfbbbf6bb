//! Observability: what loads, saves and store calls report through
//! [`tracing`](https://docs.rs/tracing) events and the
//! [`metrics`](https://docs.rs/metrics) facade.
//!
//! Both are optional features (`tracing`, `metrics`). With both off, every
//! hook the manager calls is an empty inline function and the store is not
//! wrapped: nothing is compiled in. With a feature on and no subscriber or
//! recorder installed, the facades' own no-op paths run.
//!
//! # Security
//!
//! Events and metric labels carry only low-cardinality facts: outcomes and
//! reasons, key ids (the 4-byte id in hex, which names a key without
//! revealing it), algorithms, locations (`cookie`, `store`), store kinds and
//! operations, sizes and durations. Never session data, key material, cookie
//! values, session ids, subjects or store ids, and never a store error's
//! message (a backend's message may quote the entry's key, which holds the
//! store id): only that the operation failed. `tests/observe.rs` captures
//! every event of a full cycle and checks.
//!
//! # Metrics
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`LOADS`] | counter | `outcome`: `opened`, the [`FreshReason`] of a fresh session (`no_cookie`, `rejected`, `expired`, `undecodable`, `unknown_schema`, `missing_from_store`, `revoked`, `revocation_unverified`, `header_too_large`), or `failed` (the store could not be read); `location`: where the session was found (`cookie`, `store`), `none` for a fresh one, `store` for a failure |
//! | [`OPENS`] | counter | `key_id` (8 hex digits), `algorithm`, `primary` (`true`/`false`), `location` (`cookie`: the cookie; `store`: the stored value of a spilled session) |
//! | [`SAVES`] | counter | `outcome`: `unchanged`, `cookie`, `store`, `touched` (a stored session's deadline moved, its value kept), `removed`, `cleared` (a removal cookie for an unusable one), `not_overwritten`, `kept_too_large`, `kept_store_error`, `kept_conflict`, `failed_too_large`, `failed_store_error`, `failed_conflict`, `failed_other` |
//! | [`UNKNOWN_SCHEMAS`] | counter | `schema_id` (8 hex digits; `other` past [`MAX_SCHEMAS_REPORTED`] ids), `location` (`cookie`, `store`) |
//! | [`SPILLS`] | counter | none: a session written to the store that was not there before |
//! | [`RETURNS`] | counter | none: a session written back into the cookie from the store |
//! | [`STORE_SECONDS`] | histogram | `store` ([`Store::kind`](crate::store::Store::kind)), `op` (`create`, `load`, `save`, `delete`, `touch`, `compare_and_save`) |
//! | [`STORE_ERRORS`] | counter | `store`, `op` |
//!
//! Rotation progress is `OPENS` by `key_id` and `primary`: once the
//! non-primary series stop growing, every returning session has been
//! re-sealed under the primary key.
//!
//! # Tracing
//!
//! | target | level | what |
//! |---|---|---|
//! | `sealed_session::load` | `trace` | each refused cookie candidate, with its `reason` |
//! | `sealed_session::load` | `debug` | a session opened (`location`, `key_id`, `algorithm`, `primary`, and `stored_key_id`, `stored_algorithm`, `stored_primary` for a spilled one) or a fresh one (`reason`) |
//! | `sealed_session::load` | `warn` | a load that failed (`error` kind) |
//! | `sealed_session::save` | `debug` | every save's `outcome`, `from` and `to` location and cookie `size` |
//! | `sealed_session::save` | `warn` | a save that kept the client's cookie or failed (`outcome`, `error` kind) |
//! | `sealed_session::store` | `debug` span | `store_op` around each store call (`store`, `op`) |
//! | `sealed_session::store` | `trace` / `warn` | each store call's duration (`micros`), or its failure |

#[cfg(feature = "metrics")]
mod metrics;
mod store;
#[cfg(feature = "tracing")]
mod tracing;

#[cfg(any(feature = "metrics", feature = "tracing"))]
use self::store::StoreOpName;
pub(crate) use self::store::wrap_store;

use crate::OpenedWith;
use crate::crypto::wire::SchemaId;
use crate::error::Error;
#[cfg(any(feature = "metrics", feature = "tracing"))]
use crate::error::ErrorKind;
use crate::manager::Saved;
use crate::session::{FreshReason, Location};

/// Counter of loads, by `outcome` and `location`.
pub const LOADS: &str = "sealed_session_loads_total";
/// Counter of sessions opened, by the `key_id`, `algorithm` and `primary`
/// flag of the key that opened them and the `location` of the value.
pub const OPENS: &str = "sealed_session_opens_total";
/// Counter of saves, by `outcome`.
pub const SAVES: &str = "sealed_session_saves_total";
/// Counter of sessions moved from the cookie (or from nowhere) into the
/// store.
pub const SPILLS: &str = "sealed_session_spills_total";
/// Counter of sessions moved from the store back into the cookie.
pub const RETURNS: &str = "sealed_session_returns_total";
/// Counter of values (cookies or stored values) sealed for a session
/// schema this build does not know, by `schema_id` (eight hex digits) and
/// `location` (`cookie`, `store`). The label set is bounded: after
/// [`MAX_SCHEMAS_REPORTED`] distinct ids, further ones count as `other`.
pub const UNKNOWN_SCHEMAS: &str = "sealed_session_unknown_schemas_total";
/// How many distinct unknown schema ids are reported by id (in the metric's
/// label and the `warn` log); an authenticated value can only carry an id a
/// server sealed, so this is a bound on label cardinality, not on attacks.
pub const MAX_SCHEMAS_REPORTED: usize = 16;
/// Histogram of store call durations in seconds, by `store` and `op`.
pub const STORE_SECONDS: &str = "sealed_session_store_op_seconds";
/// Counter of failed store calls, by `store` and `op`.
pub const STORE_ERRORS: &str = "sealed_session_store_errors_total";

/// Registers a description (and the unit) of every metric above with the
/// installed `metrics` recorder, so exporters print them (Prometheus `#
/// HELP` lines). Call it once after installing the recorder; metrics are
/// recorded without it too.
///
/// # Examples
///
/// ```
/// // After installing a recorder (e.g. metrics-exporter-prometheus):
/// sealed_session::observe::describe_metrics();
/// ```
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn describe_metrics() {
    self::metrics::describe();
}

/// A refused cookie candidate during a load.
#[inline(always)]
pub(crate) fn candidate_refused(reason: FreshReason) {
    #[cfg(feature = "tracing")]
    self::tracing::candidate_refused(reason_name(reason));
    #[cfg(not(feature = "tracing"))]
    let _ = reason;
}

/// A load that opened a session: `with` opened the cookie, `stored` the
/// store value when the cookie was a pointer.
#[inline(always)]
pub(crate) fn opened(with: OpenedWith, stored: Option<OpenedWith>) {
    #[cfg(feature = "metrics")]
    self::metrics::opened(with, stored);
    #[cfg(feature = "tracing")]
    self::tracing::opened(with, stored);
    #[cfg(not(any(feature = "metrics", feature = "tracing")))]
    let _ = (with, stored);
}

/// A load that gave a fresh session.
#[inline(always)]
pub(crate) fn fresh(reason: FreshReason) {
    #[cfg(feature = "metrics")]
    self::metrics::fresh(reason);
    #[cfg(feature = "tracing")]
    self::tracing::fresh(reason_name(reason));
    #[cfg(not(any(feature = "metrics", feature = "tracing")))]
    let _ = reason;
}

/// A value sealed for an unknown schema, found at `location`.
#[inline(always)]
pub(crate) fn unknown_schema(schema: SchemaId, location: Location) {
    #[cfg(any(feature = "metrics", feature = "tracing"))]
    {
        let first = first_report(schema);
        let location = location_name(location);
        #[cfg(feature = "metrics")]
        self::metrics::unknown_schema(first.map(|_| schema), location);
        #[cfg(feature = "tracing")]
        if first == Some(true) {
            self::tracing::unknown_schema(schema, location);
        }
    }
    #[cfg(not(any(feature = "metrics", feature = "tracing")))]
    let _ = (schema, location);
}

/// Whether `schema` is reported by id (`Some`), and whether for the first
/// time (`Some(true)`); `None` past [`MAX_SCHEMAS_REPORTED`] ids.
#[cfg(any(feature = "metrics", feature = "tracing"))]
fn first_report(schema: SchemaId) -> Option<bool> {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<SchemaId>> = Mutex::new(Vec::new());
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(&schema) {
        Some(false)
    } else if seen.len() < MAX_SCHEMAS_REPORTED {
        seen.push(schema);
        Some(true)
    } else {
        None
    }
}

/// A load that failed (the store could not be read).
#[inline(always)]
pub(crate) fn load_failed(error: &Error) {
    #[cfg(feature = "metrics")]
    self::metrics::load_failed();
    #[cfg(feature = "tracing")]
    self::tracing::load_failed(error.kind());
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}

/// A save of a session that was at `from` before it, and its result.
#[inline(always)]
pub(crate) fn saved(from: Location, result: &Result<Saved, Error>) {
    #[cfg(any(feature = "metrics", feature = "tracing"))]
    {
        let outcome = SaveOutcome::of(result);
        let to = match result {
            Ok(Saved::Cookie { .. }) => Location::Cookie,
            Ok(Saved::Store { .. } | Saved::Touched { .. }) => Location::Store,
            Ok(Saved::Removed) => Location::None,
            _ => from,
        };
        #[cfg(feature = "metrics")]
        self::metrics::saved(outcome, Move::of(from, to));
        #[cfg(feature = "tracing")]
        self::tracing::saved(
            outcome.name(),
            location_name(from),
            location_name(to),
            result,
        );
    }
    #[cfg(not(any(feature = "metrics", feature = "tracing")))]
    let _ = (from, result);
}

/// A session's move between cookie and store, as the metrics count it.
#[cfg(feature = "metrics")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Move {
    None,
    Spill,
    Return,
}

#[cfg(feature = "metrics")]
impl Move {
    fn of(from: Location, to: Location) -> Self {
        match (from, to) {
            (Location::Store, Location::Cookie) => Self::Return,
            (Location::None | Location::Cookie, Location::Store) => Self::Spill,
            _ => Self::None,
        }
    }
}

#[cfg(any(feature = "metrics", feature = "tracing"))]
const fn reason_name(reason: FreshReason) -> &'static str {
    match reason {
        FreshReason::NoCookie => "no_cookie",
        FreshReason::Rejected => "rejected",
        FreshReason::Expired => "expired",
        FreshReason::Undecodable => "undecodable",
        FreshReason::UnknownSchema => "unknown_schema",
        FreshReason::MissingFromStore => "missing_from_store",
        FreshReason::Revoked => "revoked",
        FreshReason::RevocationUnverified => "revocation_unverified",
        FreshReason::HeaderTooLarge => "header_too_large",
    }
}

#[cfg(any(feature = "metrics", feature = "tracing"))]
fn location_name(location: Location) -> &'static str {
    match location {
        Location::None => "none",
        Location::Cookie => "cookie",
        Location::Store => "store",
    }
}

/// What a save did, as labelled.
#[cfg(any(feature = "metrics", feature = "tracing"))]
#[derive(Clone, Copy)]
enum SaveOutcome {
    Unchanged,
    Cookie,
    Store,
    Touched,
    Removed,
    Cleared,
    NotOverwritten,
    KeptTooLarge,
    KeptStoreError,
    KeptConflict,
    FailedTooLarge,
    FailedStoreError,
    FailedConflict,
    FailedOther,
}

#[cfg(any(feature = "metrics", feature = "tracing"))]
impl SaveOutcome {
    fn of(result: &Result<Saved, Error>) -> Self {
        match result {
            Ok(Saved::Unchanged) => Self::Unchanged,
            Ok(Saved::Cookie { .. }) => Self::Cookie,
            Ok(Saved::Store { .. }) => Self::Store,
            Ok(Saved::Touched { .. }) => Self::Touched,
            Ok(Saved::Removed) => Self::Removed,
            Ok(Saved::Cleared) => Self::Cleared,
            Ok(Saved::NotOverwritten) => Self::NotOverwritten,
            Ok(Saved::Kept {
                cause: ErrorKind::TooLarge { .. },
            }) => Self::KeptTooLarge,
            Ok(Saved::Kept {
                cause: ErrorKind::Conflict,
            }) => Self::KeptConflict,
            Ok(Saved::Kept { .. }) => Self::KeptStoreError,
            Err(e) => match e.kind() {
                ErrorKind::TooLarge { .. } => Self::FailedTooLarge,
                ErrorKind::Store => Self::FailedStoreError,
                ErrorKind::Conflict => Self::FailedConflict,
                _ => Self::FailedOther,
            },
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Cookie => "cookie",
            Self::Store => "store",
            Self::Touched => "touched",
            Self::Removed => "removed",
            Self::Cleared => "cleared",
            Self::NotOverwritten => "not_overwritten",
            Self::KeptTooLarge => "kept_too_large",
            Self::KeptStoreError => "kept_store_error",
            Self::KeptConflict => "kept_conflict",
            Self::FailedTooLarge => "failed_too_large",
            Self::FailedStoreError => "failed_store_error",
            Self::FailedConflict => "failed_conflict",
            Self::FailedOther => "failed_other",
        }
    }
}
