//! What the loop reports to its exception handler: asyncio's `context` dict.

use std::fmt;
use std::panic::Location;

use crate::exceptions::Error;

/// What the loop reports to its exception handler: asyncio's `context` dict.
///
/// ```
/// use tulipsim::{create_task, Error, EventLoop};
///
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     // A task whose exception nobody retrieves...
///     drop(create_task(async { Err::<(), _>(Error::msg("lost")) })?);
///     tulipsim::sleep(0).await?;
///     tulipsim::sleep(0).await
/// }).unwrap();
/// // ...is reported once it is freed.
/// let reports = lp.take_reports();
/// assert_eq!(reports.len(), 1);
/// assert_eq!(reports[0].message(), "Task exception was never retrieved");
/// assert_eq!(reports[0].error().unwrap().to_string(), "lost");
/// ```
///
/// A program makes its own with [`new`](Self::new) and the `with_` methods, and reports it
/// with [`LoopHandle::call_exception_handler`](crate::LoopHandle::call_exception_handler).
#[derive(Clone, Debug)]
pub struct ExceptionContext {
    pub(crate) message: String,
    pub(crate) error: Option<Error>,
    pub(crate) task: Option<String>,
    pub(crate) future: Option<String>,
    pub(crate) site: Option<&'static Location<'static>>,
}

impl ExceptionContext {
    /// A report saying `message`, about nothing in particular yet.
    ///
    /// ```
    /// use tulipsim::{Error, ExceptionContext};
    /// let ctx = ExceptionContext::new("cache flush failed").with_error(Error::msg("disk full"));
    /// assert_eq!(ctx.message(), "cache flush failed");
    /// assert_eq!(ctx.to_string(), "cache flush failed\n  exception: disk full");
    /// ```
    pub fn new(message: impl Into<String>) -> ExceptionContext {
        ExceptionContext {
            message: message.into(),
            error: None,
            task: None,
            future: None,
            site: None,
        }
    }

    /// The same report with `error` as its exception (asyncio's `'exception'` key).
    ///
    /// ```
    /// use tulipsim::{Error, ExceptionContext};
    /// let ctx = ExceptionContext::new("flush failed").with_error(Error::msg("disk full"));
    /// assert_eq!(ctx.error().unwrap().to_string(), "disk full");
    /// ```
    pub fn with_error(mut self, error: Error) -> ExceptionContext {
        self.error = Some(error);
        self
    }

    /// The same report about the task named `name` (asyncio's `'task'` key).
    ///
    /// ```
    /// let ctx = tulipsim::ExceptionContext::new("slow").with_task("worker-1");
    /// assert_eq!(ctx.task(), Some("worker-1"));
    /// ```
    pub fn with_task(mut self, name: impl Into<String>) -> ExceptionContext {
        self.task = Some(name.into());
        self
    }

    /// The same report about the future labelled `label` (asyncio's `'future'` key; see
    /// [`Future::set_label`](crate::Future::set_label)).
    ///
    /// ```
    /// let ctx = tulipsim::ExceptionContext::new("late reply").with_future("reply");
    /// assert_eq!(ctx.future(), Some("reply"));
    /// ```
    pub fn with_future(mut self, label: impl Into<String>) -> ExceptionContext {
        self.future = Some(label.into());
        self
    }

    /// The same report with `site` as where the thing involved was created.
    ///
    /// ```
    /// let here = std::panic::Location::caller();
    /// let ctx = tulipsim::ExceptionContext::new("x").with_site(here);
    /// assert_eq!(ctx.site(), Some(here));
    /// ```
    pub fn with_site(mut self, site: &'static Location<'static>) -> ExceptionContext {
        self.site = Some(site);
        self
    }

    /// What happened, in asyncio's words ("Task was destroyed but it is pending!", ...).
    ///
    /// ```
    /// let ctx = tulipsim::ExceptionContext::new("flush failed");
    /// assert_eq!(ctx.message(), "flush failed");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exception involved, if any.
    ///
    /// ```
    /// use tulipsim::{Error, ExceptionContext};
    /// assert!(ExceptionContext::new("x").error().is_none());
    /// let ctx = ExceptionContext::new("x").with_error(Error::timeout());
    /// assert_eq!(ctx.error(), Some(&Error::timeout()));
    /// ```
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// The task involved, by name, if any.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// drop(lp.create_task_named("forgotten", async { Ok(()) }));
    /// lp.close().unwrap(); // the task never ran
    /// assert_eq!(lp.take_reports()[0].task(), Some("forgotten"));
    /// ```
    pub fn task(&self) -> Option<&str> {
        self.task.as_deref()
    }

    /// The plain future involved, by its label, if it has one (see
    /// [`Future::set_label`](crate::Future::set_label)).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.set_label("reply");
    /// f.set_exception(tulipsim::Error::msg("x")).unwrap();
    /// drop(f); // never retrieved
    /// assert_eq!(lp.take_reports()[0].future(), Some("reply"));
    /// ```
    pub fn future(&self) -> Option<&str> {
        self.future.as_deref()
    }

    /// Where the future or task involved was created, or the callback involved scheduled.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let _t = lp.create_task(async { Ok(()) });
    /// lp.close().unwrap();
    /// assert_eq!(lp.take_reports()[0].site().unwrap().line(), line!() - 2);
    /// ```
    pub fn site(&self) -> Option<&'static Location<'static>> {
        self.site
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.task {
            write!(f, "\n  task: {t}")?;
        }
        if let Some(l) = &self.future {
            write!(f, "\n  future: {l}")?;
        }
        if let Some(s) = self.site {
            write!(f, "\n  created at: {s}")?;
        }
        if let Some(e) = &self.error {
            write!(f, "\n  exception: {e}")?;
        }
        Ok(())
    }
}
