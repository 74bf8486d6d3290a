//! The VRRP loop's one inbox: every thread and task that has something for the loop (receive
//! threads, link and inotify watchers, the process scanner, script tasks, reload and shutdown
//! forwarders) pushes an [`Event`] into one queue, and the loop blocks on its condition
//! variable until the next event or its next deadline. An idle master so wakes once per advert
//! with a single futex wait, outside tokio's scheduler (which stays for scripts and
//! notifications).
//!
//! Why not `std::sync::mpsc`: its `recv_timeout` spins (a backoff of `pause` instructions and
//! `sched_yield`s) before it blocks, on every call. For a loop that blocks once a second that
//! spinning is all waste; on this project's CI machine (a virtual machine, where `pause` loops
//! exit to the hypervisor) it cost more than the advert itself. A mutex-guarded queue and a
//! condition variable block at once (`benches`: `idle-footprint.sh`).

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::procs::ProcEvent;
use crate::reload::Reload;
use crate::track::TrackEvent;

/// Something for the VRRP loop.
pub(crate) enum Event {
    /// Stop (signal or the caller's shutdown watch).
    Shutdown(Shutdown),
    /// A new configuration to apply (boxed: a whole configuration).
    Reload(Box<Reload>),
    /// Adverts read from socket `.0` in one go (each stamped on arrival).
    Packets(usize, PacketBatch),
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
impl From<(usize, PacketBatch)> for Event {
    fn from((s, b): (usize, PacketBatch)) -> Event {
        Event::Packets(s, b)
    }
}

/// The datagrams a receive thread read in one go (what the socket held when it woke): one
/// buffer and one wake-up of the loop for all of them, instead of one each.
#[derive(Default)]
pub(crate) struct PacketBatch {
    data: Vec<u8>,
    /// (end offset in `data`, arrival time), in arrival order.
    ends: Vec<(usize, Instant)>,
}

impl PacketBatch {
    /// Appends one datagram.
    pub(crate) fn push(&mut self, pkt: &[u8], at: Instant) {
        self.data.extend_from_slice(pkt);
        self.ends.push((self.data.len(), at));
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The datagrams with their arrival times, in arrival order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Instant)> {
        let mut start = 0;
        self.ends.iter().map(move |&(end, at)| {
            let p = self.data.get(start..end).unwrap_or(&[]);
            start = end;
            (p, at)
        })
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
    ready: Condvar,
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
pub(crate) fn inbox() -> (Sender, Inbox) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        ready: Condvar::new(),
        closed: AtomicBool::new(false),
    });
    (Sender(shared.clone()), Inbox(shared))
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
        self.0.ready.notify_one();
        Ok(())
    }
}

/// The receiving side, owned by the loop; dropping it closes the inbox.
pub(crate) struct Inbox(Arc<Shared>);

impl Inbox {
    /// The next event if one is queued (no wait).
    pub(crate) fn try_recv(&self) -> Option<Event> {
        self.0.lock().pop_front()
    }

    /// The next event, or `None` once `deadline` has passed with none arrived.
    pub(crate) fn recv_until(&self, deadline: Instant) -> Option<Event> {
        let mut q = self.0.lock();
        loop {
            if let Some(ev) = q.pop_front() {
                return Some(ev);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            q = self
                .0
                .ready
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        // What was queued and never read (threads' last packets) goes with it.
        self.0.lock().clear();
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
    use std::time::Duration;

    #[test]
    fn events_in_order_then_timeout() {
        let (tx, rx) = inbox();
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
        let (tx, rx) = inbox();
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
        let (tx, rx) = inbox();
        let t = Tx::<()>::new(tx);
        drop(rx);
        assert!(t.send(()).is_err());
    }
}
