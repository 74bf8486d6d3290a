//! The pure up/down state machine of one checker (no IO, no clock).
//!
//! Mirrors keepalived's per-checker logic (check_tcp.c `tcp_epilog`, check_udp.c `udp_epilog`,
//! check_http.c `epilog`, check_dns.c `dns_final`, check_misc.c, and ipwrapper.c
//! `update_svr_checker_state`):
//!
//! * start: `is_up = !alpha`, `has_run = false`, `retry_it = retry` (so before the first run a
//!   single failure is enough to go down: "for non alpha mode, one failure is enough initially");
//! * success: `retry_it = 0`; if down (or never run) → up. Next check after `delay_loop`;
//! * failure while up (or never run): if `retry_it >= retry` → down, `retry_it = 0`; otherwise
//!   `retry_it += 1` and the next check comes after `delay_before_retry` (the failure is tolerated);
//! * failure while down: stays down, next check after `delay_loop`.
//!
//! So a server that was up goes down on failure `retry + 1`, `delay_loop + retry ×
//! delay_before_retry` after its last success at worst. Weight adjustments (MISC dynamic,
//! FILE weight) follow the last success and are cleared when the checker goes down.
//!
//! HTTP_GET/SSL_GET walk their urls as check_http.c `epilog` does ([`CheckerState::for_urls`]):
//! **one url per check**, the next url `delay_loop` later; the server is (re)declared up when
//! the last url of a walk succeeded with no failed url pending; a url failing `retry + 1` times
//! takes a server that is up down and becomes the `failed_url`, checked alone every
//! `max(delay_before_retry, delay_loop)` until it answers; then the walk restarts at the first
//! url. `fast_recovery` runs the next check at once (no delay) while the checker never ran or
//! is down with no failed url pending (the walk after the failed url answered again).
//!
//! `omega` is a virtual-server option (run `quorum_down` at shutdown) handled by the director,
//! not a checker state.

use std::time::Duration;

use crate::checker::CheckParams;
use crate::result::{Failure, Status, WeightAdjust};

/// What the state machine decided after one result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Delay until the next check.
    pub next_delay: Duration,
    /// What happened.
    pub event: Event,
}

/// Event produced by one result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nothing visible changed.
    Nothing,
    /// Up/down state or weight changed: report it to the director.
    Changed {
        /// New state.
        up: bool,
        /// Weight adjustment now in force (None = configured weight).
        weight: Option<WeightAdjust>,
        /// The failure that brought it down, if it went down.
        reason: Option<Failure>,
    },
    /// A failure was tolerated (retry `attempt` of `retry`); log it only with
    /// `log_all_failures`.
    Tolerated {
        /// 1-based count of consecutive tolerated failures.
        attempt: u32,
        /// The failure.
        reason: Failure,
    },
    /// A failure while already down (log only with `log_all_failures`).
    StillDown(Failure),
    /// First result confirmed the initial state (keepalived runs the notify scripts for alpha
    /// checkers or initial failures; the director may do likewise).
    Confirmed {
        /// The confirmed state.
        up: bool,
    },
}

/// Up/down state of one checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerState {
    params: CheckParams,
    up: bool,
    has_run: bool,
    retry_it: u32,
    weight: Option<WeightAdjust>,
    walk: Option<UrlWalk>,
}

/// check_http.c's url iterator: `url_it` (None = past the last url) and `failed_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UrlWalk {
    n_urls: usize,
    url_it: Option<usize>,
    failed_url: Option<usize>,
    fast_recovery: bool,
}

impl CheckerState {
    /// Initial state for `params` (down in alpha mode).
    pub fn new(params: CheckParams) -> Self {
        Self {
            params,
            up: params.initial_up(),
            has_run: false,
            retry_it: params.retry,
            weight: None,
            walk: None,
        }
    }

    /// Initial state of an HTTP_GET/SSL_GET checker with `n_urls` urls, walked one url per
    /// check (see the module doc); `fast_recovery` as keepalived's keyword.
    pub fn for_urls(params: CheckParams, n_urls: usize, fast_recovery: bool) -> Self {
        let mut s = Self::new(params);
        s.walk = Some(UrlWalk {
            n_urls,
            url_it: (n_urls > 0).then_some(0),
            failed_url: None,
            fast_recovery,
        });
        s
    }

    /// The url (index) the next check of an HTTP_GET/SSL_GET checker fetches (None: not a
    /// url walk, or no url: the check passes without a request, as keepalived's).
    pub fn current_url(&self) -> Option<usize> {
        self.walk.and_then(|w| w.url_it)
    }

    /// Current up/down state.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Has at least one check completed?
    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// Weight adjustment in force.
    pub fn weight(&self) -> Option<WeightAdjust> {
        self.weight
    }

    /// Consecutive tolerated failures.
    pub fn retry_it(&self) -> u32 {
        self.retry_it
    }

    /// Parameters.
    pub fn params(&self) -> &CheckParams {
        &self.params
    }

    /// Feed one check result; returns the next delay and what changed.
    pub fn on_result(&mut self, status: &Status) -> Step {
        if self.walk.is_some() {
            return self.on_url_result(status);
        }
        let first = !self.has_run;
        let was_up = self.up;
        let old_weight = self.weight;
        let p = self.params;
        let step = match status {
            Status::Up | Status::Weight(_) => {
                self.retry_it = 0;
                self.up = true;
                self.weight = match status {
                    Status::Weight(w) => Some(*w),
                    _ => None,
                };
                Step {
                    next_delay: p.delay_loop,
                    event: Event::Nothing,
                }
            }
            Status::Down(f) => {
                if self.up || first {
                    if self.retry_it >= p.retry {
                        self.retry_it = 0;
                        self.up = false;
                        self.weight = None;
                        Step {
                            next_delay: p.delay_loop,
                            event: Event::Nothing,
                        }
                    } else if self.up {
                        self.retry_it += 1;
                        Step {
                            next_delay: p.delay_before_retry,
                            event: Event::Tolerated {
                                attempt: self.retry_it,
                                reason: f.clone(),
                            },
                        }
                    } else {
                        // Alpha checker that never ran with retries left (only after a reload in
                        // keepalived): stays down.
                        Step {
                            next_delay: p.delay_loop,
                            event: Event::StillDown(f.clone()),
                        }
                    }
                } else {
                    Step {
                        next_delay: p.delay_loop,
                        event: Event::StillDown(f.clone()),
                    }
                }
            }
        };
        self.has_run = true;
        if self.up != was_up || self.weight != old_weight {
            let reason = match status {
                Status::Down(f) if !self.up => Some(f.clone()),
                _ => None,
            };
            return Step {
                next_delay: step.next_delay,
                event: Event::Changed {
                    up: self.up,
                    weight: self.weight,
                    reason,
                },
            };
        }
        if first && matches!(step.event, Event::Nothing) {
            return Step {
                next_delay: step.next_delay,
                event: Event::Confirmed { up: self.up },
            };
        }
        step
    }
}

impl CheckerState {
    /// check_http.c `epilog` (2.2.7), for the result of the url `current_url()` named.
    fn on_url_result(&mut self, status: &Status) -> Step {
        #[derive(PartialEq)]
        enum Method {
            New,
            Retry,
            Failed,
        }
        let Some(mut w) = self.walk else {
            return Step {
                next_delay: self.params.delay_loop,
                event: Event::Nothing,
            };
        };
        let p = self.params;
        let first = !self.has_run;
        let was_up = self.up;
        let mut confirmed = false;
        let failure = match status {
            Status::Down(f) => Some(f.clone()),
            Status::Up | Status::Weight(_) => None,
        };
        // timeout_epilog: a failure while up (or before the first run) is a retry and marks
        // the checker as run; a failure while known down is FAILED.
        let method = match &failure {
            None => Method::New,
            Some(_) if self.up || !self.has_run => {
                self.has_run = true;
                Method::Retry
            }
            Some(_) => Method::Failed,
        };
        match method {
            Method::New => {
                w.url_it = match w.url_it {
                    Some(i) if i + 1 < w.n_urls => Some(i + 1),
                    _ => None,
                };
                self.retry_it = 0;
            }
            Method::Retry => self.retry_it = self.retry_it.saturating_add(1),
            Method::Failed => {}
        }
        let first_url = (w.n_urls > 0).then_some(0);
        if method == Method::New && w.url_it.is_none() && w.failed_url.is_none() {
            // Every url passed: up (or confirmed up on the first walk).
            if !self.up || !self.has_run {
                confirmed = self.up;
                self.up = true;
                self.has_run = true;
            }
            w.url_it = first_url;
            self.retry_it = 0;
        } else if method == Method::Retry && self.retry_it > p.retry {
            if self.up || !self.has_run {
                self.up = false;
                self.weight = None;
            }
            w.failed_url = w.url_it;
        } else if method == Method::New && w.failed_url.is_some() {
            // The failed url answers again: walk every url from the first.
            w.failed_url = None;
            w.url_it = first_url;
            self.retry_it = 0;
        }
        let mut next_delay = if method == Method::New {
            if !self.has_run {
                self.retry_it = p.retry;
            }
            p.delay_loop
        } else if w.failed_url.is_some() {
            p.delay_before_retry.max(p.delay_loop)
        } else {
            p.delay_before_retry
        };
        if w.fast_recovery && (!self.has_run || (!self.up && w.failed_url.is_none())) {
            next_delay = Duration::ZERO;
        }
        self.walk = Some(w);
        let event = if self.up != was_up {
            Event::Changed {
                up: self.up,
                weight: self.weight,
                reason: if self.up { None } else { failure },
            }
        } else if confirmed || (first && self.has_run && failure.is_some() && !self.up) {
            // keepalived runs update_svr_checker_state for a first walk that passed and an
            // alpha checker's first failure is the initial state confirmed.
            Event::Confirmed { up: self.up }
        } else {
            match (method, failure) {
                (Method::Retry, Some(reason)) => Event::Tolerated {
                    attempt: self.retry_it,
                    reason,
                },
                (_, Some(reason)) => Event::StillDown(reason),
                _ => Event::Nothing,
            }
        };
        Step { next_delay, event }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::CheckKind;

    fn params(retry: u32, alpha: bool) -> CheckParams {
        CheckParams {
            delay_loop: Duration::from_secs(10),
            retry,
            delay_before_retry: Duration::from_secs(2),
            warmup: Duration::ZERO,
            alpha,
            log_all_failures: false,
        }
    }

    fn down() -> Status {
        Status::Down(Failure::Refused)
    }

    /// A fake checker driven by a virtual clock: `script(t)` says whether the server answers at
    /// virtual time t. Returns (time, up) of every change.
    fn simulate(
        p: CheckParams,
        until: Duration,
        script: impl Fn(Duration) -> bool,
    ) -> Vec<(Duration, bool)> {
        let mut st = CheckerState::new(p);
        let mut now = Duration::ZERO;
        let mut changes = Vec::new();
        while now <= until {
            let s = if script(now) { Status::Up } else { down() };
            let step = st.on_result(&s);
            if let Event::Changed { up, .. } = step.event {
                changes.push((now, up));
            }
            now += step.next_delay;
        }
        changes
    }

    // Proves the initial state: non-alpha starts up and a first failure takes it down at once
    // (retry_it starts at retry); alpha starts down and a first success brings it up.
    #[test]
    fn initial_state_alpha_and_non_alpha() {
        let mut st = CheckerState::new(params(3, false));
        assert!(st.is_up());
        let s = st.on_result(&down());
        assert!(matches!(s.event, Event::Changed { up: false, .. }));
        assert_eq!(s.next_delay, Duration::from_secs(10));

        let mut st = CheckerState::new(params(3, true));
        assert!(!st.is_up());
        let s = st.on_result(&Status::Up);
        assert!(matches!(s.event, Event::Changed { up: true, .. }));

        // alpha + first failure: stays down, reported as confirmation of the initial state
        // (keepalived runs the notifies: update_svr_checker_state with !has_run).
        let mut st = CheckerState::new(params(3, true));
        let s = st.on_result(&down());
        assert_eq!(s.event, Event::Confirmed { up: false });
        assert!(!st.is_up());
        // non-alpha + first success: confirmation.
        let mut st = CheckerState::new(params(3, false));
        assert_eq!(
            st.on_result(&Status::Up).event,
            Event::Confirmed { up: true }
        );
    }

    // Proves retry semantics: once up, failure number retry+1 takes it down, the tolerated ones
    // re-check after delay_before_retry, and a success in between resets the count.
    #[test]
    fn retry_counts_and_delays() {
        let mut st = CheckerState::new(params(2, false));
        st.on_result(&Status::Up);
        let s1 = st.on_result(&down());
        assert_eq!(s1.next_delay, Duration::from_secs(2));
        assert!(matches!(s1.event, Event::Tolerated { attempt: 1, .. }));
        let s2 = st.on_result(&down());
        assert!(matches!(s2.event, Event::Tolerated { attempt: 2, .. }));
        assert!(st.is_up());
        // success resets
        assert_eq!(st.on_result(&Status::Up).event, Event::Nothing);
        assert_eq!(st.retry_it(), 0);
        st.on_result(&down());
        st.on_result(&down());
        let s3 = st.on_result(&down());
        assert!(matches!(
            s3.event,
            Event::Changed {
                up: false,
                reason: Some(Failure::Refused),
                ..
            }
        ));
        assert_eq!(s3.next_delay, Duration::from_secs(10));
        // failures while down: delay_loop, no change
        let s4 = st.on_result(&down());
        assert_eq!(s4.next_delay, Duration::from_secs(10));
        assert!(matches!(s4.event, Event::StillDown(_)));
        // one success brings it back
        assert!(matches!(
            st.on_result(&Status::Up).event,
            Event::Changed { up: true, .. }
        ));
    }

    // Proves retry 0: the first failure while up takes it down.
    #[test]
    fn retry_zero() {
        let mut st = CheckerState::new(params(0, false));
        st.on_result(&Status::Up);
        assert!(matches!(
            st.on_result(&down()).event,
            Event::Changed { up: false, .. }
        ));
    }

    // Proves with a virtual clock that a server dying at t=25s (checks at 0,10,20,30..) is
    // detected at 30 + retry*delay_before_retry = 34 s, i.e. within delay_loop + retry*dbr of
    // the failure, and comes back at the first check after it recovers.
    #[test]
    fn virtual_clock_detection_time() {
        let p = params(2, false);
        let changes = simulate(p, Duration::from_secs(200), |t| {
            t < Duration::from_secs(25) || t >= Duration::from_secs(100)
        });
        assert_eq!(
            changes,
            vec![
                (Duration::from_secs(34), false),
                (Duration::from_secs(104), true)
            ]
        );
        let bound = p.delay_loop + p.delay_before_retry * p.retry;
        assert!(Duration::from_secs(34) - Duration::from_secs(25) <= bound);
    }

    // Proves a flapping server that never fails retry+1 times in a row never goes down.
    #[test]
    fn flapping_below_retry_stays_up() {
        let mut st = CheckerState::new(params(2, false));
        for i in 0..60 {
            let s = if i % 3 == 0 { Status::Up } else { down() };
            let e = st.on_result(&s).event;
            assert!(!matches!(e, Event::Changed { .. }), "change at {i}: {e:?}");
            assert!(st.is_up());
        }
    }

    // Proves weight adjustments: a dynamic MISC weight is reported as a change while up, the
    // same weight again is not, and going down clears it.
    #[test]
    fn weight_changes() {
        let mut st = CheckerState::new(params(0, false));
        assert_eq!(
            st.on_result(&Status::Up).event,
            Event::Confirmed { up: true }
        );
        let e = st.on_result(&Status::Weight(WeightAdjust::Set(7))).event;
        assert_eq!(
            e,
            Event::Changed {
                up: true,
                weight: Some(WeightAdjust::Set(7)),
                reason: None
            }
        );
        assert_eq!(
            st.on_result(&Status::Weight(WeightAdjust::Set(7))).event,
            Event::Nothing
        );
        let e = st.on_result(&Status::Up).event;
        assert_eq!(
            e,
            Event::Changed {
                up: true,
                weight: None,
                reason: None
            }
        );
        st.on_result(&Status::Weight(WeightAdjust::Delta(-3)));
        let e = st.on_result(&down()).event;
        assert_eq!(
            e,
            Event::Changed {
                up: false,
                weight: None,
                reason: Some(Failure::Refused)
            }
        );
    }

    // Proves the defaults helper composes with the machine: a DNS checker (retry 3) needs four
    // failures once up.
    #[test]
    fn dns_defaults_need_four_failures() {
        let p = CheckParams::keepalived_defaults(
            &CheckKind::Dns(Default::default()),
            Duration::from_secs(5),
        );
        let mut st = CheckerState::new(p);
        st.on_result(&Status::Up);
        for _ in 0..3 {
            st.on_result(&down());
            assert!(st.is_up());
        }
        st.on_result(&down());
        assert!(!st.is_up());
    }

    /// (time, url) of every request, (time, up) of every change.
    type Walked = (Vec<(Duration, usize)>, Vec<(Duration, bool)>);

    /// Drives a 3-url walk on a virtual clock; `ok(t, url)` says whether url answers at t.
    /// Returns (time, url) of every request and (time, up) of every change.
    fn walk(fast: bool, until: Duration, ok: impl Fn(Duration, usize) -> bool) -> Walked {
        let mut st = CheckerState::for_urls(params(0, false), 3, fast);
        let (mut now, mut reqs, mut changes) = (Duration::ZERO, Vec::new(), Vec::new());
        while now <= until {
            let u = st.current_url().unwrap();
            reqs.push((now, u));
            let s = if ok(now, u) { Status::Up } else { down() };
            let step = st.on_result(&s);
            if let Event::Changed { up, .. } = step.event {
                changes.push((now, up));
            }
            // A request takes 1 ms.
            now += step.next_delay + Duration::from_millis(1);
        }
        (reqs, changes)
    }

    fn secs(v: &[(Duration, usize)]) -> Vec<(u64, usize)> {
        v.iter().map(|(t, u)| (t.as_secs(), *u)).collect()
    }

    // Proves check_http.c's walk (delay_loop 10 s, delay_before_retry 2 s, retry 0): one url per
    // delay_loop; url 1 failing takes the server down and is then checked alone every
    // max(delay_before_retry, delay_loop); once it answers the walk restarts at url 0 and the
    // server is up after the last url, one delay_loop per url.
    #[test]
    fn url_walk_one_url_per_delay_loop() {
        let bad = |t: Duration, u: usize| {
            !(u == 1 && t > Duration::from_secs(35) && t < Duration::from_secs(75))
        };
        let (reqs, changes) = walk(false, Duration::from_secs(120), bad);
        let r = secs(&reqs);
        assert_eq!(
            &r[..12],
            &[
                (0, 0),
                (10, 1),
                (20, 2),
                (30, 0),
                (40, 1), // url 1 fails at 40: down
                (50, 1),
                (60, 1),
                (70, 1),
                (80, 1), // failed url alone; answers at 80
                (90, 0),
                (100, 1),
                (110, 2), // walk again: up at 110
            ],
            "{r:?}"
        );
        let c: Vec<(u64, bool)> = changes.iter().map(|(t, u)| (t.as_secs(), *u)).collect();
        assert_eq!(c, vec![(40, false), (110, true)]);
    }

    // Proves fast_recovery: the first walk and the walk after the failed url answered run
    // without delay (the server is up again right after the failed url answered), the failed
    // url is still checked once per delay_loop, and an up server is walked one url per
    // delay_loop.
    #[test]
    fn url_walk_fast_recovery() {
        let bad = |t: Duration, u: usize| {
            !(u == 1 && t > Duration::from_secs(35) && t < Duration::from_secs(75))
        };
        let (reqs, changes) = walk(true, Duration::from_secs(120), bad);
        let r = secs(&reqs);
        assert_eq!(
            &r[..9],
            &[
                (0, 0),
                (0, 1),
                (0, 2),
                (10, 0),
                (20, 1),
                (30, 2),
                (40, 0),
                (50, 1),
                (60, 1)
            ],
            "{r:?}"
        );
        // url 1 failed at 50, answers at 80: urls 0, 1, 2 at once, up at 80.
        assert_eq!(&r[9..13], &[(70, 1), (80, 1), (80, 0), (80, 1)], "{r:?}");
        let c: Vec<(u64, bool)> = changes.iter().map(|(t, u)| (t.as_secs(), *u)).collect();
        assert_eq!(c, vec![(50, false), (80, true)]);
    }
}
