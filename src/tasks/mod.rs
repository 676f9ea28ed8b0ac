//! asyncio's `Task`, mirroring `tasks.py`: a future that drives a coroutine (a Rust `async`
//! block returning `Result<T, Error>`) one step at a time, with throw-style cancellation.
//!
//! A step (`__step`) polls the coroutine once. Before polling it turns a pending cancellation
//! request into an exception *thrown* at the await where the coroutine is suspended: tulipsim's
//! awaitables ([`Future`], [`Task`], [`sleep`]) take the throw from the task and return
//! `Err(Error::Cancelled)` from that `.await`. The coroutine may catch it and go on, return
//! something else, or let it escape; only the last makes the task *cancelled*.

mod current;
mod gather;
mod handles;
mod header;
mod shield;
mod sleep;
mod task;
mod wait;

use std::future::Future as StdFuture;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::events::{self, LoopHandle};
use crate::exceptions::Error;
use crate::futures::{Future, Wait};

pub use current::current_task;
pub(crate) use current::{current_at, with_current};
#[doc(hidden)]
pub use gather::{ensure_for_gather, gather_tuple, gather_tuple_settled, GatherTuple};
pub use gather::{gather, gather_return_exceptions};
pub use handles::{Task, TaskRef, WaitTask};
pub(crate) use header::{nothing_thrown, TaskHeader, TaskRun};
pub use shield::shield;
pub use sleep::{sleep, sleep_with, Sleep};
pub(crate) use task::new_task;
pub use wait::{
    as_completed, wait, wait_for, AsCompleted, DoneAndPending, IntoTimeout, NextCompleted,
    ReturnWhen, WaitFutures, Waitable, ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION,
};

/// The running loop (asyncio's `get_running_loop`); `Err(Runtime)` outside one.
///
/// ```
/// use tulipsim::{get_running_loop, EventLoop};
/// assert!(get_running_loop().is_err()); // no loop runs here
/// let lp = EventLoop::new();
/// let t = lp.run_until_complete(async { Ok(get_running_loop()?.time()) });
/// assert_eq!(t.unwrap(), 0.0);
/// ```
pub fn get_running_loop() -> Result<LoopHandle, Error> {
    events::running_loop_or_error().map(|inner| LoopHandle { inner })
}

/// Wraps `coro` in a task on the running loop (asyncio's `create_task`); `Err(Runtime)` when
/// no loop is running (use [`LoopHandle::create_task`] there).
///
/// ```
/// use tulipsim::{create_task, EventLoop};
/// assert!(create_task(async { Ok(()) }).is_err()); // no loop running
/// let lp = EventLoop::new();
/// let n = lp.run_until_complete(async {
///     let t = create_task(async { Ok(20) })?;
///     Ok(t.await? + 1)
/// });
/// assert_eq!(n.unwrap(), 21);
/// ```
#[doc(alias = "spawn")]
#[track_caller]
pub fn create_task<T, F>(coro: F) -> Result<Task<T>, Error>
where
    T: 'static,
    F: StdFuture<Output = Result<T, Error>> + 'static,
{
    let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(new_task(&lp, None, coro, Location::caller()))
}

/// [`create_task`] with a name.
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let name = lp.run_until_complete(async {
///     Ok(tulipsim::create_task_named("fetch", async { Ok(()) })?.get_name())
/// });
/// assert_eq!(name.unwrap(), "fetch");
/// ```
#[track_caller]
pub fn create_task_named<T, F>(name: &str, coro: F) -> Result<Task<T>, Error>
where
    T: 'static,
    F: StdFuture<Output = Result<T, Error>> + 'static,
{
    let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(new_task(&lp, Some(name.into()), coro, Location::caller()))
}

/// Every task of the running loop that is not done, in creation order (asyncio's
/// `all_tasks()`); `Err(Runtime)` when no loop is running.
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let n = lp.run_until_complete(async {
///     tulipsim::create_task(async { Ok(()) })?;
///     Ok(tulipsim::all_tasks()?.len())
/// });
/// assert_eq!(n.unwrap(), 2); // this one and the new one
/// ```
pub fn all_tasks() -> Result<Vec<TaskRef>, Error> {
    let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(lp.all_tasks())
}

/// What `run_until_complete`, [`ensure_future`] and the task functions accept: asyncio's
/// "awaitable". An `async` block (a coroutine, wrapped in a task when it must run on its own),
/// a [`Task`], or a [`Future`] (used as it is). Sealed.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// assert_eq!(lp.run_until_complete(async { Ok(1) }).unwrap(), 1);
/// let t = lp.create_task(async { Ok(2) });
/// assert_eq!(lp.run_until_complete(t).unwrap(), 2);
/// let f = lp.create_future();
/// f.set_result(3).unwrap();
/// assert_eq!(lp.run_until_complete(f).unwrap(), 3);
/// ```
pub trait Awaitable<T: 'static>: private::Sealed<T> {
    /// asyncio's `ensure_future`: a coroutine becomes a task on `lp` (or on the running loop,
    /// or the newest open loop of the thread); a future stays itself.
    #[doc(hidden)]
    fn ensure_on(
        self,
        lp: Option<&LoopHandle>,
        site: &'static Location<'static>,
    ) -> private::Ensured<T>;
    /// Awaited in place: `await coro` runs the coroutine in the awaiting task, no new task.
    #[doc(hidden)]
    fn into_direct(self, site: &'static Location<'static>) -> private::Direct<T>;
    /// The outcome of the future `ensure_on` gave, for `run_until_complete`.
    #[doc(hidden)]
    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error>;
}

pub(crate) mod private {
    use super::*;

    pub trait Sealed<T> {}

    /// What `ensure_future` made: the future, and whether it is a task made just now.
    pub struct Ensured<T: 'static> {
        pub(crate) future: Future<T>,
        pub(crate) new_task: bool,
    }

    /// An awaitable awaited in place.
    pub enum Direct<T: 'static> {
        Coroutine(Pin<Box<dyn StdFuture<Output = Result<T, Error>>>>),
        Future(Wait<T>),
    }

    impl<T: Clone + 'static> StdFuture for Direct<T> {
        type Output = Result<T, Error>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            match &mut *self {
                Direct::Coroutine(c) => c.as_mut().poll(cx),
                Direct::Future(w) => Pin::new(w).poll(cx),
            }
        }
    }

    impl<T, F: StdFuture<Output = Result<T, Error>> + 'static> Sealed<T> for F {}
    impl<T: 'static> Sealed<T> for Future<T> {}
    impl<T: 'static> Sealed<T> for Task<T> {}
}

impl<T: 'static, F: StdFuture<Output = Result<T, Error>> + 'static> Awaitable<T> for F {
    fn ensure_on(
        self,
        lp: Option<&LoopHandle>,
        site: &'static Location<'static>,
    ) -> private::Ensured<T> {
        let lp = match lp {
            Some(lp) => Some(lp.inner.clone()),
            None => events::current_or_thread_loop().upgrade(),
        };
        let future = match lp {
            Some(lp) => new_task(&lp, None, self, site).as_future(),
            None => {
                let f = Future::bound(std::rc::Weak::new(), site);
                let _ = f.set_exception(Error::runtime("no running event loop"));
                f
            }
        };
        private::Ensured {
            new_task: future.obj.task_header().is_some(),
            future,
        }
    }

    fn into_direct(self, _: &'static Location<'static>) -> private::Direct<T> {
        private::Direct::Coroutine(Box::pin(self))
    }

    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error> {
        // Nobody else can reach the result of a task made here: move it out, no clone.
        ensured.future.obj.core().take_result()
    }
}

impl<T: Clone + 'static> Awaitable<T> for Future<T> {
    fn ensure_on(
        self,
        _: Option<&LoopHandle>,
        _: &'static Location<'static>,
    ) -> private::Ensured<T> {
        private::Ensured {
            future: self,
            new_task: false,
        }
    }

    fn into_direct(self, site: &'static Location<'static>) -> private::Direct<T> {
        private::Direct::Future(self.wait_at(site))
    }

    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error> {
        ensured.future.result()
    }
}

impl<T: Clone + 'static> Awaitable<T> for Task<T> {
    fn ensure_on(
        self,
        lp: Option<&LoopHandle>,
        site: &'static Location<'static>,
    ) -> private::Ensured<T> {
        self.as_future().ensure_on(lp, site)
    }

    fn into_direct(self, site: &'static Location<'static>) -> private::Direct<T> {
        self.as_future().into_direct(site)
    }

    fn outcome(ensured: &private::Ensured<T>) -> Result<T, Error> {
        ensured.future.result()
    }
}

/// asyncio's `ensure_future`: an `async` block becomes a task on the running loop (or the
/// newest open loop of this thread); a [`Future`] or [`Task`] is returned as it is.
///
/// With no loop at all, the future it returns has already failed with `Error::Runtime`.
///
/// ```
/// use tulipsim::{ensure_future, EventLoop};
/// let lp = EventLoop::new();
/// let f = ensure_future(async { Ok(5) }); // a task on `lp`
/// assert!(f.as_task().is_some());
/// let same = ensure_future(f.clone());
/// assert!(same.same(&f));
/// assert_eq!(lp.run_until_complete(f).unwrap(), 5);
/// ```
#[track_caller]
pub fn ensure_future<T: 'static>(awaitable: impl Awaitable<T>) -> Future<T> {
    awaitable.ensure_on(None, Location::caller()).future
}

/// asyncio's `gather` over awaitables of different types: a [`Future`] of the tuple of their
/// results (up to 8). See [`gather`](crate::gather()) for the semantics.
///
/// ```
/// use tulipsim::{gather, sleep_with, EventLoop};
/// let lp = EventLoop::new();
/// let (n, s) = lp
///     .run_until_complete(async { gather!(sleep_with(2, 7), sleep_with(1, "x")).await })
///     .unwrap();
/// assert_eq!((n, s), (7, "x"));
/// ```
#[macro_export]
macro_rules! gather {
    ($($aw:expr),+ $(,)?) => {
        $crate::tasks::gather_tuple(($($crate::tasks::ensure_for_gather($aw),)+), false)
    };
}

/// [`gather!`](crate::gather!) with `return_exceptions=True`: a [`Future`] of a tuple of `Result`s.
///
/// ```
/// use tulipsim::{gather_return_exceptions, sleep_with, EventLoop, Error};
/// let lp = EventLoop::new();
/// let (a, b) = lp
///     .run_until_complete(async {
///         gather_return_exceptions!(sleep_with(1, 1), async { Err::<&str, _>(Error::timeout()) })
///             .await
///     })
///     .unwrap();
/// assert_eq!(a, Ok(1));
/// assert_eq!(b, Err(Error::timeout()));
/// ```
#[macro_export]
macro_rules! gather_return_exceptions {
    ($($aw:expr),+ $(,)?) => {
        $crate::tasks::gather_tuple_settled(($($crate::tasks::ensure_for_gather($aw),)+))
    };
}
