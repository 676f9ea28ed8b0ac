//! `Send` handles to the simulation's single-threaded state.
//!
//! tokio's types are `Send` (spawned futures hold them), while tulipsim's loop, streams and
//! timers are `Rc`-based. A [`Local`] is the bridge: it holds only an id, and the value lives in
//! a thread-local table of the thread that made it, the simulation's thread. Using a handle on
//! another thread is a clear panic, never a data race; dropping it there leaves the value to
//! its thread.

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Ids are never reused, in any thread, so a stale handle can never see another's value.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A thread's values, in slots reused through a free list: every timer, socket and listener
/// of a simulation lives here, so a lookup must cost an index, not a search. A slot's id says
/// whose value it holds now; a handle whose id differs (its value gone, or made on another
/// thread) sees nothing.
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

struct Slot {
    id: u64,
    value: Option<Rc<dyn Any>>,
}

impl Table {
    const fn new() -> Table {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    fn insert(&mut self, id: u64, value: Rc<dyn Any>) -> u32 {
        self.live += 1;
        let slot = Slot {
            id,
            value: Some(value),
        };
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = slot;
            return i;
        }
        self.slots.push(slot);
        u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 simulated resources")
    }

    fn get(&self, slot: u32, id: u64) -> Option<&Rc<dyn Any>> {
        let s = self.slots.get(slot as usize)?;
        if s.id == id {
            s.value.as_ref()
        } else {
            None
        }
    }

    fn remove(&mut self, slot: u32, id: u64) -> Option<Rc<dyn Any>> {
        let s = self.slots.get_mut(slot as usize)?;
        if s.id != id {
            return None;
        }
        s.id = 0;
        let value = s.value.take();
        self.free.push(slot);
        self.live -= 1;
        value
    }
}

thread_local! {
    static VALUES: RefCell<Table> = const { RefCell::new(Table::new()) };
}

/// How many values this thread's table holds (for the leak test).
pub(crate) fn live_on_this_thread() -> usize {
    VALUES.try_with(|v| v.borrow().live).unwrap_or(0)
}

/// A `Send + Sync` owner of a value that stays on the thread that made it.
pub(crate) struct Local<T: 'static> {
    id: u64,
    slot: u32,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> Local<T> {
    pub(crate) fn new(value: T) -> Local<T> {
        Local::from_rc(Rc::new(value))
    }

    pub(crate) fn from_rc(value: Rc<T>) -> Local<T> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let slot = VALUES.with(|v| v.borrow_mut().insert(id, value));
        Local {
            id,
            slot,
            _value: PhantomData,
        }
    }

    /// The value, if this is its thread and it is still there.
    pub(crate) fn try_get(&self) -> Option<Rc<T>> {
        let value = VALUES
            .try_with(|v| v.borrow().get(self.slot, self.id).cloned())
            .ok()
            .flatten()?;
        value.downcast::<T>().ok()
    }

    /// The value; panics, naming the type, on another thread.
    #[track_caller]
    pub(crate) fn get(&self) -> Rc<T> {
        self.try_get().unwrap_or_else(|| {
            panic!(
                "tulipsim-tokio: a simulated {} was used on a thread other than the simulation's \
                 (std::thread inside a simulated program cannot be simulated; see docs/tokio.md)",
                std::any::type_name::<T>()
            )
        })
    }
}

impl<T: 'static> Drop for Local<T> {
    fn drop(&mut self) {
        // Taken out first and dropped after the table's borrow ends: dropping the value may
        // drop other handles.
        let value = VALUES
            .try_with(|v| v.borrow_mut().remove(self.slot, self.id))
            .ok()
            .flatten();
        drop(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_is_invisible_to_the_handle_of_its_last_value() {
        let old = Local::new(1u32);
        let (slot, id) = (old.slot, old.id);
        drop(old);
        let new = Local::new(2u32);
        assert_eq!(new.slot, slot, "the freed slot is reused");
        let stale = Local::<u32> {
            id,
            slot,
            _value: PhantomData,
        };
        assert!(stale.try_get().is_none());
        // Dropping the stale handle must not free the slot's new value.
        drop(stale);
        assert_eq!(*new.get(), 2);
        assert_eq!(live_on_this_thread(), 1);
        drop(new);
        assert_eq!(live_on_this_thread(), 0);
    }

    #[test]
    fn a_handle_used_on_another_thread_sees_nothing_and_get_names_the_type() {
        let here = Local::new(String::from("sim"));
        let there = Local::new(7u64);
        let (seen, message) = std::thread::spawn(move || {
            // A value of the same type in the same slot on this thread must not be seen.
            let _decoy = Local::new(String::from("decoy"));
            let seen = here.try_get().is_none();
            let message = std::panic::catch_unwind(|| there.get())
                .err()
                .and_then(|p| p.downcast::<String>().ok());
            (seen, message)
        })
        .join()
        .unwrap();
        assert!(seen);
        assert!(message.unwrap().contains("u64"));
    }
}
