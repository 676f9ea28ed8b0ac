//! The invariants every run of a scenario keeps, whatever the schedule and the faults.
//!
//! Two kinds. *At the moment a step returns*, the interpreter asks the functions below whether
//! what the step gave agrees with the futures it was about (a `gather` result in argument
//! order, a `wait` that partitions its input, a `wait_for` that timed out only after its
//! deadline). *After the run*, [`check_trace`] reads the canonical trace: virtual time never
//! goes backwards, and each task's last word agrees with its final state.
//!
//! A broken invariant is a bug in tulipsim (or in this list): the explorer reports each with
//! the command that replays it. Under FIFO every invariant also holds on CPython, since the
//! differential test shows both print the same trace.

use tulipsim::{Error, Future};

use crate::interp::{fmt_val, state, type_name, Ctx, Val};
use crate::scenario::{Half, Mode};

/// The exceptions scenarios raise themselves (so an awaiter seeing one got it from a future).
fn is_scenario_exception(e: &Error) -> bool {
    matches!(type_name(e).as_str(), "ValueError" | "KeyError")
}

fn expect_state(ctx: &Ctx, who: &str, what: &str, f: &Future<Val>, want: &str) {
    let got = state(f);
    if got != want {
        let name = ctx.name_of(f);
        ctx.violate(
            who,
            format!("{what}: {name} should be `{want}`, is `{got}`"),
        );
    }
}

/// What awaiting `f` (directly or through a shield) gave is what `f` holds.
pub(crate) fn await_outcome(
    ctx: &Ctx,
    who: &str,
    what: &str,
    f: &Future<Val>,
    r: &Result<Val, Error>,
) {
    match r {
        Ok(v) => expect_state(ctx, who, what, f, &format!("result {}", fmt_val(v))),
        Err(e) if is_scenario_exception(e) => {
            expect_state(ctx, who, what, f, &format!("exception {}", type_name(e)))
        }
        Err(_) => {}
    }
}

/// `gather` without `return_exceptions`: results in argument order; an error is a child's.
pub(crate) fn gather_outcome(
    ctx: &Ctx,
    who: &str,
    fs: &[Future<Val>],
    r: &Result<Vec<Val>, Error>,
) {
    match r {
        Ok(vs) => {
            if vs.len() != fs.len() {
                ctx.violate(
                    who,
                    format!(
                        "gather gave {} results for {} awaitables",
                        vs.len(),
                        fs.len()
                    ),
                );
            }
            for (f, v) in fs.iter().zip(vs) {
                expect_state(ctx, who, "gather", f, &format!("result {}", fmt_val(v)));
            }
        }
        Err(e) if is_scenario_exception(e) => {
            let want = format!("exception {}", type_name(e));
            if !fs.iter().any(|f| state(f) == want) {
                ctx.violate(
                    who,
                    format!("gather raised {} but no child holds it", type_name(e)),
                );
            }
        }
        Err(_) => {}
    }
}

/// `gather` with `return_exceptions`: every child is done, and each slot is its outcome.
pub(crate) fn gather_all_outcomes(
    ctx: &Ctx,
    who: &str,
    fs: &[Future<Val>],
    r: &Result<Vec<Result<Val, Error>>, Error>,
) {
    let Ok(outcomes) = r else { return };
    if outcomes.len() != fs.len() {
        ctx.violate(
            who,
            format!(
                "gather gave {} outcomes for {} awaitables",
                outcomes.len(),
                fs.len()
            ),
        );
    }
    for (f, o) in fs.iter().zip(outcomes) {
        let want = match o {
            Ok(v) => format!("result {}", fmt_val(v)),
            Err(e) if e.is_cancelled() => "cancelled".to_string(),
            Err(e) => format!("exception {}", type_name(e)),
        };
        expect_state(ctx, who, "gather(return_exceptions)", f, &want);
    }
}

/// `wait`: `done` and `pending` partition the input; `done` is done and `pending` is not;
/// without a timeout, the mode's condition holds.
pub(crate) fn wait_partition(
    ctx: &Ctx,
    who: &str,
    input: &[Future<Val>],
    mode: Mode,
    timeout: bool,
    done: &[Future<Val>],
    pending: &[Future<Val>],
) {
    let contains = |set: &[Future<Val>], f: &Future<Val>| set.iter().any(|g| g.same(f));
    for f in input {
        if contains(done, f) == contains(pending, f) {
            ctx.violate(
                who,
                format!(
                    "wait: {} should be in exactly one of done and pending",
                    ctx.name_of(f)
                ),
            );
        }
    }
    for f in done.iter().chain(pending) {
        if !contains(input, f) {
            ctx.violate(
                who,
                format!("wait: {} was not in its input", ctx.name_of(f)),
            );
        }
    }
    if let Some(f) = done.iter().find(|f| !f.done()) {
        ctx.violate(
            who,
            format!("wait: {} is in done but pending", ctx.name_of(f)),
        );
    }
    if let Some(f) = pending.iter().find(|f| f.done()) {
        ctx.violate(
            who,
            format!("wait: {} is in pending but done", ctx.name_of(f)),
        );
    }
    if timeout || input.is_empty() {
        return;
    }
    let failed =
        |f: &Future<Val>| f.done() && !f.cancelled() && matches!(f.exception(), Ok(Some(_)));
    let met = match mode {
        Mode::FirstCompleted => !done.is_empty(),
        Mode::FirstException => pending.is_empty() || done.iter().any(failed),
        Mode::AllCompleted => pending.is_empty(),
    };
    if !met {
        ctx.violate(
            who,
            format!("wait {mode:?} without a timeout returned before its condition held"),
        );
    }
}

/// `wait_for`: a value is the inner's; a `TimeoutError` comes no earlier than the deadline
/// (unless early timeouts are injected) and leaves the inner done: cancelled, or ended by a
/// `TimeoutError` of its own.
pub(crate) fn wait_for_outcome(
    ctx: &Ctx,
    who: &str,
    f: &Future<Val>,
    start: i64,
    timeout: Option<Half>,
    r: &Result<Val, Error>,
) {
    if !matches!(r, Err(Error::Timeout(_))) {
        return await_outcome(ctx, who, "wait_for", f, r);
    }
    let got = state(f);
    if got == "exception TimeoutError" {
        return; // the inner's own (from a timeout scope inside it), passed on like any error
    }
    let elapsed = ctx.now_ns() - start;
    match timeout {
        None => ctx.violate(
            who,
            format!("wait_for without a timeout raised TimeoutError; inner is `{got}`"),
        ),
        Some(t) if elapsed < t.nanos() && !ctx.early_timeouts => ctx.violate(
            who,
            format!(
                "wait_for timed out after {elapsed} ns, before its {} s deadline",
                t.secs()
            ),
        ),
        _ => {}
    }
    if got != "cancelled" {
        let name = ctx.name_of(f);
        ctx.violate(
            who,
            format!("wait_for timed out but {name} is `{got}`, not cancelled"),
        );
    }
}

/// A `sleep(d)` that returned normally took at least `d` of virtual time.
pub(crate) fn sleep_not_early(ctx: &Ctx, who: &str, start: i64, d: Half) {
    let elapsed = ctx.now_ns() - start;
    if elapsed < d.nanos() {
        ctx.violate(who, format!("sleep({d}) returned after {elapsed} ns"));
    }
}

/// `cancel()` answers true exactly when its target was not done, and changes nothing on a
/// done one.
pub(crate) fn cancel_answer(ctx: &Ctx, who: &str, before: &str, answered: bool, f: &Future<Val>) {
    let was_done = before != "pending";
    if answered == was_done {
        let name = ctx.name_of(f);
        ctx.violate(
            who,
            format!("cancel() on {name} ({before}) answered {answered}"),
        );
    }
    if was_done {
        expect_state(ctx, who, "cancel() on a done future", f, before);
    }
}

/// Checks the canonical trace of a finished run: times never go backwards, and each task's
/// `end` line agrees with its final state (a task whose coroutine returned while a
/// cancellation was pending ends cancelled, as in asyncio). Gives one message per violation.
///
/// ```
/// use tulipsim_sim::invariants::check_trace;
/// let ok = ["0.000 T0 end -> 1", "0.000 main -> 1", "0.000 T0 result 1"];
/// assert!(check_trace(&ok.map(String::from)).is_empty());
/// let bad = ["1.000 T0 end -> 1", "0.500 main -> 1", "0.500 T0 result 2"];
/// assert_eq!(check_trace(&bad.map(String::from)).len(), 2);
/// ```
pub fn check_trace(lines: &[String]) -> Vec<String> {
    let mut violations = Vec::new();
    let mut last_time = f64::NEG_INFINITY;
    let mut ends: Vec<(String, String)> = Vec::new();
    let mut finals: Vec<(String, String)> = Vec::new();
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let (Some(time), Some(who), Some(what)) = (parts.next(), parts.next(), parts.next()) else {
            violations.push(format!("unreadable trace line {line:?}"));
            continue;
        };
        let time: f64 = time.parse().unwrap_or(f64::NAN);
        if time.is_nan() || time < last_time {
            violations.push(format!(
                "time went backwards: {line:?} after {last_time:.3}"
            ));
        }
        last_time = time;
        if let Some(end) = what.strip_prefix("end ") {
            ends.push((who.to_string(), end.to_string()));
        } else if who.starts_with('T') && !what.contains(" -> ") && what != "caught CancelledError"
        {
            finals.push((who.to_string(), what.to_string()));
        }
    }
    for (task, end) in ends {
        let Some((_, fin)) = finals.iter().rev().find(|(t, _)| *t == task) else {
            continue;
        };
        let agrees = match end.strip_prefix("-> ") {
            Some(v) => *fin == format!("result {v}") || fin == "cancelled",
            None => match end.strip_prefix("raised ") {
                Some("CancelledError") => fin == "cancelled",
                Some(e) => *fin == format!("exception {e}") || fin == "cancelled",
                None => false,
            },
        };
        if !agrees {
            violations.push(format!(
                "{task} ended `{end}` but its final state is `{fin}`"
            ));
        }
    }
    violations
}
