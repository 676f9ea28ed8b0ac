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

mod explore;
mod minimize;
mod report;
mod run;
mod watchdog;

use std::future::Future as StdFuture;
use std::ops::Range;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::exceptions::Error;
use crate::faults::FaultConfig;
use crate::scheduler::{
    Delay, Eligibility, FaultPlan, Fifo, Pct, Portfolio, Random, Replay, Schedule, Scheduler,
};
use crate::trace::TraceLevel;

pub use explore::{exhaustive, Enumeration, Exhaustive};
pub use minimize::shrink_schedule;
pub use report::{Failure, SeedFailure, Summary, Survey};
pub use run::Signature;

use run::{run_once, RunConfig, RunResult};
pub(crate) use watchdog::Watch;

/// The seed whose FIFO run warms every run's scheduler (see `Check::warm_up`).
const WARM_UP_SEED: u64 = 0;

/// With faults on, how many seeds' FIFO runs (from [`WARM_UP_SEED`]) the run length is learnt
/// from: each seed draws its own faults, and a fault can add the very decisions a bug needs.
const WARM_UP_FAULT_SEEDS: u64 = 16;

/// The wall-clock watchdog's default limit per run: generous, since it only ends a run that
/// would otherwise hang forever.
const DEFAULT_WATCHDOG: Duration = Duration::from_secs(120);

/// Which scheduling policy a [`Check`] explores with. Names (for `TULIPSIM_POLICY` and
/// reports): `fifo`, `random`, `chaos`, `pct1`..`pctN` (`pct` is `pct2`), `delay1`..`delayN`
/// (`delay` is `delay2`), `portfolio`, `delay-bounding`.
///
/// ```
/// use tulipsim::Policy;
/// assert_eq!("pct3".parse::<Policy>().unwrap().name(), "pct3");
/// assert!("nonsense".parse::<Policy>().is_err());
/// ```
#[derive(Clone)]
pub enum Policy {
    /// asyncio's order. Without faults every seed gives the same run, so it runs once; with
    /// faults each seed draws its own, so every seed runs.
    Fifo,
    /// [`Random`]: uniform over the eligible entries.
    Random,
    /// [`Random::chaos`]: uniform over every ready entry, ignoring the causal rule.
    Chaos,
    /// [`Pct`] with this depth.
    Pct(u32),
    /// [`Delay`] with this budget.
    Delay(u32),
    /// [`Portfolio::default`]: the policies above taking turns, by seed.
    Portfolio,
    /// The iterative delay-bounding explorer: every schedule with 0 delays, then 1, then 2, up
    /// to this many, stopping at the first failure (whose schedule then has the fewest delays).
    /// Seeds only seed faults.
    DelayBounding(u32),
    /// A policy of one's own: a fresh scheduler per run.
    Custom(Arc<dyn Fn() -> Box<dyn Scheduler> + Send + Sync>),
}

impl Policy {
    /// The policy's name, as `TULIPSIM_POLICY` and reports spell it.
    ///
    /// ```
    /// use tulipsim::Policy;
    /// assert_eq!(Policy::Random.name(), "random");
    /// assert_eq!(Policy::Fifo.name(), "fifo");
    /// ```
    pub fn name(&self) -> String {
        match self {
            Policy::Fifo => "fifo".into(),
            Policy::Random => "random".into(),
            Policy::Chaos => "chaos".into(),
            Policy::Pct(d) => format!("pct{d}"),
            Policy::Delay(b) => format!("delay{b}"),
            Policy::Portfolio => "portfolio".into(),
            Policy::DelayBounding(_) => "delay-bounding".into(),
            Policy::Custom(make) => make().name(),
        }
    }

    /// A fresh scheduler for this policy, not yet warmed: see
    /// [`warmed_scheduler`](Self::warmed_scheduler). [`Policy::DelayBounding`] is an explorer,
    /// not a scheduler: its runs each follow one schedule, so this gives [`Fifo`].
    ///
    /// ```
    /// use tulipsim::Policy;
    /// assert_eq!(Policy::Pct(3).scheduler().name(), "pct3");
    /// ```
    pub fn scheduler(&self) -> Box<dyn Scheduler> {
        match self {
            Policy::Fifo | Policy::DelayBounding(_) => Box::new(Fifo),
            Policy::Random => Box::new(Random::new()),
            Policy::Chaos => Box::new(Random::chaos()),
            Policy::Pct(d) => Box::new(Pct::new(*d)),
            Policy::Delay(b) => Box::new(Delay::new(*b)),
            Policy::Portfolio => Box::new(Portfolio::default()),
            Policy::Custom(make) => make(),
        }
    }

    /// A scheduler for one run, warmed as [`check`] warms each seed's: a learning policy (PCT's
    /// and delay's estimate of the run length) learns from `fifo_decisions`, the decision count
    /// of one FIFO run of the same program. Each run then depends on its seed alone, which is
    /// what makes a printed seed replay on its own.
    ///
    /// ```
    /// use tulipsim::Policy;
    /// let s = Policy::Random.warmed_scheduler(40);
    /// assert_eq!(s.name(), "random");
    /// ```
    pub fn warmed_scheduler(&self, fifo_decisions: u64) -> Box<dyn Scheduler> {
        let mut s = self.scheduler();
        s.begin_run(0);
        s.end_run(fifo_decisions);
        s
    }

    /// Which entries this policy may reorder: what a [`Replay`] of its schedules must use.
    ///
    /// ```
    /// use tulipsim::{scheduler::Eligibility, Policy};
    /// assert_eq!(Policy::Chaos.eligibility(), Eligibility::Chaos);
    /// assert_eq!(Policy::Random.eligibility(), Eligibility::Causal);
    /// ```
    pub fn eligibility(&self) -> Eligibility {
        match self {
            Policy::Chaos => Eligibility::Chaos,
            Policy::Custom(make) => make().eligibility(),
            _ => Eligibility::Causal,
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Policy, String> {
        let s = s.trim().to_ascii_lowercase();
        let num = |rest: &str, default: u32| -> Result<u32, String> {
            if rest.is_empty() {
                Ok(default)
            } else {
                rest.parse().map_err(|_| format!("not a policy: {s:?}"))
            }
        };
        Ok(match s.as_str() {
            "fifo" => Policy::Fifo,
            "random" => Policy::Random,
            "chaos" => Policy::Chaos,
            "portfolio" => Policy::Portfolio,
            "delay-bounding" | "delay_bounding" | "idb" => Policy::DelayBounding(3),
            other if other.starts_with("pct") => Policy::Pct(num(&other[3..], 2)?.max(1)),
            other if other.starts_with("delay") => Policy::Delay(num(&other[5..], 2)?),
            _ => {
                return Err(format!(
                    "not a policy: {s:?} (fifo, random, chaos, pctN, delayN, portfolio, delay-bounding)"
                ))
            }
        })
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

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
        faults: FaultConfig::default(),
        max_steps: 1_000_000,
        max_time: 365 * 24 * 3600 * 1_000_000_000,
        minimize: true,
        determinism: false,
        threads: 0,
        replay: None,
        fault_plan: None,
        shard: None,
        use_env: true,
        allow_unretrieved: false,
        allow_diverged: false,
        run_length: None,
        watchdog: Some(DEFAULT_WATCHDOG),
        site: Location::caller(),
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
    faults: FaultConfig,
    max_steps: u64,
    max_time: i64,
    minimize: bool,
    determinism: bool,
    threads: usize,
    replay: Option<Schedule>,
    fault_plan: Option<FaultPlan>,
    shard: Option<(u64, u64)>,
    use_env: bool,
    allow_unretrieved: bool,
    allow_diverged: bool,
    run_length: Option<u64>,
    watchdog: Option<Duration>,
    site: &'static Location<'static>,
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
        self.faults = faults;
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
        self.max_steps = steps;
        self
    }

    /// The virtual-time limit of each run.
    ///
    /// ```
    /// let f = tulipsim::check(|| async { loop { tulipsim::sleep(60).await? } Ok::<(), tulipsim::Error>(()) })
    ///     .max_time(3600).seeds(0..1).ignore_env().outcome().unwrap_err();
    /// assert!(f.to_string().contains("time limit"));
    /// ```
    pub fn max_time(mut self, time: impl crate::IntoDelay) -> Self {
        self.max_time = time.into_nanos();
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
        self.allow_unretrieved = allow;
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
        self.watchdog = limit;
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
        let test = report::TestName::capture(self.site);
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

    fn run_config(&self) -> RunConfig {
        RunConfig {
            site: self.site,
            faults: self.faults.clone(),
            max_steps: self.max_steps,
            max_time: self.max_time,
            allow_unretrieved: self.allow_unretrieved,
            watchdog: self.watchdog,
            test: Some(report::TestName::capture(self.site)),
            policy: self.policy.name(),
        }
    }

    /// A failing run made without a trace: run its seed again, traced, up to three times, and
    /// keep the first run that fails the same way. (If none does, `r` stays untraced and
    /// [`failure`](Self::failure) reports the program as not deterministic.)
    fn retrace(
        &self,
        r: &mut RunResult,
        scheduler: impl Fn() -> Box<dyn Scheduler>,
        seed: u64,
        cfg: &RunConfig,
    ) {
        if !r.trace.is_empty() {
            return;
        }
        let want = r.failure.as_ref().map(|(s, _)| s.clone());
        if want == Some(Signature::Hang) {
            return; // another run would take as long again
        }
        for _ in 0..3 {
            let (again, _) = run_once(&self.body, seed, scheduler(), TraceLevel::Full, cfg);
            if again.failure.as_ref().map(|(s, _)| s.clone()) == want {
                *r = again;
                return;
            }
        }
    }

    /// The seeds this process runs: one for FIFO (every seed gives the same run), this
    /// shard's slice when sharded.
    fn seed_list(&self) -> Vec<u64> {
        let mut seeds: Vec<u64> = self.seeds.clone().collect();
        // Without faults every seed gives FIFO the same run; with faults on, each seed draws
        // its own faults, so every seed runs.
        if matches!(self.policy, Policy::Fifo) && !self.faults.is_active() {
            seeds.truncate(1);
        }
        if let Some((i, n)) = self.shard {
            seeds = seeds
                .into_iter()
                .enumerate()
                .filter(|(k, _)| *k as u64 % n == i)
                .map(|(_, s)| s)
                .collect();
        }
        seeds
    }

    /// The FIFO run of the first seed: a failure there is reported before any other run.
    fn calibrate(&self, cfg: &RunConfig) -> RunResult {
        run_once(
            &self.body,
            self.seeds.start,
            Box::new(Fifo),
            TraceLevel::Off,
            cfg,
        )
        .0
    }

    /// The decision count that warms every run's scheduler (PCT's and delay bounding's
    /// estimate of a run's length): [`Check::run_length`] if set, else seed 0's FIFO run
    /// (with faults on and a learning policy, the longest FIFO run of seeds 0..16, with the
    /// check's faults), wherever the range starts, so that a seed's run depends on its seed
    /// alone. (With seeded faults or `random_*` draws the FIFO
    /// run's length depends on its seed: warming from the range's first seed made
    /// `TULIPSIM_SEED=k` alone run a different schedule than seed k in a sweep from 0.)
    fn warm_up(&self, first: &RunResult, cfg: &RunConfig) -> u64 {
        if let Some(k) = self.run_length {
            return k;
        }
        let fifo_decisions = |seed: u64| {
            if seed == self.seeds.start {
                return first.decisions;
            }
            run_once(&self.body, seed, Box::new(Fifo), TraceLevel::Off, cfg)
                .0
                .decisions
        };
        let learns = matches!(
            self.policy,
            Policy::Pct(_) | Policy::Delay(_) | Policy::Portfolio | Policy::Custom(_)
        );
        if !learns || !self.faults.is_active() {
            return fifo_decisions(WARM_UP_SEED);
        }
        // With faults, the runs explored draw faults seed by seed: learn from several seeds'
        // runs with the same faults, so that a fault's extra decisions are within k.
        (WARM_UP_SEED..WARM_UP_SEED + WARM_UP_FAULT_SEEDS)
            .map(fifo_decisions)
            .max()
            .unwrap_or(0)
    }

    fn sweep(
        &self,
        seeds: &[u64],
        calibration: u64,
        cfg: &RunConfig,
        test: &report::TestName,
    ) -> Result<Summary, Box<Failure>> {
        let (decisions, failures) = self.run_seeds(seeds, calibration, cfg, true);
        match failures.into_iter().next() {
            None => Ok(Summary {
                runs: seeds.len() as u64 * if self.determinism { 2 } else { 1 },
                decisions,
            }),
            Some((i, r)) => Err(Box::new(self.failure(
                r,
                seeds[i],
                i,
                seeds.len(),
                cfg,
                test,
            ))),
        }
    }

    /// Runs `seeds` on worker threads; gives the decisions made and the failing runs by seed
    /// index, in order. With `stop_early`, seeds past the lowest failure are skipped.
    fn run_seeds(
        &self,
        seeds: &[u64],
        calibration: u64,
        cfg: &RunConfig,
        stop_early: bool,
    ) -> (u64, Vec<(usize, RunResult)>) {
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, seeds.len().max(1));
        let next = AtomicU64::new(0);
        let lowest_failure = AtomicU64::new(u64::MAX);
        let decisions = AtomicU64::new(0);
        let failures: Mutex<Vec<(usize, RunResult)>> = Mutex::new(Vec::new());
        let trace = if self.determinism {
            TraceLevel::Full
        } else {
            TraceLevel::Off
        };
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let past_failure = i as u64 > lowest_failure.load(Ordering::Relaxed);
                    if i >= seeds.len() || (stop_early && past_failure) {
                        break;
                    }
                    let seed = seeds[i];
                    let (mut r, _) = run_once(
                        &self.body,
                        seed,
                        self.policy.warmed_scheduler(calibration),
                        trace,
                        cfg,
                    );
                    decisions.fetch_add(r.decisions, Ordering::Relaxed);
                    if self.determinism && r.failure.is_none() {
                        let (again, _) = run_once(
                            &self.body,
                            seed,
                            self.policy.warmed_scheduler(calibration),
                            trace,
                            cfg,
                        );
                        if let Some(diff) = report::nondeterminism(&r, &again) {
                            r.failure = Some((Signature::Nondeterminism, diff));
                        }
                    }
                    if r.failure.is_some()
                        && stop_early
                        && i as u64 <= lowest_failure.load(Ordering::Relaxed)
                    {
                        // The report shows this run's trace: run it again, traced.
                        self.retrace(
                            &mut r,
                            || self.policy.warmed_scheduler(calibration),
                            seed,
                            cfg,
                        );
                    }
                    if r.failure.is_some() {
                        lowest_failure.fetch_min(i as u64, Ordering::Relaxed);
                        failures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((i, r));
                    }
                });
            }
        });
        let mut failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
        failures.sort_by_key(|(i, _)| *i);
        (decisions.into_inner(), failures)
    }

    /// Runs every seed (of this shard, if sharded), without stopping at the first failure or
    /// shrinking: how often the program fails under this policy. Replays and [`Policy::DelayBounding`] are not seeded
    /// sweeps: they give a configuration error.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use tulipsim::{check, create_task, gather, sleep, Policy};
    /// let survey = check(|| async {
    ///     let c = Rc::new(Cell::new(0));
    ///     let bump = |c: Rc<Cell<u32>>| async move { let v = c.get(); sleep(0).await?; c.set(v + 1); Ok(()) };
    ///     let a = create_task(bump(c.clone()))?;
    ///     sleep(0).await?;
    ///     let b = create_task(bump(c.clone()))?;
    ///     gather(vec![a, b]).await?;
    ///     assert_eq!(c.get(), 2);
    ///     Ok(())
    /// })
    /// .policy(Policy::Random)
    /// .seeds(0..200)
    /// .ignore_env()
    /// .survey()
    /// .unwrap();
    /// assert_eq!(survey.runs, 200);
    /// assert!(survey.failure_share() > 0.0 && survey.failure_share() < 1.0);
    /// ```
    pub fn survey(mut self) -> Result<Survey, Box<Failure>> {
        if self.use_env {
            self.apply_env().map_err(|e| Box::new(Failure::config(e)))?;
        }
        if self.replay.is_some() || matches!(self.policy, Policy::DelayBounding(_)) {
            return Err(Box::new(Failure::config(
                "survey() runs seeds: a replay or delay bounding is not a seeded policy".into(),
            )));
        }
        let cfg = self.run_config();
        let seeds = self.seed_list();
        let fifo = self.calibrate(&cfg);
        let calibration = self.warm_up(&fifo, &cfg);
        let (_, failures) = self.run_seeds(&seeds, calibration, &cfg, false);
        let failures: Vec<SeedFailure> = failures
            .into_iter()
            .filter_map(|(i, r)| {
                let (signature, message) = r.failure?;
                Some(SeedFailure {
                    seed: seeds[i],
                    signature,
                    message,
                })
            })
            .collect();
        Ok(Survey {
            runs: seeds.len() as u64,
            failing_seeds: failures.iter().map(|f| f.seed).collect(),
            failures,
        })
    }

    /// Builds the report of a failing run: its trace, its replay command, and (unless off)
    /// its shrunk schedule.
    fn failure(
        &self,
        r: RunResult,
        seed: u64,
        index: usize,
        total: usize,
        cfg: &RunConfig,
        test: &report::TestName,
    ) -> Failure {
        let eligibility = self.policy.eligibility();
        let replay = |schedule: &Schedule| {
            let rep = Replay::new(schedule.clone()).with_eligibility(eligibility);
            run_once(&self.body, seed, Box::new(rep), TraceLevel::Full, cfg).0
        };
        let (mut signature, mut message) = r
            .failure
            .clone()
            .unwrap_or((Signature::Deadlock, "(no failure recorded)".into()));
        // Replay the schedule once, as the printed replay command will: a failure that does
        // not come back is not the program's bug to chase but its nondeterminism.
        let mut traced = r;
        if signature != Signature::Nondeterminism && signature != Signature::Hang {
            let again = replay(&traced.schedule);
            let same = again.failure.as_ref().map(|(s, _)| s) == Some(&signature);
            if !same {
                let (s, m) = not_deterministic(&traced, &again, seed, &self.policy.name());
                signature = s;
                message = m;
                if traced.trace.is_empty() {
                    traced.trace = again.trace;
                }
            } else if traced.trace.is_empty() {
                traced = again;
            }
        }
        let minimized = if self.minimize
            && !traced.schedule.is_fifo()
            && signature != Signature::Nondeterminism
            && signature != Signature::Hang
        {
            minimize::shrink(&traced.schedule, &signature, &replay)
        } else {
            None
        };
        Failure {
            seed,
            policy: self.policy.name(),
            index,
            total,
            message,
            signature,
            schedule: traced.schedule.clone(),
            decisions: traced.decisions,
            time: traced.time,
            trace: traced.trace,
            divergence: traced.divergence,
            minimized,
            test: test.clone(),
        }
    }

    /// The report of a failing replay: no exploring, no second replay, no shrinking.
    fn replay_failure(&self, r: RunResult, seed: u64, test: &report::TestName) -> Failure {
        let (signature, message) = r
            .failure
            .clone()
            .unwrap_or((Signature::Deadlock, String::new()));
        Failure {
            seed,
            policy: self.policy.name(),
            index: 0,
            total: 1,
            message,
            signature,
            schedule: r.schedule,
            decisions: r.decisions,
            time: r.time,
            trace: r.trace,
            divergence: r.divergence,
            minimized: None,
            test: test.clone(),
        }
    }

    fn apply_env(&mut self) -> Result<(), String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if let Some(p) = var("TULIPSIM_POLICY") {
            self.policy = p.parse().map_err(|e| format!("TULIPSIM_POLICY={p}: {e}"))?;
        }
        if let Some(n) = var("TULIPSIM_SEEDS") {
            self.seeds = parse_seeds(&n).filter(|r| r.start < r.end).ok_or_else(|| {
                format!("TULIPSIM_SEEDS={n}: expected a count N > 0 or a range A..B with A < B")
            })?;
        }
        if let Some(s) = var("TULIPSIM_SEED") {
            let seed: u64 = s
                .trim()
                .parse()
                .map_err(|_| format!("TULIPSIM_SEED={s}: not a number"))?;
            self.seeds = seed..seed.saturating_add(1);
        }
        // Set but empty is a schedule too: the one with no deviation (a replay command can
        // say `TULIPSIM_REPLAY=''`).
        if let Ok(r) = std::env::var("TULIPSIM_REPLAY") {
            // `@FILE`: a schedule too long for a command line, as a failure report wrote it.
            let text = match r.trim().strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("TULIPSIM_REPLAY=@{path}: cannot read the file: {e}"))?,
                None => r.clone(),
            };
            self.replay = Some(
                text.trim()
                    .parse()
                    .map_err(|e| format!("TULIPSIM_REPLAY={r}: {e}"))?,
            );
        }
        if let Some(w) = var("TULIPSIM_WATCHDOG") {
            let secs: f64 = w
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| format!("TULIPSIM_WATCHDOG={w}: expected seconds (0 for off)"))?;
            self.watchdog = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
        }
        if let Some(d) = var("TULIPSIM_ALLOW_DIVERGED_REPLAY") {
            self.allow_diverged = parse_flag("TULIPSIM_ALLOW_DIVERGED_REPLAY", &d)?;
        }
        if let Some(d) = var("TULIPSIM_DETERMINISM") {
            self.determinism = parse_flag("TULIPSIM_DETERMINISM", &d)?;
        }
        if let Some(sh) = var("TULIPSIM_SHARD") {
            let (i, n) = sh
                .split_once('/')
                .and_then(|(i, n)| {
                    Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
                })
                .filter(|(i, n)| *n > 0 && i < n)
                .ok_or_else(|| format!("TULIPSIM_SHARD={sh}: expected i/n with i < n"))?;
            self.shard = Some((i, n));
        }
        Ok(())
    }
}

/// A yes/no variable: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`.
fn parse_flag(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{name}={value}: expected 1 or 0 (true/false, yes/no, on/off)"
        )),
    }
}

fn parse_seeds(s: &str) -> Option<Range<u64>> {
    let s = s.trim();
    match s.split_once("..") {
        Some((a, b)) => Some(a.trim().parse().ok()?..b.trim().parse().ok()?),
        None => Some(0..s.parse().ok()?),
    }
}

/// The report of a failure that did not come back when its schedule was replayed.
fn not_deterministic(
    first: &RunResult,
    again: &RunResult,
    seed: u64,
    policy: &str,
) -> (Signature, String) {
    let was = first
        .failure
        .as_ref()
        .map_or("(nothing)".to_string(), |(_, m)| m.clone());
    let now = match &again.failure {
        None => "passed".to_string(),
        Some((_, m)) => format!("failed differently: {m}"),
    };
    let divergence = if first.trace.is_empty() {
        "the failing run was not traced, and three more runs of this seed under this policy did \
         not fail the same way"
            .to_string()
    } else {
        match first.trace.first_difference(&again.trace) {
            Some((n, x, y)) => format!(
                "the two runs' traces first differ at line {n}:\n  failing run: {x}\n  replay:      {y}"
            ),
            None => "the two runs' traces do not differ: what differs is outside the loop".into(),
        }
    };
    (
        Signature::Nondeterminism,
        format!(
            "this failure is not deterministic: seed {seed} under {policy} failed ({was}), but \
             replaying the same seed and schedule {now}. A replay command cannot reproduce it. \
             Likely causes: the program reads something tulipsim does not control: a random \
             generator not from tulipsim (thread_rng, rand::random), the wall clock \
             (Instant::now, SystemTime), a HashMap's or HashSet's iteration order, a thread, \
             real I/O, or a static shared between runs. Check with \
             TULIPSIM_DETERMINISM=1 (Check::determinism_check). {divergence}"
        ),
    )
}
