//! asyncio's `shield`: await a future without letting the awaiter's cancellation reach it.

use std::panic::Location;
use std::rc::Rc;

use crate::futures::{DoneCallback, Future};
use crate::tasks::Awaitable;

/// asyncio's `shield(aw)`: a new future that follows `aw`, so that cancelling whoever awaits
/// it cancels only the shield, not `aw`.
///
/// Awaiting `shield(x)` is awaiting `x`, except that if the awaiting task is cancelled, `x`
/// keeps running (from its point of view nothing happened) while the awaiter still gets
/// `CancelledError`. If `x` is cancelled by other means, the shield is cancelled too; if `x`
/// fails, the shield fails with the same error. An `async` block is wrapped in a task first;
/// an `x` that is already done is returned as it is.
///
/// ```
/// use tulipsim::{create_task, shield, sleep, sleep_with, EventLoop};
/// let lp = EventLoop::new();
/// let inner = lp.create_task(sleep_with(5, "inner result"));
/// let i = inner.clone();
/// let caller = lp.create_task(async move { shield(i).await });
/// lp.run_until_complete(sleep(1)).unwrap();
/// caller.cancel();
/// assert!(lp.run_until_complete(caller).unwrap_err().is_cancelled());
/// assert_eq!(lp.run_until_complete(inner).unwrap(), "inner result"); // kept running
/// assert_eq!(lp.time(), 5.0);
/// ```
#[track_caller]
pub fn shield<T: Clone + 'static>(awaitable: impl Awaitable<T>) -> Future<T> {
    let site = Location::caller();
    let inner = awaitable.ensure_on(None, site).future;
    if inner.done() {
        return inner;
    }
    let outer: Future<T> = match inner.get_loop() {
        Some(lp) => Future::bound(Rc::downgrade(&lp.inner), site),
        None => Future::bound(crate::events::current_or_thread_loop(), site),
    };
    let o = outer.clone();
    let inner_done = DoneCallback::new(move |inner: &Future<T>| {
        if o.cancelled() {
            if !inner.cancelled() {
                // Mark the inner's outcome as seen: nobody awaits it through the shield now.
                let _ = inner.exception();
            }
            return;
        }
        if inner.cancelled() {
            o.cancel();
        } else {
            let _ = match inner.exception() {
                Ok(Some(e)) => o.set_exception(e),
                _ => o.set_result(inner.result().expect("inner finished with a result")),
            };
        }
    });
    inner.add_done_callback(inner_done.clone());
    let i = inner.clone();
    outer.add_done_callback(move |_: &Future<T>| {
        if !i.done() {
            i.remove_done_callback(&inner_done);
        }
    });
    outer
}
