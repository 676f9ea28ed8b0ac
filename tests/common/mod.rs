//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use tulipsim::Error;

/// An append-only event log, cloned into tasks and callbacks.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// The log as CPython's `print` would have written it: one line each, newline-terminated.
    pub fn text(&self) -> String {
        self.0.borrow().iter().map(|l| format!("{l}\n")).collect()
    }
}

/// A CancelledError's `args` as Python prints them: `()` or `('msg',)`.
pub fn args(e: &Error) -> String {
    match e {
        Error::Cancelled(c) => match c.message() {
            Some(m) => format!("('{m}',)"),
            None => "()".to_string(),
        },
        other => format!("({other:?},)"),
    }
}

/// Python's `str(True)`.
pub fn py(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
