//! A closed loop made new again for the next run of a sweep, keeping its allocation: what
//! `EventLoop::recycle` does when nothing else holds the loop.
//!
//! Every field is named in one destructuring, without `..`: a field added to [`LoopInner`]
//! does not compile here until its reset is written. `tests/exploration/recycle.rs` runs a
//! set of programs on fresh loops and on one recycled loop, seed by seed, and compares traces,
//! schedules, decisions, times and reports.

use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;
use std::task::Waker;

use crate::config::LoopConfig;
use crate::panics;

use super::wakers::Inbox;
use super::LoopInner;

impl LoopInner {
    /// Resets a closed loop that nothing else holds (the caller has it as `&mut`) to the state
    /// [`LoopInner::new`] gives for `config`.
    pub(crate) fn recycle(&mut self, config: LoopConfig) {
        debug_assert!(self.closed.get() && !self.running.get());
        panics::install_hook();
        let LoopInner {
            ready,
            deferred,
            timers,
            now,
            current_task,
            tasks,
            next_task_id,
            running,
            stopping,
            closed,
            steps,
            config: old_config,
            reports,
            handler,
            fatal,
            has_fatal,
            runs,
            inbox,
            inbox_spare,
            shared_waker,
            shared_waker_kept,
            second_waker,
            callback_futures,
            callback_futures_compacted,
            decide,
            close_hooks,
            generation,
        } = self;
        ready.get_mut().recycle();
        deferred.get_mut().clear();
        timers.get_mut().clear();
        now.set(0);
        current_task.set(None);
        tasks.get_mut().clear();
        next_task_id.set(1);
        running.set(false);
        stopping.set(false);
        closed.set(false);
        steps.set(0);
        reports.get_mut().clear();
        *handler.get_mut() = None;
        *fatal.get_mut() = None;
        has_fatal.set(false);
        runs.set(0);
        // Two owners (the loop and the shared waker) means no waker of the last run is left
        // to wake a task of this one: the inbox can serve again. Otherwise a fresh one. (The
        // second shared waker holds the inbox too: let go of it first.)
        *second_waker.get_mut() = None;
        if Arc::strong_count(inbox) == 2 {
            inbox.reset();
        } else {
            *inbox = Inbox::new();
            *shared_waker = Waker::from(inbox.clone());
        }
        inbox_spare.get_mut().clear();
        shared_waker_kept.set(false);
        callback_futures.get_mut().clear();
        callback_futures_compacted.set(0);
        decide.recycle(&config);
        close_hooks.get_mut().clear();
        *old_config = config;
        *generation += 1;
    }
}

impl Inbox {
    /// The state [`Inbox::new`] gives, for a loop that is recycled.
    fn reset(&self) {
        let mut woken = self
            .woken
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        woken.clear();
        self.pending.store(false, AtomicOrdering::Relaxed);
        self.slot.store(0, AtomicOrdering::Relaxed);
        self.task_id.store(0, AtomicOrdering::Relaxed);
    }
}
