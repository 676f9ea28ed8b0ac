//! The reference text's "Future with run_forever()" example: the same slow operation, but a
//! done-callback on the future prints the result and stops the loop.
//!
//! Prints `Future is done!`.
//!
//! Run it with `cargo run --example future_run_forever`.

use tulipsim::{sleep, Error, EventLoop, Future};

async fn slow_operation(future: Future<String>) -> Result<(), Error> {
    sleep(1).await?;
    future.set_result("Future is done!".to_string())
}

fn main() -> Result<(), Error> {
    let lp = EventLoop::new();
    let future = lp.create_future();
    lp.create_task(slow_operation(future.clone()));
    // The coroutine only runs once the loop runs, so the callback can be added after the task.
    let handle = lp.handle();
    future.add_done_callback(move |future: &Future<String>| {
        match future.result() {
            Ok(text) => println!("{text}"),
            Err(e) => println!("failed: {e}"),
        }
        handle.stop();
    });
    lp.run_forever()?;
    lp.close()
}
