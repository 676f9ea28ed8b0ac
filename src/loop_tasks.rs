//! The loop's methods that make tasks and futures and run one to completion: `create_task`,
//! `create_future`, `all_tasks`, `run_until_complete`. They are methods of `LoopHandle` and
//! `EventLoop`, defined here, above the loop floor, because they name tasks and futures; the
//! loop itself (`base_events`, `events`) only runs what these register with it.

use std::panic::Location;
use std::rc::Rc;

use crate::base_events::LoopInner;
use crate::events::{EventLoop, LoopHandle};
use crate::exceptions::Error;
use crate::futures::{Callback, Future};
use crate::tasks::{self, Awaitable, TaskRef, TaskRun};

impl LoopHandle {
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
    pub fn create_task<T, F>(&self, coro: F) -> crate::tasks::Task<T>
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
    pub fn create_task_named<T, F>(&self, name: &str, coro: F) -> crate::tasks::Task<T>
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
}

impl EventLoop {
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
}

impl LoopInner {
    /// The pending tasks, in creation order.
    pub(crate) fn all_tasks(&self) -> Vec<TaskRef> {
        self.pending_tasks()
            .into_iter()
            .filter_map(|task| task.into_any().downcast::<Rc<dyn TaskRun>>().ok())
            .map(|task| TaskRef::from_run(*task))
            .collect()
    }
}
