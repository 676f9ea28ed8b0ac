//! asyncio's `TaskGroup` (Python 3.11's `taskgroups.py`): structured concurrency.
//!
//! `async with TaskGroup() as tg: body` becomes [`task_group`]`(|tg| async move { body })`.
//! The body runs in the current task; the group waits for every task it created before it
//! returns. The first task to fail cancels its siblings and the body's task; the failures are
//! collected into an [`Error::Group`] (Python's `ExceptionGroup`). The group's own
//! cancellation of the parent task is withdrawn with `uncancel()`, so an outer cancellation
//! still propagates as `CancelledError`.

use std::cell::{Cell, RefCell};
use std::future::Future as StdFuture;
use std::panic::Location;
use std::rc::Rc;

use crate::base_events::ExceptionContext;
use crate::exceptions::Error;
use crate::futures::{AnyCallback, AnyFuture, Future};
use crate::tasks::{current_task, get_running_loop, Task, TaskRef};

struct Inner {
    entered: Cell<bool>,
    exiting: Cell<bool>,
    aborting: Cell<bool>,
    parent_task: RefCell<Option<TaskRef>>,
    parent_cancel_requested: Cell<bool>,
    /// The group's tasks not yet done, in creation order (asyncio keeps a set; its iteration
    /// order is the order tasks are cancelled in, so tulipsim fixes it).
    tasks: RefCell<Vec<Rc<dyn AnyFuture>>>,
    errors: RefCell<Vec<Error>>,
    base_error: RefCell<Option<Error>>,
    on_completed: RefCell<Option<Future<bool>>>,
    on_task_done: RefCell<Option<AnyCallback>>,
}

/// asyncio's `TaskGroup`, as the body of [`task_group`] receives it. A cheap handle.
///
/// ```
/// use tulipsim::{sleep_with, task_group, EventLoop};
/// let lp = EventLoop::new();
/// let (a, b) = lp.run_until_complete(async {
///     let (a, b) = task_group(|tg| async move {
///         let a = tg.create_task(sleep_with(2, "a"))?;
///         let b = tg.create_task(sleep_with(1, "b"))?;
///         Ok((a, b))
///     }).await?;
///     // Both are done here: the group waited for them.
///     Ok((a.result()?, b.result()?))
/// }).unwrap();
/// assert_eq!((a, b), ("a", "b"));
/// assert_eq!(lp.time(), 2.0);
/// ```
#[derive(Clone)]
pub struct TaskGroup {
    inner: Rc<Inner>,
}

/// Runs `body` inside a new [`TaskGroup`] (asyncio's `async with TaskGroup() as tg:`) and
/// returns once every task of the group is done.
///
/// If a task fails, the group cancels the others and the body, waits for them, and returns
/// `Err(Error::Group(errors))` with every failure (cancellations excluded, the body's own
/// error included). If the body fails, the group cancels its tasks the same way. A
/// cancellation from outside (of the task running the group) cancels the tasks and propagates
/// as `CancelledError`. A panic in a task (under `PanicPolicy::Capture`) is returned as it is,
/// as Python re-raises `KeyboardInterrupt` instead of grouping it.
///
/// ```
/// use tulipsim::{sleep, task_group, Error, EventLoop};
/// let lp = EventLoop::new();
/// let err = lp.run_until_complete(async {
///     task_group(|tg| async move {
///         tg.create_task(async { sleep(1).await?; Err::<(), _>(Error::msg("boom")) })?;
///         tg.create_task(sleep(100))?; // cancelled when its sibling fails
///         Ok(())
///     }).await
/// }).unwrap_err();
/// assert_eq!(err.group().unwrap()[0].to_string(), "boom");
/// assert_eq!(lp.time(), 1.0);
/// ```
#[track_caller]
pub fn task_group<R, F, Fut>(body: F) -> impl StdFuture<Output = Result<R, Error>>
where
    F: FnOnce(TaskGroup) -> Fut,
    Fut: StdFuture<Output = Result<R, Error>>,
{
    let site = Location::caller();
    async move {
        let tg = TaskGroup::enter()?;
        let outcome = body(tg.clone()).await;
        tg.exit(outcome, site).await
    }
}

impl TaskGroup {
    /// asyncio's `__aenter__`.
    fn enter() -> Result<TaskGroup, Error> {
        get_running_loop()?;
        let parent = current_task()
            .ok_or_else(|| Error::runtime("TaskGroup cannot determine the parent task"))?;
        let inner = Rc::new(Inner {
            entered: Cell::new(true),
            exiting: Cell::new(false),
            aborting: Cell::new(false),
            parent_task: RefCell::new(Some(parent)),
            parent_cancel_requested: Cell::new(false),
            tasks: RefCell::new(Vec::new()),
            errors: RefCell::new(Vec::new()),
            base_error: RefCell::new(None),
            on_completed: RefCell::new(None),
            on_task_done: RefCell::new(None),
        });
        // The callback holds the group weakly: the tasks must not keep it alive on their own.
        let weak = Rc::downgrade(&inner);
        let on_task_done: AnyCallback = Rc::new(move |task: &Rc<dyn AnyFuture>| {
            if let Some(inner) = weak.upgrade() {
                TaskGroup { inner }.on_task_done(task);
            }
        });
        *inner.on_task_done.borrow_mut() = Some(on_task_done);
        Ok(TaskGroup { inner })
    }

    /// Creates a task in this group (asyncio's `tg.create_task`). Fails with
    /// `Error::Runtime` once the group has finished or while it is shutting down after a
    /// failure.
    ///
    /// ```
    /// use tulipsim::{sleep_with, task_group, EventLoop};
    /// let lp = EventLoop::new();
    /// let (a, b) = lp.run_until_complete(task_group(|tg| async move {
    ///     let a = tg.create_task(sleep_with(1, "a"))?;
    ///     let b = tg.create_task(sleep_with(2, "b"))?;
    ///     Ok((a, b))
    /// })).unwrap();
    /// // The group waited for both.
    /// assert_eq!((a.result(), b.result()), (Ok("a"), Ok("b")));
    /// assert_eq!(lp.time(), 2.0);
    /// ```
    #[track_caller]
    pub fn create_task<T, F>(&self, coro: F) -> Result<Task<T>, Error>
    where
        T: 'static,
        F: StdFuture<Output = Result<T, Error>> + 'static,
    {
        self.spawn(None, coro, Location::caller())
    }

    /// [`create_task`](Self::create_task) with a name.
    ///
    /// ```
    /// use tulipsim::{task_group, EventLoop};
    /// let lp = EventLoop::new();
    /// let name = lp.run_until_complete(async {
    ///     task_group(|tg| async move { Ok(tg.create_task_named("worker", async { Ok(()) })?.get_name()) }).await
    /// });
    /// assert_eq!(name.unwrap(), "worker");
    /// ```
    #[track_caller]
    pub fn create_task_named<T, F>(&self, name: &str, coro: F) -> Result<Task<T>, Error>
    where
        T: 'static,
        F: StdFuture<Output = Result<T, Error>> + 'static,
    {
        self.spawn(Some(name), coro, Location::caller())
    }

    fn spawn<T, F>(
        &self,
        name: Option<&str>,
        coro: F,
        site: &'static Location<'static>,
    ) -> Result<Task<T>, Error>
    where
        T: 'static,
        F: StdFuture<Output = Result<T, Error>> + 'static,
    {
        let inner = &self.inner;
        if !inner.entered.get() {
            return Err(Error::runtime("TaskGroup has not been entered"));
        }
        if inner.exiting.get() && inner.tasks.borrow().is_empty() {
            return Err(Error::runtime("TaskGroup is finished"));
        }
        if inner.aborting.get() {
            return Err(Error::runtime("TaskGroup is shutting down"));
        }
        let lp = get_running_loop()?;
        let task = crate::tasks::new_task(&lp.inner, name.map(Into::into), coro, site);
        let any = task.as_future().any();
        if let Some(cb) = inner.on_task_done.borrow().clone() {
            any.clone().add_any_callback(cb);
        }
        inner.tasks.borrow_mut().push(any);
        Ok(task)
    }

    /// asyncio's `_abort`: cancel every task not done, in creation order.
    fn abort(&self) {
        self.inner.aborting.set(true);
        let tasks = self.inner.tasks.borrow().clone();
        for t in tasks {
            if !t.is_done() {
                t.cancel_any(None);
            }
        }
    }

    /// asyncio's `_on_task_done`.
    fn on_task_done(&self, task: &Rc<dyn AnyFuture>) {
        let inner = &self.inner;
        inner
            .tasks
            .borrow_mut()
            .retain(|t| !std::ptr::addr_eq(Rc::as_ptr(t), Rc::as_ptr(task)));
        let on_completed = inner.on_completed.borrow().clone();
        if let Some(fut) = on_completed {
            if inner.tasks.borrow().is_empty() && !fut.done() {
                let _ = fut.set_result(true);
            }
        }
        if task.is_cancelled() {
            return;
        }
        let Ok(Some(exc)) = task.exception_any() else {
            return;
        };
        inner.errors.borrow_mut().push(exc.clone());
        if is_base_error(&exc) && inner.base_error.borrow().is_none() {
            *inner.base_error.borrow_mut() = Some(exc.clone());
        }
        let parent = inner.parent_task.borrow().clone();
        let Some(parent) = parent else { return };
        if parent.done() {
            if let Some(lp) = task.loop_inner() {
                lp.report(ExceptionContext {
                    future: None,
                    message: format!(
                        "Task {} has errored out but its parent task {} is already completed",
                        task.describe(),
                        parent.get_name()
                    ),
                    error: Some(exc),
                    task: None,
                    site: None,
                });
            }
            return;
        }
        if !inner.aborting.get() && !inner.parent_cancel_requested.get() {
            // A failure cancels the siblings and interrupts the body.
            self.abort();
            inner.parent_cancel_requested.set(true);
            parent.cancel();
        }
    }

    /// asyncio's `__aexit__`.
    async fn exit<R>(
        &self,
        outcome: Result<R, Error>,
        site: &'static Location<'static>,
    ) -> Result<R, Error> {
        let inner = &self.inner;
        inner.exiting.set(true);
        let exc = outcome.as_ref().err().cloned();
        if let Some(e) = &exc {
            if is_base_error(e) && inner.base_error.borrow().is_none() {
                *inner.base_error.borrow_mut() = Some(e.clone());
            }
        }
        let mut propagate_cancellation = exc.clone().filter(Error::is_cancelled);
        if exc.is_some() && !inner.aborting.get() {
            self.abort();
        }
        while !inner.tasks.borrow().is_empty() {
            let fut = {
                let mut slot = inner.on_completed.borrow_mut();
                // Created at the group's own site: `Future::new` passed as a function would
                // record a location inside `core`, which names the toolchain in traces.
                slot.get_or_insert_with(|| {
                    Future::bound(crate::events::current_or_thread_loop(), site)
                })
                .clone()
            };
            if let Err(e) = fut.wait_at(site).await {
                if e.is_cancelled() && !inner.aborting.get() {
                    propagate_cancellation = Some(e);
                    self.abort();
                }
            }
            inner.on_completed.borrow_mut().take();
        }
        if inner.parent_cancel_requested.get() {
            // The group cancelled the parent itself: withdraw that request, once every task is
            // done, so that a failure during the wait above is withdrawn too (Python 3.12's
            // order; 3.11 leaves it counted, docs/semantics.md).
            let parent = inner.parent_task.borrow().clone();
            if parent.is_some_and(|p| p.uncancel() == 0) {
                propagate_cancellation = None;
            }
        }
        // The tasks are done: nothing may create more, and the callback's work is over.
        inner.on_task_done.borrow_mut().take();
        inner.parent_task.borrow_mut().take();
        if let Some(base) = inner.base_error.borrow_mut().take() {
            return Err(base);
        }
        let mut errors = std::mem::take(&mut *inner.errors.borrow_mut());
        if let Some(cancel) = propagate_cancellation {
            if errors.is_empty() {
                return Err(cancel);
            }
        }
        if let Some(e) = exc {
            if !e.is_cancelled() {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(Error::Group(errors.into()));
        }
        outcome
    }
}

/// Python's `SystemExit` and `KeyboardInterrupt` escape a task group ungrouped; a Rust panic
/// is the nearest thing.
fn is_base_error(e: &Error) -> bool {
    matches!(e, Error::Panic(_))
}

impl std::fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        write!(f, "<TaskGroup")?;
        let n = inner.tasks.borrow().len();
        if n > 0 {
            write!(f, " tasks={n}")?;
        }
        let e = inner.errors.borrow().len();
        if e > 0 {
            write!(f, " errors={e}")?;
        }
        if inner.aborting.get() {
            write!(f, " cancelling")?;
        } else if inner.entered.get() {
            write!(f, " entered")?;
        }
        write!(f, ">")
    }
}
