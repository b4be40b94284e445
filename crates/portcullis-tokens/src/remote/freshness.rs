//! How long a fetched document stays fresh: `Cache-Control` (RFC 9111 §5.2.2) `max-age`,
//! clamped to the cache's bounds. `no-cache`, `no-store` and `max-age=0` mean the lower
//! bound (a provider cannot make every verification fetch); no header, or one without
//! `max-age`, means the configured default.

use std::time::Duration;

/// The freshness lifetime `cache_control` asks for, clamped to `[min, max]`.
pub(crate) fn lifetime(
    cache_control: Option<&str>,
    default: Duration,
    min: Duration,
    max: Duration,
) -> Duration {
    let asked = cache_control
        .map_or(Some(default), parse)
        .unwrap_or(default);
    asked.clamp(min, max.max(min))
}

/// `Some(max-age)` (`no-cache`/`no-store` as zero), or `None` if the header says nothing
/// about freshness.
fn parse(header: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in header.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            // RFC 9111 §1.2.2: a delta-seconds too large to represent is "2147483648".
            let secs = value.and_then(|v| {
                if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                    Some(v.parse::<u64>().unwrap_or(u64::MAX))
                } else {
                    None
                }
            });
            // An invalid max-age means stale (RFC 9111 §4.2.1).
            max_age = Some(Duration::from_secs(secs.unwrap_or(0)));
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(600);
    const MIN: Duration = Duration::from_secs(60);
    const MAX: Duration = Duration::from_secs(86_400);

    fn life(h: Option<&str>) -> u64 {
        lifetime(h, D, MIN, MAX).as_secs()
    }

    #[test]
    fn max_age_is_honoured_within_bounds() {
        assert_eq!(life(Some("public, max-age=3600")), 3600);
        assert_eq!(life(Some("max-age=3600, must-revalidate")), 3600);
        assert_eq!(life(Some("MAX-AGE = 120")), 120);
        assert_eq!(life(Some("max-age=\"300\"")), 300);
        assert_eq!(life(Some("max-age=5")), 60);
        assert_eq!(life(Some("max-age=9999999999999999999999")), 86_400);
        assert_eq!(life(Some("max-age=0")), 60);
    }

    #[test]
    fn no_cache_and_garbage() {
        assert_eq!(life(Some("no-cache")), 60);
        assert_eq!(life(Some("no-store, max-age=3600")), 60);
        assert_eq!(life(Some("max-age=-1")), 60);
        assert_eq!(life(Some("max-age=1h")), 60);
        assert_eq!(life(Some("max-age")), 60);
        assert_eq!(life(Some("public")), 600);
        assert_eq!(life(Some("")), 600);
        assert_eq!(life(None), 600);
    }

    #[test]
    fn a_max_below_min_is_min() {
        assert_eq!(
            lifetime(None, D, Duration::from_secs(100), Duration::from_secs(10)).as_secs(),
            100
        );
    }
}
