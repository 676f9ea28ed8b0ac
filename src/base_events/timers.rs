//! The loop's timers: a heap by deadline, `call_at`'s callbacks and tasks' sleeps, moved onto
//! the ready queue as their deadlines come.

use std::cmp::Ordering;
use std::rc::Rc;

use crate::events::{Handle, HandleInner, TimerHandle};
use crate::ready::Ready;
use crate::scheduler::EntryKind;

use super::{Entry, LoopInner, Runnable};

pub(super) struct Timer {
    when: i64,
    seq: u64,
    action: TimerAction,
}

pub(super) enum TimerAction {
    Call(Rc<HandleInner>),
    /// A task's sleep, by token; stale once the task's slot moved on.
    Sleep(Rc<dyn Runnable>, u64),
}

impl Timer {
    fn cancelled(&self) -> bool {
        match &self.action {
            TimerAction::Call(h) => h.cancelled.get(),
            TimerAction::Sleep(task, token) => !task.sleep_pending(*token),
        }
    }

    fn into_entry(self) -> Entry {
        match self.action {
            TimerAction::Call(h) => Entry::Call(h),
            TimerAction::Sleep(task, token) => Entry::SleepDone(task, token),
        }
    }

    pub(super) fn discard(self) {
        if let TimerAction::Call(h) = &self.action {
            drop(h.take());
        }
    }
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    /// Reversed, so that `BinaryHeap` pops the earliest deadline, and among equal deadlines the
    /// one scheduled first (asyncio leaves that order undefined; see docs/semantics.md).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

impl LoopInner {
    /// A sleeper's timer: the timer-jitter fault may make it fire late.
    pub(crate) fn call_at_nanos(&self, when: i64, callback: Box<dyn FnOnce()>) -> TimerHandle {
        self.call_at_nanos_as(when, callback, true)
    }

    /// A deadline's timer (a timeout's): only the early-timeout fault moves it, where the
    /// timeout is armed, so the timer-jitter fault leaves it alone.
    pub(crate) fn call_at_nanos_exact(
        &self,
        when: i64,
        callback: Box<dyn FnOnce()>,
    ) -> TimerHandle {
        self.call_at_nanos_as(when, callback, false)
    }

    fn call_at_nanos_as(
        &self,
        when: i64,
        callback: Box<dyn FnOnce()>,
        jittered: bool,
    ) -> TimerHandle {
        let inner = HandleInner::new(callback, Some(when));
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
        let seq = self.timer_seq.get();
        self.timer_seq.set(seq + 1);
        self.timers.borrow_mut().push(Timer { when, seq, action });
    }

    /// The earliest deadline of a live timer, dropping cancelled ones from the head.
    pub(super) fn next_deadline(&self) -> Option<i64> {
        let mut timers = self.timers.borrow_mut();
        while let Some(t) = timers.peek() {
            if !t.cancelled() {
                return Some(t.when);
            }
            if let Some(t) = timers.pop() {
                t.discard();
            }
        }
        None
    }

    pub(super) fn move_due_timers(&self) {
        let now = self.now.get();
        let mut timers = self.timers.borrow_mut();
        let mut ready = self.ready.borrow_mut();
        while timers.peek().is_some_and(|t| t.when <= now) {
            let Some(t) = timers.pop() else { break };
            if !t.cancelled() {
                // Each timer is a group of its own: a policy may reorder it with anything.
                ready.push_back(Ready {
                    entry: t.into_entry(),
                    origin: self.decide.fresh_origin(),
                    kind: EntryKind::Timer,
                });
            }
        }
    }
}
