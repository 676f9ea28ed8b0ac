//! Systematic exploration: every schedule of a small program, and iterative delay bounding.

use std::cell::RefCell;
use std::future::Future as StdFuture;
use std::rc::Rc;

use super::report::Summary;
use super::run::{run_once, RunConfig, RunResult};
use crate::exceptions::Error;
use crate::scheduler::{ChoicePoint, Eligibility, Schedule, Scheduler};
use crate::trace::TraceLevel;

/// Follows a schedule and records how many candidates each decision had.
struct Scripted {
    schedule: Schedule,
    eligibility: Eligibility,
    counts: Rc<RefCell<Vec<u32>>>,
}

impl Scheduler for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        self.counts.borrow_mut().push(point.candidates.len() as u32);
        let i = self.schedule.index_at(point.index) as usize;
        if i < point.candidates.len() {
            i
        } else {
            0
        }
    }

    fn eligibility(&self) -> Eligibility {
        self.eligibility
    }
}

fn run_scripted<F, Fut, T>(
    body: &F,
    seed: u64,
    schedule: Schedule,
    eligibility: Eligibility,
    cfg: &RunConfig,
) -> (RunResult, Vec<u32>)
where
    F: Fn() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    let counts = Rc::new(RefCell::new(Vec::new()));
    let s = Scripted {
        schedule,
        eligibility,
        counts: counts.clone(),
    };
    let (r, _) = run_once(body, seed, Box::new(s), TraceLevel::Off, cfg);
    let counts = counts.take();
    (r, counts)
}

/// Enumerates every schedule of a program: see [`exhaustive`].
///
/// ```
/// use tulipsim::{exhaustive, sleep};
/// let e = exhaustive(|| async { sleep(0).await }).seed(1).run(); // one task: one schedule
/// assert_eq!((e.schedules, e.failing), (1, 0));
/// ```
#[must_use = "exhaustive() does nothing until run()"]
pub struct Exhaustive<F> {
    body: F,
    limit: u64,
    eligibility: Eligibility,
    seed: u64,
    cfg: RunConfig,
}

/// Runs `body` under every schedule (every choice at every decision), depth first, up to a
/// limit: for small programs, a proof that no interleaving fails, or the exact probability
/// that [`Random`](crate::scheduler::Random) makes one fail.
///
/// ```
/// use tulipsim::{create_task, exhaustive, gather, sleep};
/// // Two tasks, each yielding twice: how many interleavings, and does any fail?
/// let e = exhaustive(|| async {
///     let t = |_: u8| async { sleep(0).await?; sleep(0).await };
///     gather(vec![create_task(t(1))?, create_task(t(2))?]).await?;
///     Ok(())
/// })
/// .run();
/// assert!(e.complete);
/// assert!(e.schedules > 1);
/// assert_eq!(e.failing, 0);
/// assert_eq!(e.failure_probability, 0.0);
/// ```
#[track_caller]
pub fn exhaustive<F, Fut, T>(body: F) -> Exhaustive<F>
where
    F: Fn() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    Exhaustive {
        body,
        limit: 100_000,
        eligibility: Eligibility::Causal,
        seed: 0,
        cfg: RunConfig {
            max_time: i64::MAX,
            watchdog: None,
            replay: super::run::replay_command(None, "replay".into()),
            ..RunConfig::new(std::panic::Location::caller())
        },
    }
}

/// What [`exhaustive`] found.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use tulipsim::{create_task, exhaustive, gather, sleep};
/// // A lost update: some interleavings of the two increments fail.
/// let e = exhaustive(|| async {
///     let n = Rc::new(Cell::new(0));
///     let bump = |n: Rc<Cell<u32>>| async move {
///         let v = n.get();
///         sleep(0).await?;
///         n.set(v + 1);
///         Ok(())
///     };
///     gather(vec![create_task(bump(n.clone()))?, create_task(bump(n.clone()))?]).await?;
///     assert_eq!(n.get(), 2);
///     Ok(())
/// })
/// .run();
/// assert!(e.complete && e.failing > 0 && e.failing < e.schedules);
/// ```
#[derive(Clone, Debug)]
pub struct Enumeration {
    /// Schedules run.
    pub schedules: u64,
    /// How many of them failed.
    pub failing: u64,
    /// The probability that a run under [`Random`](crate::scheduler::Random) (uniform at each
    /// decision) fails: the sum over failing schedules of the product of `1/candidates`.
    pub failure_probability: f64,
    /// True if every schedule was run (the limit was not reached).
    pub complete: bool,
    /// The first failing schedule found, if any.
    pub first_failure: Option<Schedule>,
    /// The most decisions one run made.
    pub max_decisions: u64,
}

impl<F, Fut, T> Exhaustive<F>
where
    F: Fn() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    /// Stop after this many schedules (100,000 by default).
    ///
    /// ```
    /// let e = tulipsim::exhaustive(|| async { Ok(()) }).limit(10).run();
    /// assert_eq!(e.schedules, 1);
    /// ```
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Enumerate under [`Eligibility::Chaos`] instead of the causal rule.
    ///
    /// ```
    /// use tulipsim::scheduler::Eligibility;
    /// let e = tulipsim::exhaustive(|| async { Ok(()) }).eligibility(Eligibility::Chaos).run();
    /// assert!(e.complete);
    /// ```
    pub fn eligibility(mut self, eligibility: Eligibility) -> Self {
        self.eligibility = eligibility;
        self
    }

    /// The seed of every run (it seeds only faults; none are on unless configured).
    ///
    /// ```
    /// let e = tulipsim::exhaustive(|| async { Ok(()) }).seed(3).run();
    /// assert_eq!(e.failing, 0);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Enumerates.
    ///
    /// ```
    /// use tulipsim::{create_task, exhaustive, sleep};
    /// let e = exhaustive(|| async {
    ///     let t = create_task(async { sleep(0).await })?;
    ///     t.await
    /// })
    /// .run();
    /// assert!(e.complete);
    /// assert_eq!(e.failing, 0);
    /// ```
    pub fn run(self) -> Enumeration {
        let mut e = Enumeration {
            schedules: 0,
            failing: 0,
            failure_probability: 0.0,
            complete: true,
            first_failure: None,
            max_decisions: 0,
        };
        // Each prefix fixes the choices of its first decisions; the rest are FIFO.
        let mut stack: Vec<Vec<u32>> = vec![Vec::new()];
        while let Some(prefix) = stack.pop() {
            if e.schedules >= self.limit {
                e.complete = false;
                break;
            }
            let schedule = Schedule::from_deviations(
                prefix
                    .iter()
                    .enumerate()
                    .map(|(i, &o)| (i as u64, o))
                    .collect(),
            );
            let (r, counts) =
                run_scripted(&self.body, self.seed, schedule, self.eligibility, &self.cfg);
            e.schedules += 1;
            e.max_decisions = e.max_decisions.max(counts.len() as u64);
            if r.failure.is_some() {
                e.failing += 1;
                e.failure_probability +=
                    counts.iter().map(|&c| 1.0 / f64::from(c)).product::<f64>();
                e.first_failure.get_or_insert(r.schedule);
            }
            // The siblings of every choice this run took by default (index 0).
            for i in (prefix.len()..counts.len()).rev() {
                for alt in (1..counts[i]).rev() {
                    let mut next = prefix.clone();
                    next.resize(i, 0);
                    next.push(alt);
                    stack.push(next);
                }
            }
        }
        e
    }
}

type Deviations = Vec<(u64, u32)>;

/// Iterative delay bounding: FIFO, then every schedule with one delay, then two, ... up to
/// `max_delays`, stopping at the first failure. A delay passes over the oldest eligible entry
/// once; `k` delays at one decision pass over `k` entries.
pub(crate) fn delay_bounding<F, Fut, T>(
    body: &F,
    seed: u64,
    max_delays: u32,
    cfg: &RunConfig,
) -> Result<Summary, (Box<RunResult>, usize)>
where
    F: Fn() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    const MAX_RUNS: usize = 1_000_000;
    let runs = std::cell::Cell::new(0usize);
    let decisions = std::cell::Cell::new(0u64);
    let run = |devs: &[(u64, u32)]| {
        runs.set(runs.get() + 1);
        let schedule = Schedule::from_deviations(devs.to_vec());
        let (r, counts) = run_scripted(body, seed, schedule, Eligibility::Causal, cfg);
        decisions.set(decisions.get() + counts.len() as u64);
        (r, counts)
    };
    let summary = || Summary {
        runs: runs.get() as u64,
        decisions: decisions.get(),
    };
    let (r, counts) = run(&[]);
    if r.failure.is_some() {
        return Err((Box::new(r), 1));
    }
    // Each schedule of the last level, with its run's candidate counts per decision.
    let mut frontier: Vec<(Deviations, Vec<u32>)> = vec![(Vec::new(), counts)];
    for _ in 0..max_delays {
        let mut next = Vec::new();
        for (devs, counts) in &frontier {
            let after = devs.last().map_or(0, |&(i, _)| i + 1);
            let mut options: Vec<Deviations> = Vec::new();
            // One more delay at the last deviation's decision, if there is an entry to take.
            if let Some(&(i, o)) = devs.last() {
                if counts.get(i as usize).is_some_and(|&c| c > o + 1) {
                    let mut d = devs.clone();
                    d.pop();
                    d.push((i, o + 1));
                    options.push(d);
                }
            }
            // Or one at a later decision.
            for j in after..counts.len() as u64 {
                if counts[j as usize] >= 2 {
                    let mut d = devs.clone();
                    d.push((j, 1));
                    options.push(d);
                }
            }
            for d in options {
                if runs.get() >= MAX_RUNS {
                    return Ok(summary());
                }
                let (r, counts) = run(&d);
                if r.failure.is_some() {
                    return Err((Box::new(r), runs.get()));
                }
                next.push((d, counts));
            }
        }
        frontier = next;
    }
    Ok(summary())
}
