//! `Random`: a uniform choice among the eligible entries at every decision.

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

use super::streams::Keystream;
use super::{seeded_stream, ChoicePoint, Eligibility, Scheduler, SCHEDULE_STREAM};

/// At every decision, each eligible entry is equally likely to run next (a seeded ChaCha8
/// stream, so a seed always gives the same run).
///
/// [`Random::chaos`] lifts the causal rule: any ready entry may run next, even before an entry
/// the same step registered earlier. That finds code relying on asyncio's FIFO guarantee, and
/// also reports correct code that relies on it.
///
/// ```
/// use tulipsim::scheduler::{Random, Scheduler};
/// assert_eq!(Random::new().name(), "random");
/// assert_eq!(Random::chaos().name(), "chaos");
/// ```
#[derive(Clone, Debug)]
pub struct Random {
    seed: u64,
    /// The seed's stream, seeded at the first decision: many runs make none (a fresh loop
    /// should not pay for a ChaCha key schedule it never draws from).
    rng: Option<Stream>,
    eligibility: Eligibility,
}

impl Default for Random {
    fn default() -> Self {
        Random::new()
    }
}

impl Random {
    /// Uniform over the entries the causal rule allows.
    ///
    /// ```
    /// use tulipsim::scheduler::Random;
    /// use tulipsim::{EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().seed(4));
    /// lp.set_scheduler(Random::new());
    /// lp.run_until_complete(tulipsim::sleep(1)).unwrap();
    /// ```
    pub fn new() -> Random {
        Random {
            seed: 0,
            rng: None,
            eligibility: Eligibility::Causal,
        }
    }

    /// Uniform over every ready entry.
    ///
    /// ```
    /// use tulipsim::scheduler::{Eligibility, Random, Scheduler};
    /// assert_eq!(Random::chaos().eligibility(), Eligibility::Chaos);
    /// ```
    pub fn chaos() -> Random {
        Random {
            eligibility: Eligibility::Chaos,
            ..Random::new()
        }
    }
}

impl Scheduler for Random {
    fn name(&self) -> String {
        match self.eligibility {
            Eligibility::Causal => "random".into(),
            Eligibility::Chaos => "chaos".into(),
        }
    }

    fn begin_run(&mut self, seed: u64) {
        self.seed = seed;
        self.rng = None;
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let seed = self.seed;
        self.rng
            .get_or_insert_with(|| Stream::new(seed))
            .random_range(0..point.candidates.len())
    }

    fn eligibility(&self) -> Eligibility {
        self.eligibility
    }
}

/// The seed's stream: its first 16 words from its first block computed alone, the rest from
/// `rand_chacha` (from word 16 on). A run of a few decisions (W7's tiny runs) reads a few words,
/// and `rand_chacha`'s first refill computes four blocks (~1,000 instructions, where one costs
/// ~450); a long run pays that refill once. The words are the stream's own, so every draw is.
#[derive(Clone, Debug)]
struct Stream {
    first: Keystream,
    read: u32,
    rest: Option<ChaCha8Rng>,
    seed: u64,
}

impl Stream {
    fn new(seed: u64) -> Stream {
        Stream {
            first: Keystream::new(&seeded_stream(seed, SCHEDULE_STREAM)),
            read: 0,
            rest: None,
            seed,
        }
    }
}

impl RngCore for Stream {
    fn next_u32(&mut self) -> u32 {
        if self.read < 16 {
            self.read += 1;
            return self.first.next_u32();
        }
        let seed = self.seed;
        self.rest
            .get_or_insert_with(|| {
                let mut rng = seeded_stream(seed, SCHEDULE_STREAM);
                rng.set_word_pos(16);
                rng
            })
            .next_u32()
    }

    // Word for word as `rand_chacha`'s block reader: two consecutive words, the first the low
    // half; bytes little-endian, a partial word's rest lost (the tests compare the streams).
    fn next_u64(&mut self) -> u64 {
        rand::rand_core::impls::next_u64_via_u32(self)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand::rand_core::impls::fill_bytes_via_next(self, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draw for draw the seed's stream, across the switch from the first block to
    /// `rand_chacha` (at word 16, also in the middle of a 64-bit read).
    #[test]
    fn the_stream_is_the_seeds() {
        for seed in (0..300).chain([u64::MAX, 1 << 63]) {
            let mut reference = seeded_stream(seed, SCHEDULE_STREAM);
            let mut ours = Stream::new(seed);
            for i in 0..120u64 {
                match seed.wrapping_add(i) % 4 {
                    0 => assert_eq!(ours.next_u32(), reference.next_u32()),
                    1 => assert_eq!(ours.next_u64(), reference.next_u64()),
                    2 => {
                        let n = 2 + (seed ^ i) as usize % 3_000;
                        let (a, b): (usize, usize) =
                            (ours.random_range(0..n), reference.random_range(0..n));
                        assert_eq!(a, b, "seed {seed} draw {i}");
                    }
                    _ => {
                        let mut a = [0u8; 6];
                        let mut b = [0u8; 6];
                        ours.fill_bytes(&mut a);
                        reference.fill_bytes(&mut b);
                        assert_eq!(a, b);
                    }
                }
            }
            assert!(ours.rest.is_some());
        }
    }
}
