//! `Delay`: randomized delay bounding (after Emmi, Qadeer and Rakamarić 2011).

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

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

/// The words of a fresh [`ChaCha8Rng`] (its key and stream, from word 0), computed one 64-byte
/// block at a time. `rand_chacha` computes four blocks at a refill (~1,000 instructions), and a
/// run of `Delay` reads two words a delay: with one block (~450) W7's tiny runs under `delay2`
/// went from 1.52× to ~1.46× the plain loop. The words, and so every draw `rand` makes from
/// them, are the stream's own (the test compares them word for word). `Random` reads its
/// stream's first block from it too.
#[derive(Clone, Debug)]
pub(super) struct Keystream {
    state: [u32; 16],
    block: [u32; 16],
    at: usize,
}

impl Keystream {
    pub(super) fn new(rng: &ChaCha8Rng) -> Keystream {
        debug_assert_eq!(rng.get_word_pos(), 0);
        let key = rng.get_seed();
        let stream = rng.get_stream();
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for (i, word) in key.chunks_exact(4).enumerate() {
            state[4 + i] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
        // Words 12 and 13 count blocks (from 0); 14 and 15 are the stream.
        state[14] = stream as u32;
        state[15] = (stream >> 32) as u32;
        Keystream {
            state,
            block: [0; 16],
            at: 16,
        }
    }

    fn refill(&mut self) {
        #[inline(always)]
        fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(16);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(12);
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(8);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(7);
        }
        let mut x = self.state;
        // ChaCha8: four double rounds.
        for _ in 0..4 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        for (out, (w, s)) in self.block.iter_mut().zip(x.iter().zip(&self.state)) {
            *out = w.wrapping_add(*s);
        }
        let counter = (u64::from(self.state[13]) << 32 | u64::from(self.state[12])).wrapping_add(1);
        self.state[12] = counter as u32;
        self.state[13] = (counter >> 32) as u32;
        self.at = 0;
    }
}

impl RngCore for Keystream {
    fn next_u32(&mut self) -> u32 {
        if self.at == 16 {
            self.refill();
        }
        self.at += 1;
        self.block[self.at - 1]
    }

    fn next_u64(&mut self) -> u64 {
        // As `rand_core`'s block reader: two consecutive words, the first the low half.
        let low = u64::from(self.next_u32());
        (u64::from(self.next_u32()) << 32) | low
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        // As `rand_core`'s block reader: whole words, little-endian, a partial one's rest lost.
        for chunk in dst.chunks_mut(4) {
            let word = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::{Candidate, Candidates, EntryKind};

    /// Word for word, and draw for draw, the stream `rand_chacha` gives: across block
    /// boundaries, for 64-bit reads at odd word positions, bytes, and ranged draws.
    #[test]
    fn the_keystream_is_chacha8s() {
        for seed in (0..200).chain([u64::MAX, 1 << 63, 0x9e37_79b9_7f4a_7c15]) {
            for stream in [0, 1, 2, 3, SCHEDULE_STREAM, u64::MAX, 1 << 40] {
                let mut reference = seeded_stream(seed, stream);
                let mut ours = Keystream::new(&seeded_stream(seed, stream));
                for i in 0..150u64 {
                    match seed.wrapping_add(i) % 5 {
                        0 => assert_eq!(ours.next_u32(), reference.next_u32()),
                        1 => assert_eq!(ours.next_u64(), reference.next_u64()),
                        2 => {
                            let k = 1 + (seed ^ i) % 5_000;
                            let (a, b): (u64, u64) =
                                (ours.random_range(0..k), reference.random_range(0..k));
                            assert_eq!(a, b);
                        }
                        3 => {
                            let mut a = [0u8; 7];
                            let mut b = [0u8; 7];
                            ours.fill_bytes(&mut a);
                            reference.fill_bytes(&mut b);
                            assert_eq!(a, b);
                        }
                        _ => assert_eq!(
                            ours.random_range(0..u64::MAX - 3),
                            reference.random_range(0..u64::MAX - 3)
                        ),
                    }
                }
            }
        }
    }

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
