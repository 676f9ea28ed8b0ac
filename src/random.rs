//! Seeded random numbers for the code under test: a simulated latency, a jittered backoff, a
//! random key. asyncio has no such thing (its programs call Python's `random`); a
//! deterministic simulator needs one, as FoundationDB's `deterministicRandom()` and madsim's
//! `rand` are: every draw comes from the running loop's seed, so a failing seed replays with
//! the same numbers.
//!
//! The draws have a ChaCha8 stream of their own: drawing more or fewer numbers moves neither
//! the schedule nor the injected faults. What a draw gives depends on the seed and on how many
//! draws came before it in the run, so under another schedule the same call may see another
//! number, as it would on a real machine; a seed and a schedule (what a replay command
//! carries) fix them all.
//!
//! ```
//! use tulipsim::{random_range, sleep, EventLoop, LoopConfig};
//! let run = |seed| {
//!     let lp = EventLoop::with_config(LoopConfig::default().seed(seed));
//!     lp.run_until_complete(async {
//!         let latency_ms = random_range(5..50)?; // a seeded network delay
//!         sleep(latency_ms as f64 / 1000.0).await?;
//!         Ok(latency_ms)
//!     })
//!     .unwrap()
//! };
//! assert_eq!(run(7), run(7)); // a seed replays its numbers
//! assert!((5..50).contains(&run(7)));
//! ```

use std::ops::Range;

use crate::decision::Decide;
use crate::events::running_loop_or_error;
use crate::exceptions::Error;
use crate::scheduler::UserRng;

/// A uniformly distributed `u64` from the running loop's seed.
///
/// Outside a running loop this is asyncio's "no running event loop" `RuntimeError`.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// let (a, b) = lp.run_until_complete(async { Ok((tulipsim::random_u64()?, tulipsim::random_u64()?)) }).unwrap();
/// assert_ne!(a, b);
/// assert!(tulipsim::random_u64().is_err()); // no loop is running here
/// ```
pub fn random_u64() -> Result<u64, Error> {
    Ok(running_loop_or_error()?.decide.user_u64())
}

/// A uniformly distributed number in `range` (its end excluded), from the running loop's seed.
/// An empty range is a `ValueError`.
///
/// ```
/// use tulipsim::{random_range, EventLoop, LoopConfig};
/// let lp = EventLoop::with_config(LoopConfig::default().seed(7));
/// let latency_ms = lp.run_until_complete(async { random_range(5..50) }).unwrap();
/// assert!((5..50).contains(&latency_ms));
/// ```
pub fn random_range(range: Range<u64>) -> Result<u64, Error> {
    if range.is_empty() {
        return Err(Error::value(format!(
            "random_range({}..{}): the range is empty",
            range.start, range.end
        )));
    }
    let span = range.end - range.start;
    // Rejection sampling: a plain `% span` would favour small values when span does not
    // divide 2^64.
    let zone = u64::MAX - (u64::MAX - span + 1) % span;
    loop {
        let x = random_u64()?;
        if x <= zone {
            return Ok(range.start + x % span);
        }
    }
}

/// A uniformly distributed `f64` in [0, 1), from the running loop's seed.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// let x = lp.run_until_complete(async { tulipsim::random_f64() }).unwrap();
/// assert!((0.0..1.0).contains(&x));
/// ```
pub fn random_f64() -> Result<f64, Error> {
    // The top 53 bits: every value is a multiple of 2^-53, evenly spread.
    Ok((random_u64()? >> 11) as f64 / (1u64 << 53) as f64)
}

/// True with probability `p` (clamped to [0, 1]), from the running loop's seed.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// let (never, always) = lp
///     .run_until_complete(async { Ok((tulipsim::random_bool(0.0)?, tulipsim::random_bool(1.0)?)) })
///     .unwrap();
/// assert!(!never && always);
/// ```
pub fn random_bool(p: f64) -> Result<bool, Error> {
    let x = random_f64()?;
    Ok(x < p.clamp(0.0, 1.0))
}

impl Decide {
    /// The next number for the code under test: the scheduler's, which by default is the
    /// next draw of the user stream.
    pub(crate) fn user_u64(&self) -> u64 {
        let mut rng = self.user_rng.borrow_mut();
        let rng = rng.get_or_insert_with(|| Box::new(UserRng::seeded(self.seed)));
        if !self.has_scheduler.get() {
            return rng.next_u64();
        }
        let scheduler = self.scheduler.borrow_mut().take();
        match scheduler {
            Some(mut s) => {
                let x = s.next_u64(rng);
                *self.scheduler.borrow_mut() = Some(s);
                x
            }
            // Asked while the policy decides (it cannot be): the stream answers.
            None => rng.next_u64(),
        }
    }
}
