//! The `http` glue: reading `Cookie` headers with bounded work and writing
//! `Set-Cookie`.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

use crate::error::{Error, ErrorKind};
use crate::limits::{MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS};

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Sent on same-site requests and top-level navigations (the default).
    #[default]
    Lax,
    /// Sent on every request; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// Cookie attributes the manager writes.
#[derive(Debug, Clone)]
pub(super) struct Attributes {
    pub(super) path: String,
    pub(super) domain: Option<String>,
    pub(super) secure: bool,
    pub(super) http_only: bool,
    pub(super) same_site: SameSite,
    pub(super) partitioned: bool,
    pub(super) persistent: bool,
}

impl Default for Attributes {
    fn default() -> Self {
        Self {
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            partitioned: false,
            persistent: true,
        }
    }
}

/// The values of cookies named `name` in the request, in header order,
/// examining at most [`MAX_COOKIE_HEADER_BYTES`] bytes and
/// [`MAX_COOKIE_PAIRS`] pairs. Lazy: nothing past the value the caller stops
/// at is parsed. Non-UTF-8 values are skipped over, never decoded.
pub(super) fn candidates<'h>(
    headers: &'h HeaderMap,
    name: &'h str,
) -> Candidates<'h, impl Iterator<Item = &'h [u8]>> {
    candidates_in(
        headers.get_all(COOKIE).iter().map(HeaderValue::as_bytes),
        name,
    )
}

/// As [`candidates`], over the `Cookie` header values as bytes (for an
/// adapter that keeps them outside a `HeaderMap`).
pub(super) fn candidates_in<'h, I>(values: I, name: &'h str) -> Candidates<'h, I>
where
    I: Iterator<Item = &'h [u8]>,
{
    Candidates {
        headers: values,
        current: &[],
        name: name.as_bytes(),
        bytes_left: MAX_COOKIE_HEADER_BYTES,
        pairs_left: MAX_COOKIE_PAIRS,
        truncated: false,
    }
}

/// The iterator [`candidates`] returns.
pub(super) struct Candidates<'h, I> {
    /// The `Cookie` header values.
    headers: I,
    /// The unparsed rest of the current header.
    current: &'h [u8],
    name: &'h [u8],
    bytes_left: usize,
    pairs_left: usize,
    truncated: bool,
}

impl<'h, I: Iterator<Item = &'h [u8]>> Candidates<'h, I> {
    /// Whether a cap stopped the scan before the headers ended: the cookie
    /// the client meant may be in the part not looked at.
    pub(super) fn truncated(&self) -> bool {
        self.truncated
    }

    /// The next pair, or `None` when the headers or a cap ran out.
    fn next_pair(&mut self) -> Option<&'h [u8]> {
        loop {
            if !self.current.is_empty() {
                if self.pairs_left == 0 {
                    self.truncated = true;
                    self.current = &[];
                    return None;
                }
                self.pairs_left -= 1;
                let current: &'h [u8] = self.current;
                let (pair, rest) = match memchr::memchr(b';', current) {
                    Some(i) => (
                        current.get(..i).unwrap_or_default(),
                        current.get(i + 1..).unwrap_or_default(),
                    ),
                    None => (current, &[][..]),
                };
                self.current = rest;
                return Some(pair);
            }
            let header = self.headers.next()?;
            if self.bytes_left == 0 || self.pairs_left == 0 {
                self.truncated = true;
                return None;
            }
            if header.len() > self.bytes_left {
                self.truncated = true;
            }
            let take = header.len().min(self.bytes_left);
            self.bytes_left -= take;
            self.current = header.get(..take).unwrap_or_default();
            if self.current.is_empty() {
                // An empty header counts as a pair, so that many of them
                // cost bounded work too.
                self.pairs_left -= 1;
            }
        }
    }
}

/// The values of the pairs with the cookie's name, as bytes: not checked
/// for UTF-8, as the decoder that reads them takes only base64url.
impl<'h, I: Iterator<Item = &'h [u8]>> Iterator for Candidates<'h, I> {
    type Item = &'h [u8];

    fn next(&mut self) -> Option<&'h [u8]> {
        loop {
            let pair = self.next_pair()?.trim_ascii();
            let Some(eq) = memchr::memchr(b'=', pair) else {
                continue;
            };
            let (n, v) = pair.split_at(eq);
            if n.trim_ascii() != self.name {
                continue;
            }
            let v = v.get(1..).unwrap_or_default().trim_ascii();
            return Some(match v {
                [b'"', inner @ .., b'"'] => inner,
                v => v,
            });
        }
    }
}

/// Appends `Set-Cookie: name=value; attributes`, marked sensitive.
///
/// The line is built in a `String` of exactly its length, which becomes
/// the header value's buffer without a copy: one allocation.
pub(super) fn append_set_cookie(
    headers: &mut impl SetCookies,
    name: &str,
    value: &str,
    attributes: &Attributes,
    max_age_secs: Option<u64>,
) -> Result<(), Error> {
    let mut digits = [0u8; U64_DIGITS];
    let max_age = max_age_secs.map(|secs| decimal(secs, &mut digits));
    let parts = [
        Some(name),
        Some("="),
        Some(value),
        max_age.map(|_| "; Max-Age="),
        max_age,
        (max_age_secs == Some(0)).then_some(EXPIRED),
        Some("; Path="),
        Some(attributes.path.as_str()),
        attributes.domain.as_ref().map(|_| "; Domain="),
        attributes.domain.as_deref(),
        attributes.http_only.then_some("; HttpOnly"),
        attributes.secure.then_some("; Secure"),
        Some("; SameSite="),
        Some(attributes.same_site.as_str()),
        attributes.partitioned.then_some("; Partitioned"),
    ];
    let parts = parts.iter().flatten();
    let mut line = String::with_capacity(parts.clone().map(|p| p.len()).sum());
    parts.for_each(|part| line.push_str(part));
    headers.append_line(line)
}

/// Where a save writes its `Set-Cookie` lines: an `http` 1.x
/// [`HeaderMap`] (the public API, tower), or actix-web's own map, written
/// directly so that a line is checked and stored once, in the `http`
/// version the response uses.
pub(crate) trait SetCookies {
    /// Appends `line` (built by the manager) as a `Set-Cookie` value,
    /// marked sensitive.
    ///
    /// # Errors
    ///
    /// `ErrorKind::InvalidCookieAttribute` if the header type refuses the
    /// line (it does not: every part was validated at build time; if it
    /// did, the caller gets an error rather than a silently missing
    /// cookie).
    fn append_line(&mut self, line: String) -> Result<(), Error>;

    /// Appends a `Set-Cookie` value written earlier, as `http` 1.x.
    #[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
    fn append_value(&mut self, value: &HeaderValue);

    /// How many values the map holds: a save appends only `Set-Cookie`
    /// lines, so a change in this count is a cookie written.
    #[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
    fn values(&self) -> usize;
}

impl SetCookies for HeaderMap {
    fn append_line(&mut self, line: String) -> Result<(), Error> {
        // `TryFrom<String>` takes the buffer over (its length equals its
        // capacity, so `bytes` needs no second block); `from_str` would
        // copy.
        let mut value = HeaderValue::try_from(line)
            .map_err(|_| Error::new(ErrorKind::InvalidCookieAttribute))?;
        value.set_sensitive(true);
        self.append(SET_COOKIE, value);
        Ok(())
    }

    fn append_value(&mut self, value: &HeaderValue) {
        self.append(SET_COOKIE, value.clone());
    }

    fn values(&self) -> usize {
        self.len()
    }
}

#[cfg(feature = "actix-web")]
impl SetCookies for ::actix_web::http::header::HeaderMap {
    fn append_line(&mut self, line: String) -> Result<(), Error> {
        use ::actix_web::http::header::{
            HeaderValue as ActixValue, SET_COOKIE as ACTIX_SET_COOKIE,
        };
        let mut value = ActixValue::try_from(line)
            .map_err(|_| Error::new(ErrorKind::InvalidCookieAttribute))?;
        value.set_sensitive(true);
        self.append(ACTIX_SET_COOKIE, value);
        Ok(())
    }

    fn append_value(&mut self, value: &HeaderValue) {
        use ::actix_web::http::header::{
            HeaderValue as ActixValue, SET_COOKIE as ACTIX_SET_COOKIE,
        };
        // The manager wrote only visible ASCII, which both versions accept.
        if let Ok(mut value) = ActixValue::from_bytes(value.as_bytes()) {
            value.set_sensitive(true);
            self.append(ACTIX_SET_COOKIE, value);
        }
    }

    fn values(&self) -> usize {
        self.len()
    }
}

/// `Expires` for a removal cookie, beside `Max-Age=0` for older clients.
const EXPIRED: &str = "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";

/// Decimal digits of `u64::MAX`.
const U64_DIGITS: usize = 20;

/// `n` in decimal, written to the end of `buf`, without allocating.
fn decimal(mut n: u64, buf: &mut [u8; U64_DIGITS]) -> &str {
    let mut start = U64_DIGITS;
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written, so this is never the empty default.
    std::str::from_utf8(buf.get(start..).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn decimal_writes_every_digit() {
        let mut buf = [0u8; U64_DIGITS];
        for n in [0, 7, 10, 86_400, 1_209_600, u64::MAX] {
            assert_eq!(decimal(n, &mut buf), n.to_string());
        }
    }

    #[test]
    fn set_cookie_line_holds_every_attribute_in_order() {
        let attributes = Attributes {
            domain: Some("example.com".to_owned()),
            partitioned: true,
            ..Attributes::default()
        };
        let mut headers = HeaderMap::new();
        append_set_cookie(&mut headers, "id", "abc", &attributes, Some(0)).unwrap();
        append_set_cookie(&mut headers, "id", "abc", &Attributes::default(), None).unwrap();
        let lines: Vec<_> = headers.get_all(SET_COOKIE).iter().collect();
        assert_eq!(
            lines,
            [
                "id=abc; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; \
                 Domain=example.com; HttpOnly; Secure; SameSite=Lax; Partitioned",
                "id=abc; Path=/; HttpOnly; Secure; SameSite=Lax",
            ]
        );
        assert!(lines.iter().all(|v| v.is_sensitive()));
    }
}
