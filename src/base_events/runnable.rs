//! What the loop runs as a task, seen from below: [`Runnable`]. The loop defines it and holds
//! tasks only through it; `tasks` implements it (asyncio's loop likewise knows a task only as
//! the `__step` callbacks it schedules).
//!
//! A task floor above may need its own view of a task back from the loop (`all_tasks()`), a
//! type the loop cannot name: [`Runnable::into_any`] hands it over boxed, on that rare path
//! only. The hot path never comes back down for a task: a step keeps the task in hand, and
//! the task whose step is running is kept by `tasks`, as asyncio's `_current_tasks` is.

use std::any::Any;
use std::panic::Location;
use std::rc::Rc;

use crate::exceptions::WaitingTask;
use crate::scheduler::CandidateTask;

use super::LoopInner;

/// A task as the loop holds it: in its ready queue (a step, a wakeup, a sleep coming due), its
/// timers and its table of pending tasks. A policy sees it as a [`CandidateTask`].
///
/// Lifecycle: registered when created, a step scheduled at once; stepped each time an entry
/// of it runs; `destroy`ed if the loop closes while it is pending.
pub(crate) trait Runnable: CandidateTask {
    /// The task's id (creation order, from 1).
    fn task_id(&self) -> u64;
    fn spawned_at(&self) -> &'static Location<'static>;
    /// asyncio's `__step` (and `__wakeup`, which only calls it).
    fn step(self: Rc<Self>, lp: &Rc<LoopInner>);
    /// asyncio's `Task.cancel` (the spurious-cancellation fault calls it).
    fn cancel_task(self: Rc<Self>, msg: Option<Rc<str>>) -> bool;
    fn is_done(&self) -> bool;
    /// A `std::task::Waker` of this task was woken: schedule a step unless one is coming.
    fn foreign_wake(self: Rc<Self>, lp: &LoopInner);
    /// Whether the sleep its timer `token` was started for still waits (else the timer is
    /// stale: the sleep was cancelled, or the task moved on).
    fn sleep_pending(&self, token: u64) -> bool;
    /// The timer of sleep `token` came due.
    fn sleep_fired(self: Rc<Self>, token: u64, lp: &LoopInner);
    /// The loop is closing with this task still pending: free its coroutine and callbacks.
    fn destroy(self: Rc<Self>, lp: &LoopInner);
    /// What a deadlock report says of it.
    fn waiting_task(&self) -> WaitingTask;
    /// The task as the floor that made it sees it, boxed (see the module's doc).
    fn into_any(self: Rc<Self>) -> Box<dyn Any>;
}
