//! Open-loop pacing with sub-millisecond precision. tokio's timer wheel ticks every
//! millisecond and fires a sleep on the first tick after its deadline, so a worker
//! sleeping for its slot wakes up to ~1 ms late (more under load): that lateness
//! would be the generator's, counted into every latency measured from the intended
//! send times, and it is the floor of the send-lag rule. A `Pacer` sleeps on a
//! Linux timerfd instead (an hrtimer, woken through tokio's own epoll), which wakes
//! within tens of microseconds of the deadline.
//!
//! Where no timerfd can be had (another OS, no file descriptor left) and on tokio's
//! paused test clock (which a real-time timer would not follow), it falls back to
//! tokio's sleep.

use tokio::time::{sleep_until, Instant};

/// A worker's slot timer.
pub(crate) struct Pacer {
    #[cfg(target_os = "linux")]
    timer: Option<tokio::io::unix::AsyncFd<Timer>>,
}

/// A timerfd that tokio can register: nix's `TimerFd` lends its descriptor as
/// `AsFd`, tokio's `AsyncFd` takes `AsRawFd`.
#[cfg(target_os = "linux")]
struct Timer(nix::sys::timerfd::TimerFd);

#[cfg(target_os = "linux")]
impl std::os::fd::AsRawFd for Timer {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

impl Pacer {
    /// A timer on a timerfd, when the clock is real and one can be made.
    pub(crate) fn new(clock_is_real: bool) -> Pacer {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
            let flags = TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC;
            // `AsyncFd::new` is deprecated because a registered descriptor that its
            // owner closes early is unsound (tokio#8587); here the `AsyncFd` owns the
            // timer, so it is deregistered before the descriptor is closed. Its
            // replacement, `register`, is `unsafe`, which this workspace forbids.
            #[allow(deprecated)]
            let timer = clock_is_real
                .then(|| TimerFd::new(ClockId::CLOCK_MONOTONIC, flags).ok())
                .flatten()
                .and_then(|t| tokio::io::unix::AsyncFd::new(Timer(t)).ok());
            Pacer { timer }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = clock_is_real;
            Pacer {}
        }
    }

    /// Whether waits go to the timerfd rather than tokio's timer.
    #[cfg(test)]
    fn is_precise(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.timer.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Waits until `due`.
    pub(crate) async fn sleep_until(&self, due: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(timer) = &self.timer {
            if precise_wait(timer, due).await.is_ok() {
                return;
            }
        }
        sleep_until(due).await;
    }
}

/// Waits on the timerfd until `due`; an error leaves the wait to tokio's timer.
#[cfg(target_os = "linux")]
async fn precise_wait(
    timer: &tokio::io::unix::AsyncFd<Timer>,
    due: Instant,
) -> std::io::Result<()> {
    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
    let left = due.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Ok(());
    }
    timer
        .get_ref()
        .0
        .set(
            Expiration::OneShot(TimeSpec::from_duration(left)),
            TimerSetTimeFlags::empty(),
        )
        .map_err(std::io::Error::from)?;
    loop {
        let mut ready = timer.readable().await?;
        match ready.try_io(|t| t.get_ref().0.wait().map_err(std::io::Error::from)) {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

/// Whether tokio's clock is the real one, not the paused test clock (which does not
/// move between two readings unless something sleeps).
pub(crate) fn clock_is_real() -> bool {
    let a = Instant::now();
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_micros(20) {
        std::hint::spin_loop();
    }
    Instant::now() != a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Median lateness of 200 waits 300 µs ahead, on `pacer`.
    async fn median_lateness(pacer: &Pacer) -> Duration {
        let mut late = Vec::new();
        for _ in 0..200 {
            let due = Instant::now() + Duration::from_micros(300);
            pacer.sleep_until(due).await;
            late.push(Instant::now().saturating_duration_since(due));
        }
        late.sort();
        late[late.len() / 2]
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_pacer_wakes_closer_to_its_deadlines_than_tokios_timer() {
        assert!(clock_is_real());
        let precise = Pacer::new(true);
        assert!(precise.is_precise(), "a timerfd could be made");
        let wheel = Pacer::new(false);
        // In turns, so that whatever else the machine does weighs on both alike:
        // tokio's wheel rounds a deadline up to its next millisecond tick.
        let (mut ours, mut tokios) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            ours.push(median_lateness(&precise).await);
            tokios.push(median_lateness(&wheel).await);
        }
        ours.sort();
        tokios.sort();
        assert!(
            ours[1] < tokios[1],
            "median lateness: timerfd {ours:?}, tokio {tokios:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn on_the_paused_clock_it_follows_tokio() {
        assert!(!clock_is_real());
        let pacer = Pacer::new(clock_is_real());
        let due = Instant::now() + Duration::from_secs(3600);
        pacer.sleep_until(due).await;
        assert!(
            Instant::now() >= due,
            "the paused clock advanced to the deadline"
        );
    }
}
