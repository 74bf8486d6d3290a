//! The VRRP loop's one inbox: every thread and task that has something for the loop (link and
//! inotify watchers, the process scanner, script tasks, reload and shutdown forwarders) pushes
//! an [`Event`] into one queue and wakes the loop; the loop waits in one `epoll` set
//! ([`netplat::poll::Poller`]) on that wake-up and on every receive socket at once, until the
//! next event, readable socket or its next deadline. Adverts so reach the loop with no thread
//! in between and no hand-over: one system call to wait, one `recvmmsg` per readable socket,
//! however many sockets (one per interface, one per VMAC receiving). An idle master wakes
//! once per advert, outside tokio's scheduler (which stays for scripts and notifications).
//!
//! Why not `std::sync::mpsc`: its `recv_timeout` spins (a backoff of `pause` instructions and
//! `sched_yield`s) before it blocks, on every call. For a loop that blocks once a second that
//! spinning is all waste; on this project's CI machine (a virtual machine, where `pause` loops
//! exit to the hypervisor) it cost more than the advert itself (`benches`:
//! `idle-footprint.sh`). Before the epoll set, each receive socket had its own thread handing
//! batches over through this queue: at 1,000 VMACs, 1,000 threads and two context switches
//! per advert.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netplat::poll::Poller;

/// At most this many further zero-timeout polls collect readable sockets after a full answer
/// (64 rounds of [`Poller::MAX_EVENTS`]: 4,096 sockets).
const MAX_POLL_ROUNDS: usize = 64;

use crate::procs::ProcEvent;
use crate::reload::Reload;
use crate::track::TrackEvent;

/// Something for the VRRP loop.
pub(crate) enum Event {
    /// Stop (signal or the caller's shutdown watch).
    Shutdown(Shutdown),
    /// A new configuration to apply (boxed: a whole configuration).
    Reload(Box<Reload>),
    /// Receive sockets are readable: their positions in [`Inbox::ready`].
    Readable,
    /// A `vrrp_script` result.
    Track(TrackEvent),
    /// A tracked process group's quorum changed.
    Proc(ProcEvent),
    /// A tracked file may have changed.
    File,
    /// Links changed (or the link watch failed).
    Link(Result<(), String>),
    /// The BFD sessions' states (by `bfd_instance` name, true: Up), as now known.
    Bfd(crate::BfdStates),
    /// A request from the caller.
    Command(crate::Command),
}

/// The shutdown request.
pub(crate) struct Shutdown;

impl From<Shutdown> for Event {
    fn from(s: Shutdown) -> Event {
        Event::Shutdown(s)
    }
}
impl From<Reload> for Event {
    fn from(r: Reload) -> Event {
        Event::Reload(Box::new(r))
    }
}
impl From<TrackEvent> for Event {
    fn from(t: TrackEvent) -> Event {
        Event::Track(t)
    }
}
impl From<ProcEvent> for Event {
    fn from(p: ProcEvent) -> Event {
        Event::Proc(p)
    }
}
impl From<()> for Event {
    fn from((): ()) -> Event {
        Event::File
    }
}
impl From<crate::BfdStates> for Event {
    fn from(b: crate::BfdStates) -> Event {
        Event::Bfd(b)
    }
}
impl From<crate::Command> for Event {
    fn from(c: crate::Command) -> Event {
        Event::Command(c)
    }
}
impl From<Result<(), String>> for Event {
    fn from(r: Result<(), String>) -> Event {
        Event::Link(r)
    }
}

/// The queue shared by the loop and its senders.
struct Shared {
    queue: Mutex<VecDeque<Event>>,
    /// The loop's wait: the senders' wake-up and the receive sockets.
    poller: Poller,
    /// The loop is gone: senders get an error (their threads and tasks end).
    closed: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Event>> {
        // A panic while the lock is held cannot leave the queue half-modified (push/pop only).
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The inbox: one queue, the loop the only receiver.
pub(crate) fn inbox() -> Result<(Sender, Inbox), netplat::Error> {
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        poller: Poller::new()?,
        closed: AtomicBool::new(false),
    });
    Ok((
        Sender(shared.clone()),
        Inbox {
            shared,
            ready: Vec::new(),
            tokens: Vec::new(),
        },
    ))
}

/// The sending side of the inbox (cloned by every producer).
#[derive(Clone)]
pub(crate) struct Sender(Arc<Shared>);

impl Sender {
    fn send(&self, ev: Event) -> Result<(), Event> {
        if self.0.closed.load(Ordering::Acquire) {
            return Err(ev);
        }
        self.0.lock().push_back(ev);
        self.0.poller.wake();
        Ok(())
    }

    /// The loop also waits for `fd` to be readable, then hands `token` in [`Inbox::ready`].
    pub(crate) fn watch(
        &self,
        fd: &impl std::os::fd::AsFd,
        token: usize,
    ) -> Result<(), netplat::Error> {
        self.0.poller.add(fd, token as u64)
    }
}

/// The receiving side, owned by the loop; dropping it closes the inbox.
pub(crate) struct Inbox {
    shared: Arc<Shared>,
    /// After [`Event::Readable`]: the tokens of the readable sockets (the loop takes them, reads
    /// the sockets, and gives the emptied vector back to keep its allocation).
    pub(crate) ready: Vec<usize>,
    /// The poller's answer (kept: no allocation per wait).
    tokens: Vec<u64>,
}

impl Inbox {
    /// The next event if one is queued (no wait).
    pub(crate) fn try_recv(&self) -> Option<Event> {
        self.shared.lock().pop_front()
    }

    /// The next event (queued first, then [`Event::Readable`] when a watched socket is), or
    /// `None` once `deadline` has passed with none arrived.
    pub(crate) fn recv_until(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            if let Some(ev) = self.try_recv() {
                return Some(ev);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            if self.collect(Some(deadline - now)) {
                // Queued events first, as they arrived; the sockets stay readable (level).
                if let Some(ev) = self.try_recv() {
                    self.ready.clear();
                    return Some(ev);
                }
                return Some(Event::Readable);
            }
        }
    }

    /// Whether a receive socket is readable now (no wait); if so they are in
    /// [`Inbox::ready`]. The loop asks before its timers when its turn read no socket: an
    /// instance whose advert waits unread in its socket must not time out.
    pub(crate) fn poll_readable(&mut self) -> bool {
        self.collect(Some(Duration::ZERO))
    }

    /// Waits up to `timeout` and puts the readable sockets in `ready`; whether there are any.
    fn collect(&mut self, timeout: Option<Duration>) -> bool {
        let mut tokens = std::mem::take(&mut self.tokens);
        tokens.clear();
        if let Err(e) = self.shared.poller.wait(&mut tokens, timeout) {
            // Not expected (a bad epoll descriptor); no busy loop: wait as a sleep.
            log::warn!("VRRP loop wait: {e}");
            std::thread::sleep(
                timeout
                    .unwrap_or(Duration::MAX)
                    .min(Duration::from_millis(10)),
            );
        }
        // A full answer: more sockets may be readable (after a stall, all of them). All are
        // collected before the loop looks at its timers.
        let mut got = tokens.len();
        let mut rounds = 0;
        while got >= Poller::MAX_EVENTS && rounds < MAX_POLL_ROUNDS {
            let before = tokens.len();
            if self
                .shared
                .poller
                .wait(&mut tokens, Some(Duration::ZERO))
                .is_err()
            {
                break;
            }
            got = tokens.len() - before;
            rounds += 1;
        }
        if rounds > 0 {
            // Level-triggered: a socket may be reported twice.
            tokens.sort_unstable();
            tokens.dedup();
        }
        self.ready.clear();
        self.ready
            .extend(tokens.iter().filter_map(|&t| usize::try_from(t).ok()));
        self.tokens = tokens;
        !self.ready.is_empty()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        // What was queued and never read goes with it.
        self.shared.lock().clear();
    }
}

/// A typed sender into the loop's inbox (what each producer sends, so producers keep their own
/// message type).
pub(crate) struct Tx<T> {
    tx: Sender,
    _t: PhantomData<fn(T)>,
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        Tx {
            tx: self.tx.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Into<Event>> Tx<T> {
    pub(crate) fn new(tx: Sender) -> Self {
        Tx {
            tx,
            _t: PhantomData,
        }
    }

    /// Err when the loop is gone.
    pub(crate) fn send(&self, v: T) -> Result<(), ()> {
        self.tx.send(v.into()).map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_order_then_timeout() {
        let (tx, mut rx) = inbox().unwrap();
        let t = Tx::<()>::new(tx.clone());
        t.send(()).unwrap();
        Tx::<Result<(), String>>::new(tx)
            .send(Err("x".into()))
            .unwrap();
        let far = Instant::now() + Duration::from_secs(5);
        assert!(matches!(rx.recv_until(far), Some(Event::File)));
        assert!(matches!(rx.recv_until(far), Some(Event::Link(Err(_)))));
        let start = Instant::now();
        assert!(rx.recv_until(start + Duration::from_millis(30)).is_none());
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn a_send_from_another_thread_wakes_the_loop() {
        let (tx, mut rx) = inbox().unwrap();
        let t = Tx::<()>::new(tx);
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            t.send(())
        });
        let start = Instant::now();
        let got = rx.recv_until(start + Duration::from_secs(10));
        assert!(matches!(got, Some(Event::File)));
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "woken by the send, not the deadline"
        );
        assert!(h.join().unwrap().is_ok());
    }

    #[test]
    fn senders_fail_once_the_loop_is_gone() {
        let (tx, rx) = inbox().unwrap();
        let t = Tx::<()>::new(tx);
        drop(rx);
        assert!(t.send(()).is_err());
    }
}
