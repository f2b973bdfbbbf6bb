//! What the extractors say when a handler asks for a session no wrapper in
//! front of it provides, from the session types the wrappers registered
//! on the request (`Sessions::names`).

#[cfg(any(feature = "axum", feature = "actix-web"))]
use std::fmt;

/// Where an adapter's session wrapper goes, for the message when a handler
/// asks for a session no wrapper provides.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) struct Wrapper {
    /// The wrapper's type name: `SessionLayer`, `SessionMiddleware`.
    pub(crate) name: &'static str,
    /// The call that adds it: `.layer`, `.wrap`.
    pub(crate) method: &'static str,
    /// What it is added to: `the router`, `the App`.
    pub(crate) target: &'static str,
}

/// Writes what a handler taking `SessionHandle<session>` lacks when the
/// wrappers in front of it provide `present`, and what to change: the
/// rejection message of every adapter's extractor.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) fn describe_missing(
    f: &mut fmt::Formatter<'_>,
    session: &str,
    present: &[&'static str],
    wrapper: &Wrapper,
) -> fmt::Result {
    let wanted = short_type_name(session);
    let Wrapper {
        name,
        method,
        target,
    } = wrapper;
    match present {
        [] => write!(
            f,
            "this handler takes SessionHandle<{wanted}>, but no {name} runs in front \
             of this route: add {method}({name}::<{wanted}>::new(manager)) to {target}"
        ),
        present => {
            let listed: Vec<String> = present
                .iter()
                .map(|p| format!("{name}<{}>", short_type_name(p)))
                .collect();
            write!(
                f,
                "this handler takes SessionHandle<{wanted}>, but this route has {}: \
                 take SessionHandle<{}> in the handler, or add \
                 {name}::<{wanted}>::new(manager) for a second session",
                listed.join(" and "),
                present
                    .first()
                    .map(|p| short_type_name(p))
                    .unwrap_or_default()
            )
        }
    }
}

/// A type name without module paths (`Vec<String>`, not
/// `alloc::vec::Vec<alloc::string::String>`), for messages.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            short.push_str(segment.rsplit("::").next().unwrap_or_default());
            segment.clear();
            short.push(c);
        }
    }
    short.push_str(segment.rsplit("::").next().unwrap_or_default());
    short
}
