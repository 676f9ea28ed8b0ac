//! tokio's `task` module on tulipsim: every spawned task is a task of the simulation's loop,
//! so policies reorder it, traces show it and deadlock reports name it.
//!
//! The cancellation model is tokio's, not asyncio's: [`JoinHandle::abort`] makes the task drop
//! its future at its next scheduling point, and awaiting the handle then gives a cancelled
//! [`JoinError`]. Dropping a `JoinHandle` detaches the task, as in tokio. A panic in a task
//! fails the simulated run at once by default (it is a bug, and the report names the task, its
//! spawn site and the seed); under `PanicPolicy::Capture` it becomes `JoinError::Panic`.
//!
//! ```
//! # use tulipsim_tokio as tokio;
//! # #[cfg(tulipsim)] {
//! use std::time::Duration;
//! tulipsim::EventLoop::new().run_until_complete(async {
//!     let worker = tokio::spawn(async {
//!         tokio::time::sleep(Duration::from_secs(60)).await;
//!         "done"
//!     });
//!     tokio::task::yield_now().await;
//!     assert!(!worker.is_finished());
//!     assert_eq!(worker.await.unwrap(), "done");
//!     Ok(())
//! }).unwrap();
//! # }
//! ```

mod join;
mod join_set;
mod local_set;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use join::{Abortable, Runner, Shared};
pub use join::{Id, JoinError};
pub use join_set::JoinSet;
pub use local_set::LocalSet;
pub use tokio::task::LocalKey;

/// Spawns `future` as a new task of the running simulation (tokio's `spawn`).
///
/// Panics outside a simulation (no running tulipsim loop), as tokio's panics outside a runtime.
///
/// See the [module docs](self) for an example.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_inner(future)
}

/// Spawns a `!Send` future (tokio's `spawn_local`). The simulation has one thread, so no
/// `LocalSet` is needed around it (tokio panics without one).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::rc::Rc;
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let shared = Rc::new(5);
///     let h = tokio::task::spawn_local(async move { *shared * 2 });
///     assert_eq!(h.await.unwrap(), 10);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_inner(future)
}

/// Runs `f` as a task (tokio's `spawn_blocking`). There are no blocking threads in the
/// simulation: `f` runs on the simulation's thread when the task is first scheduled, and
/// virtual time does not move while it runs.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let sum = tokio::task::spawn_blocking(|| (1..=10).sum::<u32>()).await.unwrap();
///     assert_eq!(sum, 55);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_inner(async move { f() })
}

/// Runs `f` in place (tokio's `block_in_place`): the simulation has one thread anyway.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// assert_eq!(tokio::task::block_in_place(|| 6 * 7), 42);
/// # }
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    f()
}

#[track_caller]
pub(crate) fn spawn_inner<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = Shared::new();
    let runner = Runner::Running {
        future,
        shared: shared.clone(),
    };
    let task = match tulipsim::create_task(runner) {
        Ok(task) => task,
        Err(_) => panic!(
            "tokio::spawn: there is no running simulation. With tulipsim-tokio (--cfg tulipsim), \
             tasks are spawned inside #[tokio::test], #[tokio::main], Runtime::block_on or a \
             tulipsim event loop"
        ),
    };
    // tokio drops a runtime's unfinished tasks at shutdown without a word.
    task.set_log_destroy_pending(false);
    shared.set_id(task.to_ref().id());
    let on_done = shared.clone();
    task.add_done_callback(move |t: &tulipsim::Future<()>| {
        let id = on_done.id();
        match t.exception() {
            Ok(None) => {}
            Ok(Some(tulipsim::Error::Panic(p))) => {
                on_done.finish(Err(JoinError::panic(id, Box::new(p.message().to_string()))))
            }
            // Cancelled the asyncio way (by tulipsim's `run()` at shutdown, or through
            // `all_tasks()`), or failed in the runner: either way the value never comes.
            Ok(Some(_)) | Err(_) => on_done.finish(Err(JoinError::cancelled(id))),
        }
    });
    JoinHandle { shared }
}

/// An owned permission to join a task (tokio's `JoinHandle`): awaiting it gives the task's
/// value, or a [`JoinError`] if it was aborted or panicked. Dropping it detaches the task.
///
/// See the [module docs](self) for an example.
pub struct JoinHandle<T> {
    shared: Arc<Shared<T>>,
}

impl<T> JoinHandle<T> {
    /// Aborts the task: it drops its future at its next scheduling point; awaiting the handle
    /// gives a cancelled [`JoinError`]. A task that already finished keeps its value.
    ///
    /// See [`JoinError`] for an example.
    pub fn abort(&self) {
        self.shared.abort()
    }

    /// True once the task finished (returned, was aborted, or panicked).
    ///
    /// See the [module docs](self) for an example.
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }

    /// The task's id.
    ///
    /// See [`Id`] for an example.
    pub fn id(&self) -> Id {
        self.shared.id()
    }

    /// A handle that can abort the task without owning its result.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let handle = tokio::spawn(std::future::pending::<()>());
    ///     let aborter = handle.abort_handle();
    ///     aborter.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    ///     assert!(aborter.is_finished());
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn abort_handle(&self) -> AbortHandle
    where
        T: Send + 'static,
    {
        AbortHandle {
            task: self.shared.clone(),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared<T>> {
        &self.shared
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.shared.poll_join(cx)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Aborts a task without owning its result (tokio's `AbortHandle`).
///
/// See [`JoinHandle::abort_handle`] for an example.
#[derive(Clone)]
pub struct AbortHandle {
    task: Arc<dyn Abortable + Send + Sync>,
}

impl AbortHandle {
    /// Aborts the task; see [`JoinHandle::abort`].
    ///
    /// See [`JoinHandle::abort_handle`] for an example.
    pub fn abort(&self) {
        self.task.abort()
    }

    /// True once the task finished.
    ///
    /// See [`JoinHandle::abort_handle`] for an example.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's id.
    ///
    /// See [`Id`] for an example.
    pub fn id(&self) -> Id {
        self.task.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// The id of the running task; panics outside a task (tokio's `task::id`).
///
/// See [`Id`] for an example.
#[track_caller]
pub fn id() -> Id {
    try_id().expect("tokio::task::id() called outside of a task")
}

/// The id of the running task, if any.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// assert!(tokio::task::try_id().is_none()); // no simulation is running here
/// # }
/// ```
pub fn try_id() -> Option<Id> {
    tulipsim::current_task().map(|t| Id(t.id()))
}

/// Yields once: the task is scheduled again behind everything already ready (tokio's
/// `yield_now`; in the simulation, a scheduling point that policies may reorder around).
///
/// See the [module docs](self) for an example.
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// tokio's cooperative budget does not exist in the simulation (the scheduler decides every
/// switch): this returns at once.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tulipsim::EventLoop::new().run_until_complete(async {
///     tokio::task::consume_budget().await;
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub async fn consume_budget() {}

/// `future` itself: there is no cooperative budget to lift in the simulation.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tulipsim::EventLoop::new().run_until_complete(async {
///     assert_eq!(tokio::task::unconstrained(async { 3 }).await, 3);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub fn unconstrained<F: Future>(future: F) -> F {
    future
}
