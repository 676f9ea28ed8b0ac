//! asyncio's `timeout` and `timeout_at` scopes (Python 3.11's `timeouts.py`): run a block of
//! code in the current task, cancel the task if the block outlives its deadline, and turn
//! that cancellation into `TimeoutError`.
//!
//! The deadline cancels the *task* (`Task.cancel`), so the block sees `CancelledError` at its
//! current await, may clean up, and the scope converts the cancellation into `Timeout` on the
//! way out, unless the task was also cancelled from elsewhere (asyncio tells them apart with
//! `cancelling()`/`uncancel()`).

use std::cell::{Cell, RefCell};
use std::future::Future as StdFuture;
use std::rc::Rc;

use crate::events::{nanos_to_secs, with_running, Handle, LoopHandle};
use crate::exceptions::Error;
use crate::tasks::{get_running_loop, with_current, IntoTimeout, TaskRef};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Created,
    Entered,
    Expiring,
    Expired,
    Exited,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Entered => "active",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::Exited => "finished",
        }
    }
}

struct Inner {
    state: Cell<State>,
    /// The deadline in loop nanoseconds; `None` never expires.
    when: Cell<Option<i64>>,
    handler: RefCell<Option<Handle>>,
    task: RefCell<Option<TaskRef>>,
    /// The task's `cancelling()` when the scope was entered.
    cancelling: Cell<u32>,
    /// A misuse found when the scope was made (no running loop), reported when it runs.
    error: RefCell<Option<Error>>,
}

/// asyncio's `Timeout`: a scope with a deadline, made by [`timeout`] or [`timeout_at`] and run
/// with [`run`](Timeout::run). A cheap handle: clone it into the block to
/// [`reschedule`](Timeout::reschedule) from inside.
///
/// ```
/// use tulipsim::{sleep, timeout, EventLoop, Error};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async {
///     let t = timeout(5);
///     let t2 = t.clone();
///     let r = t.run(async move {
///         sleep(3).await?;
///         t2.reschedule(t2.when().map(|w| w + 10.0))?; // more time needed
///         sleep(9).await?;
///         Ok("done")
///     }).await;
///     Ok((r, t.expired()))
/// });
/// assert_eq!(r.unwrap(), (Ok("done"), false));
/// assert_eq!(lp.time(), 12.0);
/// ```
#[derive(Clone)]
pub struct Timeout {
    inner: Rc<Inner>,
}

/// A scope that times out `delay` seconds from now (asyncio's `timeout(delay)`); `None` never
/// times out (but can be rescheduled). Must be called inside a running loop, which gives "now";
/// otherwise running the scope fails with `Error::Runtime`.
///
/// ```
/// use tulipsim::{sleep, timeout, EventLoop, Error};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async { timeout(1.5).run(sleep(10)).await });
/// assert_eq!(r, Err(Error::timeout()));
/// assert_eq!(lp.time(), 1.5);
/// ```
pub fn timeout(delay: impl IntoTimeout) -> Timeout {
    let Some(delay) = delay.into_timeout() else {
        return Timeout::new(None, None);
    };
    // The clock read in place: a handle to the loop would cost a reference count both ways.
    match with_running(|lp| lp.map(|lp| lp.now())) {
        Some(now) => Timeout::new(Some(now.saturating_add(delay)), None),
        None => Timeout::new(None, get_running_loop().err()),
    }
}

/// A scope that times out at loop time `when` (asyncio's `timeout_at`); `None` never does.
///
/// ```
/// use tulipsim::{sleep, timeout_at, EventLoop, Error};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async { timeout_at(4).run(sleep(10)).await });
/// assert_eq!(r, Err(Error::timeout()));
/// assert_eq!(lp.time(), 4.0);
/// ```
pub fn timeout_at(when: impl IntoTimeout) -> Timeout {
    Timeout::new(when.into_timeout(), None)
}

impl Timeout {
    fn new(when: Option<i64>, error: Option<Error>) -> Timeout {
        Timeout {
            inner: Rc::new(Inner {
                state: Cell::new(State::Created),
                when: Cell::new(when),
                handler: RefCell::new(None),
                task: RefCell::new(None),
                cancelling: Cell::new(0),
                error: RefCell::new(error),
            }),
        }
    }

    /// The deadline, in seconds of loop time; `None` if the scope never times out.
    ///
    /// ```
    /// assert_eq!(tulipsim::timeout_at(3).when(), Some(3.0));
    /// assert_eq!(tulipsim::timeout_at(None::<f64>).when(), None);
    /// ```
    pub fn when(&self) -> Option<f64> {
        self.inner.when.get().map(nanos_to_secs)
    }

    /// True once the deadline has passed while the scope was running.
    ///
    /// ```
    /// use tulipsim::{sleep, timeout, Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let (r, expired) = lp.run_until_complete(async {
    ///     let t = timeout(1);
    ///     let r = t.run(sleep(5)).await;
    ///     Ok((r, t.expired()))
    /// }).unwrap();
    /// assert_eq!(r, Err(Error::timeout()));
    /// assert!(expired);
    /// ```
    pub fn expired(&self) -> bool {
        matches!(self.inner.state.get(), State::Expiring | State::Expired)
    }

    /// Moves the deadline to loop time `when` (`None`: never); a deadline already past fires
    /// on the next loop iteration. Only while the scope runs: otherwise `Err(Runtime)`.
    ///
    /// ```
    /// use tulipsim::{sleep, timeout, EventLoop};
    /// let lp = EventLoop::new();
    /// lp.run_until_complete(async {
    ///     let t = timeout(1);
    ///     let t2 = t.clone();
    ///     t.run(async move {
    ///         t2.reschedule(None::<f64>)?; // no deadline any more
    ///         sleep(5).await
    ///     }).await?;
    ///     assert!(t.reschedule(10.0).is_err()); // the scope is over
    ///     Ok(())
    /// }).unwrap();
    /// assert_eq!(lp.time(), 5.0);
    /// ```
    pub fn reschedule(&self, when: impl IntoTimeout) -> Result<(), Error> {
        let lp = get_running_loop()?;
        self.reschedule_on(&lp, when.into_timeout())
    }

    fn reschedule_on(&self, lp: &LoopHandle, when: Option<i64>) -> Result<(), Error> {
        let inner = &self.inner;
        match inner.state.get() {
            State::Entered => {}
            State::Created => return Err(Error::runtime("Timeout has not been entered")),
            other => {
                return Err(Error::runtime(format!(
                    "Cannot change state of {} Timeout",
                    other.name()
                )))
            }
        }
        inner.when.set(when);
        if let Some(h) = inner.handler.borrow_mut().take() {
            h.cancel();
        }
        if let Some(when) = when {
            let me = self.clone();
            let on_timeout = move || me.on_timeout();
            let handle = if when <= lp.time_ns() || lp.inner.early_timeout() {
                lp.call_soon(on_timeout)
            } else {
                lp.inner.call_at_nanos_exact(when, on_timeout).handle
            };
            *inner.handler.borrow_mut() = Some(handle);
        }
        Ok(())
    }

    fn on_timeout(&self) {
        let task = self.inner.task.borrow().clone();
        if let Some(task) = task {
            task.cancel();
        }
        self.inner.state.set(State::Expiring);
        self.inner.handler.borrow_mut().take();
    }

    /// Runs `body` in the current task under this scope's deadline (asyncio's
    /// `async with timeout:`): if the deadline passes first, the task is cancelled, `body`
    /// receives `CancelledError` at its current await, and the scope returns
    /// `Err(Error::timeout())` once `body` has let the cancellation out. A scope runs once.
    ///
    /// ```
    /// use tulipsim::{sleep_with, timeout, EventLoop};
    /// let lp = EventLoop::new();
    /// let r = lp.run_until_complete(async { timeout(5).run(sleep_with(1, "in time")).await });
    /// assert_eq!(r, Ok("in time"));
    /// ```
    pub async fn run<T>(
        &self,
        body: impl StdFuture<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.enter()?;
        let outcome = body.await;
        self.exit(outcome)
    }

    /// asyncio's `__aenter__`.
    fn enter(&self) -> Result<(), Error> {
        let inner = &self.inner;
        if inner.state.get() != State::Created {
            return Err(Error::runtime("Timeout has already been entered"));
        }
        if let Some(e) = inner.error.borrow_mut().take() {
            return Err(e);
        }
        // The loop and the task in one look at the running task (a loop runs whenever a task
        // does): every scope entered pays for this.
        let (lp, task) = with_current(|lp, task| {
            (
                LoopHandle { inner: lp.clone() },
                TaskRef::from_run(task.clone()),
            )
        })
        .ok_or_else(|| Error::runtime("Timeout should be used inside a task"))?;
        inner.state.set(State::Entered);
        inner.cancelling.set(task.cancelling());
        *inner.task.borrow_mut() = Some(task);
        self.reschedule_on(&lp, inner.when.get())
    }

    /// asyncio's `__aexit__`.
    fn exit<T>(&self, outcome: Result<T, Error>) -> Result<T, Error> {
        let inner = &self.inner;
        if let Some(h) = inner.handler.borrow_mut().take() {
            h.cancel();
        }
        match inner.state.get() {
            State::Expiring => {
                inner.state.set(State::Expired);
                let task = inner.task.borrow().clone();
                let uncancelled = task.map_or(0, |t| t.uncancel());
                if uncancelled <= inner.cancelling.get() {
                    if let Err(Error::Cancelled(c)) = outcome {
                        // CPython's `raise TimeoutError from exc_val`.
                        return Err(Error::timeout_from(c));
                    }
                }
            }
            State::Entered => inner.state.set(State::Exited),
            _ => {}
        }
        outcome
    }
}

impl std::fmt::Debug for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.state.get();
        match (state, self.when()) {
            (State::Entered, Some(w)) => write!(f, "<Timeout [{}] when={w:.3}>", state.name()),
            (State::Entered, None) => write!(f, "<Timeout [{}] when=None>", state.name()),
            _ => write!(f, "<Timeout [{}]>", state.name()),
        }
    }
}
