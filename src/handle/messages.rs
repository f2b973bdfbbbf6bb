//! What the extractors say when a handler asks for a session no wrapper in
//! front of it provides: the list of session types the wrappers register
//! on each request, and the message built from it.

#[cfg(any(feature = "axum", feature = "actix-web"))]
use std::fmt;

/// The session types the layers in front of a request provide (their
/// `type_name`s, free to copy), for the extractor's message.
#[derive(Clone, Debug, Default)]
// Read only by the extractors' messages (tower alone has none).
#[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
pub(crate) struct SessionLayers {
    /// The first (outermost), inline: one wrapper, the common case,
    /// allocates nothing here.
    first: Option<&'static str>,
    more: Vec<&'static str>,
}

impl SessionLayers {
    /// Adds session type `name` to the request's `list`, or, when the
    /// request has none yet, returns a new list for the caller to insert
    /// into the request's extensions.
    pub(crate) fn add(list: Option<&mut Self>, name: &'static str) -> Option<Self> {
        match list {
            Some(list) => {
                list.more.push(name);
                None
            }
            None => Some(Self {
                first: Some(name),
                more: Vec::new(),
            }),
        }
    }

    /// The session types, outermost first.
    #[cfg(any(feature = "axum", feature = "actix-web"))]
    pub(crate) fn to_vec(&self) -> Vec<&'static str> {
        self.first.iter().chain(&self.more).copied().collect()
    }
}

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
