//! Shrinking a failing schedule: drop deviations (and lower their indices) while the run still
//! fails the same way.

use super::run::{RunResult, Signature};
use crate::scheduler::Schedule;
use crate::trace::Trace;

/// At most this many replays: shrinking is a courtesy, not a search.
const BUDGET: usize = 500;

/// The shortest schedule found that still fails with `signature`, and its trace; `None` if
/// nothing shorter fails the same way.
pub(crate) fn shrink(
    schedule: &Schedule,
    signature: &Signature,
    replay: &dyn Fn(&Schedule) -> RunResult,
) -> Option<(Schedule, Trace)> {
    shrink_schedule(schedule, |candidate| {
        let r = replay(candidate);
        (r.failure.as_ref().map(|(s, _)| s) == Some(signature)).then_some((r.schedule, r.trace))
    })
}

/// Shrinks a failing schedule greedily: drops one deviation at a time, then lowers the indices
/// that remain, as long as `still_fails` says the candidate fails the same way. `still_fails`
/// replays a candidate and gives `Some((the schedule the run actually took, anything to keep))`
/// when it fails the same way, `None` when it does not. Gives the shortest failing schedule
/// found and what `still_fails` kept for it, or `None` if nothing shorter fails. At most 500
/// replays.
///
/// Dropping one deviation leaves the others where they were (each names its own decision),
/// so greedy removal to a fixed point works. [`check`](crate::check) shrinks with this; it is
/// public for explorers of one's own.
///
/// ```
/// use tulipsim::harness::shrink_schedule;
/// use tulipsim::scheduler::Schedule;
///
/// // A "bug" that needs decision 7 to take candidate 1 or more.
/// let fails = |s: &Schedule| (s.index_at(7) >= 1).then(|| (s.clone(), ()));
/// let long: Schedule = "2:1,7:3,9:2".parse().unwrap();
/// let (short, ()) = shrink_schedule(&long, fails).unwrap();
/// assert_eq!(short.to_string(), "7:1");
/// ```
pub fn shrink_schedule<R>(
    schedule: &Schedule,
    mut still_fails: impl FnMut(&Schedule) -> Option<(Schedule, R)>,
) -> Option<(Schedule, R)> {
    let mut best: Option<(Schedule, R)> = None;
    let mut current = schedule.clone();
    let mut runs = 0;
    let mut progress = true;
    let keep = |found: (Schedule, R), current: &mut Schedule, best: &mut Option<_>| {
        // Keep what the run actually did: it may have deviated less than asked.
        *current = found.0.clone();
        *best = Some(found);
    };
    while progress && runs < BUDGET {
        progress = false;
        let mut i = 0;
        while i < current.len() && runs < BUDGET {
            runs += 1;
            match still_fails(&current.without(i)) {
                Some(found) => {
                    keep(found, &mut current, &mut best);
                    progress = true;
                }
                None => i += 1,
            }
        }
        // Then make the remaining deviations as small as they can be.
        for i in 0..current.len() {
            let (d, o) = current.deviations()[i];
            if o <= 1 || runs >= BUDGET {
                continue;
            }
            runs += 1;
            let mut devs = current.deviations().to_vec();
            devs[i] = (d, o - 1);
            if let Some(found) = still_fails(&Schedule::from_deviations(devs)) {
                keep(found, &mut current, &mut best);
                progress = true;
                break;
            }
        }
    }
    best.filter(|(s, _)| s != schedule)
}
