//! Shrinking a failing schedule: drop deviations (and lower their indices) while the run still
//! fails the same way.

use super::run::{RunResult, Signature};
use crate::scheduler::Schedule;
use crate::trace::Trace;

/// At most this many replays: shrinking is a courtesy, not a search.
const BUDGET: usize = 500;

/// The shortest schedule found that still fails with `signature`, and its trace; `None` if
/// nothing shorter fails the same way. Dropping one deviation leaves the others in place (each
/// names its own decision), so greedy removal to a fixed point works.
pub(crate) fn shrink(
    schedule: &Schedule,
    signature: &Signature,
    replay: &dyn Fn(&Schedule) -> RunResult,
) -> Option<(Schedule, Trace)> {
    let mut best: Option<(Schedule, Trace)> = None;
    let mut current = schedule.clone();
    let mut runs = 0;
    let mut progress = true;
    while progress && runs < BUDGET {
        progress = false;
        let mut i = 0;
        while i < current.len() && runs < BUDGET {
            runs += 1;
            let candidate = current.without(i);
            let r = replay(&candidate);
            if r.failure.as_ref().map(|(s, _)| s) == Some(signature) {
                // Keep what the run actually did: it may have deviated less than asked.
                current = r.schedule.clone();
                best = Some((current.clone(), r.trace));
                progress = true;
            } else {
                i += 1;
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
            let candidate = Schedule::from_deviations(devs);
            let r = replay(&candidate);
            if r.failure.as_ref().map(|(s, _)| s) == Some(signature) {
                current = r.schedule.clone();
                best = Some((current.clone(), r.trace));
                progress = true;
                break;
            }
        }
    }
    best.filter(|(s, _)| s != schedule)
}
