//! Handles of scheduled callbacks (asyncio's `Handle` and `TimerHandle`), which can be
//! cancelled until they run.

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;

use super::nanos_to_secs;

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

/// A handle's state, with its callback in the same allocation (a boxed closure beside it was
/// a second allocation for every `call_soon` and `call_at`).
pub(crate) struct HandleInner<C: ?Sized = dyn Callback> {
    pub(crate) cancelled: Cell<bool>,
    /// The deadline for timer handles, in nanoseconds.
    pub(crate) when: Option<i64>,
    /// A user callback's type name and where it was scheduled, for the report if it fails.
    pub(crate) name: Cell<Option<CallbackName>>,
    callback: C,
}

/// A handle's callback, run or dropped at most once.
pub(crate) trait Callback {
    /// Runs the callback, unless it already ran or was dropped.
    fn run(&self);
    /// Drops the callback, so that a closure holding its own handle cannot keep itself alive.
    fn discard(&self);
}

impl<F: FnOnce()> Callback for Cell<Option<F>> {
    fn run(&self) {
        if let Some(f) = self.take() {
            f();
        }
    }

    fn discard(&self) {
        // Taken out first: the closure's `Drop` runs with nothing of the handle borrowed.
        drop(self.take());
    }
}

/// A user callback's type name (a closure's names the function it was written in) and where
/// it was scheduled.
pub(crate) type CallbackName = (&'static str, &'static Location<'static>);

/// The type name of `_f`'s type.
pub(super) fn callback_name<F>(_f: &F) -> &'static str {
    std::any::type_name::<F>()
}

impl HandleInner {
    pub(crate) fn new(callback: impl FnOnce() + 'static, when: Option<i64>) -> Rc<HandleInner> {
        Rc::new(HandleInner {
            cancelled: Cell::new(false),
            when,
            name: Cell::new(None),
            callback: Cell::new(Some(callback)),
        })
    }

    /// Runs the callback, unless it already ran or was dropped.
    pub(crate) fn run(&self) {
        self.callback.run();
    }

    /// Drops the callback (a cancel, or a close), so that a cycle through this handle cannot
    /// keep it alive.
    pub(crate) fn discard(&self) {
        self.callback.discard();
    }
}

impl Handle {
    /// Cancels the callback; it will not run. Cancelling twice, or after it ran, does nothing.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = tulipsim::EventLoop::new();
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// let h = lp.call_soon(move || r.set(true));
    /// h.cancel();
    /// h.cancel(); // twice: nothing more happens
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// assert!(!ran.get());
    /// ```
    pub fn cancel(&self) {
        if !self.inner.cancelled.replace(true) {
            // Drop the closure now, as asyncio drops `_callback`.
            self.inner.discard();
        }
    }

    /// True once [`cancel`](Handle::cancel) was called.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let h = lp.call_soon(|| {});
    /// assert!(!h.cancelled());
    /// h.cancel();
    /// assert!(h.cancelled());
    /// ```
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
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.call_later(2.5, || {});
    /// assert_eq!(t.when(), 2.5);
    /// ```
    pub fn when(&self) -> f64 {
        nanos_to_secs(self.handle.inner.when.unwrap_or(0))
    }

    /// Cancels the timer; see [`Handle::cancel`].
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.call_later(1, || panic!("never runs"));
    /// t.cancel();
    /// lp.run_until_complete(tulipsim::sleep(2)).unwrap();
    /// ```
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
