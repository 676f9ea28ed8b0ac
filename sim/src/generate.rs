//! Random scenarios: a proptest [`Strategy`] (shrinks by dropping steps, unwrapping blocks and
//! lowering numbers) and an [`Arbitrary`] impl for fuzzers, both biased the same way.
//!
//! The bias is toward the cases where asyncio's order matters: delays and timeouts drawn from
//! a few small values (so deadlines collide, and zero timeouts are common), many cancels and
//! completions of the same few futures (so they race), and short bodies (so CPython runs
//! thousands a second).

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::{BoxedStrategy, Union};

use crate::scenario::{Exc, Half, Handler, Mode, Scenario, Step, Target};

/// Most futures a scenario creates.
pub const MAX_FUTURES: u8 = 3;
/// Most tasks (main included).
pub const MAX_TASKS: u8 = 4;
/// Most steps in one body.
pub const MAX_STEPS: usize = 6;
/// Most targets in a gather, wait or as_completed.
pub const MAX_TARGETS: usize = 3;
/// How deep blocks (try, timeout, task group) nest.
pub const MAX_DEPTH: u32 = 2;

/// Leaf steps and their weights; the order is the `Arbitrary` impl's too.
const LEAF_WEIGHTS: [u32; 14] = [4, 3, 3, 1, 3, 1, 1, 2, 2, 2, 1, 1, 1, 1];
/// Block steps (task group, timeout, try) and their weights.
const BLOCK_WEIGHTS: [u32; 3] = [1, 2, 3];

/// Random scenarios.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let mut runner = TestRunner::deterministic();
/// let scenario = tulipsim_sim::generate::scenario().new_tree(&mut runner).unwrap().current();
/// assert!(!scenario.tasks.is_empty());
/// ```
pub fn scenario() -> BoxedStrategy<Scenario> {
    (0..=MAX_FUTURES, 1..=MAX_TASKS)
        .prop_flat_map(|(futures, tasks)| {
            let spawns = tasks - 1;
            (
                Just(futures),
                prop::collection::vec(body(futures, tasks), usize::from(tasks)),
                prop::collection::vec(
                    (prop::bool::weighted(0.85), any::<Index>()),
                    usize::from(spawns),
                ),
            )
        })
        .prop_map(|(futures, mut tasks, spawns)| {
            // Most tasks should run, so main spawns each with high probability; shrinking
            // turns the spawns off one by one.
            for (k, (spawn, at)) in spawns.into_iter().enumerate() {
                if spawn {
                    let main = &mut tasks[0];
                    let at = at.index(main.len() + 1);
                    main.insert(at, Step::Spawn(k as u8 + 1));
                }
            }
            Scenario { futures, tasks }
        })
        .boxed()
}

fn half() -> impl Strategy<Value = Half> + Clone {
    prop_oneof![3 => Just(Half(0)), 3 => Just(Half(1)), 2 => Just(Half(2)), 1 => (3u8..=6).prop_map(Half)]
}

fn timeout() -> impl Strategy<Value = Option<Half>> + Clone {
    prop_oneof![1 => Just(None), 3 => half().prop_map(Some)]
}

fn value() -> impl Strategy<Value = i8> + Clone {
    0i8..=9
}

fn exc() -> impl Strategy<Value = Exc> + Clone {
    prop_oneof![Just(Exc::ValueError), Just(Exc::KeyError)]
}

fn target(futures: u8, tasks: u8) -> BoxedStrategy<Target> {
    if futures == 0 {
        (0..tasks).prop_map(Target::Task).boxed()
    } else {
        prop_oneof![3 => (0..futures).prop_map(Target::Future), 2 => (0..tasks).prop_map(Target::Task)]
            .boxed()
    }
}

fn targets(futures: u8, tasks: u8) -> impl Strategy<Value = Vec<Target>> + Clone {
    prop::collection::vec(target(futures, tasks), 0..=MAX_TARGETS)
}

fn future_index(futures: u8) -> BoxedStrategy<u8> {
    // With no futures, an index 0 makes the step log `skip`, which is still a valid program.
    (0..futures.max(1)).boxed()
}

fn leaf(futures: u8, tasks: u8) -> BoxedStrategy<Step> {
    let t = || target(futures, tasks);
    let f = || future_index(futures);
    let mode = prop_oneof![
        Just(Mode::FirstCompleted),
        Just(Mode::FirstException),
        Just(Mode::AllCompleted)
    ];
    let choices: Vec<BoxedStrategy<Step>> = vec![
        half().prop_map(Step::Sleep).boxed(),
        t().prop_map(Step::Await).boxed(),
        (f(), value())
            .prop_map(|(future, value)| Step::SetResult { future, value })
            .boxed(),
        (f(), exc())
            .prop_map(|(future, exception)| Step::SetException { future, exception })
            .boxed(),
        (t(), any::<bool>())
            .prop_map(|(target, msg)| Step::Cancel { target, msg })
            .boxed(),
        (1..tasks.max(2)).prop_map(Step::Spawn).boxed(),
        t().prop_map(Step::Shield).boxed(),
        (targets(futures, tasks), any::<bool>())
            .prop_map(|(of, return_exceptions)| Step::Gather {
                of,
                return_exceptions,
            })
            .boxed(),
        (targets(futures, tasks), mode, timeout())
            .prop_map(|(of, return_when, timeout)| Step::Wait {
                of,
                return_when,
                timeout,
            })
            .boxed(),
        (t(), timeout())
            .prop_map(|(of, timeout)| Step::WaitFor { of, timeout })
            .boxed(),
        (targets(futures, tasks), timeout())
            .prop_map(|(of, timeout)| Step::AsCompleted { of, timeout })
            .boxed(),
        (0u8..=9).prop_map(Step::Log).boxed(),
        value().prop_map(Step::Return).boxed(),
        exc().prop_map(Step::Raise).boxed(),
    ];
    Union::new_weighted(LEAF_WEIGHTS.into_iter().zip(choices).collect()).boxed()
}

fn handler() -> impl Strategy<Value = Handler> {
    prop_oneof![2 => Just(Handler::Swallow), 1 => Just(Handler::Reraise), 1 => value().prop_map(Handler::Return)]
}

fn step(futures: u8, tasks: u8) -> BoxedStrategy<Step> {
    leaf(futures, tasks)
        .prop_recursive(MAX_DEPTH, 24, MAX_STEPS as u32, move |inner| {
            let body = prop::collection::vec(inner, 0..=MAX_STEPS);
            let ids = prop::collection::vec(1..tasks.max(2), 0..=2);
            let blocks: Vec<BoxedStrategy<Step>> = vec![
                (ids, body.clone())
                    .prop_map(|(spawn, body)| Step::TaskGroup { spawn, body })
                    .boxed(),
                (timeout(), body.clone())
                    .prop_map(|(delay, body)| Step::Timeout { delay, body })
                    .boxed(),
                (body, handler())
                    .prop_map(|(body, except)| Step::Try { body, except })
                    .boxed(),
            ];
            let leaf_weight: u32 = LEAF_WEIGHTS.iter().sum();
            let mut all = vec![(leaf_weight, leaf(futures, tasks))];
            all.extend(BLOCK_WEIGHTS.into_iter().zip(blocks));
            Union::new_weighted(all)
        })
        .boxed()
}

fn body(futures: u8, tasks: u8) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(futures, tasks), 0..=MAX_STEPS)
}

/// Picks an index with probability proportional to `weights`.
fn weighted(u: &mut Unstructured<'_>, weights: &[u32]) -> arbitrary::Result<usize> {
    let total: u32 = weights.iter().sum();
    let mut x = u.int_in_range(0..=total - 1)?;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return Ok(i);
        }
        x -= w;
    }
    Ok(weights.len() - 1)
}

struct Gen {
    futures: u8,
    tasks: u8,
}

impl Gen {
    fn half(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Half> {
        Ok(match weighted(u, &[3, 3, 2, 1])? {
            0 => Half(0),
            1 => Half(1),
            2 => Half(2),
            _ => Half(u.int_in_range(3..=6)?),
        })
    }

    fn timeout(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Option<Half>> {
        Ok(if weighted(u, &[1, 3])? == 0 {
            None
        } else {
            Some(self.half(u)?)
        })
    }

    fn value(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<i8> {
        u.int_in_range(0..=9)
    }

    fn exc(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Exc> {
        Ok(if u.arbitrary()? {
            Exc::KeyError
        } else {
            Exc::ValueError
        })
    }

    fn target(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Target> {
        Ok(if self.futures > 0 && weighted(u, &[3, 2])? == 0 {
            Target::Future(u.int_in_range(0..=self.futures - 1)?)
        } else {
            Target::Task(u.int_in_range(0..=self.tasks - 1)?)
        })
    }

    fn targets(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<Target>> {
        let n = u.int_in_range(0..=MAX_TARGETS)?;
        (0..n).map(|_| self.target(u)).collect()
    }

    fn future_index(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
        u.int_in_range(0..=self.futures.max(1) - 1)
    }

    fn task_index(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
        u.int_in_range(1..=self.tasks.max(2) - 1)
    }

    fn step(&self, u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Step> {
        let mut weights = LEAF_WEIGHTS.to_vec();
        if depth < MAX_DEPTH {
            weights.extend(BLOCK_WEIGHTS);
        }
        Ok(match weighted(u, &weights)? {
            0 => Step::Sleep(self.half(u)?),
            1 => Step::Await(self.target(u)?),
            2 => Step::SetResult {
                future: self.future_index(u)?,
                value: self.value(u)?,
            },
            3 => Step::SetException {
                future: self.future_index(u)?,
                exception: self.exc(u)?,
            },
            4 => Step::Cancel {
                target: self.target(u)?,
                msg: u.arbitrary()?,
            },
            5 => Step::Spawn(self.task_index(u)?),
            6 => Step::Shield(self.target(u)?),
            7 => Step::Gather {
                of: self.targets(u)?,
                return_exceptions: u.arbitrary()?,
            },
            8 => {
                let mode = [
                    Mode::FirstCompleted,
                    Mode::FirstException,
                    Mode::AllCompleted,
                ];
                Step::Wait {
                    of: self.targets(u)?,
                    return_when: *u.choose(&mode)?,
                    timeout: self.timeout(u)?,
                }
            }
            9 => Step::WaitFor {
                of: self.target(u)?,
                timeout: self.timeout(u)?,
            },
            10 => Step::AsCompleted {
                of: self.targets(u)?,
                timeout: self.timeout(u)?,
            },
            11 => Step::Log(u.int_in_range(0..=9)?),
            12 => Step::Return(self.value(u)?),
            13 => Step::Raise(self.exc(u)?),
            14 => {
                let n = u.int_in_range(0..=2)?;
                let ids = (0..n)
                    .map(|_| self.task_index(u))
                    .collect::<Result<_, _>>()?;
                Step::TaskGroup {
                    spawn: ids,
                    body: self.body(u, depth + 1)?,
                }
            }
            15 => Step::Timeout {
                delay: self.timeout(u)?,
                body: self.body(u, depth + 1)?,
            },
            _ => {
                let handler = match weighted(u, &[2, 1, 1])? {
                    0 => Handler::Swallow,
                    1 => Handler::Reraise,
                    _ => Handler::Return(self.value(u)?),
                };
                Step::Try {
                    body: self.body(u, depth + 1)?,
                    except: handler,
                }
            }
        })
    }

    fn body(&self, u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Vec<Step>> {
        let n = u.int_in_range(0..=MAX_STEPS)?;
        (0..n).map(|_| self.step(u, depth)).collect()
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let gen = Gen {
            futures: u.int_in_range(0..=MAX_FUTURES)?,
            tasks: u.int_in_range(1..=MAX_TASKS)?,
        };
        let mut tasks = Vec::with_capacity(usize::from(gen.tasks));
        for _ in 0..gen.tasks {
            tasks.push(gen.body(u, 0)?);
        }
        for i in 1..gen.tasks {
            if weighted(u, &[17, 3])? == 0 {
                let at = u.int_in_range(0..=tasks[0].len())?;
                tasks[0].insert(at, Step::Spawn(i));
            }
        }
        Ok(Scenario {
            futures: gen.futures,
            tasks,
        })
    }
}
