//! The event loop's public face, mirroring asyncio's `events.py`: the loop (`EventLoop`, and
//! `LoopHandle` to reach it from inside), callback handles, delays, and the running-loop
//! context. The machinery behind it is in `base_events.rs`, as asyncio's is in
//! `base_events.py`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use std::mem;
use std::panic::Location;

use crate::base_events::{ExceptionContext, LoopInner};
use crate::config::LoopConfig;
use crate::exceptions::Error;
use crate::futures::{Callback, Future};
use crate::scheduler::Scheduler;
use crate::tasks::{self, Awaitable, TaskRef};

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
    ///
    /// ```
    /// use tulipsim::IntoDelay;
    /// assert_eq!(1.5.into_nanos(), 1_500_000_000);
    /// assert_eq!(2.into_nanos(), 2_000_000_000);
    /// ```
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
    /// A user callback's type name and where it was scheduled, for the report if it fails.
    pub(crate) name: Cell<Option<CallbackName>>,
}

/// A user callback's type name (a closure's names the function it was written in) and where
/// it was scheduled.
pub(crate) type CallbackName = (&'static str, &'static Location<'static>);

/// The type name of `_f`'s type.
fn callback_name<F>(_f: &F) -> &'static str {
    std::any::type_name::<F>()
}

impl HandleInner {
    pub(crate) fn new(callback: Box<dyn FnOnce()>, when: Option<i64>) -> Rc<HandleInner> {
        Rc::new(HandleInner {
            callback: RefCell::new(Some(callback)),
            cancelled: Cell::new(false),
            when,
            name: Cell::new(None),
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
            // Drop the closure now, outside any borrow, as asyncio drops `_callback`.
            let cb = self.inner.take();
            drop(cb);
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

/// A cheap, cloneable reference to an event loop, for use inside tasks and callbacks
/// (asyncio's loop object as `get_running_loop()` returns it).
///
/// Every scheduling method of [`EventLoop`] lives here; `EventLoop` dereferences to it.
///
/// ```
/// use tulipsim::{get_running_loop, EventLoop};
///
/// let lp = EventLoop::new();
/// let t = lp.run_until_complete(async {
///     let lp = get_running_loop()?;
///     tulipsim::sleep(2).await?;
///     Ok(lp.time())
/// });
/// assert_eq!(t.unwrap(), 2.0);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(crate) inner: Rc<LoopInner>,
}

/// Two handles are equal when they are handles of the same loop (Python's `loop is other`, as
/// CPython's tests compare loops).
///
/// ```
/// let (a, b) = (tulipsim::EventLoop::new(), tulipsim::EventLoop::new());
/// let running = a.run_until_complete(async { tulipsim::get_running_loop() }).unwrap();
/// assert!(running == a.handle());
/// assert!(running != b.handle());
/// ```
impl PartialEq for LoopHandle {
    fn eq(&self, other: &LoopHandle) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for LoopHandle {}

impl LoopHandle {
    /// Schedules `callback` to run on the next iteration, after what is already queued.
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = tulipsim::EventLoop::new();
    /// let log = Rc::new(RefCell::new(vec![]));
    /// for i in 0..3 {
    ///     let log = log.clone();
    ///     lp.call_soon(move || log.borrow_mut().push(i));
    /// }
    /// lp.call_soon({ let h = lp.handle(); move || h.stop() });
    /// lp.run_forever().unwrap();
    /// assert_eq!(*log.borrow(), [0, 1, 2]);
    /// ```
    #[track_caller]
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> Handle {
        let name = (callback_name(&callback), Location::caller());
        let handle = self.inner.call_soon_handle(Box::new(callback));
        handle.inner.name.set(Some(name));
        handle
    }

    /// Schedules `callback` to run `delay` seconds of virtual time from now.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let h = lp.handle();
    /// lp.call_later(5, move || h.stop());
    /// lp.run_forever().unwrap();
    /// assert_eq!(lp.time(), 5.0);
    /// ```
    #[track_caller]
    pub fn call_later(
        &self,
        delay: impl IntoDelay,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        let name = (callback_name(&callback), Location::caller());
        let when = self.inner.now().saturating_add(delay.into_nanos());
        let timer = self.inner.call_at_nanos(when, Box::new(callback));
        timer.handle.inner.name.set(Some(name));
        timer
    }

    /// Schedules `callback` at absolute loop time `when` (seconds; see [`time`](Self::time)).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let h = lp.handle();
    /// lp.call_at(7.5, move || h.stop());
    /// lp.run_forever().unwrap();
    /// assert_eq!(lp.time(), 7.5);
    /// ```
    #[track_caller]
    pub fn call_at(&self, when: impl IntoDelay, callback: impl FnOnce() + 'static) -> TimerHandle {
        let name = (callback_name(&callback), Location::caller());
        let timer = self
            .inner
            .call_at_nanos(when.into_nanos(), Box::new(callback));
        timer.handle.inner.name.set(Some(name));
        timer
    }

    /// Schedules `callback` at absolute loop time `when`, as a *deadline*: unlike
    /// [`call_at`](Self::call_at) (a sleeper's wake-up, which the timer-jitter fault may make
    /// late), nothing moves this timer. Timeouts use it: their deadline is what the code under
    /// test is tested against, and only the early-timeout fault
    /// ([`early_timeout_fault`](Self::early_timeout_fault)) moves it, where the timeout is armed.
    /// For runtime adapters such as `tulipsim-tokio`.
    ///
    /// ```
    /// use tulipsim::{EventLoop, FaultConfig, LoopConfig};
    /// // Every timer jitters by up to 1 s, except the deadline.
    /// let lp = EventLoop::with_config(
    ///     LoopConfig::default().faults(FaultConfig::default().timer_jitter(1.0, 1.0)),
    /// );
    /// let h = lp.handle();
    /// lp.call_at_deadline(2.0, move || h.stop());
    /// lp.run_forever().unwrap();
    /// assert_eq!(lp.time(), 2.0);
    /// ```
    pub fn call_at_deadline(
        &self,
        when: impl IntoDelay,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        self.inner
            .call_at_nanos_exact(when.into_nanos(), Box::new(callback))
    }

    /// Asks the early-timeout fault (see [`FaultConfig::early_timeout`](crate::FaultConfig::early_timeout))
    /// whether a timeout armed now fires at once instead of at its deadline. The query is a
    /// fault decision like any other: recorded, replayed, shrunk. tulipsim's own `wait_for`,
    /// `wait` and `timeout` ask it themselves; a runtime adapter (`tulipsim-tokio`'s
    /// `timeout`) asks it when it arms a timeout.
    ///
    /// ```
    /// use tulipsim::{EventLoop, FaultConfig, LoopConfig};
    /// let always = EventLoop::with_config(
    ///     LoopConfig::default().faults(FaultConfig::default().early_timeout(1.0)),
    /// );
    /// assert!(always.early_timeout_fault());
    /// assert!(!EventLoop::new().early_timeout_fault()); // no faults configured
    /// ```
    pub fn early_timeout_fault(&self) -> bool {
        self.inner.early_timeout()
    }

    /// The virtual time, in seconds; it starts at 0 and moves only when the loop jumps to a
    /// timer.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert_eq!(lp.time(), 0.0);
    /// ```
    pub fn time(&self) -> f64 {
        nanos_to_secs(self.inner.now())
    }

    /// The virtual time in whole nanoseconds, the clock's own unit.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// lp.run_until_complete(tulipsim::sleep(0.25)).unwrap();
    /// assert_eq!(lp.time_ns(), 250_000_000);
    /// ```
    pub fn time_ns(&self) -> i64 {
        self.inner.now()
    }

    /// Asks `run_forever` to return after the current iteration; every callback already
    /// scheduled for this iteration still runs.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let h = lp.handle();
    /// lp.call_soon(move || h.stop());
    /// lp.run_forever().unwrap(); // returns once stop() ran
    /// assert!(!lp.is_running());
    /// ```
    pub fn stop(&self) {
        self.inner.stopping.set(true);
    }

    /// Wraps `coro` in a task, scheduled to start on the next iteration (asyncio's
    /// `loop.create_task`). Works whether or not the loop is running.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(6 * 7) });
    /// assert_eq!(lp.run_until_complete(t).unwrap(), 42);
    /// ```
    #[doc(alias = "spawn")]
    #[track_caller]
    pub fn create_task<T, F>(&self, coro: F) -> crate::Task<T>
    where
        T: 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        tasks::new_task(&self.inner, None, coro, Location::caller())
    }

    /// [`create_task`](Self::create_task) with a name, which traces and reports use.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task_named("worker", async { Ok(()) });
    /// assert_eq!(t.get_name(), "worker");
    /// ```
    #[track_caller]
    pub fn create_task_named<T, F>(&self, name: &str, coro: F) -> crate::Task<T>
    where
        T: 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        tasks::new_task(&self.inner, Some(name.into()), coro, Location::caller())
    }

    /// A new pending future bound to this loop (asyncio's `loop.create_future`).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<u8>();
    /// f.set_result(1).unwrap();
    /// assert_eq!(lp.run_until_complete(f).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn create_future<T: 'static>(&self) -> Future<T> {
        Future::bound(Rc::downgrade(&self.inner), Location::caller())
    }

    /// Every task of this loop that is not done yet, in creation order.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let _t = lp.create_task_named("a", async { Ok(()) });
    /// let names: Vec<String> = lp.all_tasks().iter().map(|t| t.get_name()).collect();
    /// assert_eq!(names, ["a"]);
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        self.inner.all_tasks()
    }

    /// True while `run_forever` or `run_until_complete` is running.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert!(!lp.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.inner.running.get()
    }

    /// True once the loop was closed.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// lp.close().unwrap();
    /// assert!(lp.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// How many ready-queue entries (task steps and callbacks) have run so far.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// lp.run_until_complete(async { Ok(()) }).unwrap();
    /// assert!(lp.steps() >= 1);
    /// ```
    pub fn steps(&self) -> u64 {
        self.inner.steps.get()
    }

    /// The seed given in [`LoopConfig::seed`], if any.
    ///
    /// ```
    /// use tulipsim::{EventLoop, LoopConfig};
    /// assert_eq!(EventLoop::new().seed(), None);
    /// assert_eq!(EventLoop::with_config(LoopConfig::default().seed(9)).seed(), Some(9));
    /// ```
    pub fn seed(&self) -> Option<u64> {
        self.inner.config.seed
    }

    /// Sends future reports to `handler` instead of collecting them (asyncio's
    /// `set_exception_handler`). It is called between loop iterations, never from inside a
    /// step.
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = tulipsim::EventLoop::new();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// lp.set_exception_handler(move |ctx| s.borrow_mut().push(ctx.message().to_string()));
    /// let f = lp.create_future::<()>();
    /// f.set_exception(tulipsim::Error::msg("x")).unwrap();
    /// drop(f); // never retrieved
    /// lp.close().unwrap();
    /// assert_eq!(*seen.borrow(), ["Future exception was never retrieved"]);
    /// ```
    pub fn set_exception_handler(&self, handler: impl Fn(&ExceptionContext) + 'static) {
        *self.inner.handler.borrow_mut() = Some(Rc::new(handler));
    }

    /// Reports `context` to the loop's exception handler, as the loop reports its own
    /// (asyncio's `call_exception_handler`): with a handler set, the handler gets it at once if
    /// the loop is not running, and otherwise after the current step, between iterations, as
    /// every report; without one, it is collected for [`take_reports`](Self::take_reports).
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use tulipsim::{get_running_loop, Error, EventLoop, ExceptionContext};
    ///
    /// let lp = EventLoop::new();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// lp.set_exception_handler(move |ctx| s.borrow_mut().push(ctx.to_string()));
    /// lp.run_until_complete(async {
    ///     let ctx = ExceptionContext::new("cache flush failed").with_error(Error::msg("disk full"));
    ///     get_running_loop()?.call_exception_handler(ctx);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// assert_eq!(*seen.borrow(), ["cache flush failed\n  exception: disk full"]);
    /// ```
    pub fn call_exception_handler(&self, context: ExceptionContext) {
        self.inner.report(context);
        if !self.inner.running.get() {
            self.inner.dispatch_reports();
        }
    }

    /// Takes the reports collected so far (exceptions never retrieved, tasks destroyed while
    /// pending, panicking callbacks under [`PanicPolicy::Capture`](crate::PanicPolicy::Capture)).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.set_exception(tulipsim::Error::msg("lost")).unwrap();
    /// drop(f);
    /// let reports = lp.take_reports();
    /// assert_eq!(reports[0].message(), "Future exception was never retrieved");
    /// assert!(lp.take_reports().is_empty()); // taken
    /// ```
    pub fn take_reports(&self) -> Vec<ExceptionContext> {
        mem::take(&mut *self.inner.reports.borrow_mut())
    }

    /// Hands every choice of this loop to `scheduler` (the loop is FIFO without one). The
    /// scheduler starts a run with the loop's seed ([`LoopConfig::seed`]).
    ///
    /// ```
    /// use tulipsim::{scheduler::Random, sleep, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().seed(5));
    /// lp.set_scheduler(Random::new());
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// assert_eq!(lp.take_scheduler().unwrap().name(), "random");
    /// ```
    pub fn set_scheduler(&self, scheduler: impl Scheduler + 'static) {
        self.inner.decide.set_scheduler(Box::new(scheduler));
    }

    /// [`set_scheduler`](Self::set_scheduler) for a boxed scheduler.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// lp.set_boxed_scheduler(Box::new(tulipsim::scheduler::Fifo));
    /// ```
    pub fn set_boxed_scheduler(&self, scheduler: Box<dyn Scheduler>) {
        self.inner.decide.set_scheduler(scheduler);
    }

    /// Takes the scheduler back (ending its run, so it can learn from it); the loop is FIFO
    /// again.
    ///
    /// ```
    /// use tulipsim::{scheduler::Random, EventLoop};
    /// let lp = EventLoop::new();
    /// assert!(lp.take_scheduler().is_none()); // FIFO
    /// lp.set_scheduler(Random::new());
    /// assert_eq!(lp.take_scheduler().unwrap().name(), "random");
    /// ```
    pub fn take_scheduler(&self) -> Option<Box<dyn Scheduler>> {
        self.inner.decide.take_scheduler()
    }

    /// The choices made so far, as deviations from FIFO; [`Replay`](crate::scheduler::Replay)
    /// reproduces them.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// assert!(lp.schedule().is_fifo());
    /// ```
    pub fn schedule(&self) -> crate::scheduler::Schedule {
        self.inner.decide.schedule()
    }

    /// The fault queries that fired so far: replaying them with
    /// [`Replay::with_faults`](crate::scheduler::Replay::with_faults) repeats the faults.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert!(lp.fired_faults().queries().is_empty());
    /// ```
    pub fn fired_faults(&self) -> crate::scheduler::FaultPlan {
        self.inner.decide.fired()
    }

    /// How many decisions (points with two or more eligible entries) a scheduler was asked.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert_eq!(lp.decisions(), 0);
    /// ```
    pub fn decisions(&self) -> u64 {
        self.inner.decide.decisions()
    }

    /// What the loop recorded so far, at its [`TraceLevel`](crate::TraceLevel).
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// assert_eq!(lp.trace().to_string(), lp.trace().to_string()); // a copy; still there
    /// ```
    pub fn trace(&self) -> crate::Trace {
        self.inner.decide.trace.borrow().clone()
    }

    /// Takes the trace out, leaving it empty.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert!(lp.take_trace().is_empty());
    /// ```
    pub fn take_trace(&self) -> crate::Trace {
        std::mem::take(&mut *self.inner.decide.trace.borrow_mut())
    }
}

/// A single-threaded asyncio event loop on a virtual clock: the owner of a simulation.
///
/// Dropping it closes it, which frees every task, future and callback it holds, and prints
/// any report nobody took to stderr (as asyncio logs them). Scheduling methods live on
/// [`LoopHandle`], which `EventLoop` dereferences to.
///
/// The reference text's "Future with run_until_complete()" example:
///
/// ```
/// use tulipsim::{sleep, EventLoop, Future};
///
/// async fn slow_operation(future: Future<String>) -> Result<(), tulipsim::Error> {
///     sleep(1).await?;
///     future.set_result("Future is done!".to_string())
/// }
///
/// let lp = EventLoop::new();
/// let future = lp.create_future();
/// lp.create_task(slow_operation(future.clone()));
/// lp.run_until_complete(future.clone()).unwrap();
/// assert_eq!(future.result().unwrap(), "Future is done!");
/// assert_eq!(lp.time(), 1.0);
/// ```
pub struct EventLoop {
    handle: LoopHandle,
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

impl std::ops::Deref for EventLoop {
    type Target = LoopHandle;
    fn deref(&self) -> &LoopHandle {
        &self.handle
    }
}

impl EventLoop {
    /// A new loop with the default [`LoopConfig`]: FIFO, no limits, panics stop the loop.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert_eq!(lp.time(), 0.0);
    /// assert!(!lp.is_closed());
    /// ```
    pub fn new() -> EventLoop {
        EventLoop::with_config(LoopConfig::default())
    }

    /// A new loop with `config`.
    ///
    /// ```
    /// use tulipsim::{EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().seed(1).max_steps(10_000));
    /// assert_eq!(lp.seed(), Some(1));
    /// ```
    pub fn with_config(config: LoopConfig) -> EventLoop {
        let inner = LoopInner::new(config);
        set_thread_loop(&inner);
        EventLoop {
            handle: LoopHandle { inner },
        }
    }

    /// A cloneable handle to this loop.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let h = lp.handle(); // cloneable, 'static: can move into callbacks and tasks
    /// lp.call_later(1, move || h.stop());
    /// lp.run_forever().unwrap();
    /// assert_eq!(lp.time(), 1.0);
    /// ```
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }

    /// Runs until `main` is done and returns its outcome (asyncio's `run_until_complete`).
    ///
    /// `main` is an `async` block (wrapped in a task, as asyncio wraps a coroutine), a
    /// [`Task`](crate::Task) or a [`Future`]. Besides `main`'s own error, this returns
    /// [`Error::Deadlock`] if `main` can never finish, [`Error::Limit`] if a configured limit is
    /// reached, and [`Error::Panic`] if a task panicked (under the default policy).
    ///
    /// ```
    /// use tulipsim::{sleep_with, EventLoop};
    /// let lp = EventLoop::new();
    /// assert_eq!(lp.run_until_complete(sleep_with(3, "done")).unwrap(), "done");
    /// assert_eq!(lp.time(), 3.0);
    /// ```
    #[track_caller]
    pub fn run_until_complete<T: 'static, A: Awaitable<T>>(&self, main: A) -> Result<T, Error> {
        self.run_until_complete_at(main, Location::caller())
    }

    /// [`run_until_complete`](Self::run_until_complete), with `site` as where the main task
    /// was spawned (the harness passes its caller's).
    pub(crate) fn run_until_complete_at<T: 'static, A: Awaitable<T>>(
        &self,
        main: A,
        site: &'static Location<'static>,
    ) -> Result<T, Error> {
        let inner = &self.handle.inner;
        if inner.closed.get() {
            return Err(Error::runtime("Event loop is closed"));
        }
        if inner.running.get() {
            return Err(Error::runtime("This event loop is already running"));
        }
        let main = main.ensure_on(Some(&self.handle), site);
        if main.new_task {
            // The caller gets the outcome (or the error that the run ended with): no need to
            // report it as a pending task destroyed.
            if let Some(h) = main.future.obj.task_header() {
                h.log_destroy_pending.set(false);
            }
        }
        let run = inner.next_run();
        main.future
            .add_callback(Callback::Stop(Rc::downgrade(inner), run));
        let ran = inner.run_forever();
        main.future.obj.core().remove_stop_callback(inner, run);
        ran?;
        if !main.future.done() {
            return Err(Error::runtime(
                "Event loop stopped before Future completed.",
            ));
        }
        A::outcome(&main)
    }

    /// Runs `f` with this loop as the running loop, without running the loop: what `f`
    /// schedules (tasks, callbacks) waits for the next run, and time does not move. For
    /// runtime adapters that poll a borrowed future between runs of the loop
    /// (`tulipsim-tokio`'s `Runtime::block_on`). `Err(Runtime)` if a loop is running on this
    /// thread already, or this one is closed.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let task = lp.enter(|| tulipsim::create_task(async { Ok(7) })).unwrap().unwrap();
    /// assert!(!task.done()); // scheduled, not run
    /// assert_eq!(lp.run_until_complete(task).unwrap(), 7);
    /// assert!(tulipsim::get_running_loop().is_err()); // left again
    /// ```
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> Result<R, Error> {
        let inner = &self.handle.inner;
        if inner.closed.get() {
            return Err(Error::runtime("Event loop is closed"));
        }
        enter_running(inner)?;
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                leave_running();
            }
        }
        let _leave = Leave;
        Ok(f())
    }

    /// Runs until [`stop`](LoopHandle::stop) is called. Returns [`Error::Deadlock`] if nothing
    /// is left to run and no timer is pending (the real asyncio would block forever).
    ///
    /// The reference text's "Future with run_forever()" example:
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop, Future};
    ///
    /// let lp = EventLoop::new();
    /// let future: Future<String> = lp.create_future();
    /// let f = future.clone();
    /// lp.create_task(async move {
    ///     sleep(1).await?;
    ///     f.set_result("Future is done!".into())
    /// });
    /// let h = lp.handle();
    /// future.add_done_callback(move |fut: &Future<String>| {
    ///     assert_eq!(fut.result().unwrap(), "Future is done!");
    ///     h.stop();
    /// });
    /// lp.run_forever().unwrap();
    /// ```
    pub fn run_forever(&self) -> Result<(), Error> {
        self.handle.inner.run_forever()
    }

    /// Closes the loop: frees every queued callback, timer and pending task (each pending task
    /// is reported as "Task was destroyed but it is pending!"). Fails if the loop is running;
    /// closing twice does nothing.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let _t = lp.create_task(async { Ok(()) });
    /// lp.close().unwrap();
    /// assert_eq!(lp.take_reports()[0].message(), "Task was destroyed but it is pending!");
    /// ```
    pub fn close(&self) -> Result<(), Error> {
        self.handle.inner.close()
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // Dropping inside one of its own callbacks cannot happen (the owner is outside), so
        // the loop is not running here and close succeeds.
        let _ = self.handle.inner.close();
        let left = self.take_reports();
        if !left.is_empty() && !std::thread::panicking() {
            eprintln!("tulipsim: {} unhandled event loop report(s):", left.len());
            for r in left {
                eprintln!("  {}", r.to_string().replace('\n', "\n  "));
            }
        }
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
