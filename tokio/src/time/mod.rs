//! tokio's `time` module on tulipsim's virtual clock.
//!
//! Time is always paused, in tokio's words: it moves only when every task waits, and then
//! jumps to the next timer, so an hour of sleeping costs microseconds and every run is
//! deterministic. [`Instant`] is virtual. [`pause`] and [`resume`] change nothing; [`advance`]
//! sleeps. tulipsim's faults apply: the timer-jitter fault may wake a [`sleep`] late (never
//! early); the early-timeout fault may make a [`timeout`] fire at once, when first polled.
//!
//! ```
//! # use tulipsim_tokio as tokio;
//! # #[cfg(tulipsim)] {
//! use std::time::Duration;
//! use tokio::time::{sleep, timeout, Instant};
//! tulipsim::EventLoop::new().run_until_complete(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_secs(3600)).await;
//!     assert_eq!(start.elapsed(), Duration::from_secs(3600));
//!     let slow = timeout(Duration::from_secs(1), sleep(Duration::from_secs(5))).await;
//!     assert!(slow.is_err());
//!     Ok(())
//! }).unwrap();
//! # }
//! ```

mod instant;
mod interval;
mod sleep;
mod timeout;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Timeout};

/// Errors of the time module.
pub mod error {
    pub use super::timeout::Elapsed;
}

/// Does nothing: simulated time is always paused (it moves only when every task waits).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tokio::time::pause();
/// # }
/// ```
pub fn pause() {}

/// Does nothing: simulated time never runs freely; see [`pause`].
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tokio::time::resume();
/// # }
/// ```
pub fn resume() {}

/// Moves the virtual clock forward by `duration`, running every timer due meanwhile (tokio's
/// `advance`). In the simulation this is a sleep that no fault moves: other tasks run while
/// it waits, as they would while a real clock advanced.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::{advance, Instant};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let start = Instant::now();
///     advance(Duration::from_millis(1500)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(1500));
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub async fn advance(duration: Duration) {
    Sleep::new(Instant::now() + duration, sleep::TimerKind::Deadline).await
}
