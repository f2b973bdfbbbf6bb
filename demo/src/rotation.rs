//! The demo's metrics (with the `metrics` feature): the Prometheus
//! exporter's recorder, installed once per process without its HTTP
//! listener; its text at `/metrics`; and the key page's rotation progress,
//! read back from the same `sealed_session_opens_total` counters.

/// The `/metrics` body in the Prometheus text format, or `None` when
/// another recorder was installed first.
#[cfg(feature = "metrics")]
pub(crate) fn metrics_text() -> Option<String> {
    use std::sync::OnceLock;

    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    let handle = HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().install_recorder().ok()?;
            sealed_session::observe::describe_metrics();
            Some(handle)
        })
        .as_ref()?;
    handle.run_upkeep();
    Some(handle.render())
}

/// `None`: this build has no `metrics` feature.
#[cfg(not(feature = "metrics"))]
pub(crate) fn metrics_text() -> Option<String> {
    None
}

/// Installs the recorder before the first request, so every load is
/// counted.
pub(crate) fn install() {
    let _ = metrics_text();
}

/// Opens counted per key id since the demo started.
pub(crate) struct KeyOpens {
    /// The key id, 8 hex digits.
    pub(crate) key_id: String,
    /// Opens of cookies and of stored values sealed with that key.
    pub(crate) opens: u64,
}

/// The opens per key id, from the rendered counters: `None` without
/// metrics.
pub(crate) fn opens_by_key() -> Option<Vec<KeyOpens>> {
    let text = metrics_text()?;
    let mut by_key: Vec<KeyOpens> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(sealed_session::observe::OPENS) else {
            continue;
        };
        // `{key_id="…",algorithm="…",primary="…",location="…"} 12`
        let Some((labels, value)) = rest.strip_prefix('{').and_then(|r| r.split_once("} ")) else {
            continue;
        };
        let key_id = labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "key_id")
            .map(|(_, v)| v.trim_matches('"').to_owned());
        let (Some(key_id), Ok(opens)) = (key_id, value.trim().parse::<f64>()) else {
            continue;
        };
        // Counters render as whole numbers; the cast cannot lose any.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let opens = opens as u64;
        match by_key.iter_mut().find(|k| k.key_id == key_id) {
            Some(k) => k.opens += opens,
            None => by_key.push(KeyOpens { key_id, opens }),
        }
    }
    Some(by_key)
}
