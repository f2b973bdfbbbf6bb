//! The `tracing` half: events with the same facts as the metrics.

use std::time::Duration;

use tracing::{debug, trace, warn};

use super::StoreOpName;
use crate::OpenedWith;
use crate::crypto::wire::SchemaId;
use crate::error::{Error, ErrorKind};
use crate::manager::Saved;

pub(super) fn candidate_refused(reason: &'static str) {
    trace!(target: "sealed_session::load", reason, "session cookie refused");
}

pub(super) fn opened(with: OpenedWith, stored: Option<OpenedWith>) {
    match stored {
        None => debug!(
            target: "sealed_session::load",
            location = "cookie",
            key_id = %with.key_id(),
            algorithm = with.algorithm().name(),
            primary = with.is_primary(),
            "session opened"
        ),
        Some(stored) => debug!(
            target: "sealed_session::load",
            location = "store",
            key_id = %with.key_id(),
            algorithm = with.algorithm().name(),
            primary = with.is_primary(),
            stored_key_id = %stored.key_id(),
            stored_algorithm = stored.algorithm().name(),
            stored_primary = stored.is_primary(),
            "session opened"
        ),
    }
}

pub(super) fn fresh(reason: &'static str) {
    debug!(target: "sealed_session::load", reason, "fresh session");
}

pub(super) fn unknown_schema(schema: SchemaId, location: &'static str) {
    warn!(
        target: "sealed_session::load",
        schema_id = %schema,
        location,
        "a session value was sealed for a schema this build does not know, so its user got a \
         fresh session; if the session type changed, declare a migration from the old type \
         (CodecBuilder::migrate) (logged once per schema id)"
    );
}

pub(super) fn load_failed(kind: ErrorKind) {
    warn!(target: "sealed_session::load", error = %kind, "session load failed");
}

pub(super) fn saved(
    outcome: &'static str,
    from: &'static str,
    to: &'static str,
    result: &Result<Saved, Error>,
) {
    match result {
        Ok(Saved::Cookie { size } | Saved::Store { size, .. } | Saved::Touched { size }) => debug!(
            target: "sealed_session::save",
            outcome, from, to, size, "session saved"
        ),
        Ok(Saved::Kept { cause }) => warn!(
            target: "sealed_session::save",
            outcome, from, error = %cause,
            "session not re-sealed: the client keeps its cookie"
        ),
        Ok(_) => debug!(target: "sealed_session::save", outcome, from, to, "session saved"),
        // The kind only: a store error's source may quote the store key.
        Err(e) => warn!(
            target: "sealed_session::save",
            outcome, from, error = %e.kind(), "session save failed"
        ),
    }
}

pub(super) fn store_op(kind: &'static str, op: StoreOpName, elapsed: Duration, ok: bool) {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    if ok {
        trace!(target: "sealed_session::store", store = kind, op = op.name(), micros, "store call");
    } else {
        warn!(target: "sealed_session::store", store = kind, op = op.name(), micros, "store call failed");
    }
}
