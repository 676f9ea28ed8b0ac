//! `#[tulipsim::test]` turns an `async fn` into a test run by the harness.

use std::cell::Cell;
use std::rc::Rc;

use tulipsim::{create_task, gather, sleep, Error};

#[tulipsim::test(seeds = 16, policy = "random")]
/// Doc comments and attributes of the function stay on the test.
async fn counted() -> Result<(), Error> {
    let lp = tulipsim::get_running_loop()?;
    sleep(1).await?;
    assert_eq!(lp.time(), 1.0);
    Ok(())
}

#[tulipsim::test]
async fn defaults_explore_a_correct_program_without_complaint() -> Result<(), Error> {
    let counter = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            create_task(async move {
                sleep(0).await?;
                c.set(c.get() + 1); // read and write in one step: no lost update
                Ok(())
            })
        })
        .collect::<Result<_, _>>()?;
    gather(tasks).await?;
    assert_eq!(counter.get(), 4);
    Ok(())
}

#[tulipsim::test(seeds = 8, max_steps = 10_000, determinism = true)]
async fn all_arguments() -> Result<(), Error> {
    sleep(0.5).await
}

#[tulipsim::test(seeds = 100, policy = "random")]
#[should_panic(expected = "an update was lost")]
async fn a_failing_test_panics_with_the_report() -> Result<(), Error> {
    crate::harness::lost_update().await
}
