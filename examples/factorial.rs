//! The reference text's "Parallel execution of tasks" example: three tasks computing
//! factorials concurrently, each sleeping one second per multiplication.
//!
//! Prints the nine `Task X: ...` lines in the order the reference text gives, and finishes
//! at virtual time 3 s (in microseconds of wall time).
//!
//! Run it with `cargo run --example factorial`.

use tulipsim::{sleep, Error, EventLoop};

async fn factorial(name: &'static str, number: u64) -> Result<u64, Error> {
    let mut f = 1;
    for i in 2..=number {
        println!("Task {name}: Compute factorial({i})...");
        sleep(1).await?;
        f *= i;
    }
    println!("Task {name}: factorial({number}) = {f}");
    Ok(f)
}

fn main() -> Result<(), Error> {
    let lp = EventLoop::new();
    let tasks = [
        lp.create_task(factorial("A", 2)),
        lp.create_task(factorial("B", 3)),
        lp.create_task(factorial("C", 4)),
    ];
    // The reference text waits with `asyncio.wait(tasks)`; awaiting each in turn ends at the
    // same instant, when the last one finishes.
    lp.run_until_complete(async move {
        for t in tasks {
            t.await?;
        }
        Ok(())
    })?;
    assert_eq!(lp.time(), 3.0, "the reference text's run takes 3 s");
    eprintln!("(finished at virtual time {} s)", lp.time());
    Ok(())
}
