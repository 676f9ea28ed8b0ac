//! A task's public handles: [`Task<T>`], which knows the result type, and [`TaskRef`], which
//! does not and is what a `Task<T>` dereferences to, so that everything but the result is
//! written once.

use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::ops::Deref;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::exceptions::Error;
use crate::futures::{short_type_name, AnyFuture, DoneCallback, Future, Wait, WaitCore};

use super::header::TaskRun;
use super::task::TaskInner;
#[cfg(doc)]
use super::{all_tasks, create_task, current_task};
#[cfg(doc)]
use crate::events::LoopHandle;

/// asyncio's `Task`: a coroutine scheduled on the loop, and a future of its outcome.
///
/// Create one with [`create_task`] (inside a running loop) or
/// [`LoopHandle::create_task`]. It starts on the next loop iteration. Awaiting a task gives its
/// result; the task keeps running if the awaiter goes away. A task is a [`Future`]:
/// [`as_future`](Task::as_future) gives that view, for APIs that take futures. What does not
/// involve the result type (`cancel`, `cancelling`, `uncancel`, the name, the stack) is
/// [`TaskRef`]'s, reached through `Deref`.
///
/// The reference text's "Parallel execution of tasks" example:
///
/// ```
/// use tulipsim::{sleep, EventLoop};
///
/// async fn factorial(name: &str, number: u64) -> Result<u64, tulipsim::Error> {
///     let mut f = 1;
///     for i in 2..=number {
///         println!("Task {name}: Compute factorial({i})...");
///         sleep(1).await?;
///         f *= i;
///     }
///     println!("Task {name}: factorial({number}) = {f}");
///     Ok(f)
/// }
///
/// let lp = EventLoop::new();
/// let a = lp.create_task(factorial("A", 2));
/// let b = lp.create_task(factorial("B", 3));
/// let c = lp.create_task(factorial("C", 4));
/// lp.run_until_complete(async move { Ok((a.await?, b.await?, c.await?)) }).unwrap();
/// assert_eq!(lp.time(), 3.0);
/// ```
pub struct Task<T: 'static> {
    /// The untyped handle the methods without `T` go through. The same task as `inner`: a
    /// second pointer, kept so that `Deref` can hand out a `&TaskRef`.
    task: TaskRef,
    inner: Rc<TaskInner<T>>,
}

impl<T: 'static> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task {
            task: self.task.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// Everything a task does that does not involve its result type (its name, `cancel`,
/// `cancelling`, its stack...) is [`TaskRef`]'s. `cancel` through it is `Task.cancel`.
impl<T: 'static> Deref for Task<T> {
    type Target = TaskRef;

    fn deref(&self) -> &TaskRef {
        &self.task
    }
}

impl<T: 'static> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Task<{}> {} name={} spawned at {}>",
            short_type_name::<T>(),
            self.inner.core.state_name(),
            self.inner.header.name(),
            self.inner.header.spawned_at
        )
    }
}

impl<T: 'static> Task<T> {
    pub(crate) fn from_inner(inner: Rc<TaskInner<T>>) -> Task<T> {
        Task {
            task: TaskRef::from_run(inner.clone()),
            inner,
        }
    }

    /// This task as a [`Future`] (a task *is* a future in asyncio).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(1) });
    /// let f: tulipsim::Future<i32> = t.as_future();
    /// assert_eq!(lp.run_until_complete(f).unwrap(), 1);
    /// ```
    pub fn as_future(&self) -> Future<T> {
        Future {
            obj: self.inner.clone(),
        }
    }

    /// A handle to this task without its result type (what [`current_task`] returns).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(1) });
    /// assert_eq!(t.to_ref().get_name(), "Task-1");
    /// ```
    pub fn to_ref(&self) -> TaskRef {
        self.task.clone()
    }

    /// The result; see [`Future::result`].
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok("hi") });
    /// lp.run_until_complete(t.clone()).unwrap();
    /// assert_eq!(t.result(), Ok("hi"));
    /// ```
    pub fn result(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.inner.core.result()
    }

    /// Adds a done-callback; see [`Future::add_done_callback`]. It receives the task as a
    /// [`Future`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(2) });
    /// t.add_done_callback(|f: &tulipsim::Future<i32>| assert_eq!(f.result(), Ok(2)));
    /// lp.run_until_complete(t).unwrap();
    /// ```
    pub fn add_done_callback(&self, callback: impl Into<DoneCallback<T>>) {
        self.as_future().add_done_callback(callback)
    }

    /// Removes a done-callback; see [`Future::remove_done_callback`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// let cb = tulipsim::DoneCallback::new(|_: &tulipsim::Future<()>| {});
    /// t.add_done_callback(cb.clone());
    /// assert_eq!(t.remove_done_callback(&cb), 1);
    /// ```
    pub fn remove_done_callback(&self, callback: &DoneCallback<T>) -> usize {
        self.inner.core.remove_callback(callback)
    }

    /// [`TaskRef::get_name`], kept on `Task` too so that the path `Task::get_name` works
    /// (`tasks.iter().map(Task::get_name)`), which `Deref` alone does not give.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let tasks = vec![lp.create_task_named("a", async { Ok(()) })];
    /// let names: Vec<String> = tasks.iter().map(tulipsim::Task::get_name).collect();
    /// assert_eq!(names, ["a"]);
    /// ```
    pub fn get_name(&self) -> String {
        self.task.get_name()
    }

    /// Whether the loop reports this task ("Task was destroyed but it is pending!") if it is
    /// still pending when the loop closes (asyncio's `_log_destroy_pending`; on by default).
    /// Runtime adapters turn it off for tasks that are dropped at shutdown by design, as
    /// `tulipsim-tokio` does for tokio tasks.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop};
    /// let lp = EventLoop::new();
    /// let t = lp.create_task(async { sleep(5).await });
    /// t.set_log_destroy_pending(false);
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// lp.close().unwrap();
    /// assert!(lp.take_reports().is_empty()); // destroyed pending, without a report
    /// ```
    pub fn set_log_destroy_pending(&self, log: bool) {
        self.inner.header.log_destroy_pending.set(log);
    }
}

impl<T: Clone + 'static> IntoFuture for Task<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.as_future().wait_at(Location::caller())
    }
}

impl<T: Clone + 'static> IntoFuture for &Task<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.as_future().wait_at(Location::caller())
    }
}

impl<T: 'static> From<Task<T>> for Future<T> {
    fn from(t: Task<T>) -> Future<T> {
        Future { obj: t.inner }
    }
}

/// A task whose result type is not known here: what [`current_task`] and [`all_tasks`] give.
/// It can do everything with the task but read its result's value: it tells whether the task is
/// done and how it ended ([`exception`](Self::exception), [`result`](Self::result)).
///
/// ```
/// use tulipsim::{current_task, EventLoop};
/// let lp = EventLoop::new();
/// let name = lp.run_until_complete(async {
///     Ok(current_task().unwrap().get_name())
/// });
/// assert_eq!(name.unwrap(), "Task-1");
/// ```
#[derive(Clone)]
pub struct TaskRef {
    run: Rc<dyn TaskRun>,
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &TaskRef) -> bool {
        self.run.header().id == other.run.header().id
            && std::ptr::addr_eq(Rc::as_ptr(&self.run), Rc::as_ptr(&other.run))
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Task name={} spawned at {}>",
            self.get_name(),
            self.run.header().spawned_at
        )
    }
}

impl TaskRef {
    pub(crate) fn from_run(run: Rc<dyn TaskRun>) -> TaskRef {
        TaskRef { run }
    }

    pub(crate) fn to_any_future(&self) -> Rc<dyn AnyFuture> {
        self.run.clone().to_any_future()
    }

    /// The task's name: `Task-N` (N counts tasks of this loop from 1) unless one was given.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert_eq!(t.get_name(), "Task-1");
    /// t.set_name("renamed");
    /// assert_eq!(t.get_name(), "renamed");
    /// ```
    pub fn get_name(&self) -> String {
        self.run.header().name()
    }

    /// Renames the task.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// t.set_name("worker");
    /// assert_eq!(t.get_name(), "worker");
    /// ```
    pub fn set_name(&self, name: impl Into<Rc<str>>) {
        self.run.header().set_name(Some(name.into()));
    }

    /// The task's number in its loop, from 1, in creation order.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert_eq!(t.to_ref().id(), 1);
    /// ```
    pub fn id(&self) -> u64 {
        self.run.header().id
    }

    /// Requests cancellation: a `CancelledError` is thrown into the coroutine at its current
    /// await on the next step. Returns false if the task is already done. The task may catch
    /// the error, so this does not guarantee the task ends cancelled.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop};
    /// let lp = EventLoop::new();
    /// let t = lp.create_task(async { sleep(10).await });
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// assert!(t.cancel());
    /// assert!(!t.cancelled()); // not yet: the throw happens on the next step
    /// assert!(lp.run_until_complete(t.clone()).unwrap_err().is_cancelled());
    /// assert!(t.cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.run.clone().cancel_task(None)
    }

    /// [`cancel`](Self::cancel) with a message for the `CancelledError`.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let t = lp.create_task(async { sleep(10).await });
    /// lp.run_until_complete(sleep(0)).unwrap();
    /// t.cancel_with("stop");
    /// let Err(Error::Cancelled(c)) = lp.run_until_complete(t) else { panic!() };
    /// assert_eq!(c.message(), Some("stop"));
    /// ```
    pub fn cancel_with(&self, msg: impl Into<Rc<str>>) -> bool {
        self.run.clone().cancel_task(Some(msg.into()))
    }

    /// True only if the task ended by letting a `CancelledError` escape (whether or not
    /// `cancel` was called).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { tulipsim::sleep(1).await });
    /// t.cancel();
    /// let _ = lp.run_until_complete(t.clone());
    /// assert!(t.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.run.is_cancelled()
    }

    /// True once the coroutine has finished (result, exception, or cancelled).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert!(!t.done());
    /// lp.run_until_complete(t.clone()).unwrap();
    /// assert!(t.done());
    /// ```
    pub fn done(&self) -> bool {
        self.run.is_done()
    }

    /// The task's exception, without awaiting it, as `exception()` gives it on a [`Future`]: `Ok(None)`
    /// if it finished with a result, `Ok(Some(e))` if it failed (the exception then counts as
    /// retrieved), `Err(Cancelled)` if it was cancelled, `Err(InvalidState)` if it is not done.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let t = lp.create_task(async { Err::<(), _>(Error::msg("no")) }).to_ref();
    /// assert!(matches!(t.exception(), Err(Error::InvalidState(_)))); // not run yet
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// assert_eq!(t.exception().unwrap().unwrap().to_string(), "no");
    /// ```
    pub fn exception(&self) -> Result<Option<Error>, Error> {
        self.to_any_future().exception_any()
    }

    /// The task's outcome without its value (whose type a `TaskRef` does not know), as
    /// [`Task::result`] gives it: `Ok(())` if it finished with a result, its exception if it
    /// failed (then retrieved), `Err(Cancelled)` if it was cancelled, `Err(InvalidState)` if it
    /// is not done.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let t = lp.create_task(async { Ok(5) }).to_ref();
    /// assert!(matches!(t.result(), Err(Error::InvalidState(_))));
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// assert_eq!(t.result(), Ok(()));
    /// ```
    pub fn result(&self) -> Result<(), Error> {
        if !self.done() {
            return Err(Error::invalid_state("Result is not ready."));
        }
        match self.exception()? {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// How many cancellation requests are pending (asyncio 3.11's `cancelling()`): `cancel`
    /// adds one, [`uncancel`](Self::uncancel) removes one.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// t.cancel();
    /// t.cancel();
    /// assert_eq!(t.cancelling(), 2);
    /// assert_eq!(t.uncancel(), 1);
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.run.header().cancelling()
    }

    /// Withdraws one cancellation request and returns how many remain (never below zero).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// t.cancel();
    /// assert_eq!(t.uncancel(), 0);
    /// assert_eq!(t.uncancel(), 0); // never below zero
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.run.header().uncancel()
    }

    /// The task's stack as asyncio's `get_stack` gives it: while the task is pending, the one
    /// frame where it is suspended (an `.await` on a tulipsim awaitable); once done, nothing.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop};
    /// let lp = EventLoop::new();
    /// let t = lp.create_task(async { sleep(5).await });
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// let stack = t.get_stack();
    /// assert_eq!(stack.len(), 1);
    /// assert!(stack[0].file().ends_with(".rs"));
    /// ```
    pub fn get_stack(&self) -> Vec<&'static Location<'static>> {
        match (self.run.is_done(), self.run.header().suspended_at.get()) {
            (false, Some(site)) => vec![site],
            _ => Vec::new(),
        }
    }

    /// Where the task was created.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert_eq!(t.spawned_at().line(), line!() - 1);
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.run.header().spawned_at
    }

    /// The task's stack printed as asyncio's `print_stack` does: its name, where it was
    /// spawned, and where it is suspended.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task_named("w", async { Ok(()) }).to_ref();
    /// assert!(t.format_stack().starts_with("Stack for task w"));
    /// ```
    pub fn format_stack(&self) -> String {
        let h = self.run.header();
        let mut s = format!("Stack for task {} (spawned at {})", h.name(), h.spawned_at);
        match self.get_stack().first() {
            Some(site) => s.push_str(&format!(":\n  suspended at {site}")),
            None if self.done() => s.push_str(": done"),
            None => s.push_str(": not started"),
        }
        s
    }
}

/// Awaiting a `TaskRef` waits until the task is done: `Ok(())` if it finished with a result,
/// its exception otherwise (`Err(Cancelled)` if it was cancelled).
///
/// ```
/// use tulipsim::{all_tasks, current_task, sleep, EventLoop};
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     tulipsim::create_task(async { sleep(5).await })?;
///     let me = current_task().unwrap();
///     for t in all_tasks()?.into_iter().filter(|t| *t != me) {
///         t.await?;
///     }
///     Ok(())
/// }).unwrap();
/// assert_eq!(lp.time(), 5.0);
/// ```
impl IntoFuture for TaskRef {
    type Output = Result<(), Error>;
    type IntoFuture = WaitTask;

    #[track_caller]
    fn into_future(self) -> WaitTask {
        WaitTask {
            fut: self.run.to_any_future(),
            core: WaitCore::new(Location::caller()),
        }
    }
}

impl IntoFuture for &TaskRef {
    type Output = Result<(), Error>;
    type IntoFuture = WaitTask;

    #[track_caller]
    fn into_future(self) -> WaitTask {
        self.clone().into_future()
    }
}

/// The awaitable of a [`TaskRef`].
///
/// ```
/// use tulipsim::EventLoop;
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     let child = tulipsim::create_task(async { tulipsim::sleep(1).await })?.to_ref();
///     let wait: tulipsim::WaitTask = std::future::IntoFuture::into_future(child);
///     wait.await
/// }).unwrap();
/// assert_eq!(lp.time(), 1.0);
/// ```
pub struct WaitTask {
    fut: Rc<dyn AnyFuture>,
    core: WaitCore,
}

impl Drop for WaitTask {
    fn drop(&mut self) {
        self.core.unregister_unless_done(&self.fut);
    }
}

impl StdFuture for WaitTask {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.core.poll_done(&this.fut) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => Poll::Ready(match this.fut.exception_any() {
                Ok(None) => Ok(()),
                Ok(Some(e)) | Err(e) => Err(e),
            }),
        }
    }
}
