//! The reference text's "Hello World" coroutine: print `Hello World` every two seconds.
//!
//! The coroutine loops forever, as in the reference text; a timer cancels it at t=5 s, so it
//! greets three times (at 0, 2 and 4 s) and then receives a `CancelledError` at its `sleep`.
//! All of it takes microseconds of wall time.
//!
//! Run it with `cargo run --example hello_world`.

use tulipsim::{sleep, Error, EventLoop};

async fn greet_every_two_seconds() -> Result<(), Error> {
    loop {
        println!("Hello World");
        sleep(2).await?;
    }
}

fn main() {
    let lp = EventLoop::new();
    let task = lp.create_task(greet_every_two_seconds());
    let t = task.clone();
    lp.call_later(5, move || {
        t.cancel();
    });
    match lp.run_until_complete(task) {
        Err(e) if e.is_cancelled() => eprintln!("(cancelled at virtual time {} s)", lp.time()),
        other => panic!("the greeter only ends by cancellation, got {other:?}"),
    }
}
