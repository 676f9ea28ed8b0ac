//! asyncio's `runners.py`: `run()`, the one-call way to run a program on a fresh loop.

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

/// asyncio's `_cancel_all_tasks`: cancel what is left and let it finish.
fn cancel_all_tasks(lp: &EventLoop) {
    let to_cancel = lp.all_tasks();
    if to_cancel.is_empty() {
        return;
    }
    for t in &to_cancel {
        t.cancel();
    }
    let _ = lp.run_until_complete(async move {
        for t in &to_cancel {
            let _ = t.await;
        }
        Ok(())
    });
}
