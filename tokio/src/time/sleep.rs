//! `sleep` and `Sleep`: a loop timer that wakes the polling task through its waker.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::instant::{Instant, FAR_FUTURE_NANOS};
use crate::local::Local;

/// Which of tulipsim's timers a sleep uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// A sleeper's wake-up: the timer-jitter fault may make it late.
    Sleeper,
    /// A deadline (a timeout's, `advance`'s): nothing moves it.
    Deadline,
}

/// The loop's side of a registered sleep.
struct TimerSlot {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    handle: RefCell<Option<tulipsim::TimerHandle>>,
}

impl TimerSlot {
    fn fire(&self) {
        self.fired.set(true);
        self.handle.borrow_mut().take();
        let waker = self.waker.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Waits until `duration` of virtual time has passed (tokio's `sleep`).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// let lp = tulipsim::EventLoop::new();
/// lp.run_until_complete(async {
///     tokio::time::sleep(Duration::from_secs(90)).await;
///     Ok(())
/// }).unwrap();
/// assert_eq!(lp.time(), 90.0);
/// # }
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now() + duration, TimerKind::Sleeper)
}

/// Waits until the virtual clock reaches `deadline` (tokio's `sleep_until`).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::{sleep_until, Instant};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let when = Instant::now() + Duration::from_secs(5);
///     sleep_until(when).await;
///     assert_eq!(Instant::now(), when);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, TimerKind::Sleeper)
}

/// The future [`sleep`] and [`sleep_until`] return (tokio's `Sleep`). It is `Unpin` here, so
/// code that pins it (`tokio::pin!`, `Box::pin`) works unchanged.
///
/// See [`sleep`] for an example.
pub struct Sleep {
    deadline: Instant,
    kind: TimerKind,
    timer: Option<Local<TimerSlot>>,
}

impl Sleep {
    pub(crate) fn new(deadline: Instant, kind: TimerKind) -> Sleep {
        Sleep {
            deadline,
            kind,
            timer: None,
        }
    }

    /// When it completes.
    ///
    /// See [`reset`](Self::reset) for an example.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once its deadline has passed.
    ///
    /// See [`reset`](Self::reset) for an example.
    pub fn is_elapsed(&self) -> bool {
        self.timer
            .as_ref()
            .and_then(Local::try_get)
            .is_some_and(|t| t.fired.get())
            || Instant::now() >= self.deadline && tulipsim::get_running_loop().is_ok()
    }

    /// Moves its deadline to `deadline` (tokio's `Sleep::reset`), whether or not it completed.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::{sleep, Instant};
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let s = sleep(Duration::from_secs(10));
    ///     tokio::pin!(s);
    ///     s.as_mut().reset(Instant::now() + Duration::from_secs(1));
    ///     assert!(!s.is_elapsed());
    ///     (&mut s).await;
    ///     assert!(s.is_elapsed());
    ///     assert_eq!(s.deadline(), Instant::now());
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let me = self.get_mut();
        me.cancel_timer();
        me.deadline = deadline;
    }

    pub(crate) fn reset_unpinned(&mut self, deadline: Instant) {
        self.cancel_timer();
        self.deadline = deadline;
    }

    fn cancel_timer(&mut self) {
        if let Some(slot) = self.timer.take().and_then(|t| t.try_get()) {
            let handle = slot.handle.borrow_mut().take();
            if let Some(h) = handle {
                h.cancel();
            }
        }
    }

    /// Polls for the deadline, registering a loop timer on the first pending poll.
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(slot) = self.timer.as_ref().and_then(Local::try_get) {
            if slot.fired.get() {
                return Poll::Ready(());
            }
            let mut waker = slot.waker.borrow_mut();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let Ok(lp) = tulipsim::get_running_loop() else {
            panic!(
                "a tokio::time::Sleep was polled outside a simulation: with tulipsim-tokio \
                 (--cfg tulipsim), timers run on a tulipsim loop (#[tokio::test], \
                 #[tokio::main], Runtime::block_on)"
            );
        };
        let now = lp.time_ns().max(0) as u64;
        if self.deadline.nanos() <= now {
            return Poll::Ready(());
        }
        let slot = Rc::new(TimerSlot {
            fired: Cell::new(false),
            waker: RefCell::new(Some(cx.waker().clone())),
            handle: RefCell::new(None),
        });
        if self.deadline.nanos() >= FAR_FUTURE_NANOS {
            // Never fires: a run waiting only on it ends as a deadlock, which it is.
            self.timer = Some(Local::from_rc(slot));
            return Poll::Pending;
        }
        let weak: Weak<TimerSlot> = Rc::downgrade(&slot);
        let fire = move || {
            if let Some(slot) = weak.upgrade() {
                slot.fire();
            }
        };
        let when = Duration::from_nanos(self.deadline.nanos());
        let handle = match self.kind {
            TimerKind::Sleeper => lp.call_at(when, fire),
            TimerKind::Deadline => lp.call_at_deadline(when, fire),
        };
        *slot.handle.borrow_mut() = Some(handle);
        self.timer = Some(Local::from_rc(slot));
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_elapsed(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}
