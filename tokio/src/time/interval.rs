//! `interval` and `Interval`, as tokio defines their ticks.

use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;

use super::instant::Instant;
use super::sleep::{Sleep, TimerKind};

/// What an [`Interval`] does when ticks were missed (tokio's `MissedTickBehavior`).
///
/// See [`Interval::set_missed_tick_behavior`] for an example.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one after another, then keep the original schedule.
    #[default]
    Burst,
    /// Tick now, then every period from now.
    Delay,
    /// Tick now, then at the next tick of the original schedule.
    Skip,
}

impl MissedTickBehavior {
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let behind = (now - timeout).as_nanos();
                let p = period.as_nanos().max(1);
                let into = u64::try_from(behind % p).unwrap_or(0);
                now + period - Duration::from_nanos(into)
            }
        }
    }
}

/// Ticks every `period`, the first tick at once (tokio's `interval`). Panics if `period` is
/// zero.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::{interval, Instant};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let start = Instant::now();
///     let mut ticks = interval(Duration::from_secs(10));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
///     assert_eq!(start.elapsed(), Duration::from_secs(20));
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start` (tokio's `interval_at`).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::{interval_at, Instant};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let start = Instant::now() + Duration::from_secs(5);
///     let mut ticks = interval_at(start, Duration::from_secs(1));
///     assert_eq!(ticks.tick().await, start);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        delay: Sleep::new(start, TimerKind::Sleeper),
        period,
        missed_tick_behavior: MissedTickBehavior::Burst,
    }
}

/// A stream of ticks (tokio's `Interval`).
///
/// See [`interval`] for an example.
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and gives its scheduled instant.
    ///
    /// See [`interval`] for an example.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    ///
    /// See [`interval`] for an example (through `tick`).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = Instant::now();
        // tokio's rule: a tick more than 5 ms late counts as missed.
        let next = if now.saturating_duration_since(timeout) > Duration::from_millis(5) {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            timeout + self.period
        };
        self.delay.reset_unpinned(next);
        Poll::Ready(timeout)
    }

    /// Starts the schedule again from now: the next tick is one period away.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::{interval, Instant};
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut ticks = interval(Duration::from_secs(2));
    ///     ticks.reset();
    ///     let start = Instant::now();
    ///     ticks.tick().await;
    ///     assert_eq!(start.elapsed(), Duration::from_secs(2));
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn reset(&mut self) {
        self.delay.reset_unpinned(Instant::now() + self.period);
    }

    /// Makes the next tick happen at once.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::{interval, Instant};
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut ticks = interval(Duration::from_secs(2));
    ///     ticks.tick().await;
    ///     ticks.reset_immediately();
    ///     let start = Instant::now();
    ///     ticks.tick().await;
    ///     assert_eq!(start.elapsed(), Duration::ZERO);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn reset_immediately(&mut self) {
        self.delay.reset_unpinned(Instant::now());
    }

    /// Makes the next tick happen after `after`.
    ///
    /// See [`reset`](Self::reset) for an example.
    pub fn reset_after(&mut self, after: Duration) {
        self.delay.reset_unpinned(Instant::now() + after);
    }

    /// Makes the next tick happen at `deadline`.
    ///
    /// See [`reset`](Self::reset) for an example.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.reset_unpinned(deadline);
    }

    /// What it does when ticks were missed.
    ///
    /// See [`set_missed_tick_behavior`](Self::set_missed_tick_behavior) for an example.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what it does when ticks were missed.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::{interval, Instant, MissedTickBehavior};
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let start = Instant::now();
    ///     let mut ticks = interval(Duration::from_secs(1));
    ///     ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ///     ticks.tick().await; // at 0
    ///     tokio::time::sleep(Duration::from_millis(2500)).await; // misses the ticks at 1 and 2
    ///     ticks.tick().await; // at once, at 2.5
    ///     ticks.tick().await; // one period later
    ///     assert_eq!(start.elapsed(), Duration::from_millis(3500));
    ///     assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Delay);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period.
    ///
    /// See [`interval`] for an example.
    pub fn period(&self) -> Duration {
        self.period
    }
}
