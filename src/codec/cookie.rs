//! Cookie syntax, in one place: which names and attribute values are valid,
//! what a name's prefix demands, and how browsers measure a cookie's size.

use crate::limits::{MAX_ATTRIBUTE_BYTES, MAX_COOKIE_NAME_BYTES};

/// Whether `name` can be a cookie name: an RFC 6265 `token` (visible ASCII
/// except separators) of 1 to [`MAX_COOKIE_NAME_BYTES`] bytes.
pub(crate) fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_COOKIE_NAME_BYTES
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

/// Whether `value` can be a `Path` or `Domain` attribute value: visible
/// ASCII without `;`, at most [`MAX_ATTRIBUTE_BYTES`].
pub(crate) fn is_attribute_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_ATTRIBUTE_BYTES
        && value.bytes().all(|b| b.is_ascii_graphic() && b != b';')
}

/// Bytes of `name=value` for a value of `value_len` bytes: what browsers
/// hold against their 4096-byte limit.
pub(crate) fn pair_size(name: &str, value_len: usize) -> usize {
    name.len() + 1 + value_len
}

/// A cookie name prefix that browsers give meaning to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// `__Host-`: needs `Secure`, `Path=/` and no `Domain`.
    Host,
    /// `__Secure-`: needs `Secure`.
    Secure,
}

/// The prefix `name` starts with, matched as browsers match it: ASCII
/// case-insensitively (RFC 6265bis; `__HOST-` is a `__Host-` cookie, and a
/// browser drops it when it lacks the prefix's attributes).
pub(crate) fn prefix(name: &str) -> Option<Prefix> {
    let starts = |prefix: &str| {
        name.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    if starts("__Host-") {
        Some(Prefix::Host)
    } else if starts("__Secure-") {
        Some(Prefix::Secure)
    } else {
        None
    }
}

/// Whether a browser keeps a cookie named `name` with these attributes, as
/// far as its prefix is concerned.
pub(crate) fn prefix_allows(name: &str, secure: bool, path: &str, domain: Option<&str>) -> bool {
    match prefix(name) {
        Some(Prefix::Host) => secure && path == "/" && domain.is_none(),
        Some(Prefix::Secure) => secure,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_prefixes_match_ascii_case_insensitively() {
        for name in ["__Host-s", "__HOST-s", "__host-s", "__hOsT-"] {
            assert_eq!(prefix(name), Some(Prefix::Host), "{name}");
        }
        for name in ["__Secure-s", "__SECURE-s", "__secure-", "__sEcUrE-x"] {
            assert_eq!(prefix(name), Some(Prefix::Secure), "{name}");
        }
        for name in [
            "session",
            "__Host",
            "_Host-s",
            "x__Host-s",
            "__Hostx-s",
            "",
            "__Securé-",
        ] {
            assert_eq!(prefix(name), None, "{name}");
        }
    }

    #[test]
    fn a_host_prefix_needs_secure_root_path_and_no_domain() {
        assert!(prefix_allows("__Host-s", true, "/", None));
        assert!(!prefix_allows("__host-s", false, "/", None));
        assert!(!prefix_allows("__Host-s", true, "/app", None));
        assert!(!prefix_allows("__Host-s", true, "/", Some("example.com")));
        assert!(prefix_allows(
            "__Secure-s",
            true,
            "/app",
            Some("example.com")
        ));
        assert!(!prefix_allows("__SECURE-s", false, "/", None));
        assert!(prefix_allows("s", false, "/app", Some("example.com")));
    }

    #[test]
    fn pair_size_counts_name_equals_and_value() {
        assert_eq!(pair_size("__Host-session", 100), 115);
        assert_eq!(pair_size("a", 0), 2);
    }
}
