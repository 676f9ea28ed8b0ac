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
    /// W4c: W4's round trips on tulipsim with each message through a fresh `futures-channel`
    /// oneshot instead of a `Future` (issue #20, item 3); tokio: W4's program (`oneshot`).
    PingPongChannel(u64),
    /// W5: `n` sequential `wait_for` calls; every other one times out.
    Timeouts(u64),
    /// W6: `n` sleeping tasks cancelled, each cancellation observed by awaiting the task.
    Cancellation(u64),
    /// W7: `n` fresh loops (runtimes), each running a 3-task program to completion.
    TinyRuns(u64),
    /// W9: `tasks` tasks each making `calls` sequential `wait_for(sleep(s), 1)` calls, every
    /// other one timing out (issue #20: many timeouts pending at once). tokio: `timeout`.
    ConcurrentWaitFor {
        /// Tasks.
        tasks: u64,
        /// Calls per task.
        calls: u64,
    },
    /// W10: W9's shape through the `timeout(1).run(sleep(s))` scope. tokio: `timeout`.
    ConcurrentScopes {
        /// Tasks.
        tasks: u64,
        /// Calls per task.
        calls: u64,
    },
}

impl Workload {
    /// The units its rate counts (task steps, tasks, round trips...).
    pub fn units(self) -> u64 {
        match self {
            Workload::SpawnJoin(n)
            | Workload::Timers(n)
            | Workload::PingPong(n)
            | Workload::PingPongChannel(n)
            | Workload::Timeouts(n)
            | Workload::Cancellation(n)
            | Workload::TinyRuns(n) => n,
            Workload::YieldStorm { tasks, yields } => tasks * yields,
            Workload::ConcurrentWaitFor { tasks, calls }
            | Workload::ConcurrentScopes { tasks, calls } => tasks * calls,
        }
    }

    /// Its short name and what a unit is.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Workload::SpawnJoin(_) => ("W1 spawn-join", "tasks"),
            Workload::YieldStorm { .. } => ("W2 yield storm", "task steps"),
            Workload::Timers(_) => ("W3 timers", "timers"),
            Workload::PingPong(_) => ("W4 ping-pong", "round trips"),
            Workload::PingPongChannel(_) => ("W4c ping-pong, oneshot", "round trips"),
            Workload::Timeouts(_) => ("W5 timeouts", "wait_for calls"),
            Workload::Cancellation(_) => ("W6 cancellation", "cancellations"),
            Workload::TinyRuns(_) => ("W7 tiny runs", "runs"),
            Workload::ConcurrentWaitFor { .. } => ("W9 concurrent wait_for", "wait_for calls"),
            Workload::ConcurrentScopes { .. } => ("W10 concurrent timeout()", "scopes"),
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

/// W9 and W10's inner sleep for call `i` of task `t`, in milliseconds against a 1 s limit:
/// half the calls time out, and at any instant the tasks are split between the two.
pub fn concurrent_delay_ms(t: u64, i: u64) -> u64 {
    if (t + i) % 2 == 0 {
        500
    } else {
        2_000
    }
}
