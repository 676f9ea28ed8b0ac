//! Waiting, through a waker, for a tulipsim coroutine run as a task of its own.
//!
//! tulipsim's own awaitables wake the *task* that awaits them, not a waker, so polling one
//! from inside a tokio combinator (`select!`, `FuturesUnordered`) could lose a wake-up. The
//! shim never does: a tulipsim operation that must wait (connecting, binding) runs as a task
//! named after it, and the tokio side waits for that task's done-callback through its waker.
//! Dropping the wait cancels the task, the asyncio way, so its cleanup runs.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::local::Local;

struct State<T: 'static> {
    task: tulipsim::Task<T>,
    waker: Rc<RefCell<Option<Waker>>>,
}

/// A `Send` future for a tulipsim task's result.
pub(crate) struct OnLoop<T: 'static> {
    state: Local<State<T>>,
}

impl<T: Clone + 'static> OnLoop<T> {
    /// Runs `coro` as a task named `name` of the running loop.
    #[track_caller]
    pub(crate) fn spawn(
        name: &str,
        coro: impl Future<Output = Result<T, tulipsim::Error>> + 'static,
    ) -> Result<OnLoop<T>, tulipsim::Error> {
        let task = tulipsim::create_task_named(name, coro)?;
        // It belongs to the tokio-side wait; at shutdown both go quietly, as tokio's do.
        task.set_log_destroy_pending(false);
        let waker: Rc<RefCell<Option<Waker>>> = Rc::default();
        let w = waker.clone();
        task.add_done_callback(move |_: &tulipsim::Future<T>| {
            let waker = w.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        Ok(OnLoop {
            state: Local::new(State { task, waker }),
        })
    }
}

impl<T: Clone + 'static> Future for OnLoop<T> {
    type Output = Result<T, tulipsim::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = self.state.get();
        if state.task.done() {
            return Poll::Ready(state.task.result());
        }
        let mut waker = state.waker.borrow_mut();
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T: 'static> Drop for OnLoop<T> {
    fn drop(&mut self) {
        // While the loop closes (no loop running) its tasks are being destroyed anyway, and a
        // cancel would only be refused with a report.
        if tulipsim::get_running_loop().is_err() {
            return;
        }
        if let Some(state) = self.state.try_get() {
            if !state.task.done() {
                state.task.cancel();
            }
        }
    }
}
