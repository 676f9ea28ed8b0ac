//! `Send` handles to the simulation's single-threaded state.
//!
//! tokio's types are `Send` (spawned futures hold them), while tulipsim's loop, streams and
//! timers are `Rc`-based. A [`Local`] is the bridge: it holds only an id, and the value lives in
//! a thread-local table of the thread that made it, the simulation's thread. Using a handle on
//! another thread is a clear panic, never a data race; dropping it there leaves the value to
//! its thread.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Ids are never reused, in any thread, so a stale handle can never see another's value.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static VALUES: RefCell<BTreeMap<u64, Rc<dyn Any>>> = const { RefCell::new(BTreeMap::new()) };
}

/// How many values this thread's table holds (for the leak test).
pub(crate) fn live_on_this_thread() -> usize {
    VALUES.try_with(|v| v.borrow().len()).unwrap_or(0)
}

/// A `Send + Sync` owner of a value that stays on the thread that made it.
pub(crate) struct Local<T: 'static> {
    id: u64,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> Local<T> {
    pub(crate) fn new(value: T) -> Local<T> {
        Local::from_rc(Rc::new(value))
    }

    pub(crate) fn from_rc(value: Rc<T>) -> Local<T> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        VALUES.with(|v| v.borrow_mut().insert(id, value));
        Local {
            id,
            _value: PhantomData,
        }
    }

    /// The value, if this is its thread and it is still there.
    pub(crate) fn try_get(&self) -> Option<Rc<T>> {
        let value = VALUES
            .try_with(|v| v.borrow().get(&self.id).cloned())
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
            .try_with(|v| v.borrow_mut().remove(&self.id))
            .ok()
            .flatten();
        drop(value);
    }
}
