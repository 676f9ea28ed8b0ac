//! asyncio's `Task`, mirroring `tasks.py`: a future that drives a coroutine (a Rust `async`
//! block returning `Result<T, Error>`) one step at a time, with throw-style cancellation.
//!
//! A step (`__step`) polls the coroutine once. Before polling it turns a pending cancellation
//! request into an exception *thrown* at the await where the coroutine is suspended: tulipsim's
//! awaitables ([`Future`], [`Task`], [`sleep`]) take the throw from the task and return
//! `Err(Error::Cancelled)` from that `.await`. The coroutine may catch it and go on, return
//! something else, or let it escape; only the last makes the task *cancelled*.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::mem;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use crate::base_events::{Entry, ExceptionContext, LoopHandle, LoopInner};
use crate::events::{self, IntoDelay, TimerHandle};
use crate::exceptions::{CancelledError, Error, WaitingTask};
use crate::futures::{
    short_type_name, AnyFuture, Callback, DoneCallback, Future, FutureCore, FutureObj, State, Wait,
    WaitCore,
};
use crate::panics;

type Coroutine<T> = Pin<Box<dyn StdFuture<Output = Result<T, Error>>>>;

/// What every task has, whatever its result type.
pub(crate) struct TaskHeader {
    pub(crate) id: u64,
    slot: Cell<usize>,
    name: RefCell<Option<Rc<str>>>,
    spawned_at: &'static Location<'static>,
    suspended_at: Cell<Option<&'static Location<'static>>>,
    num_cancels_requested: Cell<u32>,
    /// asyncio's `_must_cancel`: throw `CancelledError` at the next step.
    must_cancel: Cell<bool>,
    cancel_msg: RefCell<Option<Rc<str>>>,
    /// The exception the current step throws at the suspended await, until one takes it.
    throw: RefCell<Option<Error>>,
    /// asyncio's `_fut_waiter`: what the task awaits, so `cancel()` can cancel it. More than
    /// one only when a coroutine awaits several futures at once (`join!`).
    waiters: RefCell<Vec<Waiter>>,
    /// The future of the task's current `sleep`, kept in the task instead of allocated.
    sleep: SleepSlot,
    /// A step or wakeup of this task is in the ready queue.
    scheduled: Cell<bool>,
    running: Cell<bool>,
    started: Cell<bool>,
    /// False for the task `run_until_complete` makes: its failure is returned, not reported.
    log_destroy_pending: Cell<bool>,
    waker: Waker,
    lp: Weak<LoopInner>,
}

/// What a task can wait on.
pub(crate) enum Waiter {
    Future(Rc<dyn AnyFuture>),
    /// The task's sleep slot.
    Sleep,
}

/// asyncio's `sleep(delay)` creates a future and a timer that sets it. Nothing but the
/// sleeping task can see that future, so a task keeps one, reused by each of its sleeps: the
/// timer refers to the task and a token, and a token that no longer matches marks the timer
/// as cancelled. The hops are asyncio's: the timer completes the future, whose completion
/// schedules the task's wakeup.
struct SleepSlot {
    phase: Cell<SleepPhase>,
    token: Cell<u64>,
    cancel_msg: RefCell<Option<Rc<str>>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SleepPhase {
    Idle,
    Pending,
    Done,
    Cancelled,
}

impl TaskHeader {
    pub(crate) fn name(&self) -> String {
        match &*self.name.borrow() {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id),
        }
    }

    #[inline]
    pub(crate) fn take_throw(&self) -> Option<Error> {
        self.throw.borrow_mut().take()
    }

    /// Schedules the next step with `exc` to throw (asyncio's `call_soon(__step, exc)`).
    pub(crate) fn throw_at_next_step(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>, exc: Error) {
        *self.throw.borrow_mut() = Some(exc);
        self.schedule_step(lp, task);
    }

    #[inline]
    pub(crate) fn schedule_step(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>) {
        if !self.scheduled.replace(true) {
            lp.schedule(Entry::Step(task.clone()));
        }
    }

    /// A future this task awaits is done: schedule the task's `__wakeup`, unless a step of
    /// it is coming anyway (only possible when it awaits several futures at once).
    #[inline]
    pub(crate) fn wake(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>) {
        if !self.scheduled.replace(true) {
            lp.schedule(Entry::Wakeup(task.clone()));
        }
    }

    pub(crate) fn add_waiter(&self, fut: Rc<dyn AnyFuture>, site: &'static Location<'static>) {
        self.suspended_at.set(Some(site));
        self.waiters.borrow_mut().push(Waiter::Future(fut));
    }

    pub(crate) fn remove_waiter(&self, fut: &Rc<dyn AnyFuture>) {
        let removed = {
            let mut w = self.waiters.borrow_mut();
            w.iter()
                .position(|x| matches!(x, Waiter::Future(x) if std::ptr::addr_eq(Rc::as_ptr(x), Rc::as_ptr(fut))))
                .map(|i| w.remove(i))
        };
        drop(removed);
    }

    /// Forgets the waiters (asyncio clears `_fut_waiter` at each step), keeping the list's
    /// storage; freeing happens outside the borrow since it may run user `Drop` code.
    #[inline]
    fn clear_waiters(&self) {
        if self.waiters.borrow().is_empty() {
            return;
        }
        let mut old = mem::take(&mut *self.waiters.borrow_mut());
        old.clear();
        let mut w = self.waiters.borrow_mut();
        if w.is_empty() {
            *w = old;
        }
    }

    /// Cancels every waiter; true if any of them accepted (asyncio: `_fut_waiter.cancel()`).
    /// The list stays: a waiter that is a task may refuse, and may need cancelling again.
    fn cancel_waiters(&self, msg: &Option<Rc<str>>, task: &Rc<dyn TaskRun>) -> bool {
        if self.waiters.borrow().is_empty() {
            return false;
        }
        let waiters = mem::take(&mut *self.waiters.borrow_mut());
        let mut any = false;
        for w in &waiters {
            any |= match w {
                Waiter::Future(f) => f.clone().cancel_any(msg.clone()),
                Waiter::Sleep => self.cancel_sleep(msg, task),
            };
        }
        let mut w = self.waiters.borrow_mut();
        if w.is_empty() {
            *w = waiters;
        }
        any
    }

    fn describe_wait(&self) -> String {
        let waiters = self.waiters.borrow();
        if waiters.is_empty() {
            if self.scheduled.get() {
                "nothing (its next step is scheduled)".to_string()
            } else {
                "a non-tulipsim future (only its std Waker can wake the task)".to_string()
            }
        } else {
            waiters
                .iter()
                .map(|w| match w {
                    Waiter::Future(f) => f.describe(),
                    Waiter::Sleep => "sleep".to_string(),
                })
                .collect::<Vec<_>>()
                .join(" and ")
        }
    }

    // ---- the sleep slot ------------------------------------------------------------------

    /// Starts a sleep in the slot, if the slot is free; returns its token.
    fn start_sleep(&self) -> Option<u64> {
        if self.sleep.phase.get() != SleepPhase::Idle {
            return None;
        }
        let token = self.sleep.token.get() + 1;
        self.sleep.token.set(token);
        self.sleep.phase.set(SleepPhase::Pending);
        Some(token)
    }

    /// True while the sleep with `token` is pending: its timer is live.
    pub(crate) fn sleep_pending(&self, token: u64) -> bool {
        self.sleep.token.get() == token && self.sleep.phase.get() == SleepPhase::Pending
    }

    /// The sleep timer with `token` fired: complete the sleep's future, waking the task.
    pub(crate) fn sleep_fired(&self, token: u64, lp: &LoopInner, task: &Rc<dyn TaskRun>) {
        if self.sleep_pending(token) {
            self.sleep.phase.set(SleepPhase::Done);
            self.wake(lp, task);
        }
    }

    /// Future.cancel() of the sleep's future.
    fn cancel_sleep(&self, msg: &Option<Rc<str>>, task: &Rc<dyn TaskRun>) -> bool {
        if self.sleep.phase.get() != SleepPhase::Pending {
            return false;
        }
        self.sleep.phase.set(SleepPhase::Cancelled);
        *self.sleep.cancel_msg.borrow_mut() = msg.clone();
        if let Some(lp) = self.lp.upgrade() {
            self.wake(&lp, task);
        }
        true
    }

    /// The sleep with `token` is over (or abandoned): free the slot; its timer goes stale.
    fn end_sleep(&self, token: u64) {
        if self.sleep.token.get() == token {
            self.sleep.phase.set(SleepPhase::Idle);
        }
    }
}

/// A task with its result type erased: what the ready queue and the loop hold.
pub(crate) trait TaskRun {
    fn header(&self) -> &TaskHeader;
    /// asyncio's `__step` (and `__wakeup`, which only calls it).
    fn step(self: Rc<Self>, lp: &Rc<LoopInner>);
    /// asyncio's `Task.cancel`.
    fn cancel_task(self: Rc<Self>, msg: Option<Rc<str>>) -> bool;
    fn is_done(&self) -> bool;
    fn is_cancelled(&self) -> bool;
    /// A `std::task::Waker` of this task was woken: schedule a step unless one is coming.
    fn foreign_wake(self: Rc<Self>, lp: &LoopInner);
    /// The loop is closing with this task still pending: free its coroutine and callbacks.
    fn destroy(self: Rc<Self>, lp: &LoopInner);
    fn to_any_future(self: Rc<Self>) -> Rc<dyn AnyFuture>;
    fn waiting_task(&self) -> WaitingTask {
        let h = self.header();
        WaitingTask {
            name: h.name(),
            spawned_at: h.spawned_at,
            suspended_at: h.suspended_at.get(),
            awaiting: h.describe_wait(),
        }
    }
}

pub(crate) struct TaskInner<T: 'static> {
    header: TaskHeader,
    core: FutureCore<T>,
    coro: RefCell<Option<Coroutine<T>>>,
}

/// Creates a task on `lp` and schedules its first step (asyncio's `Task.__init__`).
pub(crate) fn new_task<T, F>(
    lp: &Rc<LoopInner>,
    name: Option<Rc<str>>,
    coro: F,
    site: &'static Location<'static>,
) -> Task<T>
where
    T: 'static,
    F: StdFuture<Output = Result<T, Error>> + 'static,
{
    let (id, waker) = lp.new_task_identity();
    let inner = Rc::new(TaskInner {
        header: TaskHeader {
            id,
            slot: Cell::new(usize::MAX),
            name: RefCell::new(name),
            spawned_at: site,
            suspended_at: Cell::new(None),
            num_cancels_requested: Cell::new(0),
            must_cancel: Cell::new(false),
            cancel_msg: RefCell::new(None),
            throw: RefCell::new(None),
            waiters: RefCell::new(Vec::new()),
            sleep: SleepSlot {
                phase: Cell::new(SleepPhase::Idle),
                token: Cell::new(0),
                cancel_msg: RefCell::new(None),
            },
            scheduled: Cell::new(false),
            running: Cell::new(false),
            started: Cell::new(false),
            log_destroy_pending: Cell::new(true),
            waker,
            lp: Rc::downgrade(lp),
        },
        core: FutureCore::new(Rc::downgrade(lp), site),
        coro: RefCell::new(Some(Box::pin(coro))),
    });
    let run: Rc<dyn TaskRun> = inner.clone();
    if lp.is_closed() {
        // asyncio's call_soon raises on a closed loop; the task can never run. Keep it out of
        // the loop, and make awaiting it fail instead of hang.
        inner.coro.borrow_mut().take();
        let fut: Rc<dyn FutureObj<T>> = inner.clone();
        let _ = FutureCore::complete(
            &fut,
            State::Finished(Err(Error::runtime("Event loop is closed"))),
        );
        inner.core.clear_log_traceback();
        return Task { inner };
    }
    inner.header.slot.set(lp.register_task(run.clone()));
    inner.header.schedule_step(lp, &run);
    Task { inner }
}

impl<T: 'static> TaskInner<T> {
    fn as_obj(self: &Rc<Self>) -> Rc<dyn FutureObj<T>> {
        self.clone()
    }

    /// The task is done: set its future's state, schedule its callbacks, leave the loop.
    fn finish(self: &Rc<Self>, lp: &LoopInner, outcome: Result<T, Error>) {
        self.header.clear_waiters();
        let state = match outcome {
            Ok(v) => State::Finished(Ok(v)),
            Err(Error::Cancelled(c)) => State::Cancelled(c.message),
            Err(e) => State::Finished(Err(e)),
        };
        let _ = FutureCore::complete(&self.as_obj(), state);
        lp.unregister_task(self.header.slot.get());
    }

    fn cancel_impl(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        let h = &self.header;
        self.core.clear_log_traceback();
        if self.core.is_done() {
            return false;
        }
        h.num_cancels_requested
            .set(h.num_cancels_requested.get() + 1);
        let run: Rc<dyn TaskRun> = self.clone();
        if h.cancel_waiters(&msg, &run) {
            return true;
        }
        h.must_cancel.set(true);
        *h.cancel_msg.borrow_mut() = msg;
        // In asyncio a step is always scheduled here. A coroutine suspended on a foreign
        // future has no waiter to cancel and no step coming: schedule one to deliver the throw.
        if !h.scheduled.get() && !h.running.get() {
            if let Some(lp) = h.lp.upgrade() {
                h.schedule_step(&lp, &run);
            }
        }
        true
    }
}

impl<T: 'static> TaskRun for TaskInner<T> {
    fn header(&self) -> &TaskHeader {
        &self.header
    }

    fn step(self: Rc<Self>, lp: &Rc<LoopInner>) {
        let h = &self.header;
        h.scheduled.set(false);
        if self.core.is_done() {
            return;
        }
        if h.must_cancel.replace(false) {
            let mut throw = h.throw.borrow_mut();
            if !matches!(*throw, Some(Error::Cancelled(_))) {
                *throw = Some(Error::Cancelled(CancelledError {
                    message: h.cancel_msg.borrow().clone(),
                }));
            }
        }
        h.clear_waiters();
        if !h.started.replace(true) && h.throw.borrow().is_some() {
            // Throwing into a coroutine that never ran raises at once: none of it runs.
            let exc = h.take_throw().unwrap_or_else(Error::cancelled);
            let coro = self.coro.borrow_mut().take();
            drop(coro);
            self.finish(lp, Err(exc));
            return;
        }

        let run: Rc<dyn TaskRun> = self.clone();
        let previous = lp.current.replace(Some(run.clone()));
        h.running.set(true);
        let polled = {
            let mut slot = self.coro.borrow_mut();
            let Some(coro) = slot.as_mut() else {
                drop(slot);
                h.running.set(false);
                drop(lp.current.replace(previous));
                return;
            };
            let mut cx = Context::from_waker(&h.waker);
            panics::catch(|| coro.as_mut().poll(&mut cx))
        };
        h.running.set(false);
        drop(lp.current.replace(previous));

        // A cancellation no await took (the coroutine finished, or waits on a foreign future)
        // is still owed: it becomes a request again, as asyncio's `_must_cancel`.
        if let Some(exc) = h.take_throw() {
            match exc {
                Error::Cancelled(c) => {
                    h.must_cancel.set(true);
                    *h.cancel_msg.borrow_mut() = c.message;
                }
                other => *h.throw.borrow_mut() = Some(other),
            }
        }

        match polled {
            Ok(Poll::Pending) => {
                if h.must_cancel.get() {
                    let msg = h.cancel_msg.borrow().clone();
                    if h.cancel_waiters(&msg, &run) {
                        h.must_cancel.set(false);
                    }
                }
            }
            Ok(Poll::Ready(outcome)) => {
                let coro = self.coro.borrow_mut().take();
                drop(coro);
                let outcome = match outcome {
                    // Cancelled right before the coroutine returned: the task ends cancelled.
                    Ok(_) if h.must_cancel.replace(false) => {
                        Err(Error::Cancelled(CancelledError {
                            message: h.cancel_msg.borrow().clone(),
                        }))
                    }
                    other => other,
                };
                self.finish(lp, outcome);
            }
            Err(caught) => {
                let coro = self.coro.borrow_mut().take();
                drop(coro);
                let err = lp.panicked(caught, Some((h.name(), h.spawned_at)));
                self.finish(lp, Err(err));
                if lp.panic_stops_loop() {
                    // The run returns this panic; reporting it as unretrieved would repeat it.
                    self.core.clear_log_traceback();
                }
            }
        }
    }

    fn cancel_task(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.cancel_impl(msg)
    }

    fn is_done(&self) -> bool {
        self.core.is_done()
    }

    fn is_cancelled(&self) -> bool {
        self.core.is_cancelled()
    }

    fn foreign_wake(self: Rc<Self>, lp: &LoopInner) {
        if self.core.is_done() || self.header.running.get() {
            return;
        }
        let run: Rc<dyn TaskRun> = self.clone();
        self.header.schedule_step(lp, &run);
    }

    fn destroy(self: Rc<Self>, lp: &LoopInner) {
        let h = &self.header;
        if h.log_destroy_pending.get() {
            lp.report(ExceptionContext {
                message: "Task was destroyed but it is pending!".to_string(),
                error: None,
                task: Some(h.name()),
                site: Some(h.spawned_at),
            });
        }
        let waiters = mem::take(&mut *h.waiters.borrow_mut());
        for w in &waiters {
            if let Waiter::Future(f) = w {
                f.remove_wakeup(h.id);
            }
        }
        drop(waiters);
        h.sleep.phase.set(SleepPhase::Idle);
        let coro = self.coro.borrow_mut().take();
        drop(coro);
        self.core.clear_all_callbacks();
        let throw = h.take_throw();
        drop(throw);
    }

    fn to_any_future(self: Rc<Self>) -> Rc<dyn AnyFuture> {
        self
    }
}

impl<T: 'static> FutureObj<T> for TaskInner<T> {
    fn core(&self) -> &FutureCore<T> {
        &self.core
    }

    fn cancel_obj(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.cancel_impl(msg)
    }

    fn task_header(&self) -> Option<&TaskHeader> {
        Some(&self.header)
    }

    fn to_any(self: Rc<Self>) -> Rc<dyn AnyFuture> {
        self
    }

    fn to_task(self: Rc<Self>) -> Option<Rc<dyn TaskRun>> {
        Some(self)
    }
}

impl<T: 'static> AnyFuture for TaskInner<T> {
    fn cancel_any(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.cancel_impl(msg)
    }

    fn is_done(&self) -> bool {
        self.core.is_done()
    }

    fn add_wakeup(self: Rc<Self>, task: Rc<dyn TaskRun>) {
        let this: Rc<dyn FutureObj<T>> = self;
        FutureCore::add_callback(&this, Callback::Wakeup(task));
    }

    fn remove_wakeup(&self, task_id: u64) {
        self.core.remove_wakeup_of(task_id)
    }

    fn clear_callbacks(&self) {
        self.core.clear_all_callbacks()
    }

    fn describe(&self) -> String {
        format!("Task {}", self.header.name())
    }

    fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool {
        self.core.belongs_to(lp)
    }

    fn task_id(&self) -> Option<u64> {
        Some(self.header.id)
    }

    fn mark_retrieved(&self) {
        self.core.clear_log_traceback()
    }

    fn exception_any(&self) -> Result<Option<Error>, Error> {
        self.core.exception()
    }
}

impl<T: 'static> Drop for TaskInner<T> {
    fn drop(&mut self) {
        // Report as a task before the core would report as a plain future.
        if self.core.take_log_traceback() {
            if let (State::Finished(Err(e)), Some(lp)) =
                (&*self.core.state_ref(), self.header.lp.upgrade())
            {
                lp.report(ExceptionContext {
                    message: "Task exception was never retrieved".to_string(),
                    error: Some(e.clone()),
                    task: Some(self.header.name()),
                    site: Some(self.header.spawned_at),
                });
            }
        }
    }
}

/// The running loop and the task whose step is running, if any.
pub(crate) fn current() -> Option<(Rc<LoopInner>, Rc<dyn TaskRun>)> {
    with_current(|lp, task| (lp.clone(), task.clone()))
}

/// Runs `f` with the running loop and the task whose step is running, without cloning
/// either; `None` outside a task. Only a step replaces the current task, and a step never runs
/// inside another, so the borrow this holds cannot conflict.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<LoopInner>, &Rc<dyn TaskRun>) -> R) -> Option<R> {
    events::with_running(|lp| {
        let lp = lp?;
        let current = lp.current.borrow();
        Some(f(lp, current.as_ref()?))
    })
}

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
    /// See [`cancel`](Self::cancel) for an example.
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
    /// See [`cancelling`](Self::cancelling) for an example.
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
    /// See [`get_name`](Self::get_name) for an example.
    pub fn set_name(&self, name: impl Into<Rc<str>>) {
        *self.inner.header.name.borrow_mut() = Some(name.into());
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
/// It can do everything with the task but read its result.
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

    /// See [`Task::get_name`].
    ///
    /// See [`TaskRef`] for an example.
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
        *self.run.header().name.borrow_mut() = Some(name.into());
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
/// See [`TaskRef`]'s `IntoFuture` implementation for an example.
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
/// See [`LoopHandle`] for an example.
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
/// See [`TaskRef`] for an example.
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

/// Suspends the current task for `delay` seconds of virtual time (asyncio's `sleep`).
///
/// `sleep(0)` (or any delay `<= 0`) yields exactly once: the task's next step is scheduled
/// behind everything already ready. A positive delay creates a future and a timer that sets
/// it, exactly as asyncio's `sleep` does, so cancelling a sleeping task cancels that future.
///
/// ```
/// use tulipsim::{sleep, EventLoop};
/// let lp = EventLoop::new();
/// lp.run_until_complete(async { sleep(3600).await }).unwrap(); // an hour, in microseconds
/// assert_eq!(lp.time(), 3600.0);
/// ```
#[track_caller]
pub fn sleep(delay: impl IntoDelay) -> Sleep<()> {
    sleep_with(delay, ())
}

/// [`sleep`] that gives `result` when it completes (asyncio's `sleep(delay, result)`).
///
/// See [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete) for an example.
#[track_caller]
pub fn sleep_with<T>(delay: impl IntoDelay, result: T) -> Sleep<T> {
    Sleep {
        delay: delay.into_nanos(),
        result: Some(result),
        state: SleepState::Start,
        site: Location::caller(),
    }
}

/// The awaitable [`sleep`] returns.
///
/// See [`sleep`] for an example.
pub struct Sleep<T> {
    delay: i64,
    result: Option<T>,
    state: SleepState,
    site: &'static Location<'static>,
}

enum SleepState {
    Start,
    /// `sleep(0)`: the task's next step is scheduled; resume then.
    Yielded,
    /// Sleeping in the task's sleep slot.
    Slot {
        token: u64,
    },
    /// Sleeping on a future of its own: the slot was taken by another sleep of this task.
    Waiting {
        wait: Wait<()>,
        timer: TimerHandle,
    },
    Done,
}

// `Sleep` never pins its fields.
impl<T> Unpin for Sleep<T> {}

impl<T> StdFuture for Sleep<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let polled = match &mut this.state {
            SleepState::Start => return this.start(cx),
            SleepState::Yielded => {
                // asyncio's bare `yield`: the step that resumes here may throw into it.
                match with_current(|_, task| task.header().take_throw()) {
                    Some(None) => Poll::Ready(Ok(())),
                    Some(Some(exc)) => Poll::Ready(Err(exc)),
                    None => Poll::Ready(Err(outside_task())),
                }
            }
            SleepState::Slot { token } => {
                let (token, site) = (*token, this.site);
                with_current(|_, task| poll_slot(task.header(), token, site))
                    .unwrap_or_else(|| Poll::Ready(Err(outside_task())))
            }
            SleepState::Waiting { wait, timer } => {
                let polled = Pin::new(wait).poll(cx);
                if polled.is_ready() {
                    // asyncio's `finally: h.cancel()`.
                    timer.cancel();
                }
                polled
            }
            SleepState::Done => Poll::Ready(Err(Error::invalid_state(
                "sleep() polled after it completed",
            ))),
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => {
                this.state = SleepState::Done;
                Poll::Ready(r.map(|()| this.take_result()))
            }
        }
    }
}

fn outside_task() -> Error {
    Error::runtime("sleep() was awaited outside a running tulipsim task")
}

impl<T> Sleep<T> {
    /// The first poll: yield once (`delay <= 0`), or start a timer.
    fn start(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, Error>> {
        let (delay, site) = (self.delay, self.site);
        let started = with_current(|lp, task| {
            let h = task.header();
            h.suspended_at.set(Some(site));
            if delay <= 0 {
                h.schedule_step(lp, task);
                return SleepState::Yielded;
            }
            let when = lp.now().saturating_add(delay);
            if let Some(token) = h.start_sleep() {
                lp.add_sleep_timer(when, task.clone(), token);
                h.waiters.borrow_mut().push(Waiter::Sleep);
                return SleepState::Slot { token };
            }
            // The slot is busy with another sleep of this task (`join!` of two sleeps):
            // asyncio's own way, a future and a timer that sets it.
            let fut: Future<()> = Future::bound(Rc::downgrade(lp), site);
            let setter = fut.clone();
            let timer = lp.call_at_nanos(
                when,
                Box::new(move || {
                    if !setter.cancelled() {
                        let _ = setter.set_result(());
                    }
                }),
            );
            SleepState::Waiting {
                wait: fut.wait_at(site),
                timer,
            }
        });
        match started {
            None => {
                self.state = SleepState::Done;
                Poll::Ready(Err(outside_task()))
            }
            Some(state) => {
                self.state = state;
                if let SleepState::Waiting { wait, .. } = &mut self.state {
                    // Register on the new future now, as asyncio's `await future` does.
                    if let Poll::Ready(r) = Pin::new(wait).poll(cx) {
                        self.state = SleepState::Done;
                        return Poll::Ready(r.map(|()| self.take_result()));
                    }
                }
                Poll::Pending
            }
        }
    }
}

/// A resumed poll of a sleep in the task's slot: what asyncio's `await future` would see.
fn poll_slot(
    h: &TaskHeader,
    token: u64,
    site: &'static Location<'static>,
) -> Poll<Result<(), Error>> {
    let phase = h.sleep.phase.get();
    let sleep_cancelled = || {
        Error::Cancelled(CancelledError {
            message: h.sleep.cancel_msg.borrow().clone(),
        })
    };
    if let Some(exc) = h.take_throw() {
        h.end_sleep(token);
        // The sleep future's own CancelledError wins over the task's, as in `Wait`.
        return Poll::Ready(Err(match (exc, phase) {
            (Error::Cancelled(_), SleepPhase::Cancelled) => sleep_cancelled(),
            (exc, _) => exc,
        }));
    }
    match phase {
        SleepPhase::Done => {
            h.end_sleep(token);
            Poll::Ready(Ok(()))
        }
        SleepPhase::Cancelled => {
            h.end_sleep(token);
            Poll::Ready(Err(sleep_cancelled()))
        }
        SleepPhase::Pending | SleepPhase::Idle => {
            // Woken for another reason (several awaits at once): still waiting.
            h.suspended_at.set(Some(site));
            h.waiters.borrow_mut().push(Waiter::Sleep);
            Poll::Pending
        }
    }
}

impl<T> Sleep<T> {
    fn take_result(&mut self) -> T {
        self.result
            .take()
            .expect("Sleep's result is taken once, when it completes")
    }
}

impl<T> Drop for Sleep<T> {
    fn drop(&mut self) {
        match &self.state {
            SleepState::Waiting { timer, .. } => timer.cancel(),
            SleepState::Slot { token } => {
                let token = *token;
                with_current(|_, task| task.header().end_sleep(token));
                // Dropped outside its task's step (the loop is closing): the slot is freed
                // with the task.
            }
            _ => {}
        }
    }
}

/// What `run_until_complete` accepts: an `async` block (wrapped in a task, as asyncio wraps a
/// coroutine), a [`Task`], or a [`Future`] (awaited as it is). Sealed.
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
pub trait Awaitable<T>: private::Sealed<T> {
    #[doc(hidden)]
    fn into_main(self, lp: &LoopHandle, site: &'static Location<'static>) -> private::Main<T>;
}

pub(crate) mod private {
    use super::*;

    pub trait Sealed<T> {}

    /// The future `run_until_complete` waits on, and how to get its outcome out.
    pub struct Main<T: 'static> {
        pub(crate) future: Future<T>,
        pub(crate) extract: fn(&Future<T>) -> Result<T, Error>,
    }

    impl<T: 'static> Main<T> {
        pub(crate) fn outcome(&self) -> Result<T, Error> {
            (self.extract)(&self.future)
        }
    }

    impl<T, F: StdFuture<Output = Result<T, Error>> + 'static> Sealed<T> for F {}
    impl<T: 'static> Sealed<T> for Future<T> {}
    impl<T: 'static> Sealed<T> for Task<T> {}
}

impl<T: 'static, F: StdFuture<Output = Result<T, Error>> + 'static> Awaitable<T> for F {
    fn into_main(self, lp: &LoopHandle, site: &'static Location<'static>) -> private::Main<T> {
        let task = new_task(&lp.inner, None, self, site);
        task.inner.header.log_destroy_pending.set(false);
        private::Main {
            future: task.as_future(),
            // Nobody else can reach this task's result: move it out instead of cloning.
            extract: |f| f.obj.core().take_result(),
        }
    }
}

impl<T: Clone + 'static> Awaitable<T> for Future<T> {
    fn into_main(self, _: &LoopHandle, _: &'static Location<'static>) -> private::Main<T> {
        private::Main {
            future: self,
            extract: Future::result,
        }
    }
}

impl<T: Clone + 'static> Awaitable<T> for Task<T> {
    fn into_main(self, _: &LoopHandle, _: &'static Location<'static>) -> private::Main<T> {
        private::Main {
            future: self.as_future(),
            extract: Future::result,
        }
    }
}
