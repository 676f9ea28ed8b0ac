//! The workloads on tulipsim.

use tulipsim::scheduler::Random;
use tulipsim::{create_task, get_running_loop, sleep, timeout, wait_for, Error, EventLoop, Future};
use tulipsim::{LoopConfig, Policy, TraceLevel};

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
    /// An exploring policy's scheduler, warmed as `check()` warms each seed's: learning
    /// policies (PCT, delay) learn the run length from `calibration`, the decision count of
    /// one FIFO run of the same workload ([`fifo_decisions`]).
    Policy {
        /// Which policy.
        policy: Explore,
        /// FIFO's decisions on this workload.
        calibration: u64,
    },
}

/// The harness's seeded policies, for the exploration-price table (issue #20, item 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Explore {
    /// `Policy::Fifo`, through the harness's path (a boxed `Fifo` scheduler).
    Fifo,
    /// `Policy::Random`.
    Random,
    /// `Policy::Chaos`.
    Chaos,
    /// `Policy::Pct(depth)`.
    Pct(u32),
    /// `Policy::Delay(budget)`.
    Delay(u32),
    /// `Policy::Portfolio` (the policy a seed gets depends on the seed).
    Portfolio,
}

impl Explore {
    /// Every policy of the table: FIFO, Random, Chaos, PCT 2 and 3, Delay 2, Portfolio.
    pub const ALL: [Explore; 7] = [
        Explore::Fifo,
        Explore::Random,
        Explore::Chaos,
        Explore::Pct(2),
        Explore::Pct(3),
        Explore::Delay(2),
        Explore::Portfolio,
    ];

    /// The harness's policy.
    pub fn policy(self) -> Policy {
        match self {
            Explore::Fifo => Policy::Fifo,
            Explore::Random => Policy::Random,
            Explore::Chaos => Policy::Chaos,
            Explore::Pct(d) => Policy::Pct(d),
            Explore::Delay(b) => Policy::Delay(b),
            Explore::Portfolio => Policy::Portfolio,
        }
    }

    /// Its name, as `TULIPSIM_POLICY` spells it.
    pub fn name(self) -> String {
        self.policy().name()
    }
}

impl Mode {
    /// A fresh loop set up this way; `seed` seeds Random.
    pub fn event_loop(self, seed: u64) -> EventLoop {
        let level = match self {
            Mode::Traced => TraceLevel::Full,
            _ => TraceLevel::Off,
        };
        let lp = EventLoop::with_config(LoopConfig::default().seed(seed).trace(level));
        match self {
            Mode::Random => lp.set_scheduler(Random::new()),
            Mode::Policy {
                policy,
                calibration,
            } => lp.set_boxed_scheduler(policy.policy().warmed_scheduler(calibration)),
            Mode::Fifo | Mode::Traced => {}
        }
        lp
    }
}

/// Runs `w` once; gives its checksum.
pub fn run(w: Workload, mode: Mode) -> Result<u64, Error> {
    run_counted(w, mode).map(|(sum, _)| sum)
}

/// The decisions one FIFO run of `w` makes (of one of W7's tiny runs): what warms a learning
/// policy's estimate of the run length, as `check()`'s calibration run does.
pub fn fifo_decisions(w: Workload) -> Result<u64, Error> {
    // A `Fifo` scheduler set on the loop, as the harness's calibration run sets it: the
    // loop's own FIFO path (no scheduler) counts no decisions.
    let fifo = Mode::Policy {
        policy: Explore::Fifo,
        calibration: 0,
    };
    let w = match w {
        Workload::TinyRuns(_) => {
            let lp = fifo.event_loop(0);
            tiny_run(&lp)?;
            let d = lp.decisions();
            lp.close()?;
            return Ok(d);
        }
        w => w,
    };
    run_counted(w, fifo).map(|(_, d)| d)
}

/// Runs `w` once; gives its checksum and the loop's decision count.
fn run_counted(w: Workload, mode: Mode) -> Result<(u64, u64), Error> {
    if let Workload::TinyRuns(n) = w {
        return tiny_runs(n, mode).map(|sum| (sum, 0));
    }
    let lp = mode.event_loop(1);
    let sum = match w {
        Workload::SpawnJoin(n) => lp.run_until_complete(spawn_join(n)),
        Workload::YieldStorm { tasks, yields } => lp.run_until_complete(yield_storm(tasks, yields)),
        Workload::Timers(n) => lp.run_until_complete(timers(n)),
        Workload::PingPong(n) => lp.run_until_complete(ping_pong(n)),
        Workload::PingPongChannel(n) => lp.run_until_complete(ping_pong_channel(n)),
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
    let decisions = lp.decisions();
    lp.close()?;
    Ok((sum, decisions))
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

/// W4c: W4 with a `futures-channel` oneshot per message instead of a `Future`: the same
/// program as tokio's W4, on tulipsim's loop (its tasks woken through wakers).
async fn ping_pong_channel(n: u64) -> Result<u64, Error> {
    use futures_channel::oneshot;
    struct Msg {
        n: u64,
        reply: oneshot::Sender<Msg>,
    }
    let (first_tx, first_rx) = oneshot::channel::<Msg>();
    let pong = create_task(async move {
        let mut inbox = first_rx;
        loop {
            let Msg { n: i, reply } = inbox.await.expect("a message");
            if i == n {
                return Ok(i);
            }
            let (tx, rx) = oneshot::channel();
            let _ = reply.send(Msg { n: i, reply: tx });
            inbox = rx;
        }
    })?;
    let mut to_pong = first_tx;
    let mut sum = 0;
    for i in 0..n {
        let (tx, rx) = oneshot::channel();
        let _ = to_pong.send(Msg { n: i, reply: tx });
        let Msg { n: back, reply } = rx.await.expect("a reply");
        sum += back;
        to_pong = reply;
    }
    let (tx, _rx) = oneshot::channel();
    let _ = to_pong.send(Msg { n, reply: tx });
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
        sum += tiny_run(&lp)?;
        lp.close()?;
    }
    Ok(sum)
}

/// One of W7's runs: a 3-task program on `lp`.
fn tiny_run(lp: &EventLoop) -> Result<u64, Error> {
    lp.run_until_complete(async {
        let a = create_task(async {
            sleep(0).await?;
            Ok(1u64)
        })?;
        let b = create_task(async {
            sleep(0).await?;
            Ok(2u64)
        })?;
        Ok(a.await? + b.await?)
    })
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
