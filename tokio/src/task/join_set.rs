//! tokio's `JoinSet`: tasks joined in the order they finish.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::join::{Id, JoinError};
use super::{spawn_inner, AbortHandle, JoinHandle};

/// The ids of finished tasks, in finishing order, and the waker of a waiting `join_next`.
#[derive(Default)]
struct Finished {
    ids: VecDeque<Id>,
    waker: Option<Waker>,
}

/// A set of tasks, joined in the order they finish (tokio's `JoinSet`). Dropping the set
/// aborts every task still in it.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::task::JoinSet;
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let mut set = JoinSet::new();
///     for secs in [3u64, 1, 2] {
///         set.spawn(async move {
///             tokio::time::sleep(Duration::from_secs(secs)).await;
///             secs
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(r) = set.join_next().await {
///         order.push(r.unwrap());
///     }
///     assert_eq!(order, [1, 2, 3]);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub struct JoinSet<T> {
    tasks: BTreeMap<Id, JoinHandle<T>>,
    finished: Arc<Mutex<Finished>>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet {
            tasks: BTreeMap::new(),
            finished: Arc::default(),
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    ///
    /// See [`JoinSet`] for an example.
    pub fn new() -> JoinSet<T> {
        JoinSet::default()
    }

    /// How many tasks are in the set (finished ones stay until joined).
    ///
    /// See [`abort_all`](Self::abort_all) for an example.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if the set holds no task.
    ///
    /// See [`abort_all`](Self::abort_all) for an example.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Spawns `future` into the set (tokio's `JoinSet::spawn`).
    ///
    /// See [`JoinSet`] for an example.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        let handle = spawn_inner(future);
        let abort = handle.abort_handle();
        self.insert(handle);
        abort
    }

    /// Spawns a `!Send` future into the set.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     let local = std::rc::Rc::new(7);
    ///     set.spawn_local(async move { *local });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(spawn_inner(future));
    }

    /// Runs `f` as a task of the set; see [`spawn_blocking`](super::spawn_blocking).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     set.spawn_blocking(|| 1 + 1);
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 2);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.spawn(async move { f() })
    }

    /// A task is told where to report its end before it can run: `spawn` only schedules it.
    fn insert(&mut self, handle: JoinHandle<T>) {
        let finished = Arc::downgrade(&self.finished);
        handle.shared().set_on_finish(Arc::new(move |id| {
            if let Some(finished) = finished.upgrade() {
                let waker = {
                    let mut f = finished.lock().unwrap_or_else(|e| e.into_inner());
                    f.ids.push_back(id);
                    f.waker.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }));
        self.tasks.insert(handle.id(), handle);
    }

    /// Waits for the next task to finish and gives its result; `None` if the set is empty.
    ///
    /// See [`JoinSet`] for an example.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next) that also gives the task's id.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     let id = set.spawn(async { 1 }).id();
    ///     assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, 1));
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The next finished task's result, if one has finished; never waits.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     assert!(set.try_join_next().is_none()); // not run yet
    ///     tokio::task::yield_now().await;
    ///     assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let id = self.lock().ids.pop_front()?;
        self.take(id).map(|r| r.map(|(_, v)| v))
    }

    /// Polls for the next finished task: `Ready(None)` if the set is empty.
    ///
    /// See [`JoinSet`] for an example (through `join_next`).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|r| r.map(|r| r.map(|(_, v)| v)))
    }

    /// [`poll_join_next`](Self::poll_join_next) that also gives the task's id.
    ///
    /// See [`join_next_with_id`](Self::join_next_with_id) for an example.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        loop {
            if self.tasks.is_empty() {
                return Poll::Ready(None);
            }
            let next = {
                let mut f = self.lock();
                let next = f.ids.pop_front();
                if next.is_none() {
                    f.waker = Some(cx.waker().clone());
                }
                next
            };
            match next {
                None => return Poll::Pending,
                Some(id) => {
                    if let Some(r) = self.take(id) {
                        return Poll::Ready(Some(r));
                    }
                }
            }
        }
    }

    fn take(&mut self, id: Id) -> Option<Result<(Id, T), JoinError>> {
        let handle = self.tasks.remove(&id)?;
        let result = handle.shared().try_take()?;
        Some(result.map(|v| (id, v)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Finished> {
        self.finished.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Aborts every task in the set; they stay in it until joined (as cancelled).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     assert_eq!(set.len(), 1);
    ///     set.abort_all();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    ///     assert!(set.is_empty());
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn abort_all(&mut self) {
        self.tasks.values().for_each(JoinHandle::abort);
    }

    /// Removes every task from the set without aborting it.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     set.detach_all();
    ///     assert!(set.join_next().await.is_none());
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn detach_all(&mut self) {
        self.tasks.clear();
        self.lock().ids.clear();
    }

    /// Aborts every task and waits until all have finished.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and gives their values in finishing order; panics (resuming the
    /// task's panic message) if one failed, as tokio's does.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let mut set = tokio::task::JoinSet::new();
    ///     set.spawn(async { 2 });
    ///     set.spawn(async { 1 });
    ///     assert_eq!(set.join_all().await, [2, 1]);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("{e}"),
            }
        }
        out
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.tasks.values().for_each(JoinHandle::abort);
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}
