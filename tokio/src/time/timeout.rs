//! `timeout` and `Timeout`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::instant::Instant;
use super::sleep::{Sleep, TimerKind};

/// The error of a [`timeout`] whose deadline passed (tokio's `time::error::Elapsed`).
///
/// See [`timeout`] for an example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `future` with a time limit (tokio's `timeout`): its value, or [`Elapsed`] if
/// `duration` of virtual time passes first (the future is then dropped with the `Timeout`).
///
/// The timeout's deadline is exact: the timer-jitter fault never moves it. The early-timeout
/// fault is asked when the timeout is first polled; if it fires, the timeout has elapsed at
/// once, unless `future` is ready at that first poll.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::{sleep, timeout};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     assert_eq!(timeout(Duration::from_secs(2), async { 7 }).await, Ok(7));
///     let err = timeout(Duration::from_secs(2), sleep(Duration::from_secs(3))).await.unwrap_err();
///     assert_eq!(err.to_string(), "deadline has elapsed");
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), Instant::now() + duration)
}

/// Runs `future` until the virtual clock reaches `deadline` (tokio's `timeout_at`).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::{sleep, timeout_at, Instant};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let deadline = Instant::now() + Duration::from_secs(1);
///     assert!(timeout_at(deadline, sleep(Duration::from_secs(2))).await.is_err());
///     assert_eq!(Instant::now(), deadline);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), deadline)
}

pin_project_lite::pin_project! {
    /// The future [`timeout`] returns (tokio's `Timeout`).
    ///
    /// See [`timeout`] for an example.
    pub struct Timeout<T> {
        #[pin]
        value: T,
        delay: Sleep,
        armed: bool,
    }
}

impl<T> Timeout<T> {
    fn new(value: T, deadline: Instant) -> Timeout<T> {
        Timeout {
            value,
            delay: Sleep::new(deadline, TimerKind::Deadline),
            armed: false,
        }
    }

    /// The wrapped future.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// # use std::time::Duration;
    /// let t = tokio::time::timeout(Duration::from_secs(1), async { 3 });
    /// let _inner: &_ = t.get_ref();
    /// # }
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The wrapped future, mutably.
    ///
    /// See [`get_ref`](Self::get_ref) for an example.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The wrapped future, without its time limit.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// # use std::time::Duration;
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let t = tokio::time::timeout(Duration::from_secs(1), async { 3 });
    ///     assert_eq!(t.into_inner().await, 3);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.project();
        if let Poll::Ready(v) = me.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if !*me.armed {
            *me.armed = true;
            if tulipsim::get_running_loop().is_ok_and(|lp| lp.early_timeout_fault()) {
                me.delay.reset_unpinned(Instant::now());
            }
        }
        me.delay.poll_elapsed(cx).map(|()| Err(Elapsed(())))
    }
}

impl<T: fmt::Debug> fmt::Debug for Timeout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("deadline", &self.delay.deadline())
            .finish()
    }
}
