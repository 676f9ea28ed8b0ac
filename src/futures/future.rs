//! The public handle of asyncio's `Future`: `Future<T>`, shared by every clone, and what
//! `.await` on one makes.

use std::fmt;
use std::future::IntoFuture;
use std::panic::Location;
use std::rc::{Rc, Weak};

use crate::base_events::LoopInner;
use crate::events;
use crate::events::LoopHandle;
use crate::exceptions::Error;

use super::callbacks::{Callback, DoneCallback};
use super::header::{short_type_name, FutureCore, State};
use super::wait::{Wait, WaitCore};
use super::{AnyFuture, DynFuture};

/// asyncio's `Future`: a result that will be available later, shared by every handle.
///
/// Clone the handle to share it; every clone is the same future. A [`Task`](crate::Task) is a
/// future too ([`Task::as_future`](crate::Task::as_future)); a `Future` that is a task cancels
/// as a task does, and refuses `set_result`.
///
/// Awaiting a future (by value or by reference) suspends the current task until the future is
/// done, then gives its result, its exception, or [`Error::Cancelled`]. Every awaiter gets its
/// own copy of the outcome, so awaiting needs `T: Clone` (wrap other values in an `Rc`).
///
/// `Future` implements [`IntoFuture`] rather than `std::future::Future`, so that `.await`
/// records where the task is suspended; a combinator that wants a `std::future::Future`
/// (`futures::join!`, `select!`) takes `fut.into_future()`.
///
/// ```
/// use tulipsim::{create_task, sleep, EventLoop, Future};
///
/// let lp = EventLoop::new();
/// let answer = lp.run_until_complete(async {
///     let fut: Future<u32> = Future::new();
///     let setter = fut.clone();
///     create_task(async move {
///         sleep(1).await?;
///         setter.set_result(42)
///     })?;
///     (&fut).await // suspends until the task sets the result
/// });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub struct Future<T> {
    pub(crate) obj: Rc<DynFuture<T>>,
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future {
            obj: self.obj.clone(),
        }
    }
}

impl<T: 'static> Default for Future<T> {
    #[track_caller]
    fn default() -> Self {
        Future::new()
    }
}

impl<T: 'static> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.obj.core();
        write!(
            f,
            "<Future<{}> {}",
            short_type_name::<T>(),
            core.state_name()
        )?;
        if let (Some(label), None) = (core.label(), self.obj.task_header()) {
            write!(f, " {label:?}")?;
        }
        write!(f, " created at {}>", core.created_at)
    }
}

impl<T: 'static> Future<T> {
    /// A new pending future bound to the running loop, or else to the newest open loop of this
    /// thread (asyncio's `Future()`); with no loop at all it binds to the first loop that
    /// awaits it.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let fut = tulipsim::Future::<i32>::new(); // bound to `lp`, the newest loop of this thread
    /// let f = fut.clone();
    /// lp.call_soon(move || f.set_result(5).unwrap());
    /// assert_eq!(lp.run_until_complete(fut), Ok(5));
    /// ```
    #[track_caller]
    pub fn new() -> Future<T> {
        Future::bound(events::current_or_thread_loop(), Location::caller())
    }

    pub(crate) fn bound(lp: Weak<LoopInner>, site: &'static Location<'static>) -> Future<T> {
        // Built in place, after the allocation (`new` would build it first and copy it in).
        let core: Rc<FutureCore<T>> = Rc::new_cyclic(|_| FutureCore::new(lp, site));
        Future { obj: core }
    }

    pub(crate) fn core(&self) -> &FutureCore<T> {
        self.obj.core()
    }

    /// Cancels the future and schedules its callbacks; false if it was already done
    /// ("If the future is already done or cancelled, return False").
    ///
    /// On a future that is a task this is `Task.cancel`: a request the task may refuse.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// assert!(f.cancel());
    /// assert!(f.cancelled());
    /// assert!(!f.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.obj.clone().cancel(None)
    }

    /// [`cancel`](Self::cancel) with a message, which the `CancelledError` carries.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.cancel_with("no longer needed");
    /// assert_eq!(f.result().unwrap_err().to_string(), "CancelledError: no longer needed");
    /// ```
    pub fn cancel_with(&self, msg: impl Into<Rc<str>>) -> bool {
        self.obj.clone().cancel(Some(msg.into()))
    }

    /// True if the future was cancelled.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// assert!(!f.cancelled());
    /// f.cancel();
    /// assert!(f.cancelled() && f.done());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.core().is_cancelled()
    }

    /// True if the future is done: it has a result or an exception, or was cancelled.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// assert!(!f.done());
    /// f.set_result(1).unwrap();
    /// assert!(f.done());
    /// ```
    pub fn done(&self) -> bool {
        self.core().is_done()
    }

    /// The result: `Err(Cancelled)` if cancelled, `Err(InvalidState)` if not done yet, the
    /// exception if one was set.
    ///
    /// ```
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// assert!(matches!(f.result(), Err(Error::InvalidState(_))));
    /// f.set_result(3).unwrap();
    /// assert_eq!(f.result(), Ok(3));
    /// ```
    pub fn result(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.core().result()
    }

    /// The exception (`Ok(None)` if the future finished with a result); `Err(Cancelled)` if it
    /// was cancelled, `Err(InvalidState)` if it is not done.
    ///
    /// ```
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// f.set_exception(Error::msg("bad")).unwrap();
    /// assert_eq!(f.exception().unwrap().unwrap().to_string(), "bad");
    /// ```
    pub fn exception(&self) -> Result<Option<Error>, Error> {
        self.core().exception()
    }

    /// Names the future, as a task has a name: the label shows in its `Debug`, in traces (the
    /// awaits on it) and in reports about it ([`ExceptionContext::future`](crate::ExceptionContext::future)). On a future that
    /// is a task, this sets the task's name.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// assert_eq!(f.label(), None);
    /// f.set_label("reply");
    /// assert_eq!(f.label().as_deref(), Some("reply"));
    /// assert!(format!("{f:?}").starts_with("<Future<i32> PENDING \"reply\" created at "));
    /// ```
    pub fn set_label(&self, label: impl Into<Rc<str>>) {
        let label = label.into();
        match self.obj.task_header() {
            Some(h) => h.set_name(Some(label)),
            None => self.core().set_label(label),
        }
    }

    /// The label given with [`set_label`](Self::set_label), if any; on a future that is a
    /// task, the task's name.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.set_label("reply");
    /// assert_eq!(f.label().as_deref(), Some("reply"));
    /// let t = lp.create_task_named("worker", async { Ok(()) });
    /// assert_eq!(t.as_future().label().as_deref(), Some("worker")); // a task's name
    /// ```
    pub fn label(&self) -> Option<String> {
        match self.obj.task_header() {
            Some(h) => Some(h.name()),
            None => self.core().label().map(|l| l.to_string()),
        }
    }

    /// Adds a callback to run, through the loop, when the future is done; if it is done
    /// already, the callback is scheduled with `call_soon` at once. Callbacks run in
    /// registration order, one loop iteration after completion at the earliest.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// let seen = Rc::new(Cell::new(0));
    /// let s = seen.clone();
    /// f.add_done_callback(move |f: &tulipsim::Future<i32>| s.set(f.result().unwrap()));
    /// f.set_result(5).unwrap();
    /// assert_eq!(seen.get(), 0); // not yet: scheduled, not called
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// assert_eq!(seen.get(), 5);
    /// ```
    pub fn add_done_callback(&self, callback: impl Into<DoneCallback<T>>) {
        FutureCore::add_callback(&self.obj, Callback::Done(callback.into()));
    }

    pub(crate) fn add_callback(&self, callback: Callback<T>) {
        FutureCore::add_callback(&self.obj, callback);
    }

    /// Removes every registration of `callback` from the list of callbacks not yet scheduled,
    /// and returns how many were removed.
    ///
    /// ```
    /// use tulipsim::{DoneCallback, Future};
    /// let lp = tulipsim::EventLoop::new();
    /// let fut = lp.create_future::<()>();
    /// let cb = DoneCallback::new(|_: &Future<()>| {});
    /// assert_eq!(fut.remove_done_callback(&cb), 0); // never added
    /// fut.add_done_callback(cb.clone());
    /// assert_eq!(fut.remove_done_callback(&cb), 1);
    /// ```
    pub fn remove_done_callback(&self, callback: &DoneCallback<T>) -> usize {
        self.core().remove_callback(callback)
    }

    /// Marks the future done with `result` and schedules its callbacks; `Err(InvalidState)`
    /// if it is already done. On a task, `Err(Runtime)`: a task's result is its coroutine's.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<&str>();
    /// f.set_result("ok").unwrap();
    /// assert!(matches!(f.set_result("again"), Err(tulipsim::Error::InvalidState(_))));
    /// ```
    pub fn set_result(&self, result: T) -> Result<(), Error> {
        match self.obj.settable() {
            Some(core) => FutureCore::complete_core(&self.obj, core, State::Finished(Ok(result))),
            None => Err(Error::runtime("Task does not support set_result operation")),
        }
    }

    /// Marks the future done with an exception and schedules its callbacks;
    /// `Err(InvalidState)` if it is already done, `Err(Runtime)` on a task.
    ///
    /// ```
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// f.set_exception(Error::msg("bad")).unwrap();
    /// assert!(f.set_exception(Error::msg("again")).is_err()); // done already
    /// assert_eq!(f.result().unwrap_err().to_string(), "bad");
    /// ```
    pub fn set_exception(&self, exception: Error) -> Result<(), Error> {
        match self.obj.settable() {
            Some(core) => {
                FutureCore::complete_core(&self.obj, core, State::Finished(Err(exception)))
            }
            None => Err(Error::runtime(
                "Task does not support set_exception operation",
            )),
        }
    }

    /// The loop this future is bound to, if it still exists.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert!(lp.create_future::<()>().get_loop().is_some());
    /// ```
    pub fn get_loop(&self) -> Option<LoopHandle> {
        self.core().loop_inner().map(|inner| LoopHandle { inner })
    }

    /// The task this future is, if it is one.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert_eq!(t.as_future().as_task().unwrap().get_name(), "Task-1");
    /// assert!(lp.create_future::<()>().as_task().is_none());
    /// ```
    pub fn as_task(&self) -> Option<crate::tasks::TaskRef> {
        self.obj
            .clone()
            .to_task()
            .map(crate::tasks::TaskRef::from_run)
    }

    /// True if both handles are the same future.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// assert!(f.same(&f.clone()));
    /// assert!(!f.same(&lp.create_future()));
    /// ```
    pub fn same(&self, other: &Future<T>) -> bool {
        std::ptr::addr_eq(Rc::as_ptr(&self.obj), Rc::as_ptr(&other.obj))
    }

    /// This future without its result type.
    pub(crate) fn any(&self) -> Rc<dyn AnyFuture> {
        self.obj.clone()
    }

    /// Awaits this future, recording `site` as where the task is suspended.
    pub(crate) fn wait_at(self, site: &'static Location<'static>) -> Wait<T> {
        Wait {
            core: WaitCore::new(site),
            fut: self,
        }
    }
}

impl<T: Clone + 'static> IntoFuture for Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.wait_at(Location::caller())
    }
}

impl<T: Clone + 'static> IntoFuture for &Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.clone().wait_at(Location::caller())
    }
}
