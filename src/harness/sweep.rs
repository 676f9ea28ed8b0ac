//! Running a check's seeds: the seeds this process runs, the worker threads that run them, and
//! [`Check::survey`], the sweep that does not stop at the first failure.

use std::future::Future as StdFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::report::{self, Failure, SeedFailure, Summary, Survey};
use super::run::{run_once, RunConfig, RunResult, Signature};
use super::{Check, Policy};
use crate::exceptions::Error;
use crate::scheduler::Scheduler;
use crate::trace::TraceLevel;

impl<F, Fut, T> Check<F>
where
    F: Fn() -> Fut + Sync,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    /// A failing run made without a trace: run its seed again, traced, up to three times, and
    /// keep the first run that fails the same way. (If none does, `r` stays untraced and
    /// [`failure`](Self::failure) reports the program as not deterministic.)
    pub(super) fn retrace(
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
    pub(super) fn seed_list(&self) -> Vec<u64> {
        let mut seeds: Vec<u64> = self.seeds.clone().collect();
        // Without faults every seed gives FIFO the same run; with faults on, each seed draws
        // its own faults, so every seed runs.
        if self.policy.ignores_seed() && !self.run.faults.is_active() {
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

    pub(super) fn sweep(
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
}
