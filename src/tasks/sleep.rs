//! asyncio's `sleep`, and the sleep slot every task keeps for it.

use std::cell::Cell;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::base_events::LoopInner;
use crate::events::{IntoDelay, TimerHandle};
use crate::exceptions::{CancelledError, Error};
use crate::futures::{Future, Wait};

use super::header::{TaskHeader, TaskRun, Waiter};
use super::with_current;

/// asyncio's `sleep(delay)` creates a future and a timer that sets it. Nothing but the
/// sleeping task can see that future, so a task keeps one, reused by each of its sleeps: the
/// timer refers to the task and a token, and a token that no longer matches marks the timer
/// as cancelled. The hops are asyncio's: the timer completes the future, whose completion
/// schedules the task's wakeup.
pub(crate) struct SleepSlot {
    pub(crate) phase: Cell<SleepPhase>,
    pub(crate) token: Cell<u64>,
}

impl SleepSlot {
    pub(crate) fn new() -> Self {
        SleepSlot {
            phase: Cell::new(SleepPhase::Idle),
            token: Cell::new(0),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SleepPhase {
    Idle,
    Pending,
    Done,
    Cancelled,
}

impl TaskHeader {
    /// Starts a sleep in the slot, if the slot is free; returns its token.
    fn start_sleep(&self) -> Option<u64> {
        if self.sleep.phase.get() != SleepPhase::Idle {
            return None;
        }
        let token = self.sleep.token.get() + 1;
        self.sleep.token.set(token);
        self.sleep.phase.set(SleepPhase::Pending);
        Some(token)
    }

    /// True while the sleep with `token` is pending: its timer is live.
    pub(crate) fn sleep_pending(&self, token: u64) -> bool {
        self.sleep.token.get() == token && self.sleep.phase.get() == SleepPhase::Pending
    }

    /// The sleep timer with `token` fired: complete the sleep's future, waking the task.
    pub(crate) fn sleep_fired(&self, token: u64, lp: &LoopInner, task: &Rc<dyn TaskRun>) {
        if self.sleep_pending(token) {
            self.sleep.phase.set(SleepPhase::Done);
            self.wake(lp, task);
        }
    }

    /// Future.cancel() of the sleep's future.
    pub(crate) fn cancel_sleep(&self, msg: &Option<Rc<str>>, task: &Rc<dyn TaskRun>) -> bool {
        if self.sleep.phase.get() != SleepPhase::Pending {
            return false;
        }
        self.sleep.phase.set(SleepPhase::Cancelled);
        self.set_sleep_cancel_msg(msg.clone());
        if let Some(lp) = self.lp.upgrade() {
            self.wake(&lp, task);
        }
        true
    }

    /// The sleep with `token` is over (or abandoned): free the slot; its timer goes stale.
    fn end_sleep(&self, token: u64) {
        if self.sleep.token.get() == token {
            self.sleep.phase.set(SleepPhase::Idle);
        }
    }
}

/// Suspends the current task for `delay` seconds of virtual time (asyncio's `sleep`).
///
/// `sleep(0)` (or any delay `<= 0`) yields exactly once: the task's next step is scheduled
/// behind everything already ready. A positive delay creates a future and a timer that sets
/// it, exactly as asyncio's `sleep` does, so cancelling a sleeping task cancels that future.
/// `sleep(f64::INFINITY)` (a delay past the end of representable time) never returns: the
/// run ends in a deadlock, at a limit, or by cancelling the task.
///
/// ```
/// use tulipsim::{sleep, EventLoop};
/// let lp = EventLoop::new();
/// lp.run_until_complete(async { sleep(3600).await }).unwrap(); // an hour, in microseconds
/// assert_eq!(lp.time(), 3600.0);
/// ```
#[track_caller]
pub fn sleep(delay: impl IntoDelay) -> Sleep<()> {
    sleep_with(delay, ())
}

/// [`sleep`] that gives `result` when it completes (asyncio's `sleep(delay, result)`).
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// assert_eq!(lp.run_until_complete(tulipsim::sleep_with(1.5, 'x')), Ok('x'));
/// assert_eq!(lp.time(), 1.5);
/// ```
#[track_caller]
pub fn sleep_with<T>(delay: impl IntoDelay, result: T) -> Sleep<T> {
    Sleep {
        result: Some(result),
        state: SleepState::Start(delay.into_nanos()),
        site: Location::caller(),
    }
}

/// The awaitable [`sleep`] returns.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// let s: tulipsim::Sleep<()> = tulipsim::sleep(2);
/// lp.run_until_complete(s).unwrap();
/// assert_eq!(lp.time(), 2.0);
/// ```
pub struct Sleep<T> {
    result: Option<T>,
    state: SleepState,
    site: &'static Location<'static>,
}

/// A suspended sleep remembers its task: the throw it may receive on resuming is that task's,
/// as asyncio's `__wakeup` is bound to one task. Resuming then needs no thread-local lookup.
enum SleepState {
    /// Not polled yet: the delay, in nanoseconds.
    Start(i64),
    /// `sleep(0)`: the task's next step is scheduled; resume then.
    Yielded(Rc<dyn TaskRun>),
    /// Sleeping in the task's sleep slot.
    Slot {
        task: Rc<dyn TaskRun>,
        token: u64,
    },
    /// Sleeping on a future of its own: the slot was taken by another sleep of this task.
    /// Rare, so boxed: every coroutine that holds a `Sleep` is 40 bytes smaller for it.
    Waiting(Box<OwnFuture>),
    /// `sleep(f64::INFINITY)` (or any delay past the end of time): on a future nothing sets,
    /// so the run ends in a deadlock or at its limit, never by the sleep returning.
    Forever(Box<Wait<()>>),
    Done,
}

struct OwnFuture {
    wait: Wait<()>,
    timer: TimerHandle,
}

// `Sleep` never pins its fields.
impl<T> Unpin for Sleep<T> {}

impl<T> StdFuture for Sleep<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let polled = match &mut this.state {
            SleepState::Start(delay) => {
                let delay = *delay;
                return this.start(delay, cx);
            }
            // asyncio's bare `yield`: the step that resumes here may throw into it.
            SleepState::Yielded(task) => Poll::Ready(match task.header().take_throw() {
                None => Ok(()),
                Some(exc) => Err(exc),
            }),
            SleepState::Slot { task, token } => poll_slot(task.header(), *token, this.site),
            SleepState::Waiting(own) => {
                let polled = Pin::new(&mut own.wait).poll(cx);
                if polled.is_ready() {
                    // asyncio's `finally: h.cancel()`.
                    own.timer.cancel();
                }
                polled
            }
            SleepState::Forever(wait) => Pin::new(&mut **wait).poll(cx),
            SleepState::Done => Poll::Ready(Err(Error::invalid_state(
                "sleep() polled after it completed",
            ))),
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => {
                this.state = SleepState::Done;
                Poll::Ready(r.map(|()| this.take_result()))
            }
        }
    }
}

fn outside_task() -> Error {
    Error::runtime("sleep() was awaited outside a running tulipsim task")
}

impl<T> Sleep<T> {
    /// The first poll: yield once (`delay <= 0`), or start a timer.
    fn start(&mut self, delay: i64, cx: &mut Context<'_>) -> Poll<Result<T, Error>> {
        let site = self.site;
        let started = with_current(|lp, task| {
            let h = task.header();
            h.suspended_at.set(Some(site));
            if delay <= 0 {
                h.schedule_step(lp, task);
                return SleepState::Yielded(task.clone());
            }
            if delay == i64::MAX {
                let never: Future<()> = Future::bound(Rc::downgrade(lp), site);
                return SleepState::Forever(Box::new(never.wait_at(site)));
            }
            let when = lp.now().saturating_add(delay);
            if let Some(token) = h.start_sleep() {
                lp.add_sleep_timer(when, task.clone(), token);
                h.push_waiter(Waiter::Sleep);
                return SleepState::Slot {
                    task: task.clone(),
                    token,
                };
            }
            // The slot is busy with another sleep of this task (`join!` of two sleeps):
            // asyncio's own way, a future and a timer that sets it.
            let fut: Future<()> = Future::bound(Rc::downgrade(lp), site);
            let setter = fut.clone();
            let timer = lp.call_at_nanos(when, move || {
                if !setter.cancelled() {
                    let _ = setter.set_result(());
                }
            });
            SleepState::Waiting(Box::new(OwnFuture {
                wait: fut.wait_at(site),
                timer,
            }))
        });
        match started {
            None => {
                self.state = SleepState::Done;
                Poll::Ready(Err(outside_task()))
            }
            Some(state) => {
                self.state = state;
                if let SleepState::Waiting(own) = &mut self.state {
                    // Register on the new future now, as asyncio's `await future` does.
                    if let Poll::Ready(r) = Pin::new(&mut own.wait).poll(cx) {
                        self.state = SleepState::Done;
                        return Poll::Ready(r.map(|()| self.take_result()));
                    }
                }
                Poll::Pending
            }
        }
    }
}

/// A resumed poll of a sleep in the task's slot: what asyncio's `await future` would see.
fn poll_slot(
    h: &TaskHeader,
    token: u64,
    site: &'static Location<'static>,
) -> Poll<Result<(), Error>> {
    let phase = h.sleep.phase.get();
    let sleep_cancelled = || {
        Error::Cancelled(CancelledError {
            message: h.sleep_cancel_msg(),
        })
    };
    if let Some(exc) = h.land_throw(|| (phase == SleepPhase::Cancelled).then(sleep_cancelled)) {
        h.end_sleep(token);
        return Poll::Ready(Err(exc));
    }
    match phase {
        SleepPhase::Done => {
            h.end_sleep(token);
            Poll::Ready(Ok(()))
        }
        SleepPhase::Cancelled => {
            h.end_sleep(token);
            Poll::Ready(Err(sleep_cancelled()))
        }
        SleepPhase::Pending | SleepPhase::Idle => {
            // Woken for another reason (several awaits at once): still waiting.
            h.suspended_at.set(Some(site));
            h.push_waiter(Waiter::Sleep);
            Poll::Pending
        }
    }
}

impl<T> Sleep<T> {
    fn take_result(&mut self) -> T {
        self.result
            .take()
            .expect("Sleep's result is taken once, when it completes")
    }
}

impl<T> Drop for Sleep<T> {
    fn drop(&mut self) {
        match &self.state {
            SleepState::Waiting(own) => own.timer.cancel(),
            SleepState::Slot { task, token } => task.header().end_sleep(*token),
            _ => {}
        }
    }
}
