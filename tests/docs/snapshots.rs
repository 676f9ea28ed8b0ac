//! Snapshots of the traces of the reference text's examples (insta). Each trace was read and
//! checked by hand against the reference text's description of the example when accepted.

use tulipsim::{sleep, Error, EventLoop, Future, LoopConfig, TraceLevel};

fn traced() -> EventLoop {
    EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full))
}

/// The trace text without line:column in call sites, so that edits elsewhere in this file
/// leave the snapshots alone.
fn text(lp: &EventLoop) -> String {
    lp.trace()
        .to_string()
        .lines()
        .map(|l| match l.find(".rs:") {
            Some(i) => {
                let end = l[i + 4..]
                    .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                    .map_or(l.len(), |j| i + 4 + j);
                format!("{}.rs{}", &l[..i], &l[end..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn hello_world() {
    let lp = traced();
    let task = lp.create_task_named("greet_every_two_seconds", async {
        loop {
            sleep(2).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), Error>(())
    });
    let t = task.clone();
    lp.call_later(5, move || {
        t.cancel();
    });
    assert!(lp.run_until_complete(task).unwrap_err().is_cancelled());
    insta::assert_snapshot!(text(&lp));
}

#[test]
fn chain_coroutines() {
    async fn compute(x: i32, y: i32) -> Result<i32, Error> {
        sleep(1.0).await?;
        Ok(x + y)
    }
    let lp = traced();
    lp.run_until_complete(async { compute(1, 2).await.map(|_| ()) })
        .unwrap();
    insta::assert_snapshot!(text(&lp));
}

#[test]
fn future_with_run_until_complete() {
    let lp = traced();
    let future: Future<String> = lp.create_future();
    let f = future.clone();
    lp.create_task_named("slow_operation", async move {
        sleep(1).await?;
        f.set_result("Future is done!".into())
    });
    lp.run_until_complete(future).unwrap();
    insta::assert_snapshot!(text(&lp));
}

#[test]
fn future_with_run_forever() {
    let lp = traced();
    let future: Future<String> = lp.create_future();
    let f = future.clone();
    lp.create_task_named("slow_operation", async move {
        sleep(1).await?;
        f.set_result("Future is done!".into())
    });
    let h = lp.handle();
    future.add_done_callback(move |_: &Future<String>| h.stop());
    lp.run_forever().unwrap();
    insta::assert_snapshot!(text(&lp));
}

#[test]
fn parallel_factorial() {
    async fn factorial(number: u64) -> Result<u64, Error> {
        let mut f = 1;
        for i in 2..=number {
            sleep(1).await?;
            f *= i;
        }
        Ok(f)
    }
    let lp = traced();
    let tasks = [("A", 2), ("B", 3), ("C", 4)].map(|(n, k)| lp.create_task_named(n, factorial(k)));
    lp.run_until_complete(async move {
        for t in tasks {
            t.await?;
        }
        Ok(())
    })
    .unwrap();
    insta::assert_snapshot!(text(&lp));
}
