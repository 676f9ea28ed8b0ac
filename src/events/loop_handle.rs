//! `LoopHandle`: a cheap reference to a loop, carrying every scheduling method of
//! `EventLoop`. What makes tasks and futures is defined above the loop, in `loop_tasks.rs`.

use std::mem;
use std::panic::Location;
use std::rc::Rc;

use crate::base_events::{ExceptionContext, LoopInner};
use crate::scheduler::Scheduler;

use super::handle::callback_name;
use super::{nanos_to_secs, Handle, IntoDelay, TimerHandle};

/// A cheap, cloneable reference to an event loop, for use inside tasks and callbacks
/// (asyncio's loop object as `get_running_loop()` returns it).
///
/// Every scheduling method of [`EventLoop`](crate::EventLoop) lives here; `EventLoop` dereferences to it.
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
        let handle = self.inner.call_soon_handle(callback);
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
        let timer = self.inner.call_at_nanos(when, callback);
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
        let timer = self.inner.call_at_nanos(when.into_nanos(), callback);
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
        self.inner.call_at_nanos_exact(when.into_nanos(), callback)
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

    /// The seed given in [`LoopConfig::seed`](crate::LoopConfig::seed), if any.
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
    /// scheduler starts a run with the loop's seed ([`LoopConfig::seed`](crate::LoopConfig::seed)).
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
    pub fn trace(&self) -> crate::trace::Trace {
        self.inner.decide.trace.borrow().clone()
    }

    /// Takes the trace out, leaving it empty.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert!(lp.take_trace().is_empty());
    /// ```
    pub fn take_trace(&self) -> crate::trace::Trace {
        std::mem::take(&mut *self.inner.decide.trace.borrow_mut())
    }
}
