//! What `close()` frees: queued entries, timers, pending tasks, the callbacks of pending
//! futures (seen as [`ClosableFuture`]), and what registered a close hook (the simulated
//! network).

use std::any::Any;
use std::cell::RefCell;
use std::mem;
use std::rc::{Rc, Weak};

use crate::exceptions::Error;
use crate::ready::ReadyQueue;

use super::task_slab::TaskSlab;
use super::timer_queue::TimerQueue;
use super::timers::TimerAction;
use super::LoopInner;

/// The futures registered for `close()`, in registration order. The first is kept inline: a
/// run usually registers one (the main future, for `run_until_complete`'s stop callback),
/// and a fresh loop should not allocate for it.
#[derive(Default)]
pub(super) struct CallbackFutures {
    first: Option<Weak<dyn ClosableFuture>>,
    rest: Vec<Weak<dyn ClosableFuture>>,
}

impl CallbackFutures {
    fn push(&mut self, fut: Weak<dyn ClosableFuture>) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(fut);
        } else {
            self.rest.push(fut);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// In place: rebuilding the list made every compaction grow a fresh vector from nothing
    /// (issue #20: a fifth of a `wait_for`'s allocator time). A dropped `first` leaves the
    /// survivors in `rest`, still after it in order, which `push` and `into_iter` allow.
    fn retain(&mut self, mut keep: impl FnMut(&Weak<dyn ClosableFuture>) -> bool) {
        self.first = self.first.take().filter(&mut keep);
        self.rest.retain(keep);
    }

    /// Empties the list, keeping its storage (a recycled loop).
    pub(super) fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }

    fn into_iter(self) -> impl Iterator<Item = Weak<dyn ClosableFuture>> {
        self.first.into_iter().chain(self.rest)
    }
}

/// What the loop sees of a future whose callbacks it must free at `close()`: the futures
/// floor's erased future (`futures::AnyFuture`) extends it, and registers with
/// [`LoopInner::register_callback_future`] when it first holds a callback.
pub(crate) trait ClosableFuture {
    fn is_done(&self) -> bool;
    /// Drops every done-callback (they may hold user values).
    fn clear_callbacks(&self);
}

/// Something kept by a loop, made on first use, that must be shut when the loop closes: the
/// loop holds it without knowing what it is (the simulated network registers itself so).
pub(crate) trait CloseHook: Any {
    /// The loop is closing: free whatever may hold user values (a server's handler may hold
    /// anything, its own server included).
    fn close(&self);
}

/// Puts an emptied container back into the loop, unless something was added in its place
/// meanwhile (nothing is, on a closed loop: then it is freed as before).
fn give_back<T>(slot: &RefCell<T>, emptied: T, is_empty: impl Fn(&T) -> bool) {
    let mut slot = slot.borrow_mut();
    if is_empty(&slot) {
        *slot = emptied;
    }
}

impl LoopInner {
    /// The loop's `T`, made with `make` and registered to be closed with the loop on first use.
    pub(crate) fn close_hook<T: CloseHook>(&self, make: impl FnOnce() -> T) -> Rc<T> {
        for hook in self.close_hooks.borrow().iter() {
            let any: Rc<dyn Any> = hook.clone();
            if let Ok(found) = any.downcast::<T>() {
                return found;
            }
        }
        let made = Rc::new(make());
        self.close_hooks.borrow_mut().push(made.clone());
        made
    }

    pub(crate) fn register_callback_future(&self, fut: Weak<dyn ClosableFuture>) {
        let mut v = self.callback_futures.borrow_mut();
        v.push(fut);
        if v.len() >= 2 * self.callback_futures_compacted.get().max(32) {
            v.retain(|w| w.upgrade().is_some_and(|f| !f.is_done()));
            self.callback_futures_compacted.set(v.len());
        }
    }

    /// Frees everything the loop holds: queued entries, timers, pending tasks (reported as
    /// destroyed while pending) and the callbacks of pending futures. Repeats until nothing
    /// is left, since freeing user values may schedule more.
    pub(crate) fn close(&self) -> Result<(), Error> {
        if self.running.get() {
            return Err(Error::runtime("Cannot close a running event loop"));
        }
        if self.closed.replace(true) {
            return Ok(());
        }
        loop {
            // Checked in place, so that closing an idle loop (the end of most runs) moves and
            // sorts nothing.
            if self.ready.borrow().is_empty()
                && self.timers.borrow().is_empty()
                && self.tasks.borrow().is_empty()
                && self.callback_futures.borrow().is_empty()
                && self.close_hooks.borrow().is_empty()
            {
                break;
            }
            // Each container is taken out before user `Drop` code runs (it may reach the loop),
            // and given back emptied, with its storage, for a recycled loop.
            let mut ready = mem::take(&mut *self.ready.borrow_mut());
            // The timer queue is the loop's largest field: moved only when it holds timers
            // (nothing pushes one on a closed loop).
            let has_timers = !self.timers.borrow().is_empty();
            let mut timers = has_timers.then(|| mem::take(&mut *self.timers.borrow_mut()));
            let mut slab = mem::take(&mut *self.tasks.borrow_mut());
            let tasks = slab.sorted();
            slab.clear();
            let futures = mem::take(&mut *self.callback_futures.borrow_mut());
            let hooks = mem::take(&mut *self.close_hooks.borrow_mut());
            for hook in hooks {
                hook.close();
            }
            ready.discard_all();
            if let Some(timers) = &mut timers {
                timers.drain().for_each(TimerAction::discard);
            }
            for task in tasks {
                task.destroy(self);
            }
            for fut in futures.into_iter().filter_map(|w| w.upgrade()) {
                fut.clear_callbacks();
            }
            give_back(&self.ready, ready, ReadyQueue::is_empty);
            if let Some(timers) = timers {
                give_back(&self.timers, timers, TimerQueue::is_empty);
            }
            give_back(&self.tasks, slab, TaskSlab::is_empty);
        }
        self.dispatch_reports();
        Ok(())
    }
}
