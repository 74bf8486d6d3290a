//! A deadline timer for tokio event loops: a `timerfd` (CLOCK_MONOTONIC, the clock of
//! [`std::time::Instant`]) watched by tokio's reactor.
//!
//! Why not `tokio::time::sleep_until`: tokio's timer wheel has millisecond slots in levels of
//! 64, so a one-second sleep wakes the thread once at the coarse level and again at the fine
//! one, and re-arming it from the running task unparks the driver through its eventfd — three
//! or four wake-ups per advert instead of one. With the timerfd an idle master wakes exactly
//! once per advert (and to the microsecond instead of the millisecond). The timerfd is only
//! re-armed when the loop's deadline changes.
//!
//! Registering a file descriptor with tokio's reactor is `unsafe` (tokio cannot check that the
//! descriptor stays open and the same while registered), hence this module lives here.

#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot deadline timer for an event loop.
pub struct Deadline {
    fd: AsyncFd<Fd>,
    /// The deadline the timerfd is armed for.
    armed: Option<Instant>,
}

impl Deadline {
    /// A disarmed timer. Needs a tokio runtime with IO enabled.
    pub fn new() -> std::io::Result<Deadline> {
        let t = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(std::io::Error::from)?;
        // SAFETY: `Fd` owns the timerfd (an `OwnedFd` inside `TimerFd`), so the descriptor stays
        // open until the `AsyncFd` (which owns the `Fd`) is dropped; `as_raw_fd` always returns
        // that same descriptor, and the `Fd` is never handed out mutably or replaced.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(t), Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        Ok(Deadline { fd, armed: None })
    }

    fn arm(&mut self, deadline: Instant) -> std::io::Result<()> {
        if self.armed == Some(deadline) {
            return Ok(());
        }
        // Relative: 0 would disarm the timer, so a deadline already past fires after 1 ns.
        let d = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        self.fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(d)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(std::io::Error::from)?;
        self.armed = Some(deadline);
        Ok(())
    }

    /// Completes at `deadline` (at once if it has passed). Cancel-safe: dropped before it
    /// completes, the timer stays armed and a later call with the same deadline waits for the
    /// same expiry.
    pub async fn until(&mut self, deadline: Instant) -> std::io::Result<()> {
        loop {
            if Instant::now() >= deadline {
                // Still armed (for a later deadline) or expired unread: either is handled by
                // the next call (re-arming resets the expiry count; a stale readiness costs one
                // read that would block).
                return Ok(());
            }
            self.arm(deadline)?;
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.wait().map_err(std::io::Error::from)) {
                Ok(_) => {
                    // Expired and consumed: nothing more to read until it is re-armed. (An
                    // expiry of an earlier deadline is caught by the check above.)
                    guard.clear_ready();
                    self.armed = None;
                }
                // Not yet: wait for the reactor again.
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn fires_at_the_deadline_and_not_before() {
        rt().block_on(async {
            let mut t = Deadline::new().expect("timerfd");
            for ms in [1u64, 20, 5] {
                let start = Instant::now();
                let d = start + Duration::from_millis(ms);
                t.until(d).await.expect("wait");
                let now = Instant::now();
                assert!(now >= d, "woke {:?} early", d - now);
                assert!(now - d < Duration::from_millis(50), "late {:?}", now - d);
            }
            // A past deadline completes at once.
            t.until(Instant::now() - Duration::from_millis(1))
                .await
                .expect("past");
        });
    }

    #[test]
    fn cancelled_wait_then_earlier_deadline() {
        rt().block_on(async {
            let mut t = Deadline::new().expect("timerfd");
            let far = Instant::now() + Duration::from_secs(30);
            // Dropped before completing (as a select! branch that lost).
            let r = tokio::time::timeout(Duration::from_millis(5), t.until(far)).await;
            assert!(r.is_err());
            let near = Instant::now() + Duration::from_millis(10);
            let start = Instant::now();
            t.until(near).await.expect("near");
            assert!(start.elapsed() < Duration::from_secs(1));
            assert!(Instant::now() >= near);
        });
    }
}
