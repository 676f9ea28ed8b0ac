//! The reference text's "Chain coroutines" example: `print_sum` awaits `compute`, which sleeps
//! one second and returns the sum.
//!
//! Prints `Compute 1 + 2 ...` at t=0 and `1 + 2 = 3` at t=1 s.
//!
//! Run it with `cargo run --example chain_coroutines`.

use tulipsim::{sleep, Error, EventLoop};

async fn compute(x: i32, y: i32) -> Result<i32, Error> {
    println!("Compute {x} + {y} ...");
    sleep(1.0).await?;
    Ok(x + y)
}

async fn print_sum(x: i32, y: i32) -> Result<(), Error> {
    let result = compute(x, y).await?;
    println!("{x} + {y} = {result}");
    Ok(())
}

fn main() -> Result<(), Error> {
    let lp = EventLoop::new();
    lp.run_until_complete(print_sum(1, 2))?;
    assert_eq!(lp.time(), 1.0);
    Ok(())
}
