//! The `metrics` half: counters and histograms through the facade.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use super::{LOADS, Move, OPENS, RETURNS, SAVES, SPILLS, STORE_ERRORS, STORE_SECONDS, StoreOpName};
use crate::OpenedWith;

pub(super) fn describe() {
    describe_counter!(
        LOADS,
        Unit::Count,
        "Session loads, by outcome (opened or why the session is fresh) and location"
    );
    describe_counter!(
        OPENS,
        Unit::Count,
        "Sessions opened, by the key id, algorithm and primary flag of the opening key, and the location of the value"
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
    let location = if stored.is_some() { "store" } else { "cookie" };
    counter!(LOADS, "outcome" => "opened", "location" => location).increment(1);
    open(with, "cookie");
    if let Some(stored) = stored {
        open(stored, "store");
    }
}

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

pub(super) fn fresh(reason: &'static str) {
    counter!(LOADS, "outcome" => reason, "location" => "none").increment(1);
}

pub(super) fn load_failed() {
    counter!(LOADS, "outcome" => "failed", "location" => "store").increment(1);
}

pub(super) fn saved(outcome: &'static str, moved: Move) {
    counter!(SAVES, "outcome" => outcome).increment(1);
    match moved {
        Move::Spill => counter!(SPILLS).increment(1),
        Move::Return => counter!(RETURNS).increment(1),
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
