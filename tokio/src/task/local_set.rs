//! tokio's `LocalSet`. The simulation has one thread, so every task is "local"; the set only
//! keeps track of the tasks spawned through it, for awaiting them all and aborting them on drop.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::join::Abortable;
use super::{spawn_inner, JoinHandle};

/// A set of `!Send` tasks (tokio's `LocalSet`). Awaiting it waits until all its tasks
/// finished; dropping it aborts those still running.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::{cell::Cell, rc::Rc};
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let local = tokio::task::LocalSet::new();
///     let count = Rc::new(Cell::new(0));
///     for _ in 0..3 {
///         let count = count.clone();
///         local.spawn_local(async move { count.set(count.get() + 1) });
///     }
///     local.run_until(async { tokio::task::yield_now().await }).await;
///     local.await;
///     assert_eq!(count.get(), 3);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[derive(Default)]
pub struct LocalSet {
    tasks: RefCell<Vec<Arc<dyn Abortable>>>,
}

impl LocalSet {
    /// An empty set.
    ///
    /// See [`LocalSet`] for an example.
    pub fn new() -> LocalSet {
        LocalSet::default()
    }

    /// Spawns a `!Send` task in the set.
    ///
    /// See [`LocalSet`] for an example.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let handle = spawn_inner(future);
        self.tasks.borrow_mut().push(handle.shared().clone());
        handle
    }

    /// Runs `future` (the set's tasks run beside it, as every task of the loop does).
    ///
    /// See [`LocalSet`] for an example.
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        future.await
    }

    /// Runs `future` to completion on `rt` (tokio's `LocalSet::block_on`).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let local = tokio::task::LocalSet::new();
    /// assert_eq!(local.block_on(&rt, async { 5 }), 5);
    /// # }
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &crate::runtime::Runtime, future: F) -> F::Output {
        rt.block_on(future)
    }
}

impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut tasks = self.tasks.borrow_mut();
        tasks.retain(|t| t.poll_finished(cx).is_pending());
        if tasks.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        for t in self.tasks.borrow().iter() {
            t.abort();
        }
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.tasks.borrow().len())
            .finish()
    }
}
