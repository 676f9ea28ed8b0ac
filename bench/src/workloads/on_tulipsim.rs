//! The workloads on tulipsim.

use tulipsim::scheduler::Random;
use tulipsim::{create_task, get_running_loop, sleep, timeout, wait_for, Error, EventLoop, Future};
use tulipsim::{LoopConfig, TraceLevel};

use super::{concurrent_delay_ms, timer_durations, Workload};

/// How tulipsim is set up for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// FIFO (asyncio's order), no trace: a plain `EventLoop::new()`.
    Fifo,
    /// Seeded random scheduling, no trace.
    Random,
    /// FIFO with the full trace recorded (the test harness's default level).
    Traced,
}

impl Mode {
    /// A fresh loop set up this way; `seed` seeds Random.
    pub fn event_loop(self, seed: u64) -> EventLoop {
        let level = match self {
            Mode::Traced => TraceLevel::Full,
            _ => TraceLevel::Off,
        };
        let lp = EventLoop::with_config(LoopConfig::default().seed(seed).trace(level));
        if self == Mode::Random {
            lp.set_scheduler(Random::new());
        }
        lp
    }
}

/// Runs `w` once; gives its checksum.
pub fn run(w: Workload, mode: Mode) -> Result<u64, Error> {
    if let Workload::TinyRuns(n) = w {
        return tiny_runs(n, mode);
    }
    let lp = mode.event_loop(1);
    let sum = match w {
        Workload::SpawnJoin(n) => lp.run_until_complete(spawn_join(n)),
        Workload::YieldStorm { tasks, yields } => lp.run_until_complete(yield_storm(tasks, yields)),
        Workload::Timers(n) => lp.run_until_complete(timers(n)),
        Workload::PingPong(n) => lp.run_until_complete(ping_pong(n)),
        Workload::Timeouts(n) => lp.run_until_complete(timeouts(n)),
        Workload::Cancellation(n) => lp.run_until_complete(cancellation(n)),
        Workload::ConcurrentWaitFor { tasks, calls } => {
            lp.run_until_complete(concurrent_timeouts(tasks, calls, false))
        }
        Workload::ConcurrentScopes { tasks, calls } => {
            lp.run_until_complete(concurrent_timeouts(tasks, calls, true))
        }
        Workload::TinyRuns(_) => unreachable!("handled above"),
    }?;
    lp.close()?;
    Ok(sum)
}

async fn spawn_join(n: u64) -> Result<u64, Error> {
    let mut tasks = Vec::with_capacity(n as usize);
    for i in 0..n {
        tasks.push(create_task(async move { Ok(i) })?);
    }
    let mut sum = 0;
    for t in tasks {
        sum += t.await?;
    }
    Ok(sum)
}

async fn yield_storm(tasks: u64, yields: u64) -> Result<u64, Error> {
    let mut all = Vec::with_capacity(tasks as usize);
    for _ in 0..tasks {
        all.push(create_task(async move {
            for _ in 0..yields {
                sleep(0).await?;
            }
            Ok(yields)
        })?);
    }
    let mut sum = 0;
    for t in all {
        sum += t.await?;
    }
    Ok(sum)
}

async fn timers(n: u64) -> Result<u64, Error> {
    let mut all = Vec::with_capacity(n as usize);
    for us in timer_durations(n) {
        all.push(create_task(async move {
            sleep(us as f64 / 1e6).await?;
            Ok(us)
        })?);
    }
    let mut sum = 0;
    for t in all {
        sum += t.await?;
    }
    Ok(sum)
}

/// A message, and the fresh future its answer goes in.
#[derive(Clone)]
struct Msg {
    n: u64,
    reply: Future<Msg>,
}

async fn ping_pong(n: u64) -> Result<u64, Error> {
    let lp = get_running_loop()?;
    let first: Future<Msg> = lp.create_future();
    let mut inbox = first.clone();
    let pong = create_task(async move {
        let lp = get_running_loop()?;
        loop {
            let Msg { n: i, reply } = inbox.await?;
            if i == n {
                return Ok(i);
            }
            let next = lp.create_future();
            reply.set_result(Msg {
                n: i,
                reply: next.clone(),
            })?;
            inbox = next;
        }
    })?;
    let mut to_pong = first;
    let mut sum = 0;
    for i in 0..n {
        let reply = lp.create_future();
        to_pong.set_result(Msg {
            n: i,
            reply: reply.clone(),
        })?;
        let Msg { n: back, reply } = reply.await?;
        sum += back;
        to_pong = reply;
    }
    to_pong.set_result(Msg {
        n,
        reply: lp.create_future(),
    })?;
    Ok(sum + pong.await?)
}

async fn timeouts(n: u64) -> Result<u64, Error> {
    let mut timed_out = 0;
    for i in 0..n {
        let delay = if i % 2 == 0 { 0.5 } else { 2.0 };
        match wait_for(sleep(delay), 1.0).await {
            Ok(()) => {}
            Err(Error::Timeout(_)) => timed_out += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(timed_out)
}

/// W9 (`wait_for`) and W10 (the `timeout()` scope, when `scope`).
async fn concurrent_timeouts(tasks: u64, calls: u64, scope: bool) -> Result<u64, Error> {
    let mut all = Vec::with_capacity(tasks as usize);
    for t in 0..tasks {
        all.push(create_task(async move {
            let mut timed_out = 0;
            for i in 0..calls {
                let delay = concurrent_delay_ms(t, i) as f64 / 1e3;
                let r = if scope {
                    timeout(1).run(sleep(delay)).await
                } else {
                    wait_for(sleep(delay), 1).await
                };
                match r {
                    Ok(()) => {}
                    Err(Error::Timeout(_)) => timed_out += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok(timed_out)
        })?);
    }
    let mut sum = 0;
    for t in all {
        sum += t.await?;
    }
    Ok(sum)
}

async fn cancellation(n: u64) -> Result<u64, Error> {
    let mut all = Vec::with_capacity(n as usize);
    for _ in 0..n {
        all.push(create_task(sleep(10))?);
    }
    sleep(0).await?; // every task has started and sleeps
    for t in &all {
        t.cancel();
    }
    let mut observed = 0;
    for t in all {
        match t.await {
            Err(e) if e.is_cancelled() => observed += 1,
            other => other?,
        }
    }
    Ok(observed)
}

fn tiny_runs(n: u64, mode: Mode) -> Result<u64, Error> {
    let mut sum = 0;
    for seed in 0..n {
        let lp = mode.event_loop(seed);
        sum += lp.run_until_complete(async {
            let a = create_task(async {
                sleep(0).await?;
                Ok(1u64)
            })?;
            let b = create_task(async {
                sleep(0).await?;
                Ok(2u64)
            })?;
            Ok(a.await? + b.await?)
        })?;
        lp.close()?;
    }
    Ok(sum)
}

/// Keeps `n` tasks pending on a sleep and calls `at_peak` while they wait (the memory
/// measurement).
pub fn pending(n: u64, at_peak: impl FnOnce() + 'static) -> Result<(), Error> {
    let lp = EventLoop::new();
    lp.run_until_complete(async move {
        let mut all = Vec::with_capacity(n as usize);
        for _ in 0..n {
            all.push(create_task(sleep(10))?);
        }
        sleep(1).await?;
        at_peak();
        for t in all {
            t.await?;
        }
        Ok(())
    })?;
    lp.close()
}
