//! asyncio's synchronization primitives, mirroring `locks.py`: [`Lock`], [`Event`],
//! [`Condition`], [`Semaphore`], [`BoundedSemaphore`] and [`Barrier`] (in `locks/barrier.rs`).
//!
//! Each is CPython 3.11's class ported line by line: the same deque of waiter futures, woken
//! with `set_result` in the same order, and the same handling of a waiter that is cancelled
//! while it waits (its wake-up is passed to the next waiter). Tasks therefore take turns
//! exactly as they do under asyncio, hop for hop, and every primitive is FIFO-fair: waiters are
//! served in the order they started waiting.
//!
//! Handles are cheap clones of one shared primitive, so one lock can be moved into several
//! tasks. `acquire()`/`wait()` return awaitables that own such a clone, so they can be passed
//! to [`create_task`](crate::create_task) directly. Python's `async with lock:` is a guard:
//! `let _guard = lock.lock().await?;` releases when the guard is dropped.
//!
//! Misuse returns an error with CPython's message and never panics: releasing an unlocked
//! [`Lock`] is `Error::Runtime("Lock is not acquired.")`, a [`BoundedSemaphore`] released too
//! often is `Error::Value`.
//!
//! A primitive belongs to the loop on which it first had to wait (asyncio's
//! `_LoopBoundMixin`); making a task of another loop wait on it is `Error::Runtime`.
//!
//! ## Dropping an awaitable while it waits
//!
//! Rust can drop an `.await` half-way (`select!` drops the losing branch), which asyncio
//! cannot do to a coroutine. A dropped `acquire()` or `wait()` behaves as if it had been
//! cancelled at that moment: it leaves the queue, and a wake-up it had already received goes to
//! the next waiter, so dropping never strands the others. A dropped [`Condition::wait`] can
//! only reacquire its lock if the lock is free at once (it cannot await in `drop`).
//!
//! One file per primitive, as `locks.py` names them: [`Lock`] (`lock.rs`), [`Event`]
//! (`event.rs`), [`Condition`] (`condition.rs`), [`Semaphore`] and [`BoundedSemaphore`]
//! (`semaphore.rs`), [`Barrier`] (`barrier.rs`). What they share, asyncio's `_LoopBoundMixin`
//! and the waiter bookkeeping behind every `async with`, is in `mixins.rs`; `queues.rs` and the
//! streams use it too.

mod barrier;
mod condition;
mod event;
mod lock;
mod mixins;
mod semaphore;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub(crate) use mixins::{remove_waiter, wake, LoopBound, WaiterAwait};
pub use semaphore::{BoundedSemaphore, BoundedSemaphoreGuard, Semaphore, SemaphoreGuard};
