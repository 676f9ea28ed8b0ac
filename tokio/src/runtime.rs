//! tokio's `runtime` module: a [`Runtime`] is a tulipsim event loop.
//!
//! Every flavour (`current_thread`, `multi_thread`) is the same single-threaded simulation:
//! the scheduler, not threads, decides the order of tasks. The loop's seed comes from
//! `TULIPSIM_SEED` (default 0), so a `#[tokio::main]` program replays like a test.
//!
//! ```
//! # use tulipsim_tokio as tokio;
//! # #[cfg(tulipsim)] {
//! use std::time::Duration;
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let waited = rt.block_on(async {
//!     let start = tokio::time::Instant::now();
//!     tokio::time::sleep(Duration::from_secs(30)).await;
//!     start.elapsed()
//! });
//! assert_eq!(waited, Duration::from_secs(30));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::local::Local;
use crate::task::{spawn_inner, JoinHandle};

/// Builds a [`Runtime`] (tokio's `runtime::Builder`). Thread counts, names and `enable_*`
/// are accepted and change nothing: the simulation has one thread, and every driver.
///
/// See the [module docs](self) for an example.
#[derive(Debug, Default)]
pub struct Builder {
    seed: Option<u64>,
}

impl Builder {
    /// A builder for tokio's single-threaded runtime.
    ///
    /// See the [module docs](self) for an example.
    pub fn new_current_thread() -> Builder {
        Builder::default()
    }

    /// A builder for tokio's multi-threaded runtime: the same simulation here.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// # }
    /// ```
    pub fn new_multi_thread() -> Builder {
        Builder::default()
    }

    /// Accepted; every driver is simulated.
    ///
    /// See the [module docs](self) for an example.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Accepted; the network is simulated.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for a builder in use.
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Accepted; the clock is virtual.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for a builder in use.
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Accepted; the simulation has one thread.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for an example.
    pub fn worker_threads(&mut self, _n: usize) -> &mut Builder {
        self
    }

    /// Accepted; blocking work runs on the simulation's thread.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for a builder in use.
    pub fn max_blocking_threads(&mut self, _n: usize) -> &mut Builder {
        self
    }

    /// Accepted; there are no worker threads to name.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for a builder in use.
    pub fn thread_name(&mut self, _name: impl Into<String>) -> &mut Builder {
        self
    }

    /// Accepted; there are no worker threads.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for a builder in use.
    pub fn thread_stack_size(&mut self, _size: usize) -> &mut Builder {
        self
    }

    /// Accepted; simulated time is always paused.
    ///
    /// See [`new_multi_thread`](Self::new_multi_thread) for a builder in use.
    pub fn start_paused(&mut self, _paused: bool) -> &mut Builder {
        self
    }

    /// The seed of the runtime's loop (not in tokio): overrides `TULIPSIM_SEED`.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Builder::new_current_thread().seed(7).build().unwrap();
    /// rt.block_on(async {});
    /// # }
    /// ```
    pub fn seed(&mut self, seed: u64) -> &mut Builder {
        self.seed = Some(seed);
        self
    }

    /// The runtime: a fresh tulipsim loop. `InvalidInput` if `TULIPSIM_SEED` is not a number.
    ///
    /// See the [module docs](self) for an example.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let seed = match self.seed {
            Some(s) => s,
            None => env_seed()?,
        };
        let lp = tulipsim::EventLoop::with_config(tulipsim::LoopConfig::default().seed(seed));
        Ok(Runtime { lp: Local::new(lp) })
    }
}

fn env_seed() -> io::Result<u64> {
    match std::env::var("TULIPSIM_SEED") {
        Err(_) => Ok(0),
        Ok(s) => s.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("TULIPSIM_SEED={s:?} is not a seed (a u64 such as 42)"),
            )
        }),
    }
}

/// A simulated runtime: one tulipsim event loop (tokio's `Runtime`). Dropping it closes the
/// loop, dropping every task's future.
///
/// See the [module docs](self) for an example.
pub struct Runtime {
    lp: Local<tulipsim::EventLoop>,
}

/// Set when the future `block_on` drives is woken; wakes the loop's waiting task.
#[derive(Default)]
struct Woken {
    flag: AtomicBool,
    waiter: Mutex<Option<Waker>>,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::SeqCst);
        let waiter = self.waiter.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

/// The loop's main task while `block_on` waits: done when the driven future is woken.
struct UntilWoken(Arc<Woken>);

impl Future for UntilWoken {
    type Output = Result<(), tulipsim::Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        *self.0.waiter.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        if self.0.flag.swap(false, Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl Runtime {
    /// A runtime (tokio's `Runtime::new`); see [`Builder::build`].
    ///
    /// See [`block_on`](Self::block_on) for an example.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs `future` to completion on the simulation, with every task it spawns.
    ///
    /// The future may borrow (as tokio allows): it is polled between runs of the loop, with
    /// the loop entered. If nothing can ever wake it (every task waits, no timer is left), it
    /// panics with tulipsim's deadlock report, naming each waiting task, where tokio would
    /// hang; a panic in a task panics here with the task's name and spawn site.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let mut log = Vec::new();
    /// rt.block_on(async {
    ///     let h = tokio::spawn(async { 2 });
    ///     log.push(h.await.unwrap()); // borrows `log`
    /// });
    /// assert_eq!(log, [2]);
    /// # }
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let lp = self.lp.get();
        let woken = Arc::new(Woken::default());
        let waker = Waker::from(woken.clone());
        let mut future = pin!(future);
        loop {
            let polled = lp.enter(|| future.as_mut().poll(&mut Context::from_waker(&waker)));
            match polled {
                Ok(Poll::Ready(v)) => return v,
                Ok(Poll::Pending) => {}
                Err(e) => panic!("Runtime::block_on: {e} (block_on inside a running simulation?)"),
            }
            if let Err(e) = lp.run_until_complete(UntilWoken(woken.clone())) {
                panic!("Runtime::block_on: the simulation ended: {e}");
            }
        }
    }

    /// Spawns a task on this runtime (it runs during `block_on`).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(async { 21 * 2 });
    /// assert_eq!(rt.block_on(h).unwrap(), 42);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let lp = self.lp.get();
        lp.enter(|| spawn_inner(future))
            .unwrap_or_else(|e| panic!("Runtime::spawn: {e}"))
    }

    /// Runs `f` on this runtime (tokio's `spawn_blocking`).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 5)).unwrap(), 5);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn(async move { f() })
    }

    /// A handle to this runtime.
    ///
    /// See [`Handle`] for an example.
    pub fn handle(&self) -> Handle {
        Handle { _simulated: () }
    }

    /// Closes the runtime at once (its loop is closed when dropped).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// rt.shutdown_timeout(std::time::Duration::from_secs(1));
    /// # }
    /// ```
    pub fn shutdown_timeout(self, _duration: Duration) {}

    /// Closes the runtime at once.
    ///
    /// See [`shutdown_timeout`](Self::shutdown_timeout) for an example.
    pub fn shutdown_background(self) {}
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Runtime { simulated }")
    }
}

/// A handle to a simulated runtime (tokio's `runtime::Handle`).
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let handle = tokio::runtime::Handle::current();
///     assert_eq!(handle.spawn(async { 3 }).await.unwrap(), 3);
/// });
/// assert!(tokio::runtime::Handle::try_current().is_err()); // outside the simulation
/// # }
/// ```
#[derive(Clone)]
pub struct Handle {
    _simulated: (),
}

/// There is no running simulation (tokio's `TryCurrentError`).
///
/// See [`Handle`] for an example.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("there is no reactor running: no tulipsim simulation runs on this thread")
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    /// The running simulation's handle; panics outside one.
    ///
    /// See [`Handle`] for an example.
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The running simulation's handle, if any.
    ///
    /// See [`Handle`] for an example.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        tulipsim::get_running_loop()
            .map(|_| Handle { _simulated: () })
            .map_err(|_| TryCurrentError(()))
    }

    /// Spawns a task on the handle's loop.
    ///
    /// See [`Handle`] for an example.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if tulipsim::get_running_loop().is_err() {
            panic!("Handle::spawn: no simulation is running on this thread");
        }
        spawn_inner(future)
    }

    /// Runs `f` as a task; see [`crate::task::spawn_blocking`].
    ///
    /// See [`Handle`] for an example of a handle in use.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn(async move { f() })
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handle { simulated }")
    }
}
