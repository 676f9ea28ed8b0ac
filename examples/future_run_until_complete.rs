//! The reference text's "Future with run_until_complete()" example: a coroutine computes for
//! one second and stores its result in a future; `run_until_complete` waits for the future.
//!
//! Prints `Future is done!`.
//!
//! Run it with `cargo run --example future_run_until_complete`.

use tulipsim::{sleep, Error, EventLoop, Future};

async fn slow_operation(future: Future<String>) -> Result<(), Error> {
    sleep(1).await?;
    future.set_result("Future is done!".to_string())
}

fn main() -> Result<(), Error> {
    let lp = EventLoop::new();
    let future = lp.create_future();
    lp.create_task(slow_operation(future.clone())); // asyncio.async(slow_operation(future))
    lp.run_until_complete(future.clone())?;
    println!("{}", future.result()?);
    lp.close()
}
