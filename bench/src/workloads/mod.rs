//! The performance workloads (issue #10, `docs/performance.md`), each written for tulipsim, for
//! tokio's current-thread runtime with paused time, and (the yield storm) for a bare executor.
//!
//! Every workload returns a checksum the driver compares across implementations, so a
//! workload that did less work on one side cannot look faster.

pub mod floor;
pub mod on_tokio;
pub mod on_tulipsim;

/// One workload at a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// W1: `n` tasks each returning a number, all awaited.
    SpawnJoin(u64),
    /// W2: `tasks` tasks each yielding `yields` times (`sleep(0)` / `yield_now`).
    YieldStorm {
        /// Tasks.
        tasks: u64,
        /// Yields per task.
        yields: u64,
    },
    /// W3: `n` tasks each sleeping a seeded pseudo-random duration in [0, 10 s).
    Timers(u64),
    /// W4: `n` round trips between two tasks, each message through a fresh future (oneshot).
    PingPong(u64),
    /// W5: `n` sequential `wait_for` calls; every other one times out.
    Timeouts(u64),
    /// W6: `n` sleeping tasks cancelled, each cancellation observed by awaiting the task.
    Cancellation(u64),
    /// W7: `n` fresh loops (runtimes), each running a 3-task program to completion.
    TinyRuns(u64),
}

impl Workload {
    /// The units its rate counts (task steps, tasks, round trips...).
    pub fn units(self) -> u64 {
        match self {
            Workload::SpawnJoin(n)
            | Workload::Timers(n)
            | Workload::PingPong(n)
            | Workload::Timeouts(n)
            | Workload::Cancellation(n)
            | Workload::TinyRuns(n) => n,
            Workload::YieldStorm { tasks, yields } => tasks * yields,
        }
    }

    /// Its short name and what a unit is.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Workload::SpawnJoin(_) => ("W1 spawn-join", "tasks"),
            Workload::YieldStorm { .. } => ("W2 yield storm", "task steps"),
            Workload::Timers(_) => ("W3 timers", "timers"),
            Workload::PingPong(_) => ("W4 ping-pong", "round trips"),
            Workload::Timeouts(_) => ("W5 timeouts", "wait_for calls"),
            Workload::Cancellation(_) => ("W6 cancellation", "cancellations"),
            Workload::TinyRuns(_) => ("W7 tiny runs", "runs"),
        }
    }
}

/// W3's durations: a fixed xorshift stream, the same on every side, in whole microseconds
/// below 10 s.
pub fn timer_durations(n: u64) -> impl Iterator<Item = u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 10_000_000
    })
}
