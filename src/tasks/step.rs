//! The machinery of a task: its header (what every task has, whatever its result type), its
//! `__step`, and `Task.cancel`, as asyncio's `Task` class implements them in `tasks.py`.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future as StdFuture;
use std::mem;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use crate::base_events::{Entry, ExceptionContext, LoopInner};
use crate::events;
use crate::exceptions::{CancelledError, Error, WaitingTask};
use crate::futures::{AnyFuture, DynFuture, FutureCore, FutureKind, State};
use crate::panics;
use crate::trace::Outcome;

use super::sleep::{SleepPhase, SleepSlot};
use super::Task;

type Coroutine<T> = Pin<Box<dyn StdFuture<Output = Result<T, Error>>>>;

/// What every task has, whatever its result type.
pub(crate) struct TaskHeader {
    pub(crate) id: u64,
    /// Its place in the loop's task table (`u32`: the header is 8 bytes smaller).
    pub(crate) slot: Cell<u32>,
    /// What few tasks have (a name, a cancel message), allocated by the first that needs it.
    cold: RefCell<Option<Box<Cold>>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) suspended_at: Cell<Option<&'static Location<'static>>>,
    pub(crate) num_cancels_requested: Cell<u32>,
    /// asyncio's `_must_cancel`: throw `CancelledError` at the next step.
    pub(crate) must_cancel: Cell<bool>,
    /// The exception the current step throws at the suspended await, until one takes it.
    pub(crate) throw: Cell<Option<Error>>,
    /// asyncio's `_fut_waiter`: what the task awaits, so `cancel()` can cancel it. More than
    /// one only when a coroutine awaits several futures at once (`join!`).
    pub(crate) waiters: RefCell<Waiters>,
    /// The future of the task's current `sleep`, kept in the task instead of allocated.
    pub(crate) sleep: SleepSlot,
    /// A step or wakeup of this task is in the ready queue.
    pub(crate) scheduled: Cell<bool>,
    pub(crate) running: Cell<bool>,
    pub(crate) started: Cell<bool>,
    /// False for the task `run_until_complete` makes: its failure is returned, not reported.
    pub(crate) log_destroy_pending: Cell<bool>,
    /// Made when a poll first keeps the waker (see `base_events::Inbox`): tulipsim's own
    /// awaitables never use it.
    pub(crate) waker: OnceCell<Waker>,
    pub(crate) lp: Weak<LoopInner>,
}

/// A task's rarely set fields: kept out of line, a pending task is 56 bytes smaller.
#[derive(Default)]
struct Cold {
    name: Option<Rc<str>>,
    /// The message of the cancellation `must_cancel` owes.
    cancel_msg: Option<Rc<str>>,
    /// The message the sleep slot's future was cancelled with.
    sleep_cancel_msg: Option<Rc<str>>,
}

/// What a task can wait on.
pub(crate) enum Waiter {
    Future(Rc<dyn AnyFuture>),
    /// The task's sleep slot.
    Sleep,
}

/// What a task waits on: almost always one thing, so one is kept inline and a pending task
/// costs no allocation for it (a `Vec` cost 112 bytes a task).
#[derive(Default)]
pub(crate) enum Waiters {
    #[default]
    Empty,
    One(Waiter),
    Many(Vec<Waiter>),
}

impl Waiters {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Waiters::Empty => true,
            Waiters::One(_) => false,
            Waiters::Many(v) => v.is_empty(),
        }
    }

    pub(crate) fn push(&mut self, w: Waiter) {
        *self = match mem::take(self) {
            Waiters::Empty => Waiters::One(w),
            Waiters::One(first) => Waiters::Many(vec![first, w]),
            Waiters::Many(mut v) => {
                v.push(w);
                Waiters::Many(v)
            }
        };
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Waiter> {
        match self {
            Waiters::Empty => [].iter(),
            Waiters::One(w) => std::slice::from_ref(w).iter(),
            Waiters::Many(v) => v.iter(),
        }
    }

    pub(crate) fn remove(&mut self, i: usize) -> Option<Waiter> {
        match self {
            Waiters::Empty => None,
            Waiters::One(_) if i == 0 => match mem::take(self) {
                Waiters::One(w) => Some(w),
                _ => None,
            },
            Waiters::One(_) => None,
            Waiters::Many(v) => (i < v.len()).then(|| v.remove(i)),
        }
    }

    /// Forgets every waiter, keeping a list's storage.
    fn clear(&mut self) {
        match self {
            Waiters::Many(v) => v.clear(),
            _ => *self = Waiters::Empty,
        }
    }
}

impl<'a> IntoIterator for &'a Waiters {
    type Item = &'a Waiter;
    type IntoIter = std::slice::Iter<'a, Waiter>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl TaskHeader {
    pub(crate) fn name(&self) -> String {
        match self.cold(|c| c.name.clone()) {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id),
        }
    }

    /// The name given at creation or by `set_name`, if any.
    pub(crate) fn custom_name(&self) -> Option<String> {
        self.cold(|c| c.name.as_deref().map(str::to_string))
    }

    fn cold<R>(&self, f: impl FnOnce(&Cold) -> R) -> R {
        match &*self.cold.borrow() {
            Some(cold) => f(cold),
            None => f(&Cold::default()),
        }
    }

    /// Sets a cold field, allocating them only for a value other than `None`.
    fn set_cold(&self, field: fn(&mut Cold) -> &mut Option<Rc<str>>, value: Option<Rc<str>>) {
        let mut cold = self.cold.borrow_mut();
        if cold.is_none() && value.is_none() {
            return;
        }
        let old = mem::replace(field(cold.get_or_insert_with(Box::default)), value);
        drop(cold);
        drop(old); // outside the borrow
    }

    pub(crate) fn set_name(&self, name: Option<Rc<str>>) {
        self.set_cold(|c| &mut c.name, name);
    }

    pub(crate) fn cancel_msg(&self) -> Option<Rc<str>> {
        self.cold(|c| c.cancel_msg.clone())
    }

    pub(crate) fn set_cancel_msg(&self, msg: Option<Rc<str>>) {
        self.set_cold(|c| &mut c.cancel_msg, msg);
    }

    pub(crate) fn sleep_cancel_msg(&self) -> Option<Rc<str>> {
        self.cold(|c| c.sleep_cancel_msg.clone())
    }

    pub(crate) fn set_sleep_cancel_msg(&self, msg: Option<Rc<str>>) {
        self.set_cold(|c| &mut c.sleep_cancel_msg, msg);
    }

    #[inline]
    pub(crate) fn take_throw(&self) -> Option<Error> {
        self.throw.take()
    }

    /// Schedules the next step with `exc` to throw (asyncio's `call_soon(__step, exc)`).
    pub(crate) fn throw_at_next_step(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>, exc: Error) {
        self.throw.set(Some(exc));
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
                .and_then(|i| w.remove(i))
        };
        drop(removed);
    }

    /// Forgets the waiters (asyncio clears `_fut_waiter` at each step), keeping the list's
    /// storage; freeing happens outside the borrow since it may run user `Drop` code.
    #[inline]
    fn clear_waiters(&self) {
        // The common case first: a step after a yield or a sleep has nothing to forget.
        if matches!(*self.waiters.borrow(), Waiters::Empty) {
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

    fn describe_wait(&self) -> std::sync::Arc<str> {
        thread_local! {
            static SLEEP: std::sync::Arc<str> = std::sync::Arc::from("sleep");
        }
        let waiters = self.waiters.borrow();
        match &*waiters {
            Waiters::One(Waiter::Future(f)) => f.describe_shared(),
            Waiters::One(Waiter::Sleep) => SLEEP.with(std::sync::Arc::clone),
            _ if waiters.is_empty() && self.scheduled.get() => {
                "nothing (its next step is scheduled)".into()
            }
            _ if waiters.is_empty() => {
                "a non-tulipsim future (only its std Waker can wake the task)".into()
            }
            _ => waiters
                .iter()
                .map(|w| match w {
                    Waiter::Future(f) => f.describe(),
                    Waiter::Sleep => "sleep".to_string(),
                })
                .collect::<Vec<_>>()
                .join(" and ")
                .into(),
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
            awaiting: h.describe_wait().to_string(),
        }
    }
}

pub(crate) struct TaskInner<T: 'static> {
    pub(crate) header: TaskHeader,
    pub(crate) core: FutureCore<T>,
    pub(crate) coro: RefCell<Option<Coroutine<T>>>,
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
    let id = lp.new_task_id();
    let inner = Rc::new(TaskInner {
        header: TaskHeader {
            id,
            slot: Cell::new(u32::MAX),
            cold: RefCell::new(None),
            spawned_at: site,
            suspended_at: Cell::new(None),
            num_cancels_requested: Cell::new(0),
            must_cancel: Cell::new(false),
            throw: Cell::new(None),
            waiters: RefCell::new(Waiters::Empty),
            sleep: SleepSlot {
                phase: Cell::new(SleepPhase::Idle),
                token: Cell::new(0),
            },
            scheduled: Cell::new(false),
            running: Cell::new(false),
            started: Cell::new(false),
            log_destroy_pending: Cell::new(true),
            waker: OnceCell::new(),
            lp: Rc::downgrade(lp),
        },
        core: FutureCore::new(Rc::downgrade(lp), site),
        coro: RefCell::new(Some(Box::pin(coro))),
    });
    inner.header.set_name(name);
    let run: Rc<dyn TaskRun> = inner.clone();
    if lp.is_closed() {
        // asyncio's call_soon raises on a closed loop; the task can never run. Keep it out of
        // the loop, and make awaiting it fail instead of hang.
        inner.coro.borrow_mut().take();
        let fut: Rc<DynFuture<T>> = inner.clone();
        let _ = FutureCore::complete(
            &fut,
            State::Finished(Err(Error::runtime("Event loop is closed"))),
        );
        inner.core.clear_log_traceback();
        return Task { inner };
    }
    let slot = lp.register_task(run.clone());
    inner
        .header
        .slot
        .set(u32::try_from(slot).unwrap_or(u32::MAX));
    lp.record_spawn(id, || inner.header.custom_name(), site);
    inner.header.schedule_step(lp, &run);
    Task { inner }
}

impl<T: 'static> TaskInner<T> {
    fn as_obj(self: &Rc<Self>) -> Rc<DynFuture<T>> {
        self.clone()
    }

    /// The task is done: set its future's state, schedule its callbacks, leave the loop.
    fn finish(self: &Rc<Self>, lp: &LoopInner, outcome: Result<T, Error>) {
        self.header.clear_waiters();
        // A sleep still in the slot died with the coroutine: its timer must not move the clock.
        self.header.sleep.phase.set(SleepPhase::Idle);
        let state = match outcome {
            Ok(v) => State::Finished(Ok(v)),
            Err(Error::Cancelled(c)) => State::Cancelled(c.message),
            Err(e) => State::Finished(Err(e)),
        };
        lp.record_done(self.header.id, || match &state {
            State::Finished(Err(e)) => Outcome::Exception(e.described()),
            State::Cancelled(_) => Outcome::Cancelled,
            _ => Outcome::Result,
        });
        let _ = FutureCore::complete(&self.as_obj(), state);
        lp.unregister_task(self.header.slot.get() as usize);
    }

    pub(crate) fn cancel_impl(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        let h = &self.header;
        self.core.clear_log_traceback();
        if self.core.is_done() {
            return false;
        }
        h.num_cancels_requested
            .set(h.num_cancels_requested.get() + 1);
        let run: Rc<dyn TaskRun> = self.clone();
        let has_waiter = !h.waiters.borrow().is_empty();
        if h.cancel_waiters(&msg, &run) {
            return true;
        }
        h.must_cancel.set(true);
        h.set_cancel_msg(msg);
        // A task with a waiter that refused the cancellation (a gather whose children are all
        // done) wakes when that waiter completes, as in asyncio. A coroutine suspended on a
        // foreign future has no waiter and no step coming: schedule one to deliver the throw.
        if !has_waiter && !h.scheduled.get() && !h.running.get() {
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
            let throw = match h.throw.take() {
                Some(Error::Cancelled(c)) => Error::Cancelled(c),
                // A pending throw that is not a cancellation gives way to it.
                _ => Error::Cancelled(CancelledError {
                    message: h.cancel_msg(),
                }),
            };
            h.throw.set(Some(throw));
        }
        h.clear_waiters();
        // Throwing into a coroutine that never ran raises at once: none of it runs.
        let unstarted_throw = if h.started.replace(true) {
            None
        } else {
            h.take_throw()
        };
        if let Some(exc) = unstarted_throw {
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
            let mut cx = Context::from_waker(lp.waker_for(h));
            panics::catch(|| coro.as_mut().poll(&mut cx))
        };
        lp.after_poll(h);
        h.running.set(false);
        drop(lp.current.replace(previous));

        // A cancellation no await took (the coroutine finished, or waits on a foreign future)
        // is still owed: it becomes a request again, as asyncio's `_must_cancel`.
        if let Some(exc) = h.take_throw() {
            match exc {
                Error::Cancelled(c) => {
                    h.must_cancel.set(true);
                    h.set_cancel_msg(c.message);
                }
                other => h.throw.set(Some(other)),
            }
        }

        match polled {
            Ok(Poll::Pending) => {
                lp.record_awaits(h.id, || {
                    let yielded = h.waiters.borrow().is_empty() && h.scheduled.get();
                    (!yielded).then(|| h.describe_wait())
                });
                if h.must_cancel.get() {
                    let msg = h.cancel_msg();
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
                            message: h.cancel_msg(),
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
                future: None,
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

/// A task as a future: `cancel()` is `Task.cancel`, and it is named by its task name.
impl<T: 'static> FutureKind for TaskInner<T> {
    type Output = T;

    fn core(&self) -> &FutureCore<T> {
        &self.core
    }

    fn cancel(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.cancel_impl(msg)
    }

    fn describe(&self) -> String {
        format!("Task {}", self.header.name())
    }

    fn task_header(&self) -> Option<&TaskHeader> {
        Some(&self.header)
    }

    fn to_task(self: Rc<Self>) -> Option<Rc<dyn TaskRun>> {
        Some(self)
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
                    future: None,
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
