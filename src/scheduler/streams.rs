//! The seeded random streams of a run: one for scheduling, one for fault decisions, one for
//! fault amounts and one for the code under test, so that drawing from one moves no other.

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

/// The random stream fault decisions draw from: seeded from the run's seed, separate from the
/// scheduling stream.
///
/// ```
/// let mut rng = tulipsim::scheduler::FaultRng::seeded(1);
/// let draws: Vec<u64> = (0..3).map(|_| rng.below(100)).collect();
/// let mut again = tulipsim::scheduler::FaultRng::seeded(1);
/// assert_eq!(draws, (0..3).map(|_| again.below(100)).collect::<Vec<_>>()); // seeded
/// ```
pub struct FaultRng(pub(crate) ChaCha8Rng);

impl FaultRng {
    /// True with probability `p` (clamped to `[0, 1]`).
    ///
    /// ```
    /// let mut rng = tulipsim::scheduler::FaultRng::seeded(7);
    /// assert!(!rng.chance(0.0));
    /// assert!(rng.chance(1.0));
    /// ```
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.0.random_bool(p)
        }
    }

    /// A uniform integer in `0..n` (0 when `n` is 0).
    ///
    /// ```
    /// let mut rng = tulipsim::scheduler::FaultRng::seeded(7);
    /// assert!(rng.below(10) < 10);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }

    /// The fault stream of `seed`.
    ///
    /// ```
    /// let mut a = tulipsim::scheduler::FaultRng::seeded(42);
    /// let mut b = tulipsim::scheduler::FaultRng::seeded(42);
    /// assert_eq!(a.below(1_000_000), b.below(1_000_000));
    /// ```
    pub fn seeded(seed: u64) -> FaultRng {
        FaultRng(seeded_stream(seed, FAULT_STREAM))
    }
}

/// The random stream the code under test draws from ([`random_u64`](crate::random_u64) and
/// what is built on it): seeded from the run's seed, separate from the scheduling and fault
/// streams, so that drawing moves neither.
///
/// ```
/// let mut a = tulipsim::scheduler::UserRng::seeded(5);
/// let mut b = tulipsim::scheduler::UserRng::seeded(5);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
pub struct UserRng(pub(crate) ChaCha8Rng);

impl UserRng {
    /// The user stream of `seed`.
    ///
    /// ```
    /// let mut other = tulipsim::scheduler::UserRng::seeded(6);
    /// let mut mine = tulipsim::scheduler::UserRng::seeded(5);
    /// assert_ne!(mine.next_u64(), other.next_u64());
    /// ```
    pub fn seeded(seed: u64) -> UserRng {
        UserRng(seeded_stream(seed, USER_STREAM))
    }

    /// The next draw.
    ///
    /// ```
    /// let mut rng = tulipsim::scheduler::UserRng::seeded(1);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        use rand::RngCore;
        self.0.next_u64()
    }
}

pub(crate) const SCHEDULE_STREAM: u64 = 0;
pub(crate) const FAULT_STREAM: u64 = 1;
pub(crate) const AMOUNT_STREAM: u64 = 2;
/// The code under test's own draws (`tulipsim::random_u64` and friends).
pub(crate) const USER_STREAM: u64 = 3;

/// The ChaCha8 stream `stream` of `seed`: independent streams of one seed.
pub(crate) fn seeded_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The words of a fresh [`ChaCha8Rng`] (its key and stream, from word 0), computed one 64-byte
/// block at a time. `rand_chacha` computes four blocks at a refill (~1,000 instructions), and a
/// run of `Delay` reads two words a delay: with one block (~450) W7's tiny runs under `delay2`
/// went from 1.52× to ~1.46× the plain loop. The words, and so every draw `rand` makes from
/// them, are the stream's own (the test compares them word for word). `Random` reads its
/// stream's first block from it too.
#[derive(Clone, Debug)]
pub(crate) struct Keystream {
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
    use rand::{Rng, RngCore};

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
}
