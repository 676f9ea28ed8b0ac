//! Runs one scenario on tulipsim and on CPython and compares the traces line for line.

use std::fmt;

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
    let recursed = cpython
        .handler_exceptions
        .iter()
        .chain(&cpython.lines)
        .any(|s| s.contains("RecursionError"));
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

/// At most this many comparisons while shrinking a mismatch.
const SHRINK_BUDGET: usize = 400;

/// A smaller scenario that still mismatches, found by trying
/// [`Scenario::simplifications`] greedily; `None` if no simplification of `scenario`
/// mismatches (or CPython could not be run).
pub fn shrink(worker: &mut Worker, scenario: &Scenario) -> Option<Mismatch> {
    let mut best: Option<Mismatch> = None;
    let mut current = scenario.clone();
    let mut budget = SHRINK_BUDGET;
    'simpler: loop {
        for candidate in current.simplifications() {
            if budget == 0 {
                break 'simpler;
            }
            budget -= 1;
            if let Ok(Verdict::Mismatch(m)) = compare(worker, &candidate) {
                current = candidate;
                best = Some(m);
                continue 'simpler;
            }
        }
        break;
    }
    best
}
