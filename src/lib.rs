//! # tulipsim
//!
//! Deterministic simulation testing for async Rust, on asyncio's model.
//!
//! tulipsim runs your `async` code on a single-threaded event loop with a **virtual clock**
//! (time jumps to the next timer, so an hour of simulated sleeping costs microseconds) and
//! asyncio's **Future / Task / cancellation** semantics: `cancel()` throws `CancelledError` into
//! a task at its current `.await`, where the task may catch it, ignore it or let it escape.
//! Every run is deterministic: the same program gives the same trace, bit for bit.
//!
//! ```
//! use tulipsim::{create_task, sleep, Error, EventLoop};
//!
//! let lp = EventLoop::new();
//! let result = lp.run_until_complete(async {
//!     let worker = create_task(async {
//!         match sleep(3600).await {
//!             Ok(()) => Ok("finished"),
//!             Err(e) if e.is_cancelled() => Ok("cleaned up after cancel"), // caught
//!             Err(e) => Err(e),
//!         }
//!     })?;
//!     sleep(10).await?;
//!     worker.cancel();
//!     worker.await
//! });
//! assert_eq!(result.unwrap(), "cleaned up after cancel");
//! assert_eq!(lp.time(), 10.0); // virtual seconds; no real time passed
//! ```
//!
//! Names follow asyncio's, module by module: [`futures`] (`Future`), [`tasks`] (`Task`,
//! `sleep`, `create_task`), [`events`] (the loop, `EventLoop`, and its handles), [`base_events`]
//! (`ExceptionContext`; the loop's machinery is private),
//! [`exceptions`] (`Error`), [`streams`] (`open_connection`, `start_server`, on a simulated
//! network). `docs/semantics.md` lists every place where tulipsim differs from
//! CPython 3.11's asyncio, and why.
//!
//! ## Coroutines are `async` blocks returning `Result<T, Error>`
//!
//! Python's `result = await fut` is `let result = fut.await?;`; `raise` is `return Err(..)`;
//! `except CancelledError` is matching `Err(Error::Cancelled(_))`. Any `std::error::Error`
//! converts into [`Error`] with `?`.
//!
//! ## Awaiting non-tulipsim futures
//!
//! Foreign futures (a `futures::channel::oneshot`, `tokio::sync::Mutex`, ...) work through
//! their `std::task::Waker`, which schedules the task's next step like any wakeup. A
//! cancellation can only be thrown at a tulipsim awaitable, so a task blocked on a foreign
//! future receives its `CancelledError` at its next tulipsim `.await`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod base_events;
mod config;
mod decision;
pub mod events;
pub mod exceptions;
mod faults;
pub mod futures;
pub mod fuzz;
pub mod harness;
pub mod locks;
mod loop_tasks;
mod panics;
pub mod queues;
mod random;
mod ready;
mod ready_index;
mod runners;
pub mod scheduler;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod streams;
pub mod taskgroups;
pub mod tasks;
pub mod timeouts;
pub mod trace;

pub use base_events::ExceptionContext;
pub use config::{LoopConfig, PanicPolicy};
pub use events::{EventLoop, Handle, IntoDelay, LoopHandle, TimerHandle};
pub use exceptions::{
    CancelledError, DeadlockError, Error, IncompleteReadError, LimitError, LimitOverrunError,
    PanicError, RunnableTask, SendError, SendResult, WaitingTask,
};
pub use faults::{buggify, FaultConfig};
pub use futures::{DoneCallback, Future, Wait};
pub use harness::{
    check, check_factory, exhaustive, Check, Enumeration, Failure, Policy, Summary, Survey,
};
pub use random::{random_bool, random_f64, random_range, random_u64};
pub use runners::run;
pub use taskgroups::{task_group, TaskGroup};
pub use timeouts::{timeout, timeout_at, Timeout};
pub use trace::{Trace, TraceLevel};
/// Runs an `async fn` as a test under the harness, over many seeds: see [`check`].
///
/// ```
/// # use tulipsim::Error;
/// #[tulipsim::test(seeds = 16, policy = "random")]
/// async fn sleeps_add_up() -> Result<(), Error> {
///     let lp = tulipsim::get_running_loop()?;
///     tulipsim::sleep(2).await?;
///     assert_eq!(lp.time(), 2.0);
///     Ok(())
/// }
/// ```
pub use tulipsim_macros::test;
// sync primitives re-exports (locks/, queues.rs)
pub use locks::{
    Barrier, BoundedSemaphore, BoundedSemaphoreGuard, Condition, ConditionGuard, Event, Lock,
    LockGuard, Semaphore, SemaphoreGuard,
};
pub use queues::{LifoQueue, PriorityQueue, Queue};
// asyncio.open_connection, asyncio.start_server, ... (streams/)
pub use streams::{open_connection, start_server, Server, StreamReader, StreamWriter};
pub use tasks::{
    all_tasks, as_completed, create_task, create_task_named, current_task, ensure_future, gather,
    gather_return_exceptions, get_running_loop, shield, sleep, sleep_with, wait, wait_for,
    Awaitable, IntoTimeout, ReturnWhen, Sleep, Task, TaskRef, WaitTask, Waitable, ALL_COMPLETED,
    FIRST_COMPLETED, FIRST_EXCEPTION,
};

/// README.md's examples, compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// docs/exploration.md's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/exploration.md")]
struct ExplorationDoctests;

/// docs/guide.md's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct GuideDoctests;
