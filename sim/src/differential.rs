//! Runs one scenario on tulipsim and on CPython and compares the traces line for line.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::interp::{self, RunOptions};
use crate::python::{self, Deviation, Implementation, Oracle, PythonError, Worker};
use crate::scenario::Scenario;

/// Two traces that differ.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The scenario.
    pub scenario: Scenario,
    /// tulipsim's trace.
    pub tulipsim: Vec<String>,
    /// CPython's trace.
    pub cpython: Vec<String>,
}

impl Mismatch {
    /// The index of the first line that differs.
    pub fn first_difference(&self) -> usize {
        self.tulipsim
            .iter()
            .zip(&self.cpython)
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| self.tulipsim.len().min(self.cpython.len()))
    }
}

impl fmt::Display for Mismatch {
    /// Both traces side by side, the first difference marked, then the scenario as JSON and
    /// as the Python program.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first_difference();
        let width = self
            .tulipsim
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(8);
        writeln!(f, "traces differ at line {}:", first + 1)?;
        writeln!(f, "   {:width$} | CPython 3.11", "tulipsim")?;
        for i in 0..self.tulipsim.len().max(self.cpython.len()) {
            let a = self.tulipsim.get(i).map_or("", String::as_str);
            let b = self.cpython.get(i).map_or("", String::as_str);
            let mark = if a == b {
                "  "
            } else if i == first {
                "=>"
            } else {
                "!="
            };
            writeln!(f, "{mark} {a:width$} | {b}")?;
        }
        writeln!(
            f,
            "\nscenario (JSON):\n{}",
            serde_json::to_string(&self.scenario).unwrap_or_default()
        )?;
        writeln!(f, "\nPython program:\n{}", python::emit(&self.scenario))
    }
}

/// How a scenario compared.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// tulipsim's trace is CPython's, line for line.
    Match,
    /// The traces differ for a known reason.
    Explained(Difference, Mismatch),
    /// The traces differ: a bug, or a deliberate difference not yet written down.
    Mismatch(Mismatch),
}

/// A known reason for tulipsim's trace to differ from CPython's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// CPython hit a `RecursionError` (cancelling a cycle of tasks that wait on each other
    /// recurses without end), which its loop logs and ignores, leaving the cancellation
    /// half-done. tulipsim cancels each member of the cycle once.
    CpythonRecursion,
    /// CPython's C and pure-Python Future/Task disagree here, and tulipsim's trace is the
    /// pure-Python one.
    PureImplementation,
    /// With this deliberate difference patched into asyncio, CPython prints tulipsim's trace.
    Deviation(Deviation),
}

impl Difference {
    /// A short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Difference::CpythonRecursion => "cpython_recursion_error",
            Difference::PureImplementation => "c_and_pure_python_asyncio_disagree",
            Difference::Deviation(d) => d.name(),
        }
    }
}

impl Verdict {
    /// Its name, as regression files write it: `identical`, `mismatch`, or the difference's.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Match => "identical",
            Verdict::Explained(d, _) => d.name(),
            Verdict::Mismatch(_) => "mismatch",
        }
    }
}

/// A scenario kept in `sim/regressions/`: one that once diverged from CPython, or that pins a
/// deliberate difference, with tulipsim's trace and the verdict it must keep.
///
/// ```
/// use tulipsim_sim::differential::Regression;
/// use tulipsim_sim::scenario::Scenario;
/// let s = Scenario::from_json(r#"{"tasks": [[{"return": 1}]]}"#).unwrap();
/// let r = Regression::record("a task returning 1", &s, "identical");
/// assert!(r.check_tulipsim().is_ok());
/// assert_eq!(r.trace[0], "0.000 T0 end -> 1");
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// What the scenario shows.
    pub why: String,
    /// The verdict of comparing it with CPython: `identical`, or a [`Difference`]'s name.
    pub verdict: String,
    /// The scenario.
    pub scenario: Scenario,
    /// tulipsim's canonical trace (checked against CPython's when the file was made).
    pub trace: Vec<String>,
}

impl Regression {
    /// A regression with tulipsim's current trace of `scenario`.
    pub fn record(why: &str, scenario: &Scenario, verdict: &str) -> Regression {
        Regression {
            why: why.to_string(),
            verdict: verdict.to_string(),
            scenario: scenario.clone(),
            trace: interp::run(scenario, RunOptions::default()).lines,
        }
    }

    /// Every `*.json` file of `dir`, by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<(String, Regression)>, String> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let r: Regression =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((name, r));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The file's text: the scenario one step per line, the trace one line per line.
    pub fn to_json(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let scenario = self.scenario.to_json().trim_end().replace('\n', "\n  ");
        let trace: Vec<String> = self
            .trace
            .iter()
            .map(|l| format!("    {}", quote(l)))
            .collect();
        format!(
            "{{\n  \"why\": {},\n  \"verdict\": {},\n  \"scenario\": {scenario},\n  \"trace\": [\n{}\n  ]\n}}\n",
            quote(&self.why),
            quote(&self.verdict),
            trace.join(",\n")
        )
    }

    /// tulipsim still prints the recorded trace.
    pub fn check_tulipsim(&self) -> Result<(), String> {
        let lines = interp::run(&self.scenario, RunOptions::default()).lines;
        if lines == self.trace {
            return Ok(());
        }
        let m = Mismatch {
            scenario: self.scenario.clone(),
            tulipsim: lines,
            cpython: self.trace.clone(),
        };
        Err(format!(
            "tulipsim's trace changed (right: the recorded trace)\n{m}"
        ))
    }

    /// Comparing with CPython still gives the recorded verdict.
    pub fn check_cpython(&self, worker: &mut Worker) -> Result<(), String> {
        let verdict = compare(worker, &self.scenario).map_err(|e| e.to_string())?;
        if verdict.name() == self.verdict {
            return Ok(());
        }
        let detail = match &verdict {
            Verdict::Match => String::new(),
            Verdict::Explained(_, m) | Verdict::Mismatch(m) => m.to_string(),
        };
        Err(format!(
            "verdict {} (recorded: {})\n{detail}",
            verdict.name(),
            self.verdict
        ))
    }
}

/// Compares `scenario` on tulipsim (FIFO) and on CPython; on a difference, looks for a known
/// reason for it.
pub fn compare(worker: &mut Worker, scenario: &Scenario) -> Result<Verdict, PythonError> {
    let tulipsim = interp::run(scenario, RunOptions::default()).lines;
    let cpython = worker.trace(scenario, &Oracle::cpython())?;
    if tulipsim == cpython.lines {
        return Ok(Verdict::Match);
    }
    let mismatch = Mismatch {
        scenario: scenario.clone(),
        tulipsim,
        cpython: cpython.lines.clone(),
    };
    // A RecursionError is a failure of CPython's, wherever it shows: caught somewhere (the
    // worker notes it), in a callback (the loop's handler got it), or in a value the trace
    // prints (gather with return_exceptions).
    let recursed = cpython.recursed || cpython.lines.iter().any(|s| s.contains("RecursionError"));
    if recursed {
        return Ok(Verdict::Explained(Difference::CpythonRecursion, mismatch));
    }
    let pure = Oracle {
        implementation: Implementation::Pure,
        deviations: Vec::new(),
    };
    if worker.trace(scenario, &pure)?.lines == mismatch.tulipsim {
        return Ok(Verdict::Explained(Difference::PureImplementation, mismatch));
    }
    for deviation in Deviation::ALL {
        let patched = Oracle {
            implementation: Implementation::C,
            deviations: vec![deviation],
        };
        if worker.trace(scenario, &patched)?.lines == mismatch.tulipsim {
            return Ok(Verdict::Explained(
                Difference::Deviation(deviation),
                mismatch,
            ));
        }
    }
    Ok(Verdict::Mismatch(mismatch))
}

/// At most this many comparisons while shrinking.
const SHRINK_BUDGET: usize = 400;

/// A smaller scenario with the same verdict as `scenario` (a mismatch, or a difference
/// explained the same way), found by trying [`Scenario::simplifications`] greedily, with its
/// traces; `None` if no simplification keeps the verdict (or CPython could not be run).
pub fn shrink(worker: &mut Worker, scenario: &Scenario) -> Option<Mismatch> {
    let verdict = compare(worker, scenario).ok()?.name();
    let mut best: Option<Mismatch> = None;
    let mut current = scenario.clone();
    let mut budget = SHRINK_BUDGET;
    'simpler: loop {
        for candidate in current.simplifications() {
            if budget == 0 {
                break 'simpler;
            }
            budget -= 1;
            let Ok(v) = compare(worker, &candidate) else {
                continue;
            };
            if v.name() != verdict {
                continue;
            }
            if let Verdict::Mismatch(m) | Verdict::Explained(_, m) = v {
                current = candidate;
                best = Some(m);
                continue 'simpler;
            }
        }
        break;
    }
    best
}
