//! The test harness: run a program over many seeds and policies, and when a run fails, say how
//! to replay it and shrink its schedule.
//!
//! ```
//! use std::{cell::Cell, rc::Rc};
//! use tulipsim::{check, create_task, gather, sleep, Error, Policy};
//!
//! // Two tasks increment a counter with a yield between read and write: a lost update.
//! let failure = check(|| async {
//!     let counter = Rc::new(Cell::new(0));
//!     let bump = |c: Rc<Cell<u32>>| async move {
//!         let v = c.get();
//!         sleep(0).await?;
//!         c.set(v + 1);
//!         Ok(())
//!     };
//!     let a = create_task(bump(counter.clone()))?;
//!     sleep(0).await?;
//!     let b = create_task(bump(counter.clone()))?;
//!     gather(vec![a, b]).await?;
//!     assert_eq!(counter.get(), 2, "an update was lost");
//!     Ok(())
//! })
//! .policy(Policy::Random)
//! .seeds(0..50)
//! .ignore_env()
//! .outcome()
//! .unwrap_err();
//! assert!(failure.to_string().contains("an update was lost"));
//! assert!(failure.replay_command().contains("TULIPSIM_REPLAY="));
//! ```
//!
//! Environment (read by [`Check::run`] unless [`Check::ignore_env`]): `TULIPSIM_SEED` (one
//! seed), `TULIPSIM_SEEDS` (a count `N` or a range `A..B`), `TULIPSIM_POLICY` (a
//! [`Policy`] name), `TULIPSIM_REPLAY` (a schedule to replay, with `TULIPSIM_SEED`, or
//! `@FILE` for one a report wrote to a file), `TULIPSIM_SHARD=i/n` (this process runs the
//! i-th of n disjoint slices of the seeds), `TULIPSIM_DETERMINISM=1` (run every seed twice and
//! compare, as [`Check::determinism_check`]), `TULIPSIM_ALLOW_DIVERGED_REPLAY=1` (as
//! [`Check::allow_diverged_replay`]) and `TULIPSIM_WATCHDOG=<seconds>` (as
//! [`Check::watchdog`]; 0 turns it off). A value that does not parse is a configuration
//! error: nothing runs.

mod calibration;
mod diagnosis;
mod env;
mod explore;
mod minimize;
mod policy;
mod report;
mod run;
mod sweep;
mod watchdog;

use std::future::Future as StdFuture;
use std::ops::Range;
use std::panic::Location;
use std::time::Duration;

use crate::exceptions::Error;
use crate::faults::FaultConfig;
use crate::scheduler::{FaultPlan, Fifo, Replay, Schedule};
use crate::trace::TraceLevel;

#[doc(hidden)]
pub use calibration::warm_up_length;
pub use explore::{exhaustive, Enumeration, Exhaustive};
pub use minimize::shrink_schedule;
pub use policy::Policy;
pub use report::{Failure, SeedFailure, Summary, Survey};
pub use run::Signature;

use run::run_once;
pub(crate) use run::RunConfig;

/// Runs `body` (a function making the program's main coroutine) under a harness: see the
/// [module docs](self). Defaults: seeds `0..64`, [`Policy::Portfolio`], no faults, 1,000,000
/// steps and one virtual year per run, minimisation on.
///
/// See the [module docs](self) for an example.
///
/// # Why `body` must be `Sync`
///
/// Seeds run in parallel, on worker threads ([`Check::threads`], one per core by default),
/// each run on a single-threaded loop of its own; every worker calls `body` to make its runs'
/// main coroutine, so `body` itself is shared between threads. What it *makes* need not be
/// `Send`: create `Rc` state inside the call (each run then gets fresh state, which is also
/// what lets a run depend on its seed alone). A closure that captures an `Rc` is not `Sync`
/// ("`Rc<..>` cannot be shared between threads safely"); for a body built from such state,
/// use [`check_factory`], which takes a factory that builds the body, state and all, for
/// every run.
///
/// ```
/// use tulipsim::{check, sleep};
/// // Every seed passes: the summary says how many ran.
/// let summary = check(|| async { sleep(1).await }).seeds(0..10).ignore_env().outcome().unwrap();
/// assert_eq!(summary.runs, 10);
/// ```
#[track_caller]
pub fn check<F, Fut, T>(body: F) -> Check<F>
where
    F: Fn() -> Fut + Sync,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    Check {
        body,
        seeds: 0..64,
        policy: Policy::Portfolio,
        run: RunConfig::new(Location::caller()),
        minimize: true,
        determinism: false,
        threads: 0,
        replay: None,
        fault_plan: None,
        shard: None,
        use_env: true,
        allow_diverged: false,
        run_length: None,
    }
}

/// [`check`] for a body built per run by `make`: `make` (which must be `Sync`, as
/// [`check`] explains) is called for every run and gives a one-shot body that may capture
/// anything, `Rc` state included.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use tulipsim::{check_factory, create_task, sleep, Policy};
///
/// check_factory(|| {
///     // Built for each run: its own log, shared by the run's tasks.
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let writer = { let log = log.clone(); move |n: u32| { log.borrow_mut().push(n); } };
///     move || async move {
///         let t = create_task(async move { writer(1); sleep(1).await })?;
///         t.await?;
///         assert_eq!(*log.borrow(), [1]);
///         Ok(())
///     }
/// })
/// .policy(Policy::Random)
/// .seeds(0..8)
/// .ignore_env()
/// .run();
/// ```
#[track_caller]
pub fn check_factory<M, B, Fut, T>(make: M) -> Check<impl Fn() -> Fut + Sync>
where
    M: Fn() -> B + Sync,
    B: FnOnce() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    check(move || make()())
}

/// A configured check; see [`check`].
///
/// ```
/// use tulipsim::{check, sleep, Policy};
/// let configured = check(|| async { sleep(0).await })
///     .policy(Policy::Random)
///     .seeds(0..4)
///     .ignore_env();
/// assert_eq!(configured.outcome().unwrap().runs, 4);
/// ```
#[must_use = "a check does nothing until run()"]
pub struct Check<F> {
    body: F,
    seeds: Range<u64>,
    policy: Policy,
    /// What every run shares: faults, limits, watchdog, the check's site.
    run: RunConfig,
    minimize: bool,
    determinism: bool,
    threads: usize,
    replay: Option<Schedule>,
    fault_plan: Option<FaultPlan>,
    shard: Option<(u64, u64)>,
    use_env: bool,
    allow_diverged: bool,
    run_length: Option<u64>,
}

impl<F, Fut, T> Check<F>
where
    F: Fn() -> Fut + Sync,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    /// The seeds to run (each one run is self-contained and replayable).
    ///
    /// ```
    /// let s = tulipsim::check(|| async { Ok(()) })
    ///     .policy(tulipsim::Policy::Random)
    ///     .seeds(100..103)
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap();
    /// assert_eq!(s.runs, 3);
    /// ```
    pub fn seeds(mut self, seeds: Range<u64>) -> Self {
        self.seeds = seeds;
        self
    }

    /// Run exactly one seed.
    ///
    /// ```
    /// let s = tulipsim::check(|| async { Ok(()) }).seed(42).ignore_env().outcome().unwrap();
    /// assert_eq!(s.runs, 1);
    /// ```
    pub fn seed(self, seed: u64) -> Self {
        self.seeds(seed..seed.saturating_add(1))
    }

    /// The policy; see [`Policy`].
    ///
    /// ```
    /// use tulipsim::{check, Policy};
    /// // FIFO is asyncio's order: without faults, every seed is the same run, so one runs.
    /// let s = check(|| async { Ok(()) }).policy(Policy::Fifo).seeds(0..50).ignore_env();
    /// assert_eq!(s.outcome().unwrap().runs, 1);
    /// ```
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Faults to inject; see [`FaultConfig`].
    ///
    /// ```
    /// use tulipsim::{check, sleep, timeout, Error, FaultConfig};
    /// // With every timeout early, this program's timeout fires at once.
    /// let f = check(|| async { timeout(60).run(sleep(1)).await })
    ///     .faults(FaultConfig::default().early_timeout(1.0))
    ///     .seeds(0..1)
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap_err();
    /// assert!(f.to_string().contains("TimeoutError"));
    /// ```
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.run.faults = faults;
        self
    }

    /// The step limit of each run (a runaway fails with [`Error::Limit`]).
    ///
    /// ```
    /// let f = tulipsim::check(|| async { loop { tulipsim::sleep(0).await? } Ok::<(), tulipsim::Error>(()) })
    ///     .max_steps(100).seeds(0..1).ignore_env().outcome().unwrap_err();
    /// assert!(f.to_string().contains("step limit"));
    /// ```
    pub fn max_steps(mut self, steps: u64) -> Self {
        self.run.max_steps = steps;
        self
    }

    /// The virtual-time limit of each run.
    ///
    /// ```
    /// let f = tulipsim::check(|| async { loop { tulipsim::sleep(60).await? } Ok::<(), tulipsim::Error>(()) })
    ///     .max_time(3600).seeds(0..1).ignore_env().outcome().unwrap_err();
    /// assert!(f.to_string().contains("time limit"));
    /// ```
    pub fn max_time(mut self, time: impl crate::events::IntoDelay) -> Self {
        self.run.max_time = time.into_nanos();
        self
    }

    /// Whether to shrink a failing schedule (on by default).
    ///
    /// ```
    /// let c = tulipsim::check(|| async { Ok(()) }).minimize(false);
    /// # drop(c);
    /// ```
    pub fn minimize(mut self, on: bool) -> Self {
        self.minimize = on;
        self
    }

    /// Run every seed twice and fail if the two traces differ (naming the first difference):
    /// a check that the program under test is deterministic.
    ///
    /// ```
    /// let s = tulipsim::check(|| async { tulipsim::sleep(1).await })
    ///     .determinism_check(true).seeds(0..4).ignore_env().outcome().unwrap();
    /// assert_eq!(s.runs, 8);
    /// ```
    pub fn determinism_check(mut self, on: bool) -> Self {
        self.determinism = on;
        self
    }

    /// How many threads run seeds (0, the default: one per core).
    ///
    /// ```
    /// let s = tulipsim::check(|| async { Ok(()) }).threads(1).ignore_env().outcome().unwrap();
    /// assert!(s.runs > 0);
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Replay one schedule (with the first seed) instead of exploring.
    ///
    /// ```
    /// let s = tulipsim::check(|| async { Ok(()) })
    ///     .replay("".parse().unwrap()).ignore_env().outcome().unwrap();
    /// assert_eq!(s.runs, 1);
    /// ```
    pub fn replay(mut self, schedule: Schedule) -> Self {
        self.replay = Some(schedule);
        self
    }

    /// With [`replay`](Self::replay): fire exactly the fault queries `plan` lists (of the
    /// kinds [`faults`](Self::faults) turns on), instead of drawing them by probability.
    ///
    /// ```
    /// use tulipsim::{check, scheduler::FaultPlan, sleep, timeout, Error, FaultConfig};
    /// let f = check(|| async { timeout(60).run(sleep(1)).await })
    ///     .faults(FaultConfig::default().early_timeout(1e-9)) // asked, but the plan decides
    ///     .replay(Default::default())
    ///     .fault_plan(FaultPlan::from_queries(vec![0]))
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap_err();
    /// assert!(f.message.contains("TimeoutError"));
    /// ```
    pub fn fault_plan(mut self, plan: FaultPlan) -> Self {
        self.fault_plan = Some(plan);
        self
    }

    /// Run only the `index`-th of `count` disjoint slices of the seeds (as `TULIPSIM_SHARD`).
    ///
    /// ```
    /// let s = tulipsim::check(|| async { Ok(()) }).seeds(0..10).shard(1, 3)
    ///     .policy(tulipsim::Policy::Random).ignore_env().outcome().unwrap();
    /// assert_eq!(s.runs, 3); // seeds 1, 4, 7
    /// ```
    pub fn shard(mut self, index: u64, count: u64) -> Self {
        self.shard = Some((index, count.max(1)));
        self
    }

    /// Allow task errors nobody retrieved. By default a run in which a task failed and nothing
    /// awaited it (asyncio logs "Task exception was never retrieved") fails, naming the task
    /// and its error; a test that means to drop such errors turns that off here.
    ///
    /// ```
    /// use tulipsim::{check, create_task, sleep, Error};
    /// let body = || async {
    ///     let _t = create_task(async { Err::<(), _>(Error::msg("lost")) })?;
    ///     sleep(1).await
    /// };
    /// let f = check(body).seeds(0..1).ignore_env().outcome().unwrap_err();
    /// assert!(f.message.contains("never retrieved") && f.message.contains("lost"));
    /// check(body).seeds(0..1).allow_unretrieved_errors(true).ignore_env().run();
    /// ```
    pub fn allow_unretrieved_errors(mut self, allow: bool) -> Self {
        self.run.allow_unretrieved = allow;
        self
    }

    /// Let a replay whose schedule no longer fits the program pass. By default a diverged
    /// replay ([`replay`](Self::replay) or `TULIPSIM_REPLAY`) fails: it tested nothing the
    /// schedule meant, so passing would look like a fix. `TULIPSIM_ALLOW_DIVERGED_REPLAY=1`
    /// does the same from the environment.
    ///
    /// ```
    /// let body = || async { tulipsim::sleep(1).await };
    /// let schedule: tulipsim::scheduler::Schedule = "5:1".parse().unwrap();
    /// let f = tulipsim::check(body).replay(schedule.clone()).ignore_env().outcome().unwrap_err();
    /// assert!(f.message.contains("diverged"));
    /// tulipsim::check(body).replay(schedule).allow_diverged_replay(true).ignore_env().run();
    /// ```
    pub fn allow_diverged_replay(mut self, allow: bool) -> Self {
        self.allow_diverged = allow;
        self
    }

    /// The run length `k` that PCT and delay assume: their change points and delays are drawn
    /// among a run's first `k` decisions. By default it is learnt from FIFO runs with the
    /// check's own faults (the longest of seed 0's run, or, with faults on, of the first 16
    /// seeds' runs, since a fault can add the decisions a bug needs); set it when runs vary
    /// more than that. Every seed's run uses the same `k`, so a seed still replays alone.
    ///
    /// ```
    /// use tulipsim::{check, sleep, Policy};
    /// let s = check(|| async { sleep(1).await })
    ///     .policy(Policy::Pct(2)).run_length(500).seeds(0..4).ignore_env().outcome().unwrap();
    /// assert_eq!(s.runs, 4);
    /// ```
    pub fn run_length(mut self, k: u64) -> Self {
        self.run_length = Some(k.max(1));
        self
    }

    /// The wall-clock watchdog: a run taking longer than `limit` of real time is ended and
    /// reported with its seed, the task that was running (and its spawn site) and the command
    /// that reruns it, as a failure of kind [`Signature::Hang`]. A task in a synchronous
    /// infinite loop never comes back to the loop, so no step or virtual-time limit can stop
    /// it: if the run does not come back within a grace period (up to 5 s), the watchdog prints
    /// the report and ends the process (exit code 101). `None` turns it off; the default is
    /// 120 s; `TULIPSIM_WATCHDOG=<seconds>` (0 for off) sets it from the environment. Real
    /// time only decides whether a run is ended, never what a run does.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = tulipsim::check(|| async { tulipsim::sleep(1).await })
    ///     .watchdog(Some(Duration::from_secs(30))).seeds(0..2).ignore_env().outcome().unwrap();
    /// assert_eq!(s.runs, 2);
    /// ```
    pub fn watchdog(mut self, limit: Option<Duration>) -> Self {
        self.run.watchdog = limit;
        self
    }

    /// Ignore the `TULIPSIM_*` environment variables (for checks whose own configuration must
    /// hold, such as tests of the harness itself).
    ///
    /// ```
    /// // Whatever TULIPSIM_SEEDS says, these eight seeds run.
    /// let s = tulipsim::check(|| async { Ok(()) })
    ///     .policy(tulipsim::Policy::Random)
    ///     .seeds(0..8)
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap();
    /// assert_eq!(s.runs, 8);
    /// ```
    pub fn ignore_env(mut self) -> Self {
        self.use_env = false;
        self
    }

    /// Runs the check and panics with the failure report if a run fails (for `#[test]`).
    ///
    /// ```
    /// tulipsim::check(|| async { tulipsim::sleep(1).await }).seeds(0..8).run();
    /// ```
    pub fn run(self) {
        if let Err(failure) = self.outcome() {
            panic!("{failure}");
        }
    }

    /// Runs the check: a summary, or the first failure (the lowest failing seed) with its
    /// replay command and shrunk schedule.
    ///
    /// ```
    /// use tulipsim::{check, Error};
    /// let failure = check(|| async { Err::<(), _>(Error::msg("broken")) })
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap_err();
    /// assert_eq!(failure.seed, 0);
    /// assert!(failure.to_string().contains("broken"));
    /// ```
    pub fn outcome(mut self) -> Result<Summary, Box<Failure>> {
        if self.use_env {
            self.apply_env().map_err(|e| Box::new(Failure::config(e)))?;
        }
        let cfg = self.run_config();
        let test = report::TestName::capture(self.run.site);
        if let Some(schedule) = self.replay.clone() {
            let seed = self.seeds.start;
            let mut replay = Replay::new(schedule).with_eligibility(self.policy.eligibility());
            if let Some(plan) = self.fault_plan.clone() {
                replay = replay.with_faults(plan);
            }
            let (mut r, _) = run_once(&self.body, seed, Box::new(replay), TraceLevel::Full, &cfg);
            if let (None, Some(d), false) = (&r.failure, &r.divergence, self.allow_diverged) {
                r.failure = Some((
                    Signature::Diverged,
                    format!(
                        "the replay diverged: {d}. The schedule no longer fits the program (did \
                         the code change since it was printed?), so this run did not test what \
                         the schedule meant; it passing is not a fix. Run the check without \
                         TULIPSIM_REPLAY to explore again, or allow this with \
                         TULIPSIM_ALLOW_DIVERGED_REPLAY=1 (Check::allow_diverged_replay)"
                    ),
                ));
            }
            return match r.failure {
                None => Ok(Summary {
                    runs: 1,
                    decisions: r.decisions,
                }),
                Some(_) => Err(Box::new(self.replay_failure(r, seed, &test))),
            };
        }
        if let Policy::DelayBounding(max) = self.policy {
            return explore::delay_bounding(&self.body, self.seeds.start, max, &cfg).map_err(
                |(r, runs)| {
                    Box::new(self.failure(*r, self.seeds.start, runs - 1, runs, &cfg, &test))
                },
            );
        }
        let seeds = self.seed_list();
        let fifo = self.calibrate(&cfg);
        let calibration = self.warm_up(&fifo, &cfg);
        if fifo.failure.is_some() && !seeds.is_empty() {
            // The FIFO run failed: report it (traced again, and checked to fail again).
            let mut r = fifo;
            self.retrace(&mut r, || Box::new(Fifo), self.seeds.start, &cfg);
            let mut failure = self.failure(r, self.seeds.start, 0, seeds.len(), &cfg, &test);
            failure.policy = "fifo".into();
            return Err(Box::new(failure));
        }
        self.sweep(&seeds, calibration, &cfg, &test)
    }

    /// The runs' configuration, named after the test and the policy as they are once the
    /// environment has been read.
    fn run_config(&self) -> RunConfig {
        RunConfig {
            replay: run::replay_command(
                Some(report::TestName::capture(self.run.site)),
                self.policy.name(),
            ),
            ..self.run.clone()
        }
    }
}
