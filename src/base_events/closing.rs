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

    /// Takes every entry out in order, keeping the storage.
    fn drain(&mut self) -> impl Iterator<Item = Weak<dyn ClosableFuture>> + '_ {
        self.first.take().into_iter().chain(self.rest.drain(..))
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

/// The container in `cell`, taken out (a default left in its place) when `left` says it holds
/// something.
fn take_if<T: Default>(left: bool, cell: &RefCell<T>) -> Option<T> {
    left.then(|| mem::take(&mut *cell.borrow_mut()))
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
            // sorts nothing, and only what holds something is taken out below.
            let ready_left = !self.ready.borrow().is_empty();
            let timers_left = !self.timers.borrow().is_empty();
            let tasks_left = !self.tasks.borrow().is_empty();
            let futures_left = !self.callback_futures.borrow().is_empty();
            let hooks_left = !self.close_hooks.borrow().is_empty();
            if !(ready_left || timers_left || tasks_left || futures_left || hooks_left) {
                break;
            }
            // Each container is taken out before user `Drop` code runs (it may reach the loop,
            // and what it schedules waits for the next round), and given back emptied, with
            // its storage, for a recycled loop.
            let ready: Option<ReadyQueue> = take_if(ready_left, &self.ready);
            let timers: Option<TimerQueue<TimerAction>> = take_if(timers_left, &self.timers);
            let mut slab: Option<TaskSlab> = take_if(tasks_left, &self.tasks);
            let futures: Option<CallbackFutures> = take_if(futures_left, &self.callback_futures);
            let hooks: Option<Vec<Rc<dyn CloseHook>>> = take_if(hooks_left, &self.close_hooks);
            let tasks = slab.as_mut().map(|slab| {
                let tasks = slab.sorted();
                slab.clear();
                tasks
            });
            for hook in hooks.into_iter().flatten() {
                hook.close();
            }
            if let Some(mut ready) = ready {
                ready.discard_all();
                give_back(&self.ready, ready, ReadyQueue::is_empty);
            }
            if let Some(mut timers) = timers {
                timers.drain().for_each(TimerAction::discard);
                give_back(&self.timers, timers, TimerQueue::is_empty);
            }
            for task in tasks.into_iter().flatten() {
                task.destroy(self);
            }
            if let Some(mut futures) = futures {
                for fut in futures.drain().filter_map(|w| w.upgrade()) {
                    fut.clear_callbacks();
                }
                give_back(&self.callback_futures, futures, CallbackFutures::is_empty);
            }
            if let Some(slab) = slab {
                give_back(&self.tasks, slab, TaskSlab::is_empty);
            }
        }
        self.dispatch_reports();
        Ok(())
    }
}
