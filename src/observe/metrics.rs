//! The `metrics` half: counters and histograms through the facade.
//!
//! Every label set known in advance is a `static`, so counting a load or a
//! save allocates nothing (with or without a recorder). Only the labels that
//! carry a key id or a store kind are built per call.

use std::time::Duration;

use metrics::{
    Key, Label, Level, Metadata, Unit, counter, describe_counter, describe_histogram, histogram,
};

use super::{
    LOADS, Move, OPENS, RETURNS, SAVES, SPILLS, STORE_ERRORS, STORE_SECONDS, SaveOutcome,
    StoreOpName, UNKNOWN_SCHEMAS, reason_name,
};
use crate::OpenedWith;
use crate::crypto::wire::SchemaId;
use crate::session::FreshReason;

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// A `&'static [Label]` of constant pairs.
macro_rules! static_labels {
    ($($k:literal => $v:expr),* $(,)?) => {{
        static LABELS: &[Label] = &[$(Label::from_static_parts($k, $v)),*];
        LABELS
    }};
}

/// Adds one to the counter `name` with the constant `labels`.
fn increment(name: &'static str, labels: &'static [Label]) {
    let key = Key::from_static_labels(name, labels);
    metrics::with_recorder(|recorder| recorder.register_counter(&key, &METADATA).increment(1));
}

pub(super) fn describe() {
    describe_counter!(
        LOADS,
        Unit::Count,
        "Session loads, by outcome (opened, why the session is fresh, or failed) and location"
    );
    describe_counter!(
        OPENS,
        Unit::Count,
        "Sessions opened, by the key id, algorithm and primary flag of the opening key, and the location of the value"
    );
    describe_counter!(
        UNKNOWN_SCHEMAS,
        Unit::Count,
        "Values sealed for a session schema this build does not know, by schema id and location"
    );
    describe_counter!(SAVES, Unit::Count, "Session saves, by outcome");
    describe_counter!(
        SPILLS,
        Unit::Count,
        "Sessions moved into the store (too large for the cookie)"
    );
    describe_counter!(
        RETURNS,
        Unit::Count,
        "Sessions moved from the store back into the cookie"
    );
    describe_histogram!(
        STORE_SECONDS,
        Unit::Seconds,
        "Store call durations, by store kind and operation"
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Failed store calls, by store kind and operation"
    );
}

pub(super) fn opened(with: OpenedWith, stored: Option<OpenedWith>) {
    let labels = match stored {
        None => static_labels!("outcome" => "opened", "location" => "cookie"),
        Some(_) => static_labels!("outcome" => "opened", "location" => "store"),
    };
    increment(LOADS, labels);
    open(with, "cookie");
    if let Some(stored) = stored {
        open(stored, "store");
    }
}

/// Counts an open by key: the key id makes this the one per-load label set
/// built at run time.
fn open(with: OpenedWith, location: &'static str) {
    counter!(
        OPENS,
        "key_id" => with.key_id().to_string(),
        "algorithm" => with.algorithm().name(),
        "primary" => if with.is_primary() { "true" } else { "false" },
        "location" => location,
    )
    .increment(1);
}

pub(super) fn fresh(reason: FreshReason) {
    macro_rules! per_reason {
        ($($variant:ident),*) => {
            match reason {
                $(FreshReason::$variant => static_labels!(
                    "outcome" => reason_name(FreshReason::$variant),
                    "location" => "none",
                ),)*
            }
        };
    }
    let labels = per_reason!(
        NoCookie,
        Rejected,
        Expired,
        Undecodable,
        UnknownSchema,
        MissingFromStore,
        Revoked,
        RevocationUnverified,
        HeaderTooLarge
    );
    increment(LOADS, labels);
}

/// Counts a value sealed for an unknown schema (`None`: past the bound on
/// reported ids).
pub(super) fn unknown_schema(schema: Option<SchemaId>, location: &'static str) {
    let schema_id = schema.map_or_else(|| "other".to_owned(), |s| s.to_string());
    counter!(UNKNOWN_SCHEMAS, "schema_id" => schema_id, "location" => location).increment(1);
}

pub(super) fn load_failed() {
    increment(
        LOADS,
        static_labels!("outcome" => "failed", "location" => "store"),
    );
}

pub(super) fn saved(outcome: SaveOutcome, moved: Move) {
    macro_rules! per_outcome {
        ($($variant:ident),*) => {
            match outcome {
                $(SaveOutcome::$variant => static_labels!(
                    "outcome" => SaveOutcome::$variant.name(),
                ),)*
            }
        };
    }
    let labels = per_outcome!(
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
        FailedOther
    );
    increment(SAVES, labels);
    match moved {
        Move::Spill => increment(SPILLS, &[]),
        Move::Return => increment(RETURNS, &[]),
        Move::None => {}
    }
}

pub(super) fn store_op(kind: &'static str, op: StoreOpName, elapsed: Duration, ok: bool) {
    let op = op.name();
    histogram!(STORE_SECONDS, "store" => kind, "op" => op).record(elapsed.as_secs_f64());
    if !ok {
        counter!(STORE_ERRORS, "store" => kind, "op" => op).increment(1);
    }
}
