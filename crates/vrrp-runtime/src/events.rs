//! The VRRP loop's one inbox: every thread and task that has something for the loop (receive
//! threads, link and inotify watchers, the process scanner, script tasks, reload and shutdown
//! forwarders) sends an [`Event`] on one std channel, and the loop blocks in `recv_timeout`
//! until the next event or its next deadline. An idle master so wakes once per advert with a
//! single futex wait, outside tokio's scheduler (which stays for scripts and notifications).

use std::marker::PhantomData;
use std::sync::mpsc;
use std::time::Instant;

use crate::procs::ProcEvent;
use crate::runtime::Reload;
use crate::track::TrackEvent;

/// Something for the VRRP loop.
pub(crate) enum Event {
    /// Stop (signal or the caller's shutdown watch).
    Shutdown(Shutdown),
    /// A new configuration to apply (boxed: a whole configuration).
    Reload(Box<Reload>),
    /// An advert read from socket `.0`, stamped on arrival.
    Packet(usize, Vec<u8>, Instant),
    /// A `vrrp_script` result.
    Track(TrackEvent),
    /// A tracked process group's quorum changed.
    Proc(ProcEvent),
    /// A tracked file may have changed.
    File,
    /// Links changed (or the link watch failed).
    Link(Result<(), String>),
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
impl From<(usize, Vec<u8>, Instant)> for Event {
    fn from((s, p, t): (usize, Vec<u8>, Instant)) -> Event {
        Event::Packet(s, p, t)
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
impl From<Result<(), String>> for Event {
    fn from(r: Result<(), String>) -> Event {
        Event::Link(r)
    }
}

/// A typed sender into the loop's inbox (what each producer sends, so producers keep their own
/// message type).
pub(crate) struct Tx<T> {
    tx: mpsc::Sender<Event>,
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
    pub(crate) fn new(tx: mpsc::Sender<Event>) -> Self {
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
