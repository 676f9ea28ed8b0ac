//! The entries of the ready queue: what the loop runs (a task's step or wakeup, a callback, a
//! done-callback, a sleep coming due).

use std::rc::{Rc, Weak};

use crate::events::HandleInner;
use crate::scheduler::EntryKind;

use super::{LoopInner, Runnable};

/// One entry of the ready queue: what asyncio would hold as a `Handle` in `_ready`.
pub(crate) enum Entry {
    /// A task's `__step`: its first step, after a bare yield, or after a foreign wake.
    Step(Rc<dyn Runnable>),
    /// A task's `__wakeup`: a future it awaited is done.
    Wakeup(Rc<dyn Runnable>),
    /// A `call_soon` callback, or a timer whose deadline came.
    Call(Rc<HandleInner>),
    /// A future's done-callback, bound to the future.
    Done(Box<dyn FnOnce()>),
    /// A task's sleep timer came due: completes the sleep's future (see `tasks::SleepSlot`).
    SleepDone(Rc<dyn Runnable>, u64),
    /// `run_until_complete`'s done-callback: stops that loop. A variant of its own rather than
    /// a boxed closure in `Done`, so that a run allocates nothing for it.
    Stop(Weak<LoopInner>),
}

impl Entry {
    /// What a policy sees of this entry (a timer coming due is marked by the loop itself).
    pub(super) fn kind(&self) -> EntryKind {
        match self {
            Entry::Step(_) => EntryKind::Step,
            Entry::Wakeup(_) => EntryKind::Wakeup,
            Entry::Call(_) => EntryKind::Callback,
            Entry::Done(_) | Entry::Stop(_) => EntryKind::DoneCallback,
            Entry::SleepDone(..) => EntryKind::Timer,
        }
    }

    /// Frees what the entry holds without running it; a callback is taken out first so that a
    /// closure holding its own handle cannot keep itself alive.
    pub(crate) fn discard(self) {
        if let Entry::Call(h) = &self {
            h.discard();
        }
        drop(self);
    }
}
