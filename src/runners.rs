//! asyncio's `runners.py`: `run()`, the one-call way to run a program on a fresh loop.

use crate::base_events::ExceptionContext;
use crate::events::EventLoop;
use crate::exceptions::Error;
use crate::tasks::Awaitable;

/// Runs `main` on a new [`EventLoop`] and closes it (asyncio's `asyncio.run`).
///
/// Tasks still pending when `main` is done are cancelled and run until they finish, as
/// asyncio's `run` does, so that their cleanup code runs; an exception one of them raises
/// while finishing is reported to the loop's exception handler.
///
/// ```
/// let r = tulipsim::run(async {
///     tulipsim::create_task(async { tulipsim::sleep(100).await })?; // cancelled at the end
///     tulipsim::sleep(1).await?;
///     Ok("done")
/// });
/// assert_eq!(r.unwrap(), "done");
/// ```
#[track_caller]
pub fn run<T: 'static>(main: impl Awaitable<T>) -> Result<T, Error> {
    let lp = EventLoop::new();
    let result = lp.run_until_complete(main);
    cancel_all_tasks(&lp);
    let _ = lp.close();
    result
}

/// asyncio's `_cancel_all_tasks`: cancel what is left, let it finish, and report each task that
/// finished with an exception other than its cancellation.
fn cancel_all_tasks(lp: &EventLoop) {
    let to_cancel = lp.all_tasks();
    if to_cancel.is_empty() {
        return;
    }
    for t in &to_cancel {
        t.cancel();
    }
    let waited = to_cancel.clone();
    let _ = lp.run_until_complete(async move {
        // asyncio gathers them with `return_exceptions=True`: every one is awaited.
        for t in &waited {
            let _ = t.await;
        }
        Ok(())
    });
    for t in &to_cancel {
        if t.cancelled() || !t.done() {
            continue;
        }
        let fut = t.to_any_future();
        if let Ok(Some(exc)) = fut.exception_any() {
            lp.handle().inner.report(ExceptionContext {
                future: None,
                message: "unhandled exception during asyncio.run() shutdown".to_string(),
                error: Some(exc),
                task: Some(t.get_name()),
                site: Some(t.spawned_at()),
            });
        }
    }
}
