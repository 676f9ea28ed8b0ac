//! The seeded random streams of a run: one for scheduling, one for fault decisions, one for
//! fault amounts and one for the code under test, so that drawing from one moves no other.

use rand::Rng;
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
