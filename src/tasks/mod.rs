//! asyncio's `Task`, mirroring `tasks.py`: a future that drives a coroutine (a Rust `async`
//! block returning `Result<T, Error>`) one step at a time, with throw-style cancellation.
//!
//! A step (`__step`) polls the coroutine once. Before polling it turns a pending cancellation
//! request into an exception *thrown* at the await where the coroutine is suspended: tulipsim's
//! awaitables ([`Future`], [`Task`], [`sleep`]) take the throw from the task and return
//! `Err(Error::Cancelled)` from that `.await`. The coroutine may catch it and go on, return
//! something else, or let it escape; only the last makes the task *cancelled*.

mod gather;
mod shield;
mod sleep;
mod step;
mod wait;

use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::events::{self, LoopHandle};
use crate::exceptions::Error;
use crate::futures::{short_type_name, DoneCallback, Future, Wait, WaitCore};

#[doc(hidden)]
pub use gather::{ensure_for_gather, gather_tuple, gather_tuple_settled, GatherTuple};
pub use gather::{gather, gather_return_exceptions};
pub use shield::shield;
pub use sleep::{sleep, sleep_with, Sleep};
pub(crate) use step::{current, new_task, with_current, TaskHeader, TaskInner, TaskRun};
pub use wait::{
    as_completed, wait, wait_for, AsCompleted, DoneAndPending, IntoTimeout, NextCompleted,
    ReturnWhen, WaitFutures, Waitable, ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION,
};

/// asyncio's `Task`: a coroutine scheduled on the loop, and a future of its outcome.
///
/// Create one with [`create_task`] (inside a running loop) or
/// [`LoopHandle::create_task`]. It starts on the next loop iteration. Awaiting a task gives its
/// result; the task keeps running if the awaiter goes away. A task is a [`Future`]:
/// [`as_future`](Task::as_future) gives that view, for APIs that take futures.
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
    inner: Rc<TaskInner<T>>,
}

impl<T: 'static> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task {
            inner: self.inner.clone(),
        }
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
        TaskRef::from_run(self.inner.clone())
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
        self.inner.clone().cancel_impl(None)
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
        self.inner.clone().cancel_impl(Some(msg.into()))
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
        self.inner.core.is_cancelled()
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
        self.inner.core.is_done()
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

    /// The exception; see [`Future::exception`].
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Err::<(), _>(tulipsim::Error::msg("no")) });
    /// let _ = lp.run_until_complete(tulipsim::sleep(0));
    /// assert_eq!(t.exception().unwrap().unwrap().to_string(), "no");
    /// ```
    pub fn exception(&self) -> Result<Option<Error>, Error> {
        self.inner.core.exception()
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
        self.inner.header.num_cancels_requested.get()
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
        uncancel(&self.inner.header)
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
        self.inner.header.name()
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
        self.inner.header.set_name(Some(name.into()));
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
        get_stack(&self.inner.header, self.inner.core.is_done())
    }

    /// Where the task was created.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert_eq!(t.spawned_at().line(), line!() - 1);
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.inner.header.spawned_at
    }
}

fn uncancel(h: &TaskHeader) -> u32 {
    let n = h.num_cancels_requested.get().saturating_sub(1);
    h.num_cancels_requested.set(n);
    n
}

fn get_stack(h: &TaskHeader, done: bool) -> Vec<&'static Location<'static>> {
    match (done, h.suspended_at.get()) {
        (false, Some(site)) => vec![site],
        _ => Vec::new(),
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

    pub(crate) fn to_any_future(&self) -> Rc<dyn crate::futures::AnyFuture> {
        self.run.clone().to_any_future()
    }

    /// See [`Task::get_name`].
    ///
    /// ```
    /// use tulipsim::{current_task, EventLoop};
    /// let lp = EventLoop::new();
    /// let name = lp.run_until_complete(async { Ok(current_task().unwrap().get_name()) });
    /// assert_eq!(name.unwrap(), "Task-1");
    /// ```
    pub fn get_name(&self) -> String {
        self.run.header().name()
    }

    /// See [`Task::set_name`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// # let t = lp.create_task(async { Ok(()) }).to_ref();
    /// t.set_name("x");
    /// assert_eq!(t.get_name(), "x");
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

    /// See [`Task::cancel`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { tulipsim::sleep(1).await }).to_ref();
    /// assert!(t.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.run.clone().cancel_task(None)
    }

    /// See [`Task::cancel_with`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { tulipsim::sleep(1).await }).to_ref();
    /// assert!(t.cancel_with("why"));
    /// ```
    pub fn cancel_with(&self, msg: impl Into<Rc<str>>) -> bool {
        self.run.clone().cancel_task(Some(msg.into()))
    }

    /// See [`Task::cancelled`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) }).to_ref();
    /// assert!(!t.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.run.is_cancelled()
    }

    /// See [`Task::done`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) }).to_ref();
    /// assert!(!t.done());
    /// ```
    pub fn done(&self) -> bool {
        self.run.is_done()
    }

    /// The task's exception, without awaiting it, as [`Task::exception`] gives it: `Ok(None)`
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

    /// See [`Task::cancelling`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) }).to_ref();
    /// t.cancel();
    /// assert_eq!(t.cancelling(), 1);
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.run.header().num_cancels_requested.get()
    }

    /// See [`Task::uncancel`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) }).to_ref();
    /// t.cancel();
    /// assert_eq!(t.uncancel(), 0);
    /// ```
    pub fn uncancel(&self) -> u32 {
        uncancel(self.run.header())
    }

    /// See [`Task::get_stack`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) }).to_ref();
    /// assert!(t.get_stack().is_empty()); // not started yet
    /// ```
    pub fn get_stack(&self) -> Vec<&'static Location<'static>> {
        get_stack(self.run.header(), self.run.is_done())
    }

    /// See [`Task::spawned_at`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) }).to_ref();
    /// assert!(t.spawned_at().file().ends_with(".rs"));
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
            core: WaitCore::new(self.run.to_any_future(), Location::caller()),
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
    core: WaitCore,
}

impl StdFuture for WaitTask {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.core.poll_done() {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => Poll::Ready(match self.core.future().exception_any() {
                Ok(None) => Ok(()),
                Ok(Some(e)) | Err(e) => Err(e),
            }),
        }
    }
}

/// The running loop (asyncio's `get_running_loop`); `Err(Runtime)` outside one.
///
/// ```
/// use tulipsim::{get_running_loop, EventLoop};
/// assert!(get_running_loop().is_err()); // no loop runs here
/// let lp = EventLoop::new();
/// let t = lp.run_until_complete(async { Ok(get_running_loop()?.time()) });
/// assert_eq!(t.unwrap(), 0.0);
/// ```
pub fn get_running_loop() -> Result<LoopHandle, Error> {
    events::running_loop()
        .map(|inner| LoopHandle { inner })
        .ok_or_else(|| Error::runtime("no running event loop"))
}

/// Wraps `coro` in a task on the running loop (asyncio's `create_task`); `Err(Runtime)` when
/// no loop is running (use [`LoopHandle::create_task`] there).
///
/// ```
/// use tulipsim::{create_task, EventLoop};
/// assert!(create_task(async { Ok(()) }).is_err()); // no loop running
/// let lp = EventLoop::new();
/// let n = lp.run_until_complete(async {
///     let t = create_task(async { Ok(20) })?;
///     Ok(t.await? + 1)
/// });
/// assert_eq!(n.unwrap(), 21);
/// ```
#[doc(alias = "spawn")]
#[track_caller]
pub fn create_task<T, F>(coro: F) -> Result<Task<T>, Error>
where
    T: 'static,
    F: StdFuture<Output = Result<T, Error>> + 'static,
{
    let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(new_task(&lp, None, coro, Location::caller()))
}

/// [`create_task`] with a name.
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let name = lp.run_until_complete(async {
///     Ok(tulipsim::create_task_named("fetch", async { Ok(()) })?.get_name())
/// });
/// assert_eq!(name.unwrap(), "fetch");
/// ```
#[track_caller]
pub fn create_task_named<T, F>(name: &str, coro: F) -> Result<Task<T>, Error>
where
    T: 'static,
    F: StdFuture<Output = Result<T, Error>> + 'static,
{
    let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(new_task(&lp, Some(name.into()), coro, Location::caller()))
}

/// The task whose step is running now, or `None` outside a task (asyncio's
/// `current_task()`).
///
/// ```
/// use tulipsim::{current_task, EventLoop};
/// assert!(current_task().is_none());
/// let lp = EventLoop::new();
/// let t = lp.create_task_named("me", async { Ok(current_task().unwrap().get_name()) });
/// assert_eq!(lp.run_until_complete(t).unwrap(), "me");
/// ```
pub fn current_task() -> Option<TaskRef> {
    current().map(|(_, t)| TaskRef::from_run(t))
}

/// Every task of the running loop that is not done, in creation order (asyncio's
/// `all_tasks()`); `Err(Runtime)` when no loop is running.
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let n = lp.run_until_complete(async {
///     tulipsim::create_task(async { Ok(()) })?;
///     Ok(tulipsim::all_tasks()?.len())
/// });
/// assert_eq!(n.unwrap(), 2); // this one and the new one
/// ```
pub fn all_tasks() -> Result<Vec<TaskRef>, Error> {
    let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(lp.all_tasks())
}

/// What `run_until_complete`, [`ensure_future`] and the task functions accept: asyncio's
/// "awaitable". An `async` block (a coroutine, wrapped in a task when it must run on its own),
/// a [`Task`], or a [`Future`] (used as it is). Sealed.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// assert_eq!(lp.run_until_complete(async { Ok(1) }).unwrap(), 1);
/// let t = lp.create_task(async { Ok(2) });
/// assert_eq!(lp.run_until_complete(t).unwrap(), 2);
/// let f = lp.create_future();
/// f.set_result(3).unwrap();
/// assert_eq!(lp.run_until_complete(f).unwrap(), 3);
/// ```
pub trait Awaitable<T: 'static>: private::Sealed<T> {
    /// asyncio's `ensure_future`: a coroutine becomes a task on `lp` (or on the running loop,
    /// or the newest open loop of the thread); a future stays itself.
    #[doc(hidden)]
    fn ensure_on(
        self,
        lp: Option<&LoopHandle>,
        site: &'static Location<'static>,
    ) -> private::Ensured<T>;
    /// Awaited in place: `await coro` runs the coroutine in the awaiting task, no new task.
    #[doc(hidden)]
    fn into_direct(self, site: &'static Location<'static>) -> private::Direct<T>;
    /// The outcome of the future `ensure_on` gave, for `run_until_complete`.
    #[doc(hidden)]
    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error>;
}

pub(crate) mod private {
    use super::*;

    pub trait Sealed<T> {}

    /// What `ensure_future` made: the future, and whether it is a task made just now.
    pub struct Ensured<T: 'static> {
        pub(crate) future: Future<T>,
        pub(crate) new_task: bool,
    }

    /// An awaitable awaited in place.
    pub enum Direct<T: 'static> {
        Coroutine(Pin<Box<dyn StdFuture<Output = Result<T, Error>>>>),
        Future(Wait<T>),
    }

    impl<T: Clone + 'static> StdFuture for Direct<T> {
        type Output = Result<T, Error>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            match &mut *self {
                Direct::Coroutine(c) => c.as_mut().poll(cx),
                Direct::Future(w) => Pin::new(w).poll(cx),
            }
        }
    }

    impl<T, F: StdFuture<Output = Result<T, Error>> + 'static> Sealed<T> for F {}
    impl<T: 'static> Sealed<T> for Future<T> {}
    impl<T: 'static> Sealed<T> for Task<T> {}
}

impl<T: 'static, F: StdFuture<Output = Result<T, Error>> + 'static> Awaitable<T> for F {
    fn ensure_on(
        self,
        lp: Option<&LoopHandle>,
        site: &'static Location<'static>,
    ) -> private::Ensured<T> {
        let lp = match lp {
            Some(lp) => Some(lp.inner.clone()),
            None => events::current_or_thread_loop().upgrade(),
        };
        let future = match lp {
            Some(lp) => new_task(&lp, None, self, site).as_future(),
            None => {
                let f = Future::bound(std::rc::Weak::new(), site);
                let _ = f.set_exception(Error::runtime("no running event loop"));
                f
            }
        };
        private::Ensured {
            new_task: future.obj.task_header().is_some(),
            future,
        }
    }

    fn into_direct(self, _: &'static Location<'static>) -> private::Direct<T> {
        private::Direct::Coroutine(Box::pin(self))
    }

    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error> {
        // Nobody else can reach the result of a task made here: move it out, no clone.
        ensured.future.obj.core().take_result()
    }
}

impl<T: Clone + 'static> Awaitable<T> for Future<T> {
    fn ensure_on(
        self,
        _: Option<&LoopHandle>,
        _: &'static Location<'static>,
    ) -> private::Ensured<T> {
        private::Ensured {
            future: self,
            new_task: false,
        }
    }

    fn into_direct(self, site: &'static Location<'static>) -> private::Direct<T> {
        private::Direct::Future(self.wait_at(site))
    }

    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error> {
        ensured.future.result()
    }
}

impl<T: Clone + 'static> Awaitable<T> for Task<T> {
    fn ensure_on(
        self,
        lp: Option<&LoopHandle>,
        site: &'static Location<'static>,
    ) -> private::Ensured<T> {
        self.as_future().ensure_on(lp, site)
    }

    fn into_direct(self, site: &'static Location<'static>) -> private::Direct<T> {
        self.as_future().into_direct(site)
    }

    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error> {
        ensured.future.result()
    }
}

/// asyncio's `ensure_future`: an `async` block becomes a task on the running loop (or the
/// newest open loop of this thread); a [`Future`] or [`Task`] is returned as it is.
///
/// With no loop at all, the future it returns has already failed with `Error::Runtime`.
///
/// ```
/// use tulipsim::{ensure_future, EventLoop};
/// let lp = EventLoop::new();
/// let f = ensure_future(async { Ok(5) }); // a task on `lp`
/// assert!(f.as_task().is_some());
/// let same = ensure_future(f.clone());
/// assert!(same.same(&f));
/// assert_eq!(lp.run_until_complete(f).unwrap(), 5);
/// ```
#[track_caller]
pub fn ensure_future<T: 'static>(awaitable: impl Awaitable<T>) -> Future<T> {
    awaitable.ensure_on(None, Location::caller()).future
}

/// asyncio's `gather` over awaitables of different types: a [`Future`] of the tuple of their
/// results (up to 8). See [`gather`](crate::gather()) for the semantics.
///
/// ```
/// use tulipsim::{gather, sleep_with, EventLoop};
/// let lp = EventLoop::new();
/// let (n, s) = lp
///     .run_until_complete(async { gather!(sleep_with(2, 7), sleep_with(1, "x")).await })
///     .unwrap();
/// assert_eq!((n, s), (7, "x"));
/// ```
#[macro_export]
macro_rules! gather {
    ($($aw:expr),+ $(,)?) => {
        $crate::tasks::gather_tuple(($($crate::tasks::ensure_for_gather($aw),)+), false)
    };
}

/// [`gather!`](crate::gather!) with `return_exceptions=True`: a [`Future`] of a tuple of `Result`s.
///
/// ```
/// use tulipsim::{gather_return_exceptions, sleep_with, EventLoop, Error};
/// let lp = EventLoop::new();
/// let (a, b) = lp
///     .run_until_complete(async {
///         gather_return_exceptions!(sleep_with(1, 1), async { Err::<&str, _>(Error::timeout()) })
///             .await
///     })
///     .unwrap();
/// assert_eq!(a, Ok(1));
/// assert_eq!(b, Err(Error::timeout()));
/// ```
#[macro_export]
macro_rules! gather_return_exceptions {
    ($($aw:expr),+ $(,)?) => {
        $crate::tasks::gather_tuple_settled(($($crate::tasks::ensure_for_gather($aw),)+))
    };
}
