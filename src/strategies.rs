//! proptest strategies for schedules and fault plans, whose failures shrink toward FIFO and
//! toward no fault (the `proptest` feature, on by default).
//!
//! ```
//! use proptest::prelude::*;
//! use tulipsim::strategies::{fault_plan, schedule};
//! use tulipsim::{check, sleep, timeout, FaultConfig};
//!
//! proptest!(ProptestConfig::with_cases(16), |(s in schedule(8, 3), plan in fault_plan(4, 2))| {
//!     // A program that copes with any schedule and any early timeout.
//!     let r = check(|| async {
//!         match timeout(5).run(sleep(1)).await {
//!             Ok(()) | Err(tulipsim::Error::Timeout(_)) => Ok(()),
//!             Err(e) => Err(e),
//!         }
//!     })
//!     .faults(FaultConfig::default().early_timeout(1.0)) // which kinds are asked
//!     .replay(s)
//!     .allow_diverged_replay(true) // a generated schedule may not fit the program
//!     .fault_plan(plan) // which queries fire
//!     .ignore_env()
//!     .outcome();
//!     prop_assert!(r.is_ok());
//! });
//! ```

use proptest::collection::vec;
use proptest::prelude::*;

use crate::faults::FaultConfig;
use crate::scheduler::{FaultPlan, Schedule};

/// Schedules of at most `max_deviations` deviations, at decisions below `max_decisions`, each
/// taking a candidate index from 1 to 3. Shrinking drops deviations and moves the rest toward
/// decision 0 and index 1: toward FIFO.
///
/// ```
/// use proptest::prelude::*;
/// use proptest::strategy::ValueTree;
/// use proptest::test_runner::TestRunner;
/// let mut runner = TestRunner::deterministic();
/// let s = tulipsim::strategies::schedule(10, 2).new_tree(&mut runner).unwrap().current();
/// assert!(s.len() <= 2);
/// assert!(s.deviations().iter().all(|&(d, i)| d < 10 && (1..=3).contains(&i)));
/// ```
pub fn schedule(max_decisions: u64, max_deviations: usize) -> impl Strategy<Value = Schedule> {
    vec((0..max_decisions.max(1), 1u32..=3), 0..=max_deviations).prop_map(Schedule::from_deviations)
}

/// Fault plans firing at most `max_faults` of the first `max_queries` fault queries. Shrinking
/// drops fired queries and moves the rest earlier: toward no fault. (Shrinking probabilities
/// instead would not work: changing one changes which random draws the others get.)
///
/// ```
/// use proptest::prelude::*;
/// use proptest::strategy::ValueTree;
/// use proptest::test_runner::TestRunner;
/// let mut runner = TestRunner::deterministic();
/// let p = tulipsim::strategies::fault_plan(5, 2).new_tree(&mut runner).unwrap().current();
/// assert!(p.queries().len() <= 2 && p.queries().iter().all(|&q| q < 5));
/// ```
pub fn fault_plan(max_queries: u64, max_faults: usize) -> impl Strategy<Value = FaultPlan> {
    vec(0..max_queries.max(1), 0..=max_faults).prop_map(FaultPlan::from_queries)
}

/// Fault configurations with each kind on at a probability up to `max_p`, for seeded runs
/// (use [`fault_plan`] when failures must shrink).
///
/// ```
/// use proptest::prelude::*;
/// proptest!(ProptestConfig::with_cases(4), |(f in tulipsim::strategies::fault_config(0.2))| {
///     prop_assert!(f.early_timeout_probability() <= 0.2);
/// });
/// ```
pub fn fault_config(max_p: f64) -> impl Strategy<Value = FaultConfig> {
    let p = move || 0.0..=max_p.clamp(0.0, 1.0);
    (p(), p(), p(), p(), p()).prop_map(|(early, jitter, cancel, enable, fire)| {
        FaultConfig::default()
            .early_timeout(early)
            .timer_jitter(jitter, 1.0)
            .spurious_cancel(cancel)
            .buggify(enable, fire)
    })
}
