//! `Delay`: randomized delay bounding (after Emmi, Qadeer and Rakamarić 2011).

use rand::Rng;

use super::streams::Keystream;
use super::{seeded_stream, ChoicePoint, Scheduler, SCHEDULE_STREAM};

/// FIFO, except at up to `budget` randomly chosen decisions, where the oldest entry is passed
/// over (delayed) in favour of the next. Small ordering bugs usually need one or two delays, and
/// a counterexample with few delays is easy to read.
///
/// The number of decisions of a run, over which the delays are spread, is learnt across runs:
/// the first run's count replaces the starting guess of 64, later runs can only raise it (as
/// for [`Pct`](super::Pct); the harness warms every seed's policy from one FIFO calibration
/// run, so the delays fall inside the program, not past its end). For the exhaustive version, which enumerates every
/// schedule with 0, then 1, then 2 delays, see the harness's delay-bounding explorer.
///
/// ```
/// use tulipsim::scheduler::{Delay, Scheduler};
/// assert_eq!(Delay::new(2).name(), "delay2");
/// ```
#[derive(Clone, Debug)]
pub struct Delay {
    budget: u32,
    k: u64,
    /// Whether `k` was learnt from a run yet (until then it is the default guess).
    learnt: bool,
    delays: Vec<u64>,
    /// The seed and run length of a run begun whose delays are not drawn yet: they are drawn
    /// at its first decision. The harness warms a policy with a run that makes no decision
    /// (`begin_run(0)`, `end_run(k)`), and seeding ChaCha and generating its first block cost
    /// ~1,500 instructions a run (W7: two a run, one of them thrown away).
    pending: Option<(u64, u64)>,
}

impl Delay {
    /// At most `budget` delays per run.
    ///
    /// ```
    /// use tulipsim::scheduler::{Delay, Scheduler};
    /// assert_eq!(Delay::new(3).name(), "delay3");
    /// ```
    pub fn new(budget: u32) -> Delay {
        Delay {
            budget,
            k: 64,
            learnt: false,
            delays: Vec::new(),
            pending: None,
        }
    }
}

impl Scheduler for Delay {
    fn name(&self) -> String {
        format!("delay{}", self.budget)
    }

    fn begin_run(&mut self, seed: u64) {
        self.pending = Some((seed, self.k.max(1)));
        self.delays.clear();
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        if let Some((seed, k)) = self.pending.take() {
            // The stream serves these draws only: its first words, one block at a time.
            let mut rng = Keystream::new(&seeded_stream(seed, SCHEDULE_STREAM));
            self.delays = (0..self.budget).map(|_| rng.random_range(0..k)).collect();
        }
        // Two delays at one decision pass over two entries.
        let skips = self.delays.iter().filter(|&&d| d == point.index).count();
        skips.min(point.candidates.len() - 1)
    }

    fn end_run(&mut self, decisions: u64) {
        // The first run replaces the guess: with k far above a small program's length, the
        // delays would mostly fall after its end and Delay would act as FIFO.
        self.k = if self.learnt {
            self.k.max(decisions)
        } else {
            decisions
        };
        self.learnt = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::{Candidate, Candidates, EntryKind};

    /// The delays a run draws, against drawing them from the stream itself.
    #[test]
    fn delays_are_drawn_from_the_seeds_stream() {
        for budget in 0..6 {
            for k in [1, 2, 3, 64, 1_000, 123_456] {
                for seed in 0..50 {
                    let mut d = Delay::new(budget);
                    d.k = k;
                    d.learnt = true;
                    d.begin_run(seed);
                    let two: Vec<Candidate> = (0..2)
                        .map(|origin| Candidate {
                            kind: EntryKind::Callback,
                            task: None,
                            spawned_at: None,
                            origin,
                            run: None,
                        })
                        .collect();
                    let point = ChoicePoint {
                        index: 0,
                        candidates: Candidates::from(&two[..]),
                        time_ns: 0,
                    };
                    d.choose(&point);
                    let mut rng = seeded_stream(seed, SCHEDULE_STREAM);
                    let expected: Vec<u64> = (0..budget).map(|_| rng.random_range(0..k)).collect();
                    assert_eq!(d.delays, expected, "budget {budget} k {k} seed {seed}");
                }
            }
        }
    }
}
