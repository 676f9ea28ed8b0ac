//! `Pct`: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte 2010).

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{seeded_stream, Candidate, ChoicePoint, EntryKind, Scheduler, SCHEDULE_STREAM};

/// PCT with bug depth `depth`: every task gets a random priority and the highest-priority
/// eligible entry always runs; at `depth - 1` random decisions the task that runs there drops to
/// the lowest priorities. A bug needing `d` ordering constraints among `n` tasks over `k`
/// decisions is found with probability at least `1 / (n * k^(d-1))` per run.
///
/// Adapted to an event loop: each task is one priority group (its steps and wakeups); a plain
/// callback or a timer is a group of its own, for its one step. Only decisions between two or
/// more groups count as steps. `k` is not known in advance: it is learnt across runs, as the
/// largest number of decisions seen so far (64 before the first run ends; the harness warms
/// every run's scheduler from the same calibration run, so a seed's run does not depend on
/// other seeds, and `k` fits the program instead of a guess).
///
/// Fairness: a task that yields (its step comes back after `sleep(0)`) draws a new priority
/// below every task that did not yield, as shuttle's PCT lowers a task on a yield; among
/// yielders the order stays random, with ties to the one that waited longer, so a spinner
/// outranks the task it waits for with probability at most 15/16 a round, and never forever.
/// Without this rule a spin-wait (`while !ready.get() { sleep(0).await?; }`) of the highest
/// priority would starve the task it waits for until the step limit: a false alarm.
///
/// ```
/// use tulipsim::scheduler::{Pct, Scheduler};
/// let p = Pct::new(2);
/// assert_eq!(p.name(), "pct2");
/// assert_eq!(p.steps_estimate(), 64);
/// ```
#[derive(Clone, Debug)]
pub struct Pct {
    depth: u32,
    k: u64,
    /// Whether `k` was learnt from a run yet (until then it is the default guess).
    learnt: bool,
    rng: ChaCha8Rng,
    priorities: BTreeMap<Group, u64>,
    change_points: Vec<u64>,
    points: u64,
    /// For each task that yielded, the origin of the yield last seen (so that one yield
    /// lowers its task once).
    yields: BTreeMap<Group, u64>,
}

/// Priorities sit above this; change points just above it, yields below it.
const FLOOR: u64 = 1 << 40;

/// How many priorities a yielding task draws from (below [`FLOOR`]).
const YIELD_LEVELS: u64 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Task(u64),
    Entry(u64),
}

impl Pct {
    /// PCT for bugs of depth `depth` (at least 1).
    ///
    /// ```
    /// use tulipsim::scheduler::{Pct, Scheduler};
    /// assert_eq!(Pct::new(3).name(), "pct3");
    /// ```
    pub fn new(depth: u32) -> Pct {
        Pct {
            depth: depth.max(1),
            k: 64,
            learnt: false,
            rng: seeded_stream(0, SCHEDULE_STREAM),
            priorities: BTreeMap::new(),
            change_points: Vec::new(),
            points: 0,
            yields: BTreeMap::new(),
        }
    }

    /// The current estimate of `k`, the number of steps of a run.
    ///
    /// ```
    /// use tulipsim::scheduler::{Pct, Scheduler};
    /// let mut p = Pct::new(2);
    /// assert_eq!(p.steps_estimate(), 64); // before the first run ends
    /// p.end_run(200);
    /// assert_eq!(p.steps_estimate(), 200); // the largest run seen
    /// ```
    pub fn steps_estimate(&self) -> u64 {
        self.k
    }

    /// Initial priorities sit above `FLOOR + depth`; the i-th change point lowers to
    /// `FLOOR + depth - 1 - i`; a yield lowers below `FLOOR`.
    fn priority(&mut self, c: &Candidate) -> u64 {
        let group = match c.task {
            Some(t) => Group::Task(t),
            None => Group::Entry(c.origin),
        };
        let depth = u64::from(self.depth);
        let rng = &mut self.rng;
        let known = self.priorities.contains_key(&group);
        if !known && c.kind == EntryKind::Step {
            self.yields.insert(group, c.origin); // its first step, not a yield
        }
        let p = *self
            .priorities
            .entry(group)
            .or_insert_with(|| FLOOR + depth + u64::from(rng.random::<u32>()));
        // A step of a task already seen is a yield: it draws a new priority below every
        // task that did not yield (once per yield), from a few levels. Yielders stay in random
        // order among themselves, so PCT still reorders them; a tie goes to the older entry
        // (the one that waited), so a spinner outranks a waiting yielder with probability at
        // most 15/16 per yield, and never forever.
        if known && c.kind == EntryKind::Step && self.yields.get(&group) != Some(&c.origin) {
            self.yields.insert(group, c.origin);
            let low = self.rng.random_range(0..YIELD_LEVELS);
            self.priorities.insert(group, low);
            return low;
        }
        p
    }
}

impl Scheduler for Pct {
    fn name(&self) -> String {
        format!("pct{}", self.depth)
    }

    fn begin_run(&mut self, seed: u64) {
        self.rng = seeded_stream(seed, SCHEDULE_STREAM);
        self.priorities.clear();
        self.yields.clear();
        self.points = 0;
        let k = self.k.max(1);
        self.change_points = (1..self.depth)
            .map(|_| self.rng.random_range(0..k))
            .collect();
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let group = |c: &Candidate| match c.task {
            Some(t) => Group::Task(t),
            None => Group::Entry(c.origin),
        };
        let candidates: Vec<Candidate> = point.candidates.iter().collect();
        let Some(first) = candidates.first().map(group) else {
            return 0;
        };
        let counts = candidates.iter().any(|c| group(c) != first);
        let mut best = 0;
        let mut best_priority = 0;
        for (i, c) in candidates.iter().enumerate() {
            let p = self.priority(c);
            if i == 0 || p > best_priority {
                best = i;
                best_priority = p;
            }
        }
        if !counts {
            return best; // one group: not a step of PCT's
        }
        let step = self.points;
        self.points += 1;
        let chosen = group(&candidates[best]);
        for (i, &cp) in self.change_points.iter().enumerate() {
            if cp == step {
                let low = FLOOR + u64::from(self.depth).saturating_sub(1 + i as u64);
                self.priorities.insert(chosen, low);
            }
        }
        best
    }

    fn end_run(&mut self, decisions: u64) {
        // The first run replaces the guess: with k far above a small program's length, most
        // change points would fall after its end and PCT-d would act as PCT-1.
        self.k = if self.learnt {
            self.k.max(decisions)
        } else {
            decisions.max(1)
        };
        self.learnt = true;
    }
}
