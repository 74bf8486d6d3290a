//! TCP_CHECK at scale: one task runs every TCP_CHECK job of a [`crate::Scheduler`].
//!
//! A TCP check is a non-blocking `connect` and nothing else, so the engine keeps it to a few
//! system calls and no allocation, instead of a tokio task per job (a timer entry for its sleep
//! and one for its connect timeout, a wake-up, an I/O-driver registration and deregistration
//! per check):
//!
//! * one timer structure for all the jobs (next start, or connect timeout while in flight) and
//!   one tokio sleep for its earliest deadline. Nearly every deadline is "now + one of a few
//!   delays" (delay_loop, delay_before_retry, connect_timeout), so each such delay has a FIFO
//!   queue, in deadline order by construction: scheduling and firing touch only the ends of a
//!   queue (a binary heap of thousands of entries cost a cache miss per level on every pop);
//!   other deadlines (the jittered first checks) go to a heap;
//! * one epoll set of its own (its descriptor is registered once with the runtime): a socket is
//!   added to it once, when it is created, and stays in it for its life; idle sockets are
//!   reused (disconnected with `connect(AF_UNSPEC)`, as [`crate::net::TcpPool`] does), so a
//!   plain check is `connect` + `epoll_wait` (shared with the checks completing at the same
//!   time) + `getsockopt(SO_ERROR)` + `connect(AF_UNSPEC)`;
//! * the events are edge-triggered, and epoll reports a socket's state as it is when it is
//!   delivered: a socket that went back to the idle pool reports nothing anyone waits for
//!   (events on a descriptor with no check in flight are ignored), and a reused socket reports
//!   nothing before its new connect completes (a connecting TCP socket polls as 0);
//! * the verdicts are those of the per-task path ([`crate::tcp::check_tcp`]): the connect's
//!   error (`SO_ERROR`) or up; a connect still pending after connect_timeout is
//!   `Timeout(Connect)`; a socket that cannot be created for want of descriptors reschedules
//!   the check delay_loop later with no state change.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socket2::{Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::net::{make_socket, TcpPool};
use crate::result::{Failure, Phase};
use crate::scheduler::{
    finish_check, no_descriptor, record_lateness, CheckSpec, Counters, JobShared, Transition,
};
use crate::Status;

/// The engine's epoll descriptor, for [`AsyncFd`].
pub(crate) struct EpollFd(Epoll);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0 .0.as_raw_fd()
    }
}

/// A new epoll set (made when the scheduler is, so that a process out of descriptors later
/// still has it).
pub(crate) fn new_epoll() -> Option<Epoll> {
    Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).ok()
}

/// What the scheduler tells the engine.
pub(crate) enum Cmd {
    /// Run a job, its first check at `first`.
    Add {
        key: u64,
        spec: Arc<CheckSpec>,
        shared: Arc<Mutex<JobShared>>,
        first: Instant,
    },
    /// Stop a job (a check in flight is abandoned).
    Remove(u64),
    /// Whether a job runs (false: all its subscribers are suspended, `ha_suspend`).
    Enabled(u64, bool),
    /// Stop every job.
    Clear,
}

/// Start the engine on the current runtime: `None` if its epoll set cannot be registered (the
/// caller then runs TCP checks as tasks).
pub(crate) fn start(
    handle: &tokio::runtime::Handle,
    epoll: Epoll,
    tx: mpsc::UnboundedSender<Transition>,
    counters: Arc<Counters>,
) -> Option<mpsc::UnboundedSender<Cmd>> {
    let _enter = handle.enter();
    // `with_interest` is deprecated because a generic `T` may hand out a descriptor it does not
    // own; `EpollFd` owns its descriptor (an `OwnedFd`, never replaced) for the whole life of
    // the `AsyncFd`, which is the condition of the unsafe `register_with_interest`.
    #[allow(deprecated)]
    let ep = AsyncFd::with_interest(EpollFd(epoll), tokio::io::Interest::READABLE).ok()?;
    let (ctx, crx) = mpsc::unbounded_channel();
    let st = State {
        tx,
        counters,
        gens: Vec::new(),
        jobs: Vec::new(),
        free: Vec::new(),
        by_key: HashMap::new(),
        timers: Timers::default(),
        owner: Vec::new(),
        idle: [Vec::new(), Vec::new()],
    };
    handle.spawn(run(ep, st, crx));
    Some(ctx)
}

/// A check in flight.
struct Flight {
    sock: Socket,
    started: Instant,
}

struct EJob {
    key: u64,
    spec: Arc<CheckSpec>,
    shared: Arc<Mutex<JobShared>>,
    dst: SocketAddr,
    /// Some subscriber is not suspended ([`JobShared::enabled`], kept up to date by the
    /// scheduler).
    enabled: bool,
    /// The spec's delay_loop and connect_timeout, at hand.
    delay_loop: Duration,
    connect_timeout: Duration,
    /// Plain socket (no bindto/bind_port/bind_if/fwmark): taken from and given back to the
    /// idle sockets.
    pooled: bool,
    flight: Option<Flight>,
}

/// A timer entry: (deadline, slot, generation).
type Entry = (Instant, u32, u32);

/// Most distinct delays given their own queue.
const MAX_QUEUES: usize = 8;

/// Deadlines: a FIFO queue per delay (pushed in deadline order), a heap for the rest.
#[derive(Default)]
struct Timers {
    queues: Vec<(Duration, VecDeque<Entry>)>,
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Timers {
    /// Add `now + delay`. `now` never goes back between calls (it is the clock's).
    fn push(&mut self, now: Instant, delay: Duration, slot: u32, gen: u32) {
        let e = (now + delay, slot, gen);
        let q = match self.queues.iter().position(|(d, _)| *d == delay) {
            Some(i) => Some(i),
            None if self.queues.len() < MAX_QUEUES => {
                self.queues.push((delay, VecDeque::new()));
                Some(self.queues.len() - 1)
            }
            None => None,
        };
        if let Some(q) = q.map(|i| &mut self.queues[i].1) {
            if q.back().is_none_or(|b| b.0 <= e.0) {
                q.push_back(e);
                return;
            }
        }
        self.heap.push(Reverse(e));
    }

    /// Add an arbitrary deadline.
    fn push_at(&mut self, when: Instant, slot: u32, gen: u32) {
        self.heap.push(Reverse((when, slot, gen)));
    }

    /// The earliest deadline and where it is (`None`: the heap).
    fn earliest(&self) -> Option<(Instant, Option<usize>)> {
        let mut best = self.heap.peek().map(|Reverse(e)| (e.0, None));
        for (i, (_, q)) in self.queues.iter().enumerate() {
            if let Some(f) = q.front() {
                if best.is_none_or(|(w, _)| f.0 < w) {
                    best = Some((f.0, Some(i)));
                }
            }
        }
        best
    }

    /// Take the earliest entry if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        let (when, at) = self.earliest()?;
        if when > now {
            return None;
        }
        match at {
            Some(i) => self.queues[i].1.pop_front(),
            None => self.heap.pop().map(|Reverse(e)| e),
        }
    }
}

struct State {
    tx: mpsc::UnboundedSender<Transition>,
    counters: Arc<Counters>,
    /// By slot: bumped whenever the job's timer entry is replaced or the slot is emptied (an
    /// entry of another generation is stale). Apart from the jobs: a stale entry costs a look
    /// at this dense array only.
    gens: Vec<u32>,
    jobs: Vec<Option<EJob>>,
    free: Vec<u32>,
    by_key: HashMap<u64, u32>,
    /// A job's next start, or its connect timeout while in flight.
    timers: Timers,
    /// By descriptor number: 1 + the slot whose check is in flight on it, 0 for none.
    owner: Vec<u32>,
    /// Idle sockets (in the epoll set, unconnected), IPv4 and IPv6.
    idle: [Vec<Socket>; 2],
}

/// Idle sockets kept per address family: enough for the checks that complete in one batch.
const MAX_IDLE: usize = 256;

/// Events fetched per `epoll_wait`.
const EVENTS: usize = 256;

async fn run(ep: AsyncFd<EpollFd>, mut st: State, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    let mut events = vec![EpollEvent::empty(); EVENTS];
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;
    loop {
        st.fire_due(&ep.get_ref().0);
        let next = st.timers.earliest().map(|(w, _)| w);
        if let Some(w) = next {
            if armed != Some(w) {
                sleep.as_mut().reset(w);
                armed = Some(w);
            }
        }
        tokio::select! {
            biased;
            c = rx.recv() => {
                let Some(c) = c else { return };
                st.command(c);
                while let Ok(c) = rx.try_recv() {
                    st.command(c);
                }
            }
            r = ep.readable() => {
                let Ok(mut guard) = r else {
                    log::error!("TCP_CHECK engine: its epoll set is gone; TCP checks stop");
                    return;
                };
                loop {
                    let n = match ep.get_ref().0.wait(&mut events, EpollTimeout::ZERO) {
                        Ok(n) => n,
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => {
                            log::error!("TCP_CHECK engine: epoll_wait: {e}; TCP checks stop");
                            return;
                        }
                    };
                    for ev in &events[..n] {
                        st.on_event(ev.data(), ev.events());
                    }
                    if n < events.len() {
                        break;
                    }
                }
                guard.clear_ready();
            }
            _ = &mut sleep, if next.is_some() => {
                armed = None;
            }
        }
    }
}

impl State {
    fn command(&mut self, c: Cmd) {
        match c {
            Cmd::Add {
                key,
                spec,
                shared,
                first,
            } => {
                self.remove(key);
                let dst = spec.checker.conn.destination(&spec.target);
                let pooled = TcpPool::eligible(&spec.checker.conn);
                let job = EJob {
                    key,
                    dst,
                    enabled: true,
                    delay_loop: spec.params.delay_loop,
                    connect_timeout: spec.checker.conn.connect_timeout,
                    spec,
                    shared,
                    pooled,
                    flight: None,
                };
                let slot = match self.free.pop() {
                    Some(s) => {
                        self.jobs[s as usize] = Some(job);
                        s
                    }
                    None => {
                        self.jobs.push(Some(job));
                        self.gens.push(0);
                        (self.jobs.len() - 1) as u32
                    }
                };
                self.by_key.insert(key, slot);
                let gen = self.bump(slot);
                self.timers.push_at(first, slot, gen);
            }
            Cmd::Remove(key) => self.remove(key),
            Cmd::Enabled(key, on) => {
                if let Some(&slot) = self.by_key.get(&key) {
                    if let Some(job) = self.jobs[slot as usize].as_mut() {
                        job.enabled = on;
                    }
                }
            }
            Cmd::Clear => {
                let keys: Vec<u64> = self.by_key.keys().copied().collect();
                for k in keys {
                    self.remove(k);
                }
            }
        }
    }

    fn remove(&mut self, key: u64) {
        let Some(slot) = self.by_key.remove(&key) else {
            return;
        };
        self.bump(slot);
        if let Some(job) = self.jobs[slot as usize].take() {
            debug_assert_eq!(job.key, key);
            if let Some(f) = job.flight {
                self.disown(&f.sock);
            }
        }
        self.free.push(slot);
    }

    /// A new generation for `slot` (its timer entries so far are stale).
    fn bump(&mut self, slot: u32) -> u32 {
        let g = &mut self.gens[slot as usize];
        *g = g.wrapping_add(1);
        *g
    }

    /// The job's (only) live timer entry is now `now + delay`.
    fn schedule(&mut self, slot: u32, now: Instant, delay: Duration) {
        let gen = self.bump(slot);
        self.timers.push(now, delay, slot, gen);
    }

    fn disown(&mut self, sock: &Socket) {
        if let Some(o) = self.owner.get_mut(sock.as_raw_fd() as usize) {
            *o = 0;
        }
    }

    /// Start the checks due and time out the connects overdue.
    fn fire_due(&mut self, ep: &Epoll) {
        loop {
            let now = Instant::now();
            let Some((when, slot, gen)) = self.timers.pop_due(now) else {
                return;
            };
            if self.gens.get(slot as usize) != Some(&gen) {
                continue;
            }
            let Some(job) = self.jobs[slot as usize].as_mut() else {
                continue;
            };
            match job.flight.take() {
                Some(f) => {
                    self.disown(&f.sock);
                    // Not connected within connect_timeout: the socket is closed.
                    self.complete(
                        slot,
                        Status::Down(Failure::Timeout(Phase::Connect)),
                        f.started,
                        None,
                    );
                }
                None => self.begin(ep, slot, when, now),
            }
        }
    }

    fn begin(&mut self, ep: &Epoll, slot: u32, when: Instant, now: Instant) {
        record_lateness(&self.counters, now.saturating_duration_since(when));
        let Some(job) = self.jobs[slot as usize].as_ref() else {
            return;
        };
        let delay_loop = job.delay_loop;
        if !job.enabled {
            // Suspended: keep the state, look again after delay_loop (keepalived).
            self.schedule(slot, now, delay_loop);
            return;
        }
        let dst = job.dst;
        let family = usize::from(dst.is_ipv6());
        let reused = if job.pooled {
            self.idle[family].pop()
        } else {
            None
        };
        let sock = match reused {
            Some(s) => s,
            None => match make_socket(&job.spec.checker.conn, &dst, Type::STREAM, Protocol::TCP) {
                Ok(s) => {
                    let ev = EpollEvent::new(
                        EpollFlags::EPOLLOUT | EpollFlags::EPOLLET,
                        s.as_raw_fd() as u64,
                    );
                    if let Err(e) = ep.add(&s, ev) {
                        let f = Failure::Network {
                            phase: Phase::Setup,
                            errno: Some(e as i32),
                            message: format!("epoll_ctl: {e}"),
                        };
                        self.complete(slot, Status::Down(f), now, None);
                        return;
                    }
                    s
                }
                Err(f) if f.is_out_of_descriptors() => {
                    // Not a verdict on the real server: no state change, try again
                    // delay_loop later (keepalived).
                    no_descriptor(&self.counters, &f, delay_loop);
                    self.schedule(slot, now, delay_loop);
                    return;
                }
                Err(f) => {
                    self.complete(slot, Status::Down(f), now, None);
                    return;
                }
            },
        };
        match sock.connect(&SockAddr::from(dst)) {
            Ok(()) => self.complete(slot, Status::Up, now, Some(sock)),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                let fd = sock.as_raw_fd() as usize;
                if self.owner.len() <= fd {
                    self.owner.resize(fd + 1, 0);
                }
                self.owner[fd] = slot + 1;
                let timeout = job.connect_timeout;
                if let Some(job) = self.jobs[slot as usize].as_mut() {
                    job.flight = Some(Flight { sock, started: now });
                }
                self.schedule(slot, now, timeout);
            }
            Err(e) => self.complete(
                slot,
                Status::Down(Failure::from_io(Phase::Connect, &e)),
                now,
                None,
            ),
        }
    }

    fn on_event(&mut self, data: u64, flags: EpollFlags) {
        let fd = data as usize;
        let Some(&o) = self.owner.get(fd) else {
            return;
        };
        if o == 0
            || !flags.intersects(EpollFlags::EPOLLOUT | EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP)
        {
            return;
        }
        let slot = o - 1;
        let Some(job) = self.jobs.get_mut(slot as usize).and_then(|j| j.as_mut()) else {
            return;
        };
        let Some(f) = job.flight.take() else {
            return;
        };
        self.owner[fd] = 0;
        // As tokio's connect: write-ready (or hung up) with no pending error is connected.
        let status = match f.sock.take_error() {
            Ok(None) => Status::Up,
            Ok(Some(e)) | Err(e) => Status::Down(Failure::from_io(Phase::Connect, &e)),
        };
        let keep = status.is_up();
        self.complete(slot, status, f.started, keep.then_some(f.sock));
    }

    /// A check of `slot` ended with `status`; `sock` is its connected socket (a socket that
    /// failed to connect is closed).
    fn complete(&mut self, slot: u32, status: Status, started: Instant, sock: Option<Socket>) {
        let Some(job) = self.jobs[slot as usize].as_ref() else {
            return;
        };
        if let Some(s) = sock {
            if job.pooled {
                // Reset (RST) and back to the idle sockets, still in the epoll set.
                let v = &mut self.idle[usize::from(job.dst.is_ipv6())];
                if v.len() < MAX_IDLE && crate::sock::disconnect(&s).is_ok() {
                    v.push(s);
                } else {
                    let _ = s.set_linger(Some(std::time::Duration::ZERO));
                }
            } else {
                // Closed with an RST: no TIME_WAIT on the director.
                let _ = s.set_linger(Some(std::time::Duration::ZERO));
            }
        }
        let now = Instant::now();
        let latency = now.saturating_duration_since(started);
        let next = finish_check(
            &job.spec,
            &job.shared,
            &self.tx,
            &self.counters,
            &status,
            started,
            latency,
        );
        self.schedule(slot, now, next);
    }
}
