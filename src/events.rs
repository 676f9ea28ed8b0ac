//! Callback handles, delays and the running-loop context, mirroring asyncio's `events.py`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::base_events::LoopInner;
use crate::exceptions::Error;

/// A delay or an instant on the virtual clock, in seconds as asyncio counts them.
///
/// Implemented for `f64`/`f32` (seconds, as in asyncio), the integer types (whole seconds) and
/// [`Duration`]. The clock counts integer nanoseconds: a float is rounded to the nearest
/// nanosecond, so `sleep(0.1)` twice ends exactly where `sleep(0.2)` does (see
/// `docs/semantics.md`). NaN counts as zero; huge values saturate.
///
/// ```
/// use std::time::Duration;
/// use tulipsim::{sleep, EventLoop};
///
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     sleep(1).await?;                          // one second
///     sleep(0.5).await?;                        // half a second
///     sleep(Duration::from_millis(250)).await?; // a quarter
///     Ok(())
/// }).unwrap();
/// assert_eq!(lp.time(), 1.75);
/// ```
pub trait IntoDelay {
    /// The value in nanoseconds; may be negative (a deadline in the past).
    fn into_nanos(self) -> i64;
}

impl IntoDelay for f64 {
    fn into_nanos(self) -> i64 {
        if self.is_nan() {
            0
        } else {
            // `as` saturates at the bounds, which is what an "effectively infinite" delay wants.
            (self * 1e9).round() as i64
        }
    }
}

impl IntoDelay for f32 {
    fn into_nanos(self) -> i64 {
        f64::from(self).into_nanos()
    }
}

impl IntoDelay for Duration {
    fn into_nanos(self) -> i64 {
        i64::try_from(self.as_nanos()).unwrap_or(i64::MAX)
    }
}

macro_rules! delay_from_int {
    ($($t:ty),*) => {$(
        impl IntoDelay for $t {
            fn into_nanos(self) -> i64 {
                // Whole seconds; saturate instead of overflowing.
                i64::try_from(self).unwrap_or(i64::MAX).saturating_mul(1_000_000_000)
            }
        }
    )*};
}
delay_from_int!(i32, i64, u32, u64, usize);

pub(crate) fn nanos_to_secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// A callback scheduled with `call_soon`, `call_later` or `call_at`, which can be cancelled
/// until it runs (asyncio's `Handle`).
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use tulipsim::EventLoop;
///
/// let lp = EventLoop::new();
/// let ran = Rc::new(Cell::new(false));
/// let r = ran.clone();
/// let h = lp.call_soon(move || r.set(true));
/// h.cancel();
/// assert!(h.cancelled());
/// lp.call_soon({ let lp = lp.handle(); move || lp.stop() });
/// lp.run_forever().unwrap();
/// assert!(!ran.get());
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Rc<HandleInner>,
}

pub(crate) struct HandleInner {
    pub(crate) callback: RefCell<Option<Box<dyn FnOnce()>>>,
    pub(crate) cancelled: Cell<bool>,
    /// The deadline for timer handles, in nanoseconds.
    pub(crate) when: Option<i64>,
}

impl HandleInner {
    pub(crate) fn new(callback: Box<dyn FnOnce()>, when: Option<i64>) -> Rc<HandleInner> {
        Rc::new(HandleInner {
            callback: RefCell::new(Some(callback)),
            cancelled: Cell::new(false),
            when,
        })
    }

    /// Takes the callback out, so that running it (or dropping it at close) cannot keep a
    /// cycle through this handle alive.
    pub(crate) fn take(&self) -> Option<Box<dyn FnOnce()>> {
        self.callback.borrow_mut().take()
    }
}

impl Handle {
    /// Cancels the callback; it will not run. Cancelling twice, or after it ran, does nothing.
    ///
    /// See [`Handle`] for an example.
    pub fn cancel(&self) {
        if !self.inner.cancelled.replace(true) {
            // Drop the closure now, outside any borrow, as asyncio drops `_callback`.
            let cb = self.inner.take();
            drop(cb);
        }
    }

    /// True once [`cancel`](Handle::cancel) was called.
    ///
    /// See [`Handle`] for an example.
    pub fn cancelled(&self) -> bool {
        self.inner.cancelled.get()
    }
}

/// A [`Handle`] for a callback scheduled at a time (`call_later`, `call_at`); also knows when.
///
/// ```
/// use tulipsim::EventLoop;
///
/// let lp = EventLoop::new();
/// let h = lp.call_later(2.5, || {});
/// assert_eq!(h.when(), 2.5);
/// h.cancel();
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) handle: Handle,
}

impl TimerHandle {
    /// The scheduled time, in seconds of loop time.
    ///
    /// See [`TimerHandle`] for an example.
    pub fn when(&self) -> f64 {
        nanos_to_secs(self.handle.inner.when.unwrap_or(0))
    }

    /// Cancels the timer; see [`Handle::cancel`].
    ///
    /// See [`TimerHandle`] for an example.
    pub fn cancel(&self) {
        self.handle.cancel()
    }

    /// True once [`cancel`](TimerHandle::cancel) was called.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let h = lp.call_later(1, || {});
    /// h.cancel();
    /// assert!(h.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.handle.cancelled()
    }
}

thread_local! {
    /// The loop running on this thread, if any (asyncio's `_get_running_loop`).
    static RUNNING: RefCell<Option<Rc<LoopInner>>> = const { RefCell::new(None) };
    /// The loop `Future::new()` binds to when none is running: the newest open loop of this
    /// thread (what asyncio's `get_event_loop()` returns).
    static THREAD_LOOP: RefCell<Weak<LoopInner>> = const { RefCell::new(Weak::new()) };
}

/// Runs `f` with the loop running on this thread, or `None` outside a running loop.
#[inline]
pub(crate) fn with_running<R>(f: impl FnOnce(Option<&Rc<LoopInner>>) -> R) -> R {
    RUNNING.with(|r| f(r.borrow().as_ref()))
}

pub(crate) fn running_loop() -> Option<Rc<LoopInner>> {
    RUNNING.with(|r| r.borrow().clone())
}

/// Marks `lp` as this thread's running loop; fails if another loop is running here already.
pub(crate) fn enter_running(lp: &Rc<LoopInner>) -> Result<(), Error> {
    RUNNING.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_some() {
            return Err(Error::runtime(
                "Cannot run the event loop while another loop is running",
            ));
        }
        *r = Some(lp.clone());
        Ok(())
    })
}

pub(crate) fn leave_running() {
    let old = RUNNING.with(|r| r.borrow_mut().take());
    drop(old);
}

pub(crate) fn set_thread_loop(lp: &Rc<LoopInner>) {
    THREAD_LOOP.with(|t| *t.borrow_mut() = Rc::downgrade(lp));
}

/// The running loop, else the newest loop of this thread that is still open.
pub(crate) fn current_or_thread_loop() -> Weak<LoopInner> {
    if let Some(lp) = running_loop() {
        return Rc::downgrade(&lp);
    }
    THREAD_LOOP.with(|t| {
        let w = t.borrow().clone();
        match w.upgrade() {
            Some(lp) if !lp.is_closed() => w,
            _ => Weak::new(),
        }
    })
}
