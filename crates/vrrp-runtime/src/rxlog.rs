//! Rate-limited logging of rejected adverts, per instance and reason (RFC 9568 §8 asks for
//! rate-limited logging of receive errors; keepalived 2.3.3 logs each reason once per
//! instance). The first rejection of a reason is logged; further ones within [`WINDOW`] are
//! only counted, and when the window ends one summary line says how many were not logged. The
//! receive counters ([`crate::Metrics`]) are kept apart and stay exact.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long after a logged rejection the same instance and reason stay quiet.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Entry {
    /// End of the quiet window opened by the last logged line.
    until: Instant,
    /// Rejections not logged in this window.
    suppressed: u64,
}

/// The limiter: one entry per (instance, reason) with an open window.
#[derive(Debug, Default)]
pub(crate) struct RxLog {
    open: BTreeMap<(String, &'static str), Entry>,
}

/// A line to log (the caller logs it, so tests can see the lines).
pub(crate) type Line = String;

impl RxLog {
    /// A rejection of instance `inst` for `reason` at `now`; `line` makes its message. Returns
    /// the lines to log now (none while the window is open; a pending summary and the new
    /// message once it has ended).
    pub(crate) fn reject(
        &mut self,
        now: Instant,
        inst: &str,
        reason: &'static str,
        line: impl FnOnce() -> String,
    ) -> Vec<Line> {
        let mut out = Vec::new();
        if let Some(e) = self.open.get_mut(&(inst.to_string(), reason)) {
            if now < e.until {
                e.suppressed += 1;
                return out;
            }
            if e.suppressed > 0 {
                out.push(summary(inst, reason, e.suppressed));
            }
            e.until = now + WINDOW;
            e.suppressed = 0;
        } else {
            self.open.insert(
                (inst.to_string(), reason),
                Entry {
                    until: now + WINDOW,
                    suppressed: 0,
                },
            );
        }
        out.push(line());
        out
    }

    /// When the next window ends with something to summarise.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.open
            .values()
            .filter(|e| e.suppressed > 0)
            .map(|e| e.until)
            .min()
    }

    /// Ends the windows that are over at `now`: their summaries (and quiet windows are dropped).
    pub(crate) fn flush(&mut self, now: Instant) -> Vec<Line> {
        let mut out = Vec::new();
        self.open.retain(|(inst, reason), e| {
            if now < e.until {
                return true;
            }
            if e.suppressed > 0 {
                out.push(summary(inst, reason, e.suppressed));
            }
            false
        });
        out
    }
}

fn summary(inst: &str, reason: &str, n: u64) -> String {
    format!(
        "VRRP_Instance({inst}) {n} more advert(s) rejected ({reason}) in the last {}s, not logged \
         (rate limit; the counters have them all)",
        WINDOW.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a flood of one reason logs one line, then one summary with the exact number not
    // logged when the window ends; another reason or instance has its own window; the next
    // rejection after the window logs again.
    #[test]
    fn one_line_per_window_and_a_summary() {
        let t = Instant::now();
        let mut l = RxLog::default();
        let mut lines = Vec::new();
        for k in 0..1000u64 {
            let at = t + Duration::from_millis(k * 2);
            lines.extend(l.reject(at, "VI_1", "password", || "bad password".into()));
            lines.extend(l.reject(at, "VI_1", "version", || "bad version".into()));
            lines.extend(l.reject(at, "VI_2", "password", || "VI_2 bad".into()));
        }
        assert_eq!(lines, ["bad password", "bad version", "VI_2 bad"]);
        assert_eq!(l.next_deadline(), Some(t + WINDOW));
        assert!(l.flush(t + WINDOW - Duration::from_millis(1)).is_empty());
        let s = l.flush(t + WINDOW);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s.iter().all(|x| x.contains(" 999 more")), "{s:?}");
        assert_eq!(l.next_deadline(), None);
        let again = l.reject(t + WINDOW * 2, "VI_1", "password", || "again".into());
        assert_eq!(again, ["again"]);
        // A window that ends without a flush: the summary comes before the next line.
        l.reject(t + WINDOW * 2, "VI_1", "password", || "x".into());
        let later = l.reject(t + WINDOW * 4, "VI_1", "password", || "later".into());
        assert_eq!(later.len(), 2, "{later:?}");
        assert!(later[0].contains(" 1 more"), "{later:?}");
        assert_eq!(later[1], "later");
    }
}
