//! The workloads on tokio's current-thread runtime with paused time: what a Rust user gets
//! from `#[tokio::test(start_paused = true)]`.

use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio::sync::oneshot;
use tokio::task::yield_now;
use tokio::time::{sleep, timeout};

use super::{concurrent_delay_ms, timer_durations, Workload};

/// A fresh current-thread runtime with paused time.
pub fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// Runs `w` once; gives its checksum.
pub fn run(w: Workload) -> u64 {
    if let Workload::TinyRuns(n) = w {
        return tiny_runs(n);
    }
    let rt = runtime();
    match w {
        Workload::SpawnJoin(n) => rt.block_on(spawn_join(n)),
        Workload::YieldStorm { tasks, yields } => rt.block_on(yield_storm(tasks, yields)),
        Workload::Timers(n) => rt.block_on(timers(n)),
        Workload::PingPong(n) | Workload::PingPongChannel(n) => rt.block_on(ping_pong(n)),
        Workload::Timeouts(n) => rt.block_on(timeouts(n)),
        Workload::Cancellation(n) => rt.block_on(cancellation(n)),
        Workload::ConcurrentWaitFor { tasks, calls }
        | Workload::ConcurrentScopes { tasks, calls } => {
            rt.block_on(concurrent_timeouts(tasks, calls))
        }
        Workload::TinyRuns(_) => unreachable!("handled above"),
    }
}

async fn spawn_join(n: u64) -> u64 {
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await.unwrap();
    }
    sum
}

async fn yield_storm(tasks: u64, yields: u64) -> u64 {
    let all: Vec<_> = (0..tasks)
        .map(|_| {
            tokio::spawn(async move {
                for _ in 0..yields {
                    yield_now().await;
                }
                yields
            })
        })
        .collect();
    let mut sum = 0;
    for t in all {
        sum += t.await.unwrap();
    }
    sum
}

async fn timers(n: u64) -> u64 {
    let all: Vec<_> = timer_durations(n)
        .map(|us| {
            tokio::spawn(async move {
                sleep(Duration::from_micros(us)).await;
                us
            })
        })
        .collect();
    let mut sum = 0;
    for t in all {
        sum += t.await.unwrap();
    }
    sum
}

/// A message, and the fresh channel its answer goes in.
struct Msg {
    n: u64,
    reply: oneshot::Sender<Msg>,
}

async fn ping_pong(n: u64) -> u64 {
    let (first_tx, first_rx) = oneshot::channel::<Msg>();
    let pong = tokio::spawn(async move {
        let mut inbox = first_rx;
        loop {
            let Msg { n: i, reply } = inbox.await.unwrap();
            if i == n {
                return i;
            }
            let (tx, rx) = oneshot::channel();
            let _ = reply.send(Msg { n: i, reply: tx });
            inbox = rx;
        }
    });
    let mut to_pong = first_tx;
    let mut sum = 0;
    for i in 0..n {
        let (tx, rx) = oneshot::channel();
        let _ = to_pong.send(Msg { n: i, reply: tx });
        let Msg { n: back, reply } = rx.await.unwrap();
        sum += back;
        to_pong = reply;
    }
    let (tx, _rx) = oneshot::channel();
    let _ = to_pong.send(Msg { n, reply: tx });
    sum + pong.await.unwrap()
}

async fn timeouts(n: u64) -> u64 {
    let mut timed_out = 0;
    for i in 0..n {
        let delay = if i % 2 == 0 { 500 } else { 2000 };
        if timeout(Duration::from_secs(1), sleep(Duration::from_millis(delay)))
            .await
            .is_err()
        {
            timed_out += 1;
        }
    }
    timed_out
}

/// W9 and W10 (tokio has one `timeout` for both shapes).
async fn concurrent_timeouts(tasks: u64, calls: u64) -> u64 {
    let all: Vec<_> = (0..tasks)
        .map(|t| {
            tokio::spawn(async move {
                let mut timed_out = 0;
                for i in 0..calls {
                    let delay = Duration::from_millis(concurrent_delay_ms(t, i));
                    if timeout(Duration::from_secs(1), sleep(delay)).await.is_err() {
                        timed_out += 1;
                    }
                }
                timed_out
            })
        })
        .collect();
    let mut sum = 0;
    for t in all {
        sum += t.await.unwrap();
    }
    sum
}

async fn cancellation(n: u64) -> u64 {
    let all: Vec<_> = (0..n)
        .map(|_| tokio::spawn(sleep(Duration::from_secs(10))))
        .collect();
    yield_now().await; // every task has started and sleeps
    for t in &all {
        t.abort();
    }
    let mut observed = 0;
    for t in all {
        if t.await.is_err_and(|e| e.is_cancelled()) {
            observed += 1;
        }
    }
    observed
}

fn tiny_runs(n: u64) -> u64 {
    let mut sum = 0;
    for _ in 0..n {
        sum += runtime().block_on(async {
            let a = tokio::spawn(async {
                yield_now().await;
                1u64
            });
            let b = tokio::spawn(async {
                yield_now().await;
                2u64
            });
            a.await.unwrap() + b.await.unwrap()
        });
    }
    sum
}

/// Keeps `n` tasks pending on a sleep and calls `at_peak` while they wait.
pub fn pending(n: u64, at_peak: impl FnOnce()) {
    runtime().block_on(async move {
        let all: Vec<_> = (0..n)
            .map(|_| tokio::spawn(sleep(Duration::from_secs(10))))
            .collect();
        sleep(Duration::from_secs(1)).await;
        at_peak();
        for t in all {
            t.await.unwrap();
        }
    })
}
