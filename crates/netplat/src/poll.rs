//! One thread waiting on many sockets: an epoll set with a wake-up descriptor (eventfd) for
//! other threads, waits with a nanosecond deadline (`epoll_pwait2`; `epoll_wait` rounded up to
//! the millisecond on kernels before 5.11), and batched datagram receive (`recvmmsg`: up to
//! [`RecvBatch::SLOTS`] datagrams in one system call into buffers allocated once).
//!
//! The VRRP loop waits here for its receive sockets (however many: one per interface, one per
//! VMAC) and its other events at once, instead of one receive thread per socket handing
//! packets over through a queue.
//!
//! `unsafe`: the epoll, eventfd and recvmmsg calls (`nix` has no `epoll_pwait2`, and its
//! `recvmmsg` allocates per call); each block says why it is sound.

#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Error;
use crate::Result;

fn last_os(op: &'static str) -> Error {
    Error::Io {
        op: op.to_string(),
        source: std::io::Error::last_os_error(),
    }
}

/// The token [`Poller::wait`] never reports: the wake-up descriptor's.
const WAKE_TOKEN: u64 = u64::MAX;

const EVENTS: usize = Poller::MAX_EVENTS;

/// An epoll set of readable-interest descriptors, each known by a token, plus a wake-up that
/// any thread can trigger ([`Poller::wake`]).
#[derive(Debug)]
pub struct Poller {
    ep: OwnedFd,
    wake: OwnedFd,
    /// `epoll_pwait2` is missing (ENOSYS): millisecond waits.
    no_pwait2: AtomicBool,
}

impl Poller {
    /// Readiness events taken from the kernel per wait (level-triggered: a descriptor not
    /// reported stays ready for the next wait; one reported and still readable is reported
    /// again after the others).
    pub const MAX_EVENTS: usize = 64;

    /// A new, empty set (with its wake-up descriptor in it).
    pub fn new() -> Result<Self> {
        // SAFETY: plain epoll_create1(2); the result is checked before use.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(last_os("epoll_create1"));
        }
        // SAFETY: `ep` is a fresh, valid descriptor we own from here on.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        // SAFETY: plain eventfd(2); the result is checked before use.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(last_os("eventfd"));
        }
        // SAFETY: `wake` is a fresh, valid descriptor we own from here on.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        let p = Poller {
            ep,
            wake,
            no_pwait2: AtomicBool::new(false),
        };
        p.ctl(libc::EPOLL_CTL_ADD, p.wake.as_raw_fd(), WAKE_TOKEN)?;
        Ok(p)
    }

    fn ctl(&self, op: libc::c_int, fd: libc::c_int, token: u64) -> Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event that outlives the call; the kernel checks `fd`.
        let rc = unsafe { libc::epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut ev) };
        if rc < 0 {
            return Err(last_os("epoll_ctl"));
        }
        Ok(())
    }

    /// Watches `fd` for input (level-triggered), reported as `token`. `token` must not be
    /// `u64::MAX`. A closed descriptor leaves the set by itself.
    pub fn add(&self, fd: &impl AsFd, token: u64) -> Result<()> {
        if token == WAKE_TOKEN {
            return Err(Error::Invalid("poll token u64::MAX is reserved".into()));
        }
        self.ctl(libc::EPOLL_CTL_ADD, fd.as_fd().as_raw_fd(), token)
    }

    /// Stops watching `fd`.
    pub fn remove(&self, fd: &impl AsFd) -> Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_fd().as_raw_fd(), 0)
    }

    /// Ends the current or next [`Poller::wait`] (from any thread).
    pub fn wake(&self) {
        let one = 1u64.to_ne_bytes();
        // EAGAIN (the counter is full) means a wake-up is pending already: nothing is lost.
        let _ = nix::unistd::write(&self.wake, &one);
    }

    /// Waits until a watched descriptor is readable, [`Poller::wake`] was called, or `timeout`
    /// (`None`: no limit) has passed; interrupted by a signal, returns at once. The readable
    /// descriptors' tokens are appended to `ready`; true when woken (the wake-up is consumed).
    pub fn wait(&self, ready: &mut Vec<u64>, timeout: Option<Duration>) -> Result<bool> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        let n = self.wait_raw(&mut events, timeout)?;
        let mut woken = false;
        for ev in events.iter().take(n) {
            let token = ev.u64;
            if token == WAKE_TOKEN {
                woken = true;
                let mut b = [0u8; 8];
                let _ = nix::unistd::read(&self.wake, &mut b);
            } else {
                ready.push(token);
            }
        }
        Ok(woken)
    }

    fn wait_raw(
        &self,
        events: &mut [libc::epoll_event; EVENTS],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let max = EVENTS as libc::c_int;
        if !self.no_pwait2.load(Ordering::Relaxed) {
            let ts = timeout.map(|t| libc::timespec {
                tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::from(t.subsec_nanos()),
            });
            let tsp = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: epoll_pwait2(2) with `events` (EVENTS entries, writable, outliving the
            // call), a valid timespec or NULL, and no signal mask (NULL, size 0).
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.ep.as_raw_fd(),
                    events.as_mut_ptr(),
                    max,
                    tsp,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if rc >= 0 {
                return Ok(usize::try_from(rc).unwrap_or(0));
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => return Ok(0),
                Some(libc::ENOSYS) => self.no_pwait2.store(true, Ordering::Relaxed),
                _ => return Err(last_os("epoll_pwait2")),
            }
        }
        // Rounded up: never before the deadline.
        let ms = timeout.map_or(-1, |t| {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        });
        // SAFETY: epoll_wait(2) with `events` (EVENTS entries, writable, outliving the call).
        let rc = unsafe { libc::epoll_wait(self.ep.as_raw_fd(), events.as_mut_ptr(), max, ms) };
        if rc >= 0 {
            return Ok(usize::try_from(rc).unwrap_or(0));
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => Ok(0),
            _ => Err(last_os("epoll_wait")),
        }
    }
}

/// Buffers for up to [`RecvBatch::SLOTS`] datagrams received with one `recvmmsg` (allocated
/// once, reused for every batch).
pub struct RecvBatch {
    data: Vec<u8>,
    lens: [usize; RecvBatch::SLOTS],
    count: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("count", &self.count)
            .finish()
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch::new()
    }
}

impl RecvBatch {
    /// Datagrams per batch.
    pub const SLOTS: usize = 64;
    /// Room for one datagram (a jumbo frame); longer ones are cut to this.
    pub const SLOT_LEN: usize = 9216;

    /// Empty buffers.
    pub fn new() -> Self {
        RecvBatch {
            data: vec![0; Self::SLOTS * Self::SLOT_LEN],
            lens: [0; Self::SLOTS],
            count: 0,
        }
    }

    /// Receives what `fd` holds, without blocking, up to [`RecvBatch::SLOTS`] datagrams (the
    /// previous batch is replaced); how many. Nothing queued: `Ok(0)`.
    pub fn recv(&mut self, fd: &impl AsFd) -> std::io::Result<usize> {
        self.count = 0;
        // SAFETY: iovec and mmsghdr are plain old data; all-zero is a valid value of each.
        let mut iov: [libc::iovec; Self::SLOTS] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; Self::SLOTS] = unsafe { std::mem::zeroed() };
        for (k, (v, h)) in iov.iter_mut().zip(hdrs.iter_mut()).enumerate() {
            let slot = self
                .data
                .get_mut(k * Self::SLOT_LEN..(k + 1) * Self::SLOT_LEN)
                .unwrap_or(&mut []);
            v.iov_base = slot.as_mut_ptr().cast();
            v.iov_len = slot.len();
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs` holds SLOTS headers, each pointing at one iovec of `iov` that points
        // at a distinct SLOT_LEN-byte part of `self.data`; all outlive the call and nothing
        // else touches them during it. No addresses or control data are asked for.
        let rc = unsafe {
            libc::recvmmsg(
                fd.as_fd().as_raw_fd(),
                hdrs.as_mut_ptr(),
                Self::SLOTS as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            return match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let n = usize::try_from(rc).unwrap_or(0).min(Self::SLOTS);
        for (len, h) in self.lens.iter_mut().zip(hdrs.iter()).take(n) {
            *len = (h.msg_len as usize).min(Self::SLOT_LEN);
        }
        self.count = n;
        Ok(n)
    }

    /// How many datagrams the last [`RecvBatch::recv`] got.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the last receive got nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Datagram `k` of the last batch.
    pub fn get(&self, k: usize) -> &[u8] {
        if k >= self.count {
            return &[];
        }
        let start = k * Self::SLOT_LEN;
        self.data.get(start..start + self.lens[k]).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Instant;

    #[test]
    fn readable_sockets_report_their_tokens_and_batches_read_them_all() {
        let p = Poller::new().unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        p.add(&a, 7).unwrap();
        p.add(&b, 9).unwrap();
        let mut ready = Vec::new();
        // Nothing yet: the wait times out (not before its deadline).
        let t0 = Instant::now();
        assert!(!p.wait(&mut ready, Some(Duration::from_millis(20))).unwrap());
        assert!(ready.is_empty());
        assert!(t0.elapsed() >= Duration::from_millis(20));

        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for k in 0..70u8 {
            tx.send_to(&[k; 3], b.local_addr().unwrap()).unwrap();
        }
        assert!(!p.wait(&mut ready, Some(Duration::from_secs(5))).unwrap());
        assert_eq!(ready, vec![9]);

        let mut batch = RecvBatch::new();
        assert_eq!(batch.recv(&b).unwrap(), RecvBatch::SLOTS);
        assert_eq!(batch.get(0), &[0, 0, 0]);
        assert_eq!(batch.get(63), &[63, 63, 63]);
        assert_eq!(batch.get(64), &[] as &[u8]);
        assert_eq!(batch.recv(&b).unwrap(), 6);
        assert_eq!(batch.get(5), &[69, 69, 69]);
        assert_eq!(batch.recv(&b).unwrap(), 0);
        assert!(batch.is_empty());
        assert_eq!(batch.recv(&a).unwrap(), 0);
    }

    #[test]
    fn a_wake_from_another_thread_ends_the_wait() {
        let p = std::sync::Arc::new(Poller::new().unwrap());
        let q = p.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            q.wake();
        });
        let t0 = Instant::now();
        let mut ready = Vec::new();
        assert!(p.wait(&mut ready, None).unwrap());
        assert!(t0.elapsed() < Duration::from_secs(5));
        h.join().unwrap();
        // Consumed: the next wait times out.
        assert!(!p.wait(&mut ready, Some(Duration::from_millis(1))).unwrap());
        assert!(ready.is_empty());
    }
}
