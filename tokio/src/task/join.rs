//! A task's result, shared between the task (which fills it) and its `JoinHandle` (which takes
//! it): `Arc<Mutex<..>>`, because tokio's handles are `Send`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A task's id, unique within a simulation run: tulipsim's task id, so it is the number the
/// trace and deadlock reports show.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use tokio::task;
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let handle = task::spawn(async { task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), id);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub(crate) u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

enum Repr {
    Cancelled,
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

/// Why a task did not give its value: it was aborted, or it panicked (tokio's `JoinError`).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let handle = tokio::spawn(std::future::pending::<()>());
///     handle.abort();
///     let err = handle.await.unwrap_err();
///     assert!(err.is_cancelled() && !err.is_panic());
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub struct JoinError {
    repr: Repr,
    id: Id,
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
            id,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
            id,
        }
    }

    /// True if the task was aborted.
    ///
    /// See [`JoinError`] for an example.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked (possible only under `PanicPolicy::Capture`: by default a
    /// panic fails the simulated run at once, as a bug should).
    ///
    /// See [`JoinError`] for an example.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic's payload (its message, as a `String`); panics if the task was aborted.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use tulipsim::{EventLoop, LoopConfig, PanicPolicy};
    /// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    /// lp.run_until_complete(async {
    ///     let err = tokio::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     assert_eq!(err.into_panic().downcast_ref::<String>().unwrap(), "boom");
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError` reason is not a panic.")
    }

    /// The panic's payload, or the error back if the task was aborted.
    ///
    /// See [`into_panic`](Self::into_panic) for an example.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            repr => Err(JoinError { repr, id: self.id }),
        }
    }

    /// The id of the task that failed.
    ///
    /// See [`JoinError`] for an example.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(p) => {
                let p = p.lock().unwrap_or_else(|e| e.into_inner());
                match panic_message(&**p) {
                    Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                    None => write!(f, "task {} panicked", self.id),
                }
            }
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(_) => write!(f, "JoinError::Panic({:?}, ...)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}

fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied())
}

/// Told when a task finishes (a `JoinSet` collects its tasks in the order they finish).
pub(crate) type OnFinish = Arc<dyn Fn(Id) + Send + Sync>;

pub(crate) struct State<T> {
    result: Option<Result<T, JoinError>>,
    finished: bool,
    /// `JoinHandle::abort` was called: the task drops its future at its next poll.
    abort: bool,
    join_waker: Option<Waker>,
    /// The waker the task was last polled with: an abort wakes it.
    task_waker: Option<Waker>,
    /// Others waiting for the end (a `LocalSet` awaited as a whole).
    watchers: Vec<Waker>,
    on_finish: Option<OnFinish>,
}

/// What a task and its handles share.
pub(crate) struct Shared<T> {
    id: AtomicU64,
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    pub(crate) fn new() -> Arc<Shared<T>> {
        Arc::new(Shared {
            id: AtomicU64::new(0),
            state: Mutex::new(State {
                result: None,
                finished: false,
                abort: false,
                join_waker: None,
                task_waker: None,
                watchers: Vec::new(),
                on_finish: None,
            }),
        })
    }

    pub(crate) fn id(&self) -> Id {
        Id(self.id.load(Ordering::Relaxed))
    }

    pub(crate) fn set_id(&self, id: u64) {
        self.id.store(id, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding it; a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_on_finish(&self, f: OnFinish) {
        self.lock().on_finish = Some(f);
    }

    /// The task is over: store its result (once) and wake whoever waits.
    pub(crate) fn finish(&self, result: Result<T, JoinError>) {
        let (join_waker, watchers, on_finish) = {
            let mut s = self.lock();
            if s.finished {
                return;
            }
            s.finished = true;
            s.result = Some(result);
            s.task_waker = None;
            (
                s.join_waker.take(),
                std::mem::take(&mut s.watchers),
                s.on_finish.take(),
            )
        };
        if let Some(f) = on_finish {
            f(self.id());
        }
        join_waker.into_iter().chain(watchers).for_each(Waker::wake);
    }

    /// For the task, before each poll: `true` if it was aborted. Keeps the poll's waker.
    pub(crate) fn before_poll(&self, cx: &Context<'_>) -> bool {
        let mut s = self.lock();
        if s.abort {
            return true;
        }
        if !s
            .task_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            s.task_waker = Some(cx.waker().clone());
        }
        false
    }

    pub(crate) fn poll_join(&self, cx: &Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut s = self.lock();
        if let Some(r) = s.result.take() {
            return Poll::Ready(r);
        }
        assert!(
            !s.finished,
            "JoinHandle polled after completion: its result was already taken"
        );
        if !s
            .join_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            s.join_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Takes the result if the task is done (a `JoinSet`'s non-blocking join).
    pub(crate) fn try_take(&self) -> Option<Result<T, JoinError>> {
        self.lock().result.take()
    }
}

/// What an [`AbortHandle`](super::AbortHandle) needs of a task, whatever its output type.
pub(crate) trait Abortable {
    fn abort(&self);
    fn is_finished(&self) -> bool;
    fn id(&self) -> Id;
    /// Ready once the task finished (its result may have been taken).
    fn poll_finished(&self, cx: &Context<'_>) -> Poll<()>;
}

impl<T> Shared<T> {
    pub(crate) fn abort(&self) {
        let waker = {
            let mut s = self.lock();
            if s.finished {
                return;
            }
            s.abort = true;
            s.task_waker.take()
        };
        // A task never polled yet is already scheduled; one that waits is woken to drop its
        // future at this next scheduling point, as tokio does.
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.lock().finished
    }

    pub(crate) fn poll_finished(&self, cx: &Context<'_>) -> Poll<()> {
        let mut s = self.lock();
        if s.finished {
            return Poll::Ready(());
        }
        if !s.watchers.iter().any(|w| w.will_wake(cx.waker())) {
            s.watchers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> Abortable for Shared<T> {
    fn abort(&self) {
        Shared::abort(self)
    }

    fn is_finished(&self) -> bool {
        Shared::is_finished(self)
    }

    fn id(&self) -> Id {
        Shared::id(self)
    }

    fn poll_finished(&self, cx: &Context<'_>) -> Poll<()> {
        Shared::poll_finished(self, cx)
    }
}

pin_project_lite::pin_project! {
    /// The future a simulated tokio task runs: the user's future, kept inline (tulipsim's
    /// task already boxes the runner) and dropped at once when aborted.
    #[project = RunnerProj]
    #[project_replace = RunnerReplace]
    pub(crate) enum Runner<F: Future> {
        Running { #[pin] future: F, shared: Arc<Shared<F::Output>> },
        Over,
    }
}

impl<F: Future> Future for Runner<F> {
    type Output = Result<(), tulipsim::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let RunnerProj::Running { future, shared } = self.as_mut().project() else {
            return Poll::Ready(Ok(()));
        };
        let value = if shared.before_poll(cx) {
            None
        } else {
            match future.poll(cx) {
                Poll::Ready(value) => Some(value),
                Poll::Pending => return Poll::Pending,
            }
        };
        // tokio drops the future before the handle sees its value (or its abort).
        let RunnerReplace::Running { shared, .. } = self.project_replace(Runner::Over) else {
            unreachable!("matched Running above");
        };
        let result = value.ok_or_else(|| JoinError::cancelled(shared.id()));
        shared.finish(result);
        Poll::Ready(Ok(()))
    }
}
