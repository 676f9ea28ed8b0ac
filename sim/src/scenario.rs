//! The scenario language: a small asyncio program as data.
//!
//! A scenario has a few futures (`F0`, `F1`, ...) that exist before anything runs, and task
//! bodies: `T0` is the main task, `T1`... are spawned by [`Step::Spawn`] (or by a
//! [`Step::TaskGroup`]). A body is a list of [`Step`]s. Every step logs its outcome (a value, or
//! the type of the exception it raised), and an exception propagates, ending the task, unless a
//! [`Step::Try`] around it catches a `CancelledError`.
//!
//! Scenario files are JSON; `docs/scenarios.md` gives the schema. A small one:
//!
//! ```
//! use tulipsim_sim::scenario::Scenario;
//! let s: Scenario = serde_json::from_str(r#"{
//!     "futures": 1,
//!     "tasks": [
//!         [{"spawn": 1}, {"await": "F0"}],
//!         [{"sleep": 0.5}, {"set_result": {"future": 0, "value": 7}}]
//!     ]
//! }"#).unwrap();
//! assert_eq!(s.tasks.len(), 2);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// How many plain futures (`F0..`) exist before the main task starts.
    #[serde(default)]
    pub futures: u8,
    /// Task bodies: index 0 is the main task.
    pub tasks: Vec<Vec<Step>>,
}

/// A delay or timeout, in half seconds (`Half(3)` is 1.5 s), so that Python's float clock and
/// tulipsim's nanosecond clock agree exactly. Files write it in seconds: `1.5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Half(pub u8);

impl Half {
    /// In seconds.
    pub fn secs(self) -> f64 {
        f64::from(self.0) / 2.0
    }

    /// In nanoseconds.
    pub fn nanos(self) -> i64 {
        i64::from(self.0) * 500_000_000
    }
}

impl fmt::Display for Half {
    /// As Python prints the float: `0.0`, `1.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.secs())
    }
}

impl Serialize for Half {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.secs())
    }
}

impl<'de> Deserialize<'de> for Half {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Half, D::Error> {
        let secs = f64::deserialize(d)?;
        let halves = secs * 2.0;
        if !(0.0..=255.0).contains(&halves) || halves.fract() != 0.0 {
            return Err(serde::de::Error::custom(format!(
                "{secs} s: times are multiples of 0.5 s, from 0 to 127.5"
            )));
        }
        Ok(Half(halves as u8))
    }
}

/// A future or a task, as steps name them: `"F0"`, `"T2"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Plain future `F<n>`.
    Future(u8),
    /// Task `T<n>` (a step on a task not spawned yet logs `skip`).
    Task(u8),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Future(i) => write!(f, "F{i}"),
            Target::Task(i) => write!(f, "T{i}"),
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        let bad = || format!("{s:?} is not a target: write F<n> for a future, T<n> for a task");
        let (kind, n) = s.split_at_checked(1).ok_or_else(bad)?;
        let n: u8 = n.parse().map_err(|_| bad())?;
        match kind {
            "F" => Ok(Target::Future(n)),
            "T" => Ok(Target::Task(n)),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The user exception types a scenario raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exc {
    /// Python's `ValueError`.
    ValueError,
    /// Python's `KeyError`.
    KeyError,
}

impl Exc {
    /// The type's name, as traces print it.
    pub fn name(self) -> &'static str {
        match self {
            Exc::ValueError => "ValueError",
            Exc::KeyError => "KeyError",
        }
    }
}

/// `asyncio.wait`'s `return_when`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// `FIRST_COMPLETED`.
    FirstCompleted,
    /// `FIRST_EXCEPTION`.
    FirstException,
    /// `ALL_COMPLETED`.
    AllCompleted,
}

impl Mode {
    /// asyncio's constant.
    pub fn python(self) -> &'static str {
        match self {
            Mode::FirstCompleted => "asyncio.FIRST_COMPLETED",
            Mode::FirstException => "asyncio.FIRST_EXCEPTION",
            Mode::AllCompleted => "asyncio.ALL_COMPLETED",
        }
    }
}

/// What `try: ... except CancelledError:` does with the exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    /// Swallow it and go on after the `try`.
    Swallow,
    /// Re-raise it.
    Reraise,
    /// Return this value from the task.
    Return(i8),
}

/// One statement of a task body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// `await asyncio.sleep(d)`.
    Sleep(Half),
    /// `await x`: logs its value.
    Await(Target),
    /// `F.set_result(v)` (raises `InvalidStateError` if `F` is done).
    SetResult {
        /// Which future.
        future: u8,
        /// The value.
        value: i8,
    },
    /// `F.set_exception(E())`.
    SetException {
        /// Which future.
        future: u8,
        /// The exception type.
        exception: Exc,
    },
    /// `x.cancel()` or `x.cancel(msg="msg")`: logs the returned bool.
    Cancel {
        /// What to cancel.
        target: Target,
        /// Whether to pass a message.
        #[serde(default)]
        msg: bool,
    },
    /// `T = asyncio.create_task(...)` (a task already spawned, or the main task, logs `skip`).
    Spawn(u8),
    /// `await asyncio.shield(x)`.
    Shield(Target),
    /// `await asyncio.gather(*of, return_exceptions=...)`.
    Gather {
        /// The awaitables.
        of: Vec<Target>,
        /// `return_exceptions`.
        #[serde(default)]
        return_exceptions: bool,
    },
    /// `await asyncio.wait(of, timeout=..., return_when=...)`: logs `done` and `pending`.
    Wait {
        /// The awaitables.
        of: Vec<Target>,
        /// `return_when`.
        return_when: Mode,
        /// `timeout` in seconds, or none.
        #[serde(default)]
        timeout: Option<Half>,
    },
    /// `await asyncio.wait_for(x, timeout)`.
    WaitFor {
        /// The awaitable.
        of: Target,
        /// The timeout in seconds, or none.
        #[serde(default)]
        timeout: Option<Half>,
    },
    /// `for f in asyncio.as_completed(of, timeout=...): await f`, logging each.
    AsCompleted {
        /// The awaitables.
        of: Vec<Target>,
        /// `timeout` in seconds, or none.
        #[serde(default)]
        timeout: Option<Half>,
    },
    /// `async with asyncio.TaskGroup() as tg:` that spawns these tasks, then runs `body`.
    TaskGroup {
        /// The tasks `tg.create_task` spawns, in order.
        spawn: Vec<u8>,
        /// The block's body.
        body: Vec<Step>,
    },
    /// `async with asyncio.timeout(delay):` around `body`.
    Timeout {
        /// The delay in seconds, or none (no deadline).
        delay: Option<Half>,
        /// The block's body.
        body: Vec<Step>,
    },
    /// `try: body / except asyncio.CancelledError: handler`.
    Try {
        /// The `try` block.
        body: Vec<Step>,
        /// The `except CancelledError` block.
        except: Handler,
    },
    /// Log a label.
    Log(u8),
    /// `return v`.
    Return(i8),
    /// `raise E()`.
    Raise(Exc),
}

/// `[A, B]`, as traces print a list of targets.
pub fn list(ts: &[Target]) -> String {
    let names: Vec<String> = ts.iter().map(Target::to_string).collect();
    format!("[{}]", names.join(", "))
}

/// An optional time, as Python prints it (`None` or a float).
pub fn opt(h: Option<Half>) -> String {
    h.map_or("None".to_string(), |h| h.to_string())
}

impl Step {
    /// How the trace names this step (the part before `->`). The interpreter and the Python
    /// emitter both use it, so their traces cannot disagree on wording.
    pub fn desc(&self) -> String {
        match self {
            Step::Sleep(d) => format!("sleep {d}"),
            Step::Await(t) => format!("await {t}"),
            Step::SetResult { future, value } => format!("set_result F{future} {value}"),
            Step::SetException { future, exception } => {
                format!("set_exception F{future} {}", exception.name())
            }
            Step::Cancel { target, msg: false } => format!("cancel {target}"),
            Step::Cancel { target, msg: true } => format!("cancel {target} msg"),
            Step::Spawn(i) => format!("spawn T{i}"),
            Step::Shield(t) => format!("shield {t}"),
            Step::Gather {
                of,
                return_exceptions: false,
            } => format!("gather {}", list(of)),
            Step::Gather {
                of,
                return_exceptions: true,
            } => format!("gather* {}", list(of)),
            Step::Wait {
                of,
                return_when,
                timeout,
            } => {
                format!("wait {} {return_when:?} {}", list(of), opt(*timeout))
            }
            Step::WaitFor { of, timeout } => format!("wait_for {of} {}", opt(*timeout)),
            Step::AsCompleted { of, timeout } => {
                format!("as_completed {} {}", list(of), opt(*timeout))
            }
            Step::TaskGroup { spawn, .. } => {
                let ts: Vec<Target> = spawn.iter().map(|i| Target::Task(*i)).collect();
                format!("taskgroup {}", list(&ts))
            }
            Step::Timeout { delay, .. } => format!("timeout {}", opt(*delay)),
            Step::Try { .. } => "try".to_string(),
            Step::Log(l) => format!("log {l}"),
            Step::Return(v) => format!("return {v}"),
            Step::Raise(e) => format!("raise {}", e.name()),
        }
    }

    /// The step's inner body, for blocks.
    pub fn body(&self) -> Option<&[Step]> {
        match self {
            Step::TaskGroup { body, .. } | Step::Timeout { body, .. } | Step::Try { body, .. } => {
                Some(body)
            }
            _ => None,
        }
    }
}

impl Step {
    /// This block step with another body (a leaf step is returned as it is).
    pub fn with_body(&self, new: Vec<Step>) -> Step {
        let mut s = self.clone();
        match &mut s {
            Step::TaskGroup { body, .. } | Step::Timeout { body, .. } | Step::Try { body, .. } => {
                *body = new
            }
            _ => {}
        }
        s
    }
}

/// Every body one edit away from `body`: a step removed, a block replaced by its body, or
/// an edit inside a block.
fn body_edits(body: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    for (i, step) in body.iter().enumerate() {
        let mut removed = body.to_vec();
        removed.remove(i);
        out.push(removed);
        if let Some(inner) = step.body() {
            let mut inlined = body.to_vec();
            inlined.splice(i..=i, inner.iter().cloned());
            out.push(inlined);
            for edit in body_edits(inner) {
                let mut edited = body.to_vec();
                edited[i] = step.with_body(edit);
                out.push(edited);
            }
        }
    }
    out
}

impl Scenario {
    /// Every scenario one simplification away from this one, simplest first: the last task
    /// or future dropped (steps naming it then log `skip`), a step removed, a block replaced
    /// by its body. Shrinkers try these in order and keep the first that still fails.
    ///
    /// ```
    /// use tulipsim_sim::scenario::Scenario;
    /// let s = Scenario::from_json(r#"{"futures": 1, "tasks": [[{"try": {"body": [{"log": 1}], "except": "swallow"}}]]}"#).unwrap();
    /// let simpler = s.simplifications();
    /// assert!(simpler.iter().all(|t| t.size() < s.size() || t.futures < s.futures));
    /// assert!(simpler.contains(&Scenario::from_json(r#"{"futures": 1, "tasks": [[{"log": 1}]]}"#).unwrap()));
    /// ```
    pub fn simplifications(&self) -> Vec<Scenario> {
        let mut out = Vec::new();
        if self.tasks.len() > 1 {
            let mut fewer = self.clone();
            fewer.tasks.pop();
            out.push(fewer);
        }
        if self.futures > 0 {
            out.push(Scenario {
                futures: self.futures - 1,
                ..self.clone()
            });
        }
        for (t, body) in self.tasks.iter().enumerate() {
            for edit in body_edits(body) {
                let mut s = self.clone();
                s.tasks[t] = edit;
                out.push(s);
            }
        }
        out
    }

    /// Whether `t` names something that can exist: a future below `futures`, a task below
    /// `tasks.len()`. Steps on anything else log `skip`.
    pub fn in_range(&self, t: Target) -> bool {
        match t {
            Target::Future(i) => i < self.futures,
            Target::Task(i) => usize::from(i) < self.tasks.len(),
        }
    }

    /// Whether `Spawn(i)` can ever spawn: not the main task, and a defined task.
    pub fn spawnable(&self, i: u8) -> bool {
        i != 0 && usize::from(i) < self.tasks.len()
    }

    /// How many steps the scenario has, blocks' bodies included (a size for shrinking and
    /// for summaries).
    pub fn size(&self) -> usize {
        fn count(steps: &[Step]) -> usize {
            steps.iter().map(|s| 1 + s.body().map_or(0, count)).sum()
        }
        self.tasks.iter().map(|b| count(b)).sum()
    }

    /// Reads a scenario file's JSON.
    pub fn from_json(text: &str) -> Result<Scenario, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The scenario as pretty JSON, one step per line.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n  \"futures\": ");
        out.push_str(&self.futures.to_string());
        out.push_str(",\n  \"tasks\": [");
        for (i, body) in self.tasks.iter().enumerate() {
            out.push_str(if i == 0 { "\n    [" } else { ",\n    [" });
            for (j, step) in body.iter().enumerate() {
                out.push_str(if j == 0 { "\n      " } else { ",\n      " });
                out.push_str(&serde_json::to_string(step).expect("steps serialize"));
            }
            out.push_str(if body.is_empty() { "]" } else { "\n    ]" });
        }
        out.push_str("\n  ]\n}\n");
        out
    }
}
