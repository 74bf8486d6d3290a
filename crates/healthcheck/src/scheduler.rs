//! Runs every check concurrently on the current tokio runtime.
//!
//! * one job per *distinct* [`CheckSpec`] (checker + target + params): an identical check of the
//!   same real server shared by several virtual servers runs once and its transitions are
//!   fanned out to every subscribed [`CheckId`]. A TCP_CHECK job runs in the scheduler's TCP
//!   engine (`tcp_engine`: one task, one timer structure and one epoll set for all of them,
//!   sockets reused); any other job is a task of its own;
//! * jittered starts: the first check of a job starts at a random point of `[0, warmup]`
//!   (keepalived: `warmup * random() / RAND_MAX`, warmup defaulting to delay_loop), so there is
//!   no start-up burst;
//! * the next check is scheduled `step.next_delay` after the previous one completed (keepalived
//!   semantics), and the wake-up lateness is recorded ([`Scheduler::stats`]);
//! * only transitions are reported, on an unbounded channel (they are rare and the checks must
//!   never block on a slow consumer); every check is counted in its subscriptions'
//!   [`CheckTally`], which the consumer reads when it needs them ([`Scheduler::tallies`]):
//!   nothing is sent per check unless asked for ([`Scheduler::report_every_check`]).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::checker::{CheckKind, CheckParams, Checker, Target};
use crate::result::{Failure, WeightAdjust};
use crate::state::{CheckerState, Event};
use crate::{check_url_with, CheckContext, Error};

/// Caller-chosen identifier of one (virtual server, real server, checker) triple.
pub type CheckId = u64;

/// Everything that defines a check job. Two subscriptions with equal specs share one job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckSpec {
    /// What to check.
    pub checker: Checker,
    /// Against which real server.
    pub target: Target,
    /// Scheduling and up/down parameters.
    pub params: CheckParams,
}

/// Why a [`Transition`] was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    /// The up/down state or the weight adjustment changed: act on it.
    Changed,
    /// The first result confirmed the initial state (or a new subscriber joined a job that
    /// already ran): the state in the message is current; acting on it is idempotent.
    Confirmed,
    /// A failure that did not change the state (tolerated retry, or already down); sent only
    /// when the job's `log_all_failures` is set. For logging.
    FailureLogged,
    /// A completed check, for status displays (only after [`Scheduler::report_every_check`]:
    /// every check; after [`Scheduler::report_first_check`]: a subscription's first): `up` is
    /// this check's own result, `reason` its failure, `latency` how long it took. Never changes
    /// any state; sent before the `Changed`/`Confirmed` report the same check may cause.
    Checked,
}

/// A report for one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Subscriber.
    pub id: CheckId,
    /// Checker state now.
    pub up: bool,
    /// Weight adjustment in force (None = configured weight).
    pub weight: Option<WeightAdjust>,
    /// The failure behind a down transition or a logged failure.
    pub reason: Option<Failure>,
    /// Why it was sent.
    pub kind: TransitionKind,
    /// How long the check took ([`TransitionKind::Checked`]; zero otherwise).
    pub latency: Duration,
}

/// The checks one subscription saw (counted since it subscribed or since
/// [`Scheduler::clear_tallies`]), and the last of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckTally {
    /// Checks passed.
    pub ok: u64,
    /// Checks failed.
    pub failed: u64,
    /// The last check.
    pub last: Option<LastCheck>,
}

/// One completed check, as a [`CheckTally`] keeps the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCheck {
    /// It passed.
    pub ok: bool,
    /// How long it took.
    pub latency: Duration,
    /// Why it failed.
    pub reason: Option<Failure>,
    /// When it started.
    pub at: Instant,
}

impl CheckTally {
    /// Add `other`'s counts; the later of the two last checks is kept.
    pub fn merge(&mut self, other: &CheckTally) {
        self.ok += other.ok;
        self.failed += other.failed;
        if let Some(o) = &other.last {
            if self.last.as_ref().is_none_or(|l| o.at >= l.at) {
                self.last = Some(o.clone());
            }
        }
    }
}

/// Counters for benchmarks and status dumps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    /// Distinct jobs running.
    pub jobs: usize,
    /// Subscriptions.
    pub subscriptions: usize,
    /// Checks completed.
    pub checks_run: u64,
    /// Checks rescheduled because their socket could not be created: the process (or the
    /// system) was out of file descriptors.
    pub checks_without_descriptor: u64,
    /// Wake-up lateness histogram in µs, four buckets per power of two (relative error ≤ 25%):
    /// see [`lateness_bucket`] / [`lateness_bucket_upper_us`].
    pub lateness_hist: Vec<u64>,
}

impl SchedulerStats {
    /// Upper bound of the lateness quantile `q` (0..=1) from the histogram, in µs.
    pub fn lateness_quantile_us(&self, q: f64) -> u64 {
        let total: u64 = self.lateness_hist.iter().sum();
        if total == 0 {
            return 0;
        }
        let want = ((total as f64) * q).ceil() as u64;
        let mut acc = 0;
        for (i, n) in self.lateness_hist.iter().enumerate() {
            acc += n;
            if acc >= want {
                return lateness_bucket_upper_us(i);
            }
        }
        u64::MAX
    }
}

/// Histogram bucket of a lateness of `us` µs: 0..=3 exact, then four buckets per octave.
pub fn lateness_bucket(us: u64) -> usize {
    if us < 4 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize; // floor(log2), >= 2
    let m = ((us >> (e - 2)) & 3) as usize;
    4 * (e - 1) + m
}

/// Exclusive upper bound (µs) of histogram bucket `b`.
pub fn lateness_bucket_upper_us(b: usize) -> u64 {
    if b < 4 {
        return b as u64 + 1;
    }
    let e = b / 4 + 1;
    let m = (b % 4) as u64;
    (5 + m).checked_shl((e - 2) as u32).unwrap_or(u64::MAX)
}

const BUCKETS: usize = 4 * 62;

pub(crate) struct Counters {
    checks_run: AtomicU64,
    lateness: Vec<AtomicU64>,
    /// Checks not run because no descriptor was left for their socket (rescheduled).
    no_descriptor: AtomicU64,
    /// When the last "out of descriptors" line was logged, and how many checks were
    /// rescheduled since.
    no_descriptor_log: Mutex<(Option<Instant>, u64)>,
    /// Send [`TransitionKind::Checked`] reports: [`REPORT_NONE`], [`REPORT_FIRST`] or
    /// [`REPORT_EVERY`].
    report_checks: AtomicU8,
}

const REPORT_NONE: u8 = 0;
const REPORT_FIRST: u8 = 1;
const REPORT_EVERY: u8 = 2;

struct Sub {
    id: CheckId,
    tally: CheckTally,
    /// Its first check was reported ([`REPORT_FIRST`]).
    reported: bool,
}

impl Sub {
    fn new(id: CheckId) -> Self {
        Sub {
            id,
            tally: CheckTally::default(),
            reported: false,
        }
    }
}

pub(crate) struct JobShared {
    subscribers: Vec<Sub>,
    /// Subscribers suspended with [`Scheduler::set_enabled`] (keepalived's `ha_suspend`).
    disabled: Vec<CheckId>,
    state: CheckerState,
}

impl JobShared {
    /// A shared job runs while at least one subscriber is enabled.
    pub(crate) fn enabled(&self) -> bool {
        if self.disabled.is_empty() {
            return !self.subscribers.is_empty();
        }
        self.subscribers
            .iter()
            .any(|s| !self.disabled.contains(&s.id))
    }
}

struct Job {
    shared: Arc<Mutex<JobShared>>,
    run: JobRun,
}

/// How a job runs.
enum JobRun {
    /// Its own task.
    Task(JoinHandle<()>),
    /// A TCP_CHECK job of the TCP engine ([`crate::tcp_engine`]), under this key.
    Engine(u64),
}

/// The TCP engine of a scheduler.
enum Engine {
    /// Not started yet: its epoll set.
    Idle(nix::sys::epoll::Epoll),
    /// Running: its commands.
    Running(mpsc::UnboundedSender<crate::tcp_engine::Cmd>),
    /// Unavailable: TCP checks run as tasks.
    Off,
}

struct Inner {
    ctx: CheckContext,
    tx: mpsc::UnboundedSender<Transition>,
    /// One copy of each distinct spec, shared by the job's key, its subscriptions and its
    /// task.
    jobs: HashMap<Arc<CheckSpec>, Job>,
    by_id: HashMap<CheckId, Arc<CheckSpec>>,
    engine: Engine,
    /// The next engine job key.
    next_key: u64,
}

impl Inner {
    /// Tell the TCP engine whether `job` runs ([`JobShared::enabled`]) after its subscribers
    /// changed: the engine keeps that flag with the job instead of locking the job's state
    /// before every check.
    fn sync_enabled(&self, job: &Job, sh: &JobShared) {
        if let (JobRun::Engine(key), Engine::Running(tx)) = (&job.run, &self.engine) {
            let _ = tx.send(crate::tcp_engine::Cmd::Enabled(*key, sh.enabled()));
        }
    }

    /// Stop a job's checks.
    fn stop(&self, run: JobRun) {
        match run {
            JobRun::Task(t) => t.abort(),
            JobRun::Engine(key) => {
                if let Engine::Running(tx) = &self.engine {
                    let _ = tx.send(crate::tcp_engine::Cmd::Remove(key));
                }
            }
        }
    }
}

/// The check scheduler. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Mutex<Inner>>,
    counters: Arc<Counters>,
    random: RandomState,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("stats", &self.stats())
            .finish()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of our short critical sections cannot leave the data
    // inconsistent in a way that matters more than stopping all health checks would.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn send_for(
    tx: &mpsc::UnboundedSender<Transition>,
    ids: &[CheckId],
    up: bool,
    weight: Option<WeightAdjust>,
    reason: Option<Failure>,
    kind: TransitionKind,
) {
    for id in ids {
        // A closed receiver means the director is shutting down: nothing to report to.
        let _ = tx.send(Transition {
            id: *id,
            up,
            weight,
            reason: reason.clone(),
            kind,
            latency: Duration::ZERO,
        });
    }
}

impl Scheduler {
    /// A scheduler and the receiver of its transitions.
    pub fn new(ctx: CheckContext) -> (Scheduler, mpsc::UnboundedReceiver<Transition>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Counters {
            checks_run: AtomicU64::new(0),
            lateness: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            no_descriptor: AtomicU64::new(0),
            no_descriptor_log: Mutex::new((None, 0)),
            report_checks: AtomicU8::new(REPORT_NONE),
        };
        let s = Scheduler {
            inner: Arc::new(Mutex::new(Inner {
                ctx,
                tx,
                jobs: HashMap::new(),
                by_id: HashMap::new(),
                engine: match crate::tcp_engine::new_epoll() {
                    Some(ep) => Engine::Idle(ep),
                    None => Engine::Off,
                },
                next_key: 0,
            })),
            counters: Arc::new(counters),
            random: RandomState::new(),
        };
        (s, rx)
    }

    /// Subscribe `id` to the check `spec`, starting a job if no identical one runs. Must be
    /// called from within a tokio runtime (the job is spawned on it). Re-adding an existing id
    /// replaces its subscription.
    pub fn add(&self, id: CheckId, spec: CheckSpec) -> Result<(), Error> {
        let handle = tokio::runtime::Handle::try_current().map_err(|e| Error::Invalid {
            what: "runtime",
            value: e.to_string(),
        })?;
        let mut inner = lock(&self.inner);
        if inner.by_id.get(&id).map(|s| &**s) == Some(&spec) {
            return Ok(());
        }
        if inner.by_id.contains_key(&id) {
            remove_locked(&mut inner, id);
        }
        if let Some(key) = inner.jobs.get_key_value(&spec).map(|(k, _)| k.clone()) {
            inner.by_id.insert(id, key.clone());
            let job = &inner.jobs[&key];
            let mut sh = lock(&job.shared);
            let mut sub = Sub::new(id);
            // The job ran: this subscription's first check is behind it.
            sub.reported = sh.state.has_run();
            sh.subscribers.push(sub);
            inner.sync_enabled(job, &sh);
            if sh.state.has_run() {
                send_for(
                    &inner.tx,
                    &[id],
                    sh.state.is_up(),
                    sh.state.weight(),
                    None,
                    TransitionKind::Confirmed,
                );
            }
            return Ok(());
        }
        let spec = Arc::new(spec);
        inner.by_id.insert(id, spec.clone());
        let shared = Arc::new(Mutex::new(JobShared {
            subscribers: vec![Sub::new(id)],
            disabled: Vec::new(),
            state: match &spec.checker.kind {
                CheckKind::Http(h) | CheckKind::Ssl(h) => {
                    CheckerState::for_urls(spec.params, h.urls.len(), h.fast_recovery)
                }
                _ => CheckerState::new(spec.params),
            },
        }));
        let jitter = self.jitter(&spec, id);
        if matches!(spec.checker.kind, CheckKind::Tcp) {
            if let Engine::Idle(_) = inner.engine {
                inner.engine = match std::mem::replace(&mut inner.engine, Engine::Off) {
                    Engine::Idle(ep) => match crate::tcp_engine::start(
                        &handle,
                        ep,
                        inner.tx.clone(),
                        self.counters.clone(),
                    ) {
                        Some(tx) => Engine::Running(tx),
                        None => Engine::Off,
                    },
                    other => other,
                };
            }
            if let Engine::Running(tx) = &inner.engine {
                let key = inner.next_key;
                let cmd = crate::tcp_engine::Cmd::Add {
                    key,
                    spec: spec.clone(),
                    shared: shared.clone(),
                    first: Instant::now() + jitter,
                };
                if tx.send(cmd).is_ok() {
                    inner.next_key += 1;
                    let run = JobRun::Engine(key);
                    inner.jobs.insert(spec, Job { shared, run });
                    return Ok(());
                }
                inner.engine = Engine::Off;
            }
        }
        let task = handle.spawn(run_job(
            inner.ctx.clone(),
            spec.clone(),
            shared.clone(),
            inner.tx.clone(),
            self.counters.clone(),
            jitter,
        ));
        let run = JobRun::Task(task);
        inner.jobs.insert(spec, Job { shared, run });
        Ok(())
    }

    /// Report every completed check ([`TransitionKind::Checked`], with its result and
    /// latency) besides the state changes, or stop doing so.
    pub fn report_every_check(&self, on: bool) {
        let mode = if on { REPORT_EVERY } else { REPORT_NONE };
        self.counters.report_checks.store(mode, Ordering::Relaxed);
    }

    /// Report the first completed check of each subscription ([`TransitionKind::Checked`]) and
    /// no other, or stop doing so. The others are only counted: see [`Scheduler::tallies`].
    pub fn report_first_check(&self, on: bool) {
        let mode = if on { REPORT_FIRST } else { REPORT_NONE };
        self.counters.report_checks.store(mode, Ordering::Relaxed);
    }

    /// Every subscription's [`CheckTally`].
    pub fn tallies(&self) -> Vec<(CheckId, CheckTally)> {
        let inner = lock(&self.inner);
        let mut out = Vec::with_capacity(inner.by_id.len());
        for job in inner.jobs.values() {
            let sh = lock(&job.shared);
            out.extend(sh.subscribers.iter().map(|s| (s.id, s.tally.clone())));
        }
        out
    }

    /// The [`CheckTally`] of subscription `id`.
    pub fn tally(&self, id: CheckId) -> Option<CheckTally> {
        let inner = lock(&self.inner);
        let job = inner.jobs.get(inner.by_id.get(&id)?)?;
        let sh = lock(&job.shared);
        let s = sh.subscribers.iter().find(|s| s.id == id)?;
        Some(s.tally.clone())
    }

    /// Zero every subscription's counts (the last checks are kept).
    pub fn clear_tallies(&self) {
        let inner = lock(&self.inner);
        for job in inner.jobs.values() {
            for s in &mut lock(&job.shared).subscribers {
                s.tally.ok = 0;
                s.tally.failed = 0;
            }
        }
    }

    /// Unsubscribe `id`; the job stops when its last subscriber leaves.
    pub fn remove(&self, id: CheckId) {
        let mut inner = lock(&self.inner);
        remove_locked(&mut inner, id);
    }

    /// Suspend (false) or resume (true) the checks of subscription `id` (keepalived's
    /// `ha_suspend`: a suspended checker is not run and keeps its state). A job shared by
    /// several subscriptions keeps running while any of them is enabled.
    pub fn set_enabled(&self, id: CheckId, enabled: bool) {
        let inner = lock(&self.inner);
        let Some(spec) = inner.by_id.get(&id) else {
            return;
        };
        if let Some(job) = inner.jobs.get(spec) {
            let mut sh = lock(&job.shared);
            sh.disabled.retain(|d| *d != id);
            if !enabled {
                sh.disabled.push(id);
            }
            inner.sync_enabled(job, &sh);
        }
    }

    /// The spec subscription `id` runs (shared with its job: no copy).
    pub fn spec(&self, id: CheckId) -> Option<Arc<CheckSpec>> {
        lock(&self.inner).by_id.get(&id).cloned()
    }

    /// Current (up, weight) of the job `id` is subscribed to.
    pub fn state(&self, id: CheckId) -> Option<(bool, Option<WeightAdjust>)> {
        let inner = lock(&self.inner);
        let spec = inner.by_id.get(&id)?;
        let job = inner.jobs.get(spec)?;
        let sh = lock(&job.shared);
        Some((sh.state.is_up(), sh.state.weight()))
    }

    /// Counters.
    pub fn stats(&self) -> SchedulerStats {
        let inner = lock(&self.inner);
        SchedulerStats {
            jobs: inner.jobs.len(),
            subscriptions: inner.by_id.len(),
            checks_run: self.counters.checks_run.load(Ordering::Relaxed),
            checks_without_descriptor: self.counters.no_descriptor.load(Ordering::Relaxed),
            lateness_hist: self
                .counters
                .lateness
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
        }
    }

    /// Stop every job (subscriptions are dropped).
    pub fn shutdown(&self) {
        let mut inner = lock(&self.inner);
        let jobs: Vec<Job> = inner.jobs.drain().map(|(_, j)| j).collect();
        for job in jobs {
            if let JobRun::Task(t) = job.run {
                t.abort();
            }
        }
        if let Engine::Running(tx) = &inner.engine {
            let _ = tx.send(crate::tcp_engine::Cmd::Clear);
        }
        inner.by_id.clear();
    }

    fn jitter(&self, spec: &CheckSpec, id: CheckId) -> Duration {
        let warmup = spec.params.warmup;
        if warmup.is_zero() {
            return Duration::ZERO;
        }
        let mut h = self.random.build_hasher();
        spec.hash(&mut h);
        id.hash(&mut h);
        let r = h.finish();
        let nanos = warmup.as_nanos();
        let pick = (u128::from(r) * nanos) >> 64;
        Duration::from_nanos(u64::try_from(pick).unwrap_or(u64::MAX))
    }
}

fn remove_locked(inner: &mut Inner, id: CheckId) {
    let Some(spec) = inner.by_id.remove(&id) else {
        return;
    };
    let empty = match inner.jobs.get(&spec) {
        Some(job) => {
            let mut sh = lock(&job.shared);
            sh.subscribers.retain(|s| s.id != id);
            sh.disabled.retain(|s| *s != id);
            inner.sync_enabled(job, &sh);
            sh.subscribers.is_empty()
        }
        None => false,
    };
    if empty {
        if let Some(job) = inner.jobs.remove(&spec) {
            inner.stop(job.run);
        }
    }
}

pub(crate) fn record_lateness(c: &Counters, late: Duration) {
    let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
    if let Some(b) = c.lateness.get(lateness_bucket(us).min(BUCKETS - 1)) {
        b.fetch_add(1, Ordering::Relaxed);
    }
}

/// At most one "out of descriptors" line per this interval, with the count of checks
/// rescheduled: when thousands of checks find no descriptor, the log says so once, not once
/// per check.
const NO_DESCRIPTOR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A check found no descriptor for its socket (keepalived: "TCP connect fail to create socket.
/// Rescheduling."): counted, logged at most once per [`NO_DESCRIPTOR_LOG_INTERVAL`].
pub(crate) fn no_descriptor(c: &Counters, f: &Failure, delay: Duration) {
    c.no_descriptor.fetch_add(1, Ordering::Relaxed);
    let now = Instant::now();
    let mut g = lock(&c.no_descriptor_log);
    g.1 += 1;
    if g.0
        .is_some_and(|t| now.duration_since(t) < NO_DESCRIPTOR_LOG_INTERVAL)
    {
        return;
    }
    log::warn!(
        "{} check(s) could not create their socket ({f}); rescheduled {} s later without a state change",
        g.1,
        delay.as_secs_f64()
    );
    *g = (Some(now), 0);
}

async fn run_job(
    ctx: CheckContext,
    spec: Arc<CheckSpec>,
    shared: Arc<Mutex<JobShared>>,
    tx: mpsc::UnboundedSender<Transition>,
    counters: Arc<Counters>,
    jitter: Duration,
) {
    let mut deadline = Instant::now() + jitter;
    loop {
        tokio::time::sleep_until(deadline).await;
        record_lateness(
            &counters,
            Instant::now().saturating_duration_since(deadline),
        );
        if !lock(&shared).enabled() {
            // Suspended: keep the state, look again after delay_loop (keepalived).
            deadline = Instant::now() + spec.params.delay_loop;
            continue;
        }
        let started = Instant::now();
        // Boxed: the check's state machine (HTTP/TLS buffers and state, kilobytes) exists
        // only while a check runs, instead of inside every job's task for its whole life.
        // HTTP_GET/SSL_GET: the url the walk is at (keepalived fetches one url per check).
        let url = match &spec.checker.kind {
            CheckKind::Http(h) | CheckKind::Ssl(h) => {
                Some(lock(&shared).state.current_url().unwrap_or(h.urls.len()))
            }
            _ => None,
        };
        let res = Box::pin(check_url_with(&ctx, &spec.checker, &spec.target, url)).await;
        if let crate::Status::Down(f) = &res.status {
            if f.is_out_of_descriptors() {
                // Not a verdict on the real server: no state change, try again delay_loop
                // later (keepalived).
                no_descriptor(&counters, f, spec.params.delay_loop);
                deadline = Instant::now() + spec.params.delay_loop;
                continue;
            }
        }
        let latency = started.elapsed();
        let next = finish_check(
            &spec,
            &shared,
            &tx,
            &counters,
            &res.status,
            started,
            latency,
        );
        deadline = Instant::now() + next;
    }
}

/// Account for one completed check of the job (`spec`, `shared`): every subscription's tally,
/// the `Checked` reports asked for, the state machine's step and its transitions. Returns the
/// delay before the job's next check.
pub(crate) fn finish_check(
    spec: &CheckSpec,
    shared: &Mutex<JobShared>,
    tx: &mpsc::UnboundedSender<Transition>,
    counters: &Counters,
    status: &crate::Status,
    started: Instant,
    latency: Duration,
) -> Duration {
    counters.checks_run.fetch_add(1, Ordering::Relaxed);
    let (step, ids) = {
        let mut sh = lock(shared);
        let mode = counters.report_checks.load(Ordering::Relaxed);
        let ok = status.is_up();
        let reason = match status {
            crate::Status::Down(f) => Some(f),
            _ => None,
        };
        for sub in &mut sh.subscribers {
            if ok {
                sub.tally.ok += 1;
            } else {
                sub.tally.failed += 1;
            }
            sub.tally.last = Some(LastCheck {
                ok,
                latency,
                reason: reason.cloned(),
                at: started,
            });
            let first = !sub.reported;
            sub.reported = true;
            if mode == REPORT_EVERY || (mode == REPORT_FIRST && first) {
                let _ = tx.send(Transition {
                    id: sub.id,
                    up: ok,
                    weight: None,
                    reason: reason.cloned(),
                    kind: TransitionKind::Checked,
                    latency,
                });
            }
        }
        let step = sh.state.on_result(status);
        // Most checks change nothing: copy the subscribers only when there is a report.
        let report = match &step.event {
            Event::Nothing => false,
            Event::Tolerated { .. } | Event::StillDown(_) => spec.params.log_all_failures,
            Event::Changed { .. } | Event::Confirmed { .. } => true,
        };
        let ids: Vec<CheckId> = if report {
            sh.subscribers.iter().map(|s| s.id).collect()
        } else {
            Vec::new()
        };
        (step, ids)
    };
    match step.event {
        Event::Changed { up, weight, reason } => {
            send_for(tx, &ids, up, weight, reason, TransitionKind::Changed)
        }
        Event::Confirmed { up } => {
            let reason = match status {
                crate::Status::Down(f) => Some(f.clone()),
                _ => None,
            };
            send_for(tx, &ids, up, None, reason, TransitionKind::Confirmed)
        }
        Event::Tolerated { reason, .. } | Event::StillDown(reason) => {
            if spec.params.log_all_failures {
                let (up, w) = {
                    let sh = lock(shared);
                    (sh.state.is_up(), sh.state.weight())
                };
                send_for(tx, &ids, up, w, Some(reason), TransitionKind::FailureLogged)
            }
        }
        Event::Nothing => {}
    }
    step.next_delay
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::{CheckKind, FileCheck};
    use crate::Limits;
    use std::path::PathBuf;

    fn tmpfile(tag: &str, content: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("hc-sched-{}-{tag}", std::process::id()));
        std::fs::write(&p, content).unwrap();
        p
    }

    fn spec(path: &std::path::Path, port: u16, warmup: Duration) -> CheckSpec {
        let kind = CheckKind::File(FileCheck {
            path: path.to_path_buf(),
            weight: 0,
            reverse: false,
        });
        let mut params = CheckParams::keepalived_defaults(&kind, Duration::from_secs(1));
        params.warmup = warmup;
        CheckSpec {
            checker: Checker::new(kind),
            target: Target::new(rs_addr(port)),
            params,
        }
    }

    fn rs_addr(port: u16) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([10, 0, 0, 2], port))
    }

    fn ctx() -> CheckContext {
        CheckContext::new(Limits::default()).unwrap()
    }

    // Proves dedupe: two subscriptions with the same spec share one job, and a transition of
    // that job is reported to both ids; steady state produces no further messages.
    #[tokio::test(start_paused = true)]
    async fn dedupes_and_fans_out() {
        let f = tmpfile("dedupe", "0");
        let (s, mut rx) = Scheduler::new(ctx());
        let sp = spec(&f, 80, Duration::ZERO);
        s.add(1, sp.clone()).unwrap();
        s.add(2, sp.clone()).unwrap();
        assert_eq!(s.stats().jobs, 1);
        assert_eq!(s.stats().subscriptions, 2);
        tokio::time::sleep(Duration::from_millis(10)).await;
        // First result confirms the initial (up) state for both.
        let mut got = [rx.recv().await.unwrap(), rx.recv().await.unwrap()];
        got.sort_by_key(|t| t.id);
        assert!(got
            .iter()
            .all(|t| t.kind == TransitionKind::Confirmed && t.up));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(rx.try_recv().is_err(), "no messages in steady state");
        std::fs::write(&f, "1").unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let mut got = [rx.recv().await.unwrap(), rx.recv().await.unwrap()];
        got.sort_by_key(|t| t.id);
        assert_eq!(got[0].id, 1);
        assert_eq!(got[1].id, 2);
        assert!(got
            .iter()
            .all(|t| t.kind == TransitionKind::Changed && !t.up));
        assert!(matches!(got[0].reason, Some(Failure::FileFault(1))));
        assert_eq!(s.state(1), Some((false, None)));
        let runs = s.stats().checks_run;
        assert!(
            (6..=9).contains(&runs),
            "one job, ~1 check per second: {runs}"
        );
        s.shutdown();
        std::fs::remove_file(&f).unwrap();
    }

    // Proves a subscriber joining a job that already ran gets its current state, and that a
    // job stops when its last subscriber leaves.
    #[tokio::test(start_paused = true)]
    async fn late_subscriber_and_removal() {
        let f = tmpfile("late", "1");
        let (s, mut rx) = Scheduler::new(ctx());
        let sp = spec(&f, 81, Duration::ZERO);
        s.add(1, sp.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let t = rx.recv().await.unwrap();
        assert_eq!((t.id, t.up, t.kind), (1, false, TransitionKind::Changed));
        s.add(7, sp.clone()).unwrap();
        let t = rx.recv().await.unwrap();
        assert_eq!((t.id, t.up, t.kind), (7, false, TransitionKind::Confirmed));
        s.remove(1);
        assert_eq!(s.stats().jobs, 1);
        s.remove(7);
        assert_eq!(s.stats().jobs, 0);
        let before = s.stats().checks_run;
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(s.stats().checks_run, before, "removed job no longer runs");
        std::fs::remove_file(&f).unwrap();
    }

    // Proves jittered starts: 400 jobs with warmup 1 s do not all start at once; after 250 ms
    // roughly a quarter have run, and all have run after 1 s.
    #[tokio::test(start_paused = true)]
    async fn jittered_start() {
        let f = tmpfile("jitter", "0");
        let (s, _rx) = Scheduler::new(ctx());
        for i in 0..400u16 {
            s.add(u64::from(i), spec(&f, 1000 + i, Duration::from_secs(1)))
                .unwrap();
        }
        assert_eq!(s.stats().jobs, 400);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let early = s.stats().checks_run;
        assert!(
            (40..=160).contains(&early),
            "about 100 of 400 in the first quarter: {early}"
        );
        tokio::time::sleep(Duration::from_millis(760)).await;
        assert!(s.stats().checks_run >= 400);
        s.shutdown();
        std::fs::remove_file(&f).unwrap();
    }

    // Proves ha_suspend-style suspension: a disabled subscription stops the job's checks (its
    // state is kept) until it is enabled again; a shared job runs while any subscriber is
    // enabled.
    #[tokio::test(start_paused = true)]
    async fn suspend_and_resume() {
        let f = tmpfile("suspend", "0");
        let (s, _rx) = Scheduler::new(ctx());
        let sp = spec(&f, 82, Duration::ZERO);
        s.add(1, sp.clone()).unwrap();
        s.add(2, sp).unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let n0 = s.stats().checks_run;
        assert!(n0 >= 2);
        s.set_enabled(1, false);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(s.stats().checks_run >= n0 + 2, "still enabled for id 2");
        s.set_enabled(2, false);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let n1 = s.stats().checks_run;
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            s.stats().checks_run,
            n1,
            "all subscribers suspended: no checks"
        );
        assert_eq!(s.state(1), Some((true, None)), "state kept while suspended");
        s.set_enabled(2, true);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(s.stats().checks_run > n1);
        s.shutdown();
        std::fs::remove_file(&f).unwrap();
    }

    // Proves the per-check accounting without per-check messages: with report_first_check a
    // subscription gets one Checked report (its first check) and then only transitions, while
    // its tally counts every check (ok and failed), keeps the last one with its reason, is
    // zeroed by clear_tallies and is per subscription (a late subscriber counts from its
    // subscription).
    #[tokio::test(start_paused = true)]
    async fn tallies_count_every_check_first_reported() {
        let f = tmpfile("tally", "0");
        let (s, mut rx) = Scheduler::new(ctx());
        s.report_first_check(true);
        let sp = spec(&f, 83, Duration::ZERO);
        s.add(1, sp.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let t = rx.recv().await.unwrap();
        assert_eq!((t.id, t.kind, t.up), (1, TransitionKind::Checked, true));
        let t = rx.recv().await.unwrap();
        assert_eq!((t.id, t.kind), (1, TransitionKind::Confirmed));
        tokio::time::sleep(Duration::from_millis(4500)).await;
        assert!(rx.try_recv().is_err(), "no message per check");
        let t1 = s.tally(1).unwrap();
        assert_eq!((t1.ok, t1.failed), (5, 0), "{t1:?}");
        assert!(t1.last.as_ref().is_some_and(|l| l.ok && l.reason.is_none()));
        s.add(2, sp.clone()).unwrap();
        let t = rx.recv().await.unwrap();
        assert_eq!((t.id, t.kind), (2, TransitionKind::Confirmed));
        std::fs::write(&f, "1").unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let all: HashMap<CheckId, CheckTally> = s.tallies().into_iter().collect();
        assert_eq!((all[&1].ok, all[&1].failed), (5, 1), "{all:?}");
        assert_eq!((all[&2].ok, all[&2].failed), (0, 1), "{all:?}");
        let last = all[&2].last.clone().unwrap();
        assert!(!last.ok);
        assert!(matches!(last.reason, Some(Failure::FileFault(1))));
        // The late subscriber's first check is behind the job: no Checked for it.
        let mut kinds = Vec::new();
        while let Ok(t) = rx.try_recv() {
            kinds.push(t.kind);
        }
        assert!(!kinds.contains(&TransitionKind::Checked), "{kinds:?}");
        s.clear_tallies();
        let t1 = s.tally(1).unwrap();
        assert_eq!((t1.ok, t1.failed), (0, 0));
        assert!(t1.last.is_some(), "the last check is kept");
        let mut merged = CheckTally::default();
        merged.merge(&all[&1]);
        merged.merge(&all[&2]);
        assert_eq!((merged.ok, merged.failed), (5, 2));
        assert_eq!(merged.last.map(|l| l.ok), Some(false));
        s.shutdown();
        std::fs::remove_file(&f).unwrap();
    }

    // Proves the lateness histogram: buckets are monotonic, every value lies below its
    // bucket's upper bound within 25%, and the quantile helper reports the right bucket.
    #[test]
    fn lateness_histogram() {
        let mut last = 0;
        for us in [
            0u64,
            1,
            3,
            4,
            5,
            7,
            8,
            9,
            15,
            16,
            100,
            1000,
            4999,
            5000,
            1 << 40,
        ] {
            let b = lateness_bucket(us);
            assert!(b >= last);
            last = b;
            let up = lateness_bucket_upper_us(b);
            assert!(us < up, "{us} < {up}");
            assert!(up as f64 <= (us.max(1) as f64) * 1.25 + 1.0, "{us} -> {up}");
        }
        let mut st = SchedulerStats {
            lateness_hist: vec![0; BUCKETS],
            ..Default::default()
        };
        st.lateness_hist[lateness_bucket(10)] = 99;
        st.lateness_hist[lateness_bucket(1000)] = 1;
        assert_eq!(
            st.lateness_quantile_us(0.99),
            lateness_bucket_upper_us(lateness_bucket(10))
        );
        assert_eq!(st.lateness_quantile_us(1.0), 1024);
    }
}
