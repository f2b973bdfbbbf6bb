//! How the tool writes values: hex, yes/no, RFC 3339 timestamps.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Exit;

/// The time `secs` seconds after the Unix epoch, given as `flag`; a usage
/// error (not an overflow panic) past what `SystemTime` holds.
pub(super) fn unix(flag: &str, secs: u64) -> Result<SystemTime, Exit> {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or_else(|| Exit::usage(format!("error: {flag} is too far in the future")))
}

pub(super) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// RFC 3339 in UTC with the Unix seconds after it:
/// `2023-11-14T22:13:20Z (1700000000)`.
pub(super) fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z ({secs})",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn huge_issued_at_is_a_usage_error_not_a_panic() {
        for flag in ["--issued-at", "--renewed-at"] {
            let exit = super::unix(flag, u64::MAX).err();
            assert!(
                exit.is_some_and(|e| e.code == 2 && e.message.contains(flag)),
                "{flag}"
            );
        }
        assert!(super::unix("--issued-at", 1_700_000_000).is_ok());
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(unix(0)), "1970-01-01T00:00:00Z (0)");
        assert_eq!(
            timestamp(unix(1_700_000_000)),
            "2023-11-14T22:13:20Z (1700000000)"
        );
        // A leap day, and the last second of a century leap year.
        assert_eq!(
            timestamp(unix(951_782_400)),
            "2000-02-29T00:00:00Z (951782400)"
        );
        assert_eq!(
            timestamp(unix(978_307_199)),
            "2000-12-31T23:59:59Z (978307199)"
        );
        assert_eq!(
            timestamp(unix(4_107_542_400)),
            "2100-03-01T00:00:00Z (4107542400)"
        );
    }

    #[test]
    fn civil_from_days_round_trips_against_counting() {
        let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
        for days in 0..200_000 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0x00, 0xAB, 0x7f]), "00ab7f");
        assert_eq!(hex(&[]), "");
    }
}
