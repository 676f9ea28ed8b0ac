//! The loop's timers: `call_at`'s callbacks and tasks' sleeps, queued by deadline (see
//! `timer_queue.rs`), moved onto the ready queue as their deadlines come.

use std::rc::Rc;

use crate::events::{Handle, HandleInner, TimerHandle};
use crate::ready::Ready;
use crate::scheduler::EntryKind;

use super::{Entry, LoopInner, Runnable};

/// What a timer does when its deadline comes.
pub(super) enum TimerAction {
    Call(Rc<HandleInner>),
    /// A task's sleep, by token; stale once the task's slot moved on.
    Sleep(Rc<dyn Runnable>, u64),
}

impl TimerAction {
    fn cancelled(&self) -> bool {
        match self {
            TimerAction::Call(h) => h.cancelled.get(),
            TimerAction::Sleep(task, token) => !task.sleep_pending(*token),
        }
    }

    fn into_entry(self) -> Entry {
        match self {
            TimerAction::Call(h) => Entry::Call(h),
            TimerAction::Sleep(task, token) => Entry::SleepDone(task, token),
        }
    }

    pub(super) fn discard(self) {
        if let TimerAction::Call(h) = &self {
            h.discard();
        }
    }
}

impl LoopInner {
    /// A sleeper's timer: the timer-jitter fault may make it fire late.
    pub(crate) fn call_at_nanos(
        &self,
        when: i64,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        self.call_at_nanos_as(when, HandleInner::new(callback, Some(when)), true)
    }

    /// A deadline's timer (a timeout's): only the early-timeout fault moves it, where the
    /// timeout is armed, so the timer-jitter fault leaves it alone.
    pub(crate) fn call_at_nanos_exact(
        &self,
        when: i64,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        self.call_at_nanos_as(when, HandleInner::new(callback, Some(when)), false)
    }

    fn call_at_nanos_as(&self, when: i64, inner: Rc<HandleInner>, jittered: bool) -> TimerHandle {
        let handle = Handle {
            inner: inner.clone(),
        };
        if self.closed.get() {
            self.refused_on_closed_loop("call_at");
            handle.cancel();
        } else {
            let when = if jittered { self.jitter(when) } else { when };
            self.push_timer(when, TimerAction::Call(inner));
        }
        TimerHandle { handle }
    }

    pub(crate) fn add_sleep_timer(&self, when: i64, task: Rc<dyn Runnable>, token: u64) {
        if !self.closed.get() {
            let when = self.jitter(when);
            self.push_timer(when, TimerAction::Sleep(task, token));
        }
    }

    fn push_timer(&self, when: i64, action: TimerAction) {
        self.timers.borrow_mut().push(when, action);
    }

    /// The earliest deadline of a live timer, dropping cancelled ones from the head.
    pub(super) fn next_deadline(&self) -> Option<i64> {
        let mut timers = self.timers.borrow_mut();
        while let Some((when, action)) = timers.peek() {
            if !action.cancelled() {
                return Some(when);
            }
            if let Some(action) = timers.pop() {
                action.discard();
            }
        }
        None
    }

    pub(super) fn move_due_timers(&self) {
        let now = self.now.get();
        let mut timers = self.timers.borrow_mut();
        let mut ready = self.ready.borrow_mut();
        while timers.next_when().is_some_and(|when| when <= now) {
            let Some(action) = timers.pop() else { break };
            if !action.cancelled() {
                // Each timer is a group of its own: a policy may reorder it with anything.
                ready.push_back(Ready {
                    entry: action.into_entry(),
                    origin: self.decide.fresh_origin(),
                    kind: EntryKind::Timer,
                });
            }
        }
    }
}
