//! TCP_CHECK at scale: one task runs every TCP_CHECK job of a [`crate::Scheduler`].
//!
//! A TCP check is a non-blocking `connect` and nothing else, so the engine keeps it to a few
//! system calls and no allocation, instead of a tokio task per job (a timer entry for its sleep
//! and one for its connect timeout, a wake-up, an I/O-driver registration and deregistration
//! per check):
//!
//! * one timer heap for all the jobs (next start, or connect timeout while in flight), and one
//!   tokio sleep for its earliest deadline;
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
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socket2::{Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::net::{make_socket, TcpPool};
use crate::result::{Failure, Phase};
use crate::scheduler::{
    finish_check, lock, no_descriptor, record_lateness, CheckSpec, Counters, JobShared, Transition,
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
        slots: Vec::new(),
        free: Vec::new(),
        by_key: HashMap::new(),
        heap: BinaryHeap::new(),
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
    /// Plain socket (no bindto/bind_port/bind_if/fwmark): taken from and given back to the
    /// idle sockets.
    pooled: bool,
    flight: Option<Flight>,
}

struct Slot {
    /// Bumped whenever the job's heap entry is replaced or the slot is emptied: a heap entry
    /// with another generation is stale.
    gen: u32,
    job: Option<EJob>,
}

struct State {
    tx: mpsc::UnboundedSender<Transition>,
    counters: Arc<Counters>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_key: HashMap<u64, u32>,
    /// (deadline, slot, generation): a job's next start, or its connect timeout while in
    /// flight.
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
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
        let next = st.heap.peek().map(|Reverse((w, _, _))| *w);
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
                    spec,
                    shared,
                    dst,
                    pooled,
                    flight: None,
                };
                let slot = match self.free.pop() {
                    Some(s) => {
                        self.slots[s as usize].job = Some(job);
                        s
                    }
                    None => {
                        self.slots.push(Slot {
                            gen: 0,
                            job: Some(job),
                        });
                        (self.slots.len() - 1) as u32
                    }
                };
                self.by_key.insert(key, slot);
                self.schedule(slot, first);
            }
            Cmd::Remove(key) => self.remove(key),
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
        let s = &mut self.slots[slot as usize];
        s.gen = s.gen.wrapping_add(1);
        if let Some(job) = s.job.take() {
            debug_assert_eq!(job.key, key);
            if let Some(f) = job.flight {
                self.disown(&f.sock);
            }
        }
        self.free.push(slot);
    }

    /// The job's (only) live heap entry is now `when`.
    fn schedule(&mut self, slot: u32, when: Instant) {
        let s = &mut self.slots[slot as usize];
        s.gen = s.gen.wrapping_add(1);
        self.heap.push(Reverse((when, slot, s.gen)));
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
            let Some(&Reverse((when, slot, gen))) = self.heap.peek() else {
                return;
            };
            if when > now {
                return;
            }
            self.heap.pop();
            let Some(s) = self.slots.get_mut(slot as usize) else {
                continue;
            };
            if s.gen != gen {
                continue;
            }
            let Some(job) = s.job.as_mut() else {
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
        let Some(job) = self.slots[slot as usize].job.as_ref() else {
            return;
        };
        let delay_loop = job.spec.params.delay_loop;
        if !lock(&job.shared).enabled() {
            // Suspended: keep the state, look again after delay_loop (keepalived).
            self.schedule(slot, now + delay_loop);
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
                    self.schedule(slot, now + delay_loop);
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
                let timeout = now + job.spec.checker.conn.connect_timeout;
                if let Some(job) = self.slots[slot as usize].job.as_mut() {
                    job.flight = Some(Flight { sock, started: now });
                }
                self.schedule(slot, timeout);
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
        let Some(job) = self
            .slots
            .get_mut(slot as usize)
            .and_then(|s| s.job.as_mut())
        else {
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
        let Some(job) = self.slots[slot as usize].job.as_ref() else {
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
        self.schedule(slot, now + next);
    }
}
