//! asyncio's `Barrier` (new in Python 3.11), ported from `locks.py` on top of [`Condition`], as
//! CPython builds it: the same states, the same condition waits, so tasks pass it in the same
//! order, hop for hop.

use std::cell::Cell;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::rc::Rc;

use super::mixins::Site;
use super::{Condition, ConditionGuard};
use crate::exceptions::Error;

/// asyncio's `Barrier`: makes `parties` tasks wait for each other.
///
/// Each task calls [`wait`](Self::wait); the call that makes the count reach
/// [`parties`](Self::parties) releases all of them, and each gets its own index, the order it
/// arrived in (`0..parties`). The barrier can then be passed again: a task that arrives while
/// the released ones are still leaving (the barrier is *draining*) waits for the next round.
///
/// [`reset`](Self::reset) returns the barrier to its empty state, breaking the wait of the
/// tasks waiting at it; [`abort`](Self::abort) breaks it until the next reset. A broken wait
/// is [`Error::BrokenBarrier`].
///
/// ```
/// use tulipsim::{create_task, sleep, Barrier, EventLoop};
///
/// let lp = EventLoop::new();
/// let barrier = Barrier::new(3)?;
/// let indexes = lp.run_until_complete(async move {
///     let mut tasks = Vec::new();
///     for delay in [1, 3, 2] {
///         let b = barrier.clone();
///         tasks.push(create_task(async move {
///             sleep(delay).await?;
///             b.wait().await // released when the last one arrives
///         })?);
///     }
///     let mut indexes = Vec::new();
///     for t in tasks {
///         indexes.push(t.await?);
///     }
///     Ok(indexes)
/// })?;
/// assert_eq!(indexes, [0, 2, 1]); // the order they arrived in
/// assert_eq!(lp.time(), 3.0); // all three left when the last one came
/// # Ok::<(), tulipsim::Error>(())
/// ```
#[derive(Clone)]
pub struct Barrier {
    inner: Rc<BarrierInner>,
}

/// asyncio's `_BarrierState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Filling,
    Draining,
    Resetting,
    Broken,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Filling => "filling",
            State::Draining => "draining",
            State::Resetting => "resetting",
            State::Broken => "broken",
        }
    }
}

struct BarrierInner {
    cond: Condition,
    parties: usize,
    state: Cell<State>,
    /// The tasks inside `wait()` past `_block()`: waiting, or released and not yet left.
    count: Cell<usize>,
}

impl fmt::Debug for Barrier {
    /// CPython's repr without the address: `<Barrier [filling, waiters:1/3]>`, or
    /// `<Barrier [broken]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.get();
        write!(f, "<Barrier [{}", state.name())?;
        if state != State::Broken {
            write!(f, ", waiters:{}/{}", self.n_waiting(), self.parties())?;
        }
        f.write_str("]>")
    }
}

impl Barrier {
    /// A barrier for `parties` tasks; `Err(Value("parties must be > 0"))` for 0.
    ///
    /// ```
    /// use tulipsim::Barrier;
    /// assert_eq!(Barrier::new(2)?.parties(), 2);
    /// assert_eq!(Barrier::new(0).unwrap_err().to_string(), "ValueError: parties must be > 0");
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    pub fn new(parties: usize) -> Result<Barrier, Error> {
        if parties < 1 {
            return Err(Error::value("parties must be > 0"));
        }
        Ok(Barrier {
            inner: Rc::new(BarrierInner {
                cond: Condition::new(),
                parties,
                state: Cell::new(State::Filling),
                count: Cell::new(0),
            }),
        })
    }

    /// Waits until `parties` tasks are waiting, then returns with all of them; yields this
    /// task's index, the order it arrived in (`0` first). Also `async with barrier:`.
    ///
    /// `Err(BrokenBarrier)` if the barrier is broken or gets reset or aborted while this task
    /// waits. A task cancelled while it waits leaves the count; one cancelled after the barrier
    /// released it, before it ran again, still ends cancelled (as in CPython, where the
    /// `CancelledError` comes out of the condition's wait).
    ///
    /// ```
    /// use tulipsim::{create_task, Barrier, EventLoop};
    /// let lp = EventLoop::new();
    /// let b = Barrier::new(2)?;
    /// let (mine, other) = lp.run_until_complete(async move {
    ///     let other = create_task({
    ///         let b = b.clone();
    ///         async move { b.wait().await }
    ///     })?;
    ///     let mine = b.wait().await?; // first: the other task has not started yet
    ///     Ok((mine, other.await?))
    /// })?;
    /// assert_eq!((mine, other), (0, 1));
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    #[doc(alias = "async with")]
    #[track_caller]
    pub fn wait(&self) -> impl StdFuture<Output = Result<usize, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.wait(site).await }
    }

    /// Returns the barrier to its empty state. Tasks waiting at it get
    /// `Err(BrokenBarrier("Abort or reset of barrier"))`; tasks arriving meanwhile wait until
    /// they have left. Also ends the broken state of an [`abort`](Self::abort)ed barrier.
    ///
    /// ```
    /// use tulipsim::{create_task, sleep, Barrier, EventLoop};
    /// let lp = EventLoop::new();
    /// let b = Barrier::new(2)?;
    /// let r = lp.run_until_complete(async move {
    ///     let waiter = create_task({
    ///         let b = b.clone();
    ///         async move { b.wait().await }
    ///     })?;
    ///     sleep(1).await?;
    ///     b.reset().await?;
    ///     waiter.await
    /// });
    /// assert_eq!(r.unwrap_err().to_string(), "BrokenBarrierError: Abort or reset of barrier");
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    #[track_caller]
    pub fn reset(&self) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move {
            let _held = inner.lock(site).await?;
            if inner.count.get() > 0 {
                inner.state.set(State::Resetting);
            } else {
                inner.state.set(State::Filling);
            }
            inner.cond.notify_all()
        }
    }

    /// Breaks the barrier: tasks waiting at it get
    /// `Err(BrokenBarrier("Abort or reset of barrier"))`, and every later
    /// [`wait`](Self::wait) gets `Err(BrokenBarrier("Barrier aborted"))` until a
    /// [`reset`](Self::reset).
    ///
    /// ```
    /// use tulipsim::{Barrier, EventLoop};
    /// let lp = EventLoop::new();
    /// let b = Barrier::new(2)?;
    /// let (b2, b3) = (b.clone(), b.clone());
    /// lp.run_until_complete(async move { b2.abort().await })?;
    /// assert!(b.broken());
    /// let r = lp.run_until_complete(async move { b3.wait().await });
    /// assert_eq!(r.unwrap_err().to_string(), "BrokenBarrierError: Barrier aborted");
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    #[track_caller]
    pub fn abort(&self) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move {
            let _held = inner.lock(site).await?;
            inner.state.set(State::Broken);
            inner.cond.notify_all()
        }
    }

    /// The number of tasks it takes to pass the barrier.
    ///
    /// ```
    /// assert_eq!(tulipsim::Barrier::new(4)?.parties(), 4);
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    pub fn parties(&self) -> usize {
        self.inner.parties
    }

    /// The number of tasks waiting at the barrier while it fills (0 while it drains, resets or
    /// is broken).
    ///
    /// ```
    /// assert_eq!(tulipsim::Barrier::new(4)?.n_waiting(), 0);
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    pub fn n_waiting(&self) -> usize {
        match self.inner.state.get() {
            State::Filling => self.inner.count.get(),
            _ => 0,
        }
    }

    /// True if the barrier was [`abort`](Self::abort)ed and not reset since.
    ///
    /// ```
    /// assert!(!tulipsim::Barrier::new(4)?.broken());
    /// # Ok::<(), tulipsim::Error>(())
    /// ```
    pub fn broken(&self) -> bool {
        self.inner.state.get() == State::Broken
    }
}

impl BarrierInner {
    /// `async with self._cond:`.
    async fn lock(&self, site: Site) -> Result<ConditionGuard, Error> {
        self.cond.inner.lock.inner.acquire(site).await?;
        Ok(ConditionGuard {
            cond: self.cond.clone(),
        })
    }

    async fn wait(&self, site: Site) -> Result<usize, Error> {
        let _held = self.lock(site).await?;
        self.block(site).await?;
        let index = self.count.get();
        self.count.set(index + 1);
        // CPython's `finally`, before `async with` releases the lock (locals drop in reverse).
        let _inside = Inside(self);
        if index + 1 == self.parties {
            self.release();
        } else {
            self.wait_released(site).await?;
        }
        Ok(index)
    }

    /// `_block`: waits while the barrier drains or resets; fails if it is broken.
    async fn block(&self, site: Site) -> Result<(), Error> {
        while matches!(self.state.get(), State::Draining | State::Resetting) {
            self.cond.inner.wait(site).await?;
        }
        if self.state.get() == State::Broken {
            return Err(Error::BrokenBarrier("Barrier aborted".into()));
        }
        Ok(())
    }

    /// `_release`: the last party arrived.
    fn release(&self) {
        self.state.set(State::Draining);
        let _ = self.cond.notify_all();
    }

    /// `_wait`: waits while the barrier fills; fails if it was reset or aborted meanwhile.
    async fn wait_released(&self, site: Site) -> Result<(), Error> {
        while self.state.get() == State::Filling {
            self.cond.inner.wait(site).await?;
        }
        if matches!(self.state.get(), State::Broken | State::Resetting) {
            return Err(Error::BrokenBarrier("Abort or reset of barrier".into()));
        }
        Ok(())
    }

    /// `_exit`: the last task to leave ends the draining or resetting.
    fn exit(&self) {
        if self.count.get() == 0 {
            if matches!(self.state.get(), State::Resetting | State::Draining) {
                self.state.set(State::Filling);
            }
            // Fails only if the lock is not held: a wait dropped while retaking it.
            let _ = self.cond.notify_all();
        }
    }
}

/// A task counted inside the barrier; leaving (returning, failing, cancelled or dropped) runs
/// `wait()`'s `finally`.
struct Inside<'a>(&'a BarrierInner);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.count.set(self.0.count.get() - 1);
        self.0.exit();
    }
}
