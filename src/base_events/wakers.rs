//! Wakes from `std::task::Waker`s: foreign futures wake tasks through an inbox the loop drains
//! between entries, and tasks poll with the loop's shared waker until one keeps it.

use std::cell::{OnceCell, Ref};
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use super::LoopInner;

/// Wakes from `std::task::Waker`s (foreign futures) land here; the loop drains them between
/// entries, so a waker never runs anything inline.
///
/// The inbox is also the loop's *shared waker*: tasks poll with it, as whichever task is
/// polling (`slot`, `task_id`), until a poll keeps a clone of it; that task keeps it, and
/// tasks polled later get a [`TaskWaker`] of their own. tulipsim's awaitables never touch the
/// waker, so a program without foreign futures allocates no waker at all.
pub(crate) struct Inbox {
    pub(super) pending: AtomicBool,
    pub(super) woken: Mutex<Vec<Woken>>,
    pub(super) slot: AtomicUsize,
    pub(super) task_id: AtomicU64,
}

impl Inbox {
    pub(super) fn new() -> Arc<Inbox> {
        Arc::new(Inbox {
            pending: AtomicBool::new(false),
            woken: Mutex::new(Vec::new()),
            slot: AtomicUsize::new(0),
            task_id: AtomicU64::new(0),
        })
    }

    fn push(&self, slot: usize, task_id: u64) {
        let mut woken = self
            .woken
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        woken.push((slot, task_id));
        self.pending.store(true, AtomicOrdering::Release);
    }
}

impl Wake for Inbox {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.push(
            self.slot.load(AtomicOrdering::Relaxed),
            self.task_id.load(AtomicOrdering::Relaxed),
        );
    }
}

/// A woken task: its slot in the loop's table and its id (a slot may be reused).
pub(crate) type Woken = (usize, u64);

/// The shared waker once the inbox's own is kept: tasks poll with it, as whichever task is
/// polling, until a poll keeps a clone of it; that task keeps it as its own (its identity is
/// never written again) and the loop makes a fresh one. So after the first keep, a task that
/// keeps no waker (a foreign future that wakes and lets go within its poll, or none) still
/// allocates nothing; one that keeps one costs one allocation, as before.
pub(crate) struct SharedWaker {
    inbox: Arc<Inbox>,
    slot: AtomicUsize,
    task_id: AtomicU64,
}

impl Wake for SharedWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inbox.push(
            self.slot.load(AtomicOrdering::Relaxed),
            self.task_id.load(AtomicOrdering::Relaxed),
        );
    }
}

/// A [`SharedWaker`] and the same as a `Waker`: two owners while nobody else holds it.
pub(crate) struct Shared {
    state: Arc<SharedWaker>,
    pub(crate) waker: Waker,
}

impl Shared {
    fn new(inbox: Arc<Inbox>) -> Shared {
        let state = Arc::new(SharedWaker {
            inbox,
            slot: AtomicUsize::new(0),
            task_id: AtomicU64::new(0),
        });
        let waker = Waker::from(state.clone());
        Shared { state, waker }
    }
}

impl LoopInner {
    /// The waker to poll task `id` (in table slot `slot`) with, if it is the task's own
    /// (`own`) or the inbox's (see [`Inbox`]), now naming the task; `None` once the inbox's
    /// waker was kept: then poll with [`second_waker_for`](Self::second_waker_for)'s. Call
    /// [`after_poll`](Self::after_poll) once the poll is over.
    #[inline]
    pub(crate) fn waker_for<'a>(
        &'a self,
        own: &'a OnceCell<Waker>,
        slot: u32,
        id: u64,
    ) -> Option<&'a Waker> {
        if let Some(waker) = own.get() {
            return Some(waker);
        }
        if self.shared_waker_kept.get() {
            return None;
        }
        // Through one reference: the first store would otherwise make the second reload it.
        let inbox = &*self.inbox;
        inbox.slot.store(slot as usize, AtomicOrdering::Relaxed);
        inbox.task_id.store(id, AtomicOrdering::Relaxed);
        Some(&self.shared_waker)
    }

    /// A task polled with a shared waker keeps it if the poll kept a clone of it.
    #[inline]
    pub(crate) fn after_poll(&self, own: &OnceCell<Waker>) {
        // Until a task keeps it, the inbox has two owners: the loop and `shared_waker`. More,
        // after a poll with it (the task still has none of its own), means the poll kept a
        // clone, which must go on waking this task; after that, a second shared waker is in
        // use, which holds the inbox too.
        if Arc::strong_count(&self.inbox) > 2 && own.get().is_none() {
            if self.shared_waker_kept.get() {
                self.after_second_poll(own);
            } else {
                self.keep_shared_waker(own);
            }
        } else {
            acquire_after_poll();
        }
    }

    #[cold]
    fn keep_shared_waker(&self, own: &OnceCell<Waker>) {
        self.shared_waker_kept.set(true);
        let _ = own.set(self.shared_waker.clone());
    }

    /// The [`SharedWaker`] to poll task `id` (in table slot `slot`) with, once the inbox's
    /// waker was kept ([`waker_for`](Self::waker_for) said `None`), now naming the task.
    /// Borrowed for the poll; [`after_poll`](Self::after_poll) after it.
    #[inline(never)]
    pub(crate) fn second_waker_for(&self, slot: u32, id: u64) -> Ref<'_, Shared> {
        if self.second_waker.borrow().is_none() {
            *self.second_waker.borrow_mut() = Some(Shared::new(self.inbox.clone()));
        }
        let shared = Ref::map(self.second_waker.borrow(), |s| {
            s.as_ref().expect("made just above")
        });
        shared
            .state
            .slot
            .store(slot as usize, AtomicOrdering::Relaxed);
        shared.state.task_id.store(id, AtomicOrdering::Relaxed);
        shared
    }

    /// After a poll with the second shared waker: a kept clone makes it the task's own, and
    /// the next poll makes a fresh one.
    #[inline(never)]
    fn after_second_poll(&self, own: &OnceCell<Waker>) {
        let kept = self
            .second_waker
            .borrow()
            .as_ref()
            .is_some_and(|s| Arc::strong_count(&s.state) > 2);
        if kept {
            if let Some(kept) = self.second_waker.borrow_mut().take() {
                let _ = own.set(kept.waker);
            }
        } else {
            acquire_after_poll();
        }
    }

    /// Runs after every entry, so the check is a plain load; the swap is a locked instruction.
    #[inline]
    pub(super) fn drain_inbox(&self) {
        if self.inbox.pending.load(AtomicOrdering::Relaxed) {
            self.drain_inbox_slow();
        }
    }

    #[cold]
    fn drain_inbox_slow(&self) {
        if !self.inbox.pending.swap(false, AtomicOrdering::Acquire) {
            return;
        }
        // Swapped with a spare the loop keeps, not taken: taking gave every wake a fresh
        // vector (232 instructions of a 2,400-instruction oneshot round trip).
        let mut woken = self.inbox_spare.take();
        mem::swap(
            &mut woken,
            &mut *self
                .inbox
                .woken
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for &(slot, id) in &woken {
            let task = self.tasks.borrow().get(slot).cloned();
            if let Some(task) = task {
                if task.task_id() == id {
                    task.foreign_wake(self);
                }
            }
        }
        woken.clear();
        self.inbox_spare.replace(woken);
    }
}

/// A clone that woke from another thread and was dropped read the polled task's identity
/// before it let go; the next task's identity is written after.
#[inline]
fn acquire_after_poll() {
    std::sync::atomic::fence(AtomicOrdering::Acquire);
}
