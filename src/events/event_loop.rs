//! `EventLoop`: the owner of a simulation, which runs it and closes it when dropped.

use crate::base_events::LoopInner;
use crate::config::LoopConfig;
use crate::exceptions::Error;

use std::rc::Rc;

use super::{enter_running, forget_thread_loop, leave_running, set_thread_loop, LoopHandle};

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
    pub(crate) handle: LoopHandle,
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

    /// Drops this loop (closing it) and gives the loop `EventLoop::with_config(config)` would
    /// make, built in this one's storage when nothing else holds it: no handle, future or task
    /// of the old loop is alive. For sweeps over many seeds, where making and freeing a loop per
    /// seed is a measurable share of a short run. What a run does on a recycled loop is what it
    /// does on a new one: the same trace, schedule and reports, seed by seed. When something
    /// still holds the old loop, the new one is simply new.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop, LoopConfig};
    /// let mut lp = EventLoop::with_config(LoopConfig::default().seed(0));
    /// for seed in 1..4 {
    ///     lp = lp.recycle(LoopConfig::default().seed(seed));
    ///     assert_eq!(lp.seed(), Some(seed));
    ///     lp.run_until_complete(sleep(1)).unwrap();
    ///     assert_eq!(lp.time(), 1.0);
    /// }
    /// assert_eq!(lp.generation(), 3); // one loop's storage served every seed
    /// ```
    pub fn recycle(self, config: LoopConfig) -> EventLoop {
        let mut inner = self.handle.inner.clone();
        drop(self);
        forget_thread_loop(&inner);
        match Rc::get_mut(&mut inner) {
            Some(lp) if lp.closed.get() && !lp.running.get() => {
                lp.recycle(config);
                set_thread_loop(&inner);
                EventLoop {
                    handle: LoopHandle { inner },
                }
            }
            _ => EventLoop::with_config(config),
        }
    }

    /// How many runs this loop's storage served before it: 0 for a new loop, one more each
    /// time [`recycle`](Self::recycle) could reuse it.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let keep = lp.handle(); // something still holds the old loop: the next one is new
    /// let lp = lp.recycle(tulipsim::LoopConfig::default());
    /// assert_eq!(lp.generation(), 0);
    /// # drop(keep);
    /// ```
    pub fn generation(&self) -> u64 {
        self.handle.inner.generation
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
