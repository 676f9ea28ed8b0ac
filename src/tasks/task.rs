//! asyncio's `Task` class, as `tasks.py` implements it, top to bottom: `__init__`
//! ([`new_task`]), `__step` and `__wakeup` ([`TaskRun::step`]), `cancel`, `uncancel`,
//! `cancelling`, and the two halves of throw-style cancellation: the throw slot a step fills
//! and the await where it lands.
//!
//! A Rust coroutine cannot be thrown into. A step puts the exception in the task's throw slot
//! instead, and the tulipsim awaitable that resumes ([`land_throw`](TaskHeader::land_throw))
//! returns it from its `.await`: the same place asyncio's `coro.throw(exc)` raises it.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::base_events::{ExceptionContext, LoopInner, Runnable};
use crate::exceptions::{CancelledError, Error, WaitingTask};
use crate::futures::{AnyFuture, DynFuture, FutureCore, FutureKind, State};
use crate::panics;
use crate::scheduler::CandidateTask;
use crate::trace::Outcome;

use super::current::{enter_task, leave_task};
use super::header::{TaskHeader, TaskRun, Waiter};
use super::sleep::SleepPhase;
use super::Task;

type Coroutine<T> = Pin<Box<dyn StdFuture<Output = Result<T, Error>>>>;

/// A task: its header, its future's header, and its coroutine.
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
    let coro: Coroutine<T> = Box::pin(coro);
    // Built in place, after the allocation (`new` would build it first and copy it in).
    let inner = Rc::new_cyclic(|_| TaskInner {
        header: TaskHeader::new(id, site, Rc::downgrade(lp)),
        core: FutureCore::new(Rc::downgrade(lp), site),
        coro: RefCell::new(Some(coro)),
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
        return Task::from_inner(inner);
    }
    let slot = lp.register_task(run.clone());
    inner
        .header
        .slot
        .set(u32::try_from(slot).unwrap_or(u32::MAX));
    lp.record_spawn(id, || inner.header.custom_name(), site);
    inner.header.schedule_step(lp, &run);
    Task::from_inner(inner)
}

/// What a policy may ask of a candidate's task: its name, read only when asked.
impl<T: 'static> CandidateTask for TaskInner<T> {
    fn task_name(&self) -> String {
        self.header.name()
    }
}

impl<T: 'static> TaskRun for TaskInner<T> {
    fn header(&self) -> &TaskHeader {
        &self.header
    }

    fn header_and_future(&self) -> (&TaskHeader, *const ()) {
        (&self.header, std::ptr::from_ref(&self.core).cast())
    }

    fn is_cancelled(&self) -> bool {
        self.core.is_cancelled()
    }

    fn to_any_future(self: Rc<Self>) -> Rc<dyn AnyFuture> {
        self
    }
}

impl<T: 'static> Runnable for TaskInner<T> {
    fn task_id(&self) -> u64 {
        self.header.id
    }

    fn spawned_at(&self) -> &'static Location<'static> {
        self.header.spawned_at
    }

    /// `__step`; `__wakeup` is the same entry (the future's outcome is read by the await that
    /// resumes, not passed in).
    fn step(self: Rc<Self>, lp: &Rc<LoopInner>) {
        let h = &self.header;
        h.scheduled.set(false);
        if self.core.is_done() {
            return;
        }
        h.throw_owed_cancellation();
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

        enter_task(lp, self.clone(), h.id);
        h.running.set(true);
        let polled = {
            let mut slot = self.coro.borrow_mut();
            let Some(coro) = slot.as_mut() else {
                drop(slot);
                h.running.set(false);
                drop(leave_task(lp));
                return;
            };
            let second;
            let waker = match lp.waker_for(&h.waker, h.slot.get(), h.id) {
                Some(waker) => waker,
                None => {
                    second = lp.second_waker_for(h.slot.get(), h.id);
                    &second.waker
                }
            };
            let mut cx = Context::from_waker(waker);
            panics::catch(|| coro.as_mut().poll(&mut cx))
        };
        lp.after_poll(&h.waker);
        h.running.set(false);
        let run = leave_task(lp).unwrap_or_else(|| self.clone());

        h.owe_untaken_throw();

        match polled {
            Ok(Poll::Pending) => {
                lp.record_awaits(h.id, || {
                    let yielded = !h.has_waiter() && h.scheduled.get();
                    (!yielded).then(|| h.describe_wait())
                });
                // `cancel()` during the step found no waiter yet: cancel the one it has now.
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
        let waiters = h.take_waiters();
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

    fn sleep_pending(&self, token: u64) -> bool {
        self.header.sleep_pending(token)
    }

    fn sleep_fired(self: Rc<Self>, token: u64, lp: &LoopInner) {
        let run: Rc<dyn TaskRun> = self;
        run.header().sleep_fired(token, lp, &run);
    }

    fn waiting_task(&self) -> WaitingTask {
        let h = &self.header;
        WaitingTask {
            name: h.name(),
            spawned_at: h.spawned_at,
            suspended_at: h.suspended_at.get(),
            awaiting: h.describe_wait().to_string(),
        }
    }

    fn into_any(self: Rc<Self>) -> Box<dyn Any> {
        let run: Rc<dyn TaskRun> = self;
        Box::new(run)
    }
}

impl<T: 'static> TaskInner<T> {
    /// The end of `__step`: `super().set_result`, `super().set_exception` or
    /// `super().cancel`, then the task leaves the loop.
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
        let this: Rc<DynFuture<T>> = self.clone();
        let _ = FutureCore::complete(&this, state);
        lp.unregister_task(self.header.slot.get() as usize);
    }

    /// `Task.cancel`: cancel the waiter if there is one and it accepts, else owe a
    /// cancellation (`_must_cancel`) that the next step throws.
    pub(crate) fn cancel_impl(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        let h = &self.header;
        self.core.clear_log_traceback();
        if self.core.is_done() {
            return false;
        }
        h.num_cancels_requested
            .set(h.num_cancels_requested.get() + 1);
        let run: Rc<dyn TaskRun> = self.clone();
        let has_waiter = h.has_waiter();
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

/// The rest of the protocol lives on the header, which it needs alone.
impl TaskHeader {
    /// `Task.uncancel`: withdraws one cancellation request; returns how many remain (never
    /// below zero).
    pub(crate) fn uncancel(&self) -> u32 {
        let n = self.num_cancels_requested.get().saturating_sub(1);
        self.num_cancels_requested.set(n);
        n
    }

    /// `Task.cancelling`: how many cancellation requests are pending.
    pub(crate) fn cancelling(&self) -> u32 {
        self.num_cancels_requested.get()
    }

    /// Cancels every waiter; true if any of them accepted (asyncio: `_fut_waiter.cancel()`).
    /// The list stays: a waiter that is a task may refuse, and may need cancelling again.
    pub(crate) fn cancel_waiters(&self, msg: &Option<Rc<str>>, task: &Rc<dyn TaskRun>) -> bool {
        let waiters = self.take_waiters();
        let mut any = false;
        for w in &waiters {
            any |= match w {
                Waiter::Future(f) => f.clone().cancel_any(msg.clone()),
                Waiter::Sleep => self.cancel_sleep(msg, task),
            };
        }
        self.restore_waiters(waiters);
        any
    }

    /// The start of `__step`: a cancellation owed (`_must_cancel`) becomes the exception to
    /// throw.
    #[inline]
    fn throw_owed_cancellation(&self) {
        if self.must_cancel.get() {
            self.throw_cancellation();
        }
    }

    #[cold]
    fn throw_cancellation(&self) {
        self.must_cancel.set(false);
        let throw = match self.take_throw() {
            Some(Error::Cancelled(c)) => Error::Cancelled(c),
            // A pending throw that is not a cancellation gives way to it.
            _ => Error::Cancelled(CancelledError {
                message: self.cancel_msg(),
            }),
        };
        self.set_throw(throw);
    }

    /// After the poll: a cancellation no await took (the coroutine finished, or waits on a
    /// foreign future) is still owed: it becomes a request again, as asyncio's `_must_cancel`.
    #[inline]
    fn owe_untaken_throw(&self) {
        if let Some(exc) = self.take_throw() {
            match exc {
                Error::Cancelled(c) => {
                    self.must_cancel.set(true);
                    self.set_cancel_msg(c.message);
                }
                other => self.set_throw(other),
            }
        }
    }

    /// Schedules the next step with `exc` to throw (asyncio's `call_soon(__step, exc)`).
    pub(crate) fn throw_at_next_step(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>, exc: Error) {
        self.set_throw(exc);
        self.schedule_step(lp, task);
    }

    /// Where the step's throw lands: the awaitable that resumes takes it. A cancellation gives
    /// way to the awaited future's own `CancelledError` (`own_cancel`, and its message): asyncio's
    /// `__wakeup` passes the future's exception to `__step`, and a pending cancellation replaces
    /// it only if it is not a `CancelledError` already.
    #[inline]
    pub(crate) fn land_throw(&self, own_cancel: impl FnOnce() -> Option<Error>) -> Option<Error> {
        match self.take_throw()? {
            Error::Cancelled(task_exc) => Some(own_cancel().unwrap_or(Error::Cancelled(task_exc))),
            exc => Some(exc),
        }
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

    fn settable(&self) -> Option<&FutureCore<T>> {
        None
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
