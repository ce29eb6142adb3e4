//! Per-source rate limits on what anyone may ask without signing in (R60): passkey sign-in
//! options (each seals a ceremony with a fresh challenge: no write, but work), passkey
//! sign-in answers (each verifies a signature and writes a log entry — a malformed one
//! without spending its ceremony) and Temporary Access Pass attempts (each runs Argon2 and
//! may write a failure and a log entry). A token bucket per source key (an IPv4 address, an
//! IPv6 /64: `RequestContext::source_key`), kept on each node; the store-wide lock-out of
//! R13 still counts wrong codes across nodes.
//!
//! Memory is bounded: at most `MAX_SOURCES` sources are tracked. When the table is full,
//! sources whose bucket has refilled are forgotten — at most once per `PRUNE_EVERY`, so a
//! flood of fresh sources cannot make every request scan the whole table; if it is still
//! full, a new source is refused until a later pruning frees room (fail closed: a flood of
//! fresh sources cannot reset the limits of those already counted).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most sources tracked per limit.
const MAX_SOURCES: usize = 100_000;

/// How often a full table may be pruned (each pruning reads every entry).
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// The limits, per source and minute (a burst of that many, refilled evenly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// `POST /api/signin/passkey/options`.
    pub sign_in_options_per_minute: u32,
    /// `POST /api/signin/passkey`.
    pub sign_in_answers_per_minute: u32,
    /// `POST /signin/tap`.
    pub tap_attempts_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        // Generous enough for an office behind one NAT address, tight enough to bound what
        // one source costs: each answer verifies a signature and writes a log entry.
        RateLimits {
            sign_in_options_per_minute: 300,
            sign_in_answers_per_minute: 300,
            tap_attempts_per_minute: 60,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets, and when a full table was last pruned.
#[derive(Debug, Default)]
struct Table {
    buckets: HashMap<String, Bucket>,
    pruned_at: Option<Instant>,
}

/// One limit over many sources.
#[derive(Debug)]
pub struct Limiter {
    per_minute: f64,
    table: Mutex<Table>,
}

impl Limiter {
    /// A limiter of `per_minute` requests per source (at least one).
    pub fn new(per_minute: u32) -> Limiter {
        Limiter {
            per_minute: f64::from(per_minute.max(1)),
            table: Mutex::new(Table::default()),
        }
    }

    fn refill(&self, b: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        (b.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute)
    }

    /// Takes one request for `source` at `now`: `Ok`, or how long to wait.
    pub fn take(&self, source: &str, now: Instant) -> Result<(), Duration> {
        let mut table = match self.table.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Table { buckets, pruned_at } = &mut *table;
        if !buckets.contains_key(source) && buckets.len() >= MAX_SOURCES {
            let due = pruned_at.is_none_or(|t| now.saturating_duration_since(t) >= PRUNE_EVERY);
            if due {
                let full = self.per_minute;
                buckets.retain(|_, b| self.refill(b, now) < full);
                *pruned_at = Some(now);
            }
            if buckets.len() >= MAX_SOURCES {
                return Err(Duration::from_secs(60));
            }
        }
        let b = buckets.entry(source.to_string()).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
        });
        let tokens = self.refill(b, now);
        if tokens >= 1.0 {
            *b = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            let wait = (1.0 - tokens) * 60.0 / self.per_minute;
            Err(Duration::from_secs_f64(wait.max(1.0)))
        }
    }
}

/// Every limit of the server.
#[derive(Debug)]
pub struct Limits {
    /// Passkey sign-in options.
    pub sign_in_options: Limiter,
    /// Passkey sign-in answers.
    pub sign_in_answers: Limiter,
    /// TAP attempts.
    pub tap_attempts: Limiter,
}

impl Limits {
    /// The limiters for `l`.
    pub fn new(l: &RateLimits) -> Limits {
        Limits {
            sign_in_options: Limiter::new(l.sign_in_options_per_minute),
            sign_in_answers: Limiter::new(l.sign_in_answers_per_minute),
            tap_attempts: Limiter::new(l.tap_attempts_per_minute),
        }
    }
}

/// `res` with `Retry-After: secs`: the API's JSON refusal and the sign-in page's alike.
pub fn with_retry_after(mut res: axum::response::Response, secs: u64) -> axum::response::Response {
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(secs),
    );
    res
}

/// Whole seconds to announce in `Retry-After` (at least one).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_waits_and_others_are_not_affected() {
        let l = Limiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take("203.0.113.9", t0).is_ok());
        }
        let wait = l.take("203.0.113.9", t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 20, "one token per 20 s");
        assert!(l.take("198.51.100.1", t0).is_ok(), "another source");
        assert!(l.take("203.0.113.9", t0 + Duration::from_secs(20)).is_ok());
        assert!(l.take("203.0.113.9", t0 + Duration::from_secs(21)).is_err());
    }

    /// A full table is pruned at most once per PRUNE_EVERY: a flood of new sources cannot
    /// make each request read the whole table (it used to, under the lock), and still no
    /// counted source is forgotten before its bucket refills.
    #[test]
    fn a_full_table_is_pruned_at_most_once_a_second() {
        // 100 a second: a bucket that gave one token is full again after 10 ms.
        let l = Limiter::new(6000);
        let t0 = Instant::now();
        for i in 0..MAX_SOURCES {
            assert!(l.take(&format!("s{i}"), t0).is_ok());
        }
        // Full, and nothing has refilled: pruned once, refused.
        assert!(l.take("new-1", t0).is_err());
        // Everything has refilled, but the last pruning was just now: refused without one.
        let soon = t0 + Duration::from_millis(20);
        assert!(l.take("new-2", soon).is_err());
        assert_eq!(
            l.table.lock().unwrap().buckets.len(),
            MAX_SOURCES,
            "no pruning within the second"
        );
        // A second later the table may be pruned again: the refilled sources go, room is made.
        assert!(l.take("new-3", t0 + PRUNE_EVERY).is_ok());
        assert_eq!(l.table.lock().unwrap().buckets.len(), 1);
    }
}
