//! The loop's pending tasks, by slot, and task ids.

use std::mem;
use std::rc::Rc;

use super::{LoopInner, Runnable};

/// The pending tasks of a loop, by slot; a done task leaves its slot.
#[derive(Default)]
pub(super) struct TaskSlab {
    slots: Vec<Slot>,
    /// The most recently freed slot, reused first; the free slots chain through `Slot::Free`
    /// rather than a list of their own, which was an allocation per loop.
    free: Option<usize>,
}

enum Slot {
    Task(Rc<dyn Runnable>),
    /// The next free slot, older.
    Free(Option<usize>),
}

impl TaskSlab {
    /// Empties the table, keeping its storage (a recycled loop).
    pub(super) fn clear(&mut self) {
        self.slots.clear();
        self.free = None;
    }

    pub(super) fn insert(&mut self, task: Rc<dyn Runnable>) -> usize {
        match self.free {
            Some(slot) => {
                let old = mem::replace(&mut self.slots[slot], Slot::Task(task));
                if let Slot::Free(next) = old {
                    self.free = next;
                }
                slot
            }
            None => {
                self.slots.push(Slot::Task(task));
                self.slots.len() - 1
            }
        }
    }

    pub(super) fn remove(&mut self, slot: usize) -> Option<Rc<dyn Runnable>> {
        let s = self.slots.get_mut(slot)?;
        if matches!(s, Slot::Free(_)) {
            return None;
        }
        match mem::replace(s, Slot::Free(self.free)) {
            Slot::Task(t) => {
                self.free = Some(slot);
                Some(t)
            }
            Slot::Free(_) => None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| matches!(s, Slot::Free(_)))
    }

    pub(super) fn tasks(&self) -> impl Iterator<Item = &Rc<dyn Runnable>> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Task(t) => Some(t),
            Slot::Free(_) => None,
        })
    }

    pub(super) fn get(&self, slot: usize) -> Option<&Rc<dyn Runnable>> {
        match self.slots.get(slot)? {
            Slot::Task(t) => Some(t),
            Slot::Free(_) => None,
        }
    }

    /// Every pending task in creation order (slot order depends on reuse, ids do not).
    pub(super) fn sorted(&self) -> Vec<Rc<dyn Runnable>> {
        let mut v: Vec<_> = self.tasks().cloned().collect();
        v.sort_by_key(|t| t.task_id());
        v
    }
}

impl LoopInner {
    /// Reserves an id for a task about to be created.
    pub(crate) fn new_task_id(&self) -> u64 {
        let id = self.next_task_id.get();
        self.next_task_id.set(id + 1);
        id
    }

    /// The id of the task whose step is running, if any.
    pub(crate) fn current_task_id(&self) -> Option<u64> {
        self.current_task.get()
    }

    /// Whether a task's step is running.
    pub(crate) fn has_current_task(&self) -> bool {
        self.current_task.get().is_some()
    }

    pub(crate) fn register_task(&self, task: Rc<dyn Runnable>) -> usize {
        self.tasks.borrow_mut().insert(task)
    }

    pub(crate) fn unregister_task(&self, slot: usize) {
        let t = self.tasks.borrow_mut().remove(slot);
        drop(t);
    }

    /// The pending tasks, in creation order.
    pub(crate) fn pending_tasks(&self) -> Vec<Rc<dyn Runnable>> {
        self.tasks.borrow().sorted()
    }
}
