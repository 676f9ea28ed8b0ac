//! The one error type, mirroring asyncio's `exceptions.py`.
//!
//! (Long on purpose: half of it is doc examples, and `Error`'s `Display`, `PartialEq` and
//! `kind_name` must each list every variant, so the enum and the payloads it carries stay in
//! one file.)
//!
//! asyncio raises `CancelledError`, `TimeoutError` and `InvalidStateError` from its futures and
//! tasks, and lets coroutines raise anything else. In tulipsim a coroutine returns
//! `Result<T, Error>`, and [`Error`] carries each of those plus the failures that only a
//! simulator can see (a deadlock, a runaway, a panic inside a task).
//!
//! `Error` is cheap to clone (every payload is behind an `Rc`), because one future's outcome is
//! handed to every task that awaits it.

use std::error::Error as StdError;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// Everything a tulipsim future, task or event loop can fail with.
///
/// A coroutine body returns `Result<T, Error>`; `?` converts any [`std::error::Error`] into
/// [`Error::User`], so ordinary fallible code works unchanged inside tasks:
///
/// ```
/// use tulipsim::{Error, EventLoop};
///
/// let lp = EventLoop::new();
/// let r: Result<i32, Error> = lp.run_until_complete(async {
///     let n: i32 = "12x".parse()?; // a ParseIntError becomes Error::User
///     Ok(n)
/// });
/// let err = r.unwrap_err();
/// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
/// ```
///
/// `Error` deliberately does not implement [`std::error::Error`] (as `anyhow::Error` does not),
/// so that the blanket `From` conversion above is possible; it converts into
/// `Box<dyn std::error::Error>` for test functions that return one.
#[derive(Clone)]
#[non_exhaustive]
pub enum Error {
    /// asyncio's `CancelledError`: the future was cancelled, or the task was asked to cancel
    /// itself. A task that lets it escape ends *cancelled*.
    Cancelled(CancelledError),
    /// asyncio's `TimeoutError`: a deadline passed (`wait_for`, `timeout` scopes,
    /// `as_completed`). Where the deadline cancelled something, the [`TimeoutError`] keeps the
    /// `CancelledError` it replaced as its cause, as CPython raises it `from` that error.
    /// Match it as `Error::Timeout(_)`; make one with [`Error::timeout`].
    Timeout(TimeoutError),
    /// asyncio's `InvalidStateError`: the operation is not allowed in this state (the result of
    /// a pending future, a second `set_result`, ...). The text says what was attempted.
    InvalidState(Rc<str>),
    /// asyncio's `RuntimeError` for misuse of the loop: no running loop, a loop that is already
    /// running or closed, a future of another loop, a task awaiting itself.
    Runtime(Rc<str>),
    /// A panic inside a task or callback, caught at the step boundary.
    Panic(Rc<PanicError>),
    /// `run_until_complete` or `run_forever` found nothing ready and no timer pending while the
    /// awaited future was still pending: it can never finish.
    Deadlock(Rc<DeadlockError>),
    /// A configured step or virtual-time limit was reached (a runaway program).
    Limit(Rc<LimitError>),
    /// asyncio's `ValueError` for a bad argument: `wait()` of nothing, a negative semaphore
    /// value, a bounded semaphore released too often.
    Value(Rc<str>),
    /// asyncio's `QueueEmpty`: `get_nowait()` on an empty queue.
    QueueEmpty,
    /// asyncio's `QueueFull`: `put_nowait()` on a full queue.
    QueueFull,
    /// asyncio's `BrokenBarrierError`: a [`Barrier`](crate::Barrier) wait that was broken by a
    /// reset or an abort (`"Abort or reset of barrier"`), or that found the barrier aborted
    /// (`"Barrier aborted"`).
    BrokenBarrier(Rc<str>),
    /// Python's `ExceptionGroup`, as a `TaskGroup` raises it: the errors of its tasks (and of
    /// its body), in the order they happened.
    Group(Rc<[Error]>),
    /// asyncio's `IncompleteReadError`: the stream ended before `readexactly` or `readuntil`
    /// had what it asked for; it carries the bytes that were read.
    IncompleteRead(Rc<IncompleteReadError>),
    /// asyncio's `LimitOverrunError`: `readuntil` found no separator within the stream's limit.
    LimitOverrun(Rc<LimitOverrunError>),
    /// Python's `ConnectionRefusedError`: nothing listens at the address `open_connection`
    /// tried.
    ConnectionRefused(Rc<str>),
    /// Python's `ConnectionResetError`: the peer reset the connection, or `drain()` was called
    /// on a connection that is already lost (`"Connection lost"`, as asyncio says).
    ConnectionReset(Rc<str>),
    /// Python's `BrokenPipeError`: writing to a connection whose peer is gone. The simulated
    /// network of [`streams`](crate::streams) does not raise it yet (a reset arrives as
    /// [`Error::ConnectionReset`]); it is here for transports and faults that will.
    BrokenPipe(Rc<str>),
    /// Python's `OSError` for the other socket-level failures: an address already in use.
    Os(Rc<str>),
    /// Any other error, raised by user code.
    User(Rc<dyn StdError + 'static>),
}

impl Error {
    /// A `CancelledError` without a message.
    ///
    /// ```
    /// assert!(tulipsim::Error::cancelled().is_cancelled());
    /// ```
    pub fn cancelled() -> Error {
        Error::Cancelled(CancelledError { message: None })
    }

    /// A `CancelledError` carrying `msg`, as `task.cancel(msg)` produces.
    ///
    /// ```
    /// let e = tulipsim::Error::cancelled_with("shutting down");
    /// assert_eq!(e.to_string(), "CancelledError: shutting down");
    /// ```
    pub fn cancelled_with(msg: impl Into<Rc<str>>) -> Error {
        Error::Cancelled(CancelledError {
            message: Some(msg.into()),
        })
    }

    /// A `TimeoutError` without a cause.
    ///
    /// ```
    /// let e = tulipsim::Error::timeout();
    /// assert!(e.is_timeout());
    /// assert!(e.source().is_none());
    /// ```
    pub fn timeout() -> Error {
        Error::Timeout(TimeoutError { cause: None })
    }

    /// A `TimeoutError` raised from `cancelled`: what a deadline raises when the cancellation
    /// it caused came out of the awaitable.
    pub(crate) fn timeout_from(cancelled: CancelledError) -> Error {
        Error::Timeout(TimeoutError {
            cause: Some(cancelled),
        })
    }

    /// The error this one was raised from or wraps, as [`std::error::Error::source`] gives it
    /// (`Error` itself cannot implement that trait; see above): a timeout's `CancelledError`,
    /// or a user error's own source.
    ///
    /// ```
    /// use tulipsim::{sleep, timeout, wait_for, Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let e = lp.run_until_complete(wait_for(sleep(10), 1)).unwrap_err();
    /// let cause = e.source().expect("raised from the inner CancelledError");
    /// assert_eq!(cause.to_string(), "CancelledError");
    /// let e = lp.run_until_complete(async { timeout(1).run(sleep(10)).await }).unwrap_err();
    /// assert!(e.source().is_some());
    /// assert!(Error::timeout().source().is_none());
    /// ```
    pub fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Timeout(t) => t.source(),
            Error::User(e) => e.source(),
            _ => None,
        }
    }

    /// A user error whose text is `msg`; the quickest way to "raise" from a coroutine.
    ///
    /// ```
    /// let e = tulipsim::Error::msg("disk full");
    /// assert_eq!(e.to_string(), "disk full");
    /// ```
    pub fn msg(msg: impl fmt::Display) -> Error {
        Error::User(Rc::new(Message(msg.to_string())))
    }

    /// Wraps any error type as a user error (what `?` does implicitly).
    ///
    /// ```
    /// let e = tulipsim::Error::new(std::fmt::Error);
    /// assert!(e.downcast_ref::<std::fmt::Error>().is_some());
    /// ```
    pub fn new<E: StdError + 'static>(err: E) -> Error {
        Error::User(Rc::new(err))
    }

    pub(crate) fn invalid_state(msg: impl Into<Rc<str>>) -> Error {
        Error::InvalidState(msg.into())
    }

    pub(crate) fn value(msg: impl Into<Rc<str>>) -> Error {
        Error::Value(msg.into())
    }

    pub(crate) fn runtime(msg: impl Into<Rc<str>>) -> Error {
        Error::Runtime(msg.into())
    }

    pub(crate) fn incomplete_read(partial: Vec<u8>, expected: Option<usize>) -> Error {
        Error::IncompleteRead(Rc::new(IncompleteReadError { partial, expected }))
    }

    pub(crate) fn limit_overrun(message: &'static str, consumed: usize) -> Error {
        Error::LimitOverrun(Rc::new(LimitOverrunError { message, consumed }))
    }

    /// True for the errors Python groups under `ConnectionError`:
    /// [`Error::ConnectionRefused`], [`Error::ConnectionReset`] and [`Error::BrokenPipe`].
    ///
    /// ```
    /// use tulipsim::Error;
    /// assert!(Error::ConnectionReset("Connection lost".into()).is_connection_error());
    /// assert!(!Error::timeout().is_connection_error());
    /// ```
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::ConnectionRefused(_) | Error::ConnectionReset(_) | Error::BrokenPipe(_)
        )
    }

    /// True for [`Error::Cancelled`].
    ///
    /// ```
    /// assert!(tulipsim::Error::cancelled().is_cancelled());
    /// assert!(!tulipsim::Error::timeout().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled(_))
    }

    /// The errors of an [`Error::Group`] (a `TaskGroup`'s), or `None` for any other error.
    ///
    /// ```
    /// let e = tulipsim::Error::Group(vec![tulipsim::Error::timeout()].into());
    /// assert_eq!(e.group().unwrap().len(), 1);
    /// ```
    pub fn group(&self) -> Option<&[Error]> {
        match self {
            Error::Group(errors) => Some(errors),
            _ => None,
        }
    }

    /// True for [`Error::timeout()`].
    ///
    /// ```
    /// assert!(tulipsim::Error::timeout().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// The user error as `E`, if this is an [`Error::User`] holding an `E`.
    ///
    /// ```
    /// #[derive(Debug)]
    /// struct Refused;
    /// impl std::fmt::Display for Refused {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("refused") }
    /// }
    /// impl std::error::Error for Refused {}
    ///
    /// let e = tulipsim::Error::new(Refused);
    /// assert!(e.downcast_ref::<Refused>().is_some());
    /// ```
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        match self {
            Error::User(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// asyncio's name for this kind of error: `"CancelledError"`, `"TimeoutError"`,
    /// `"InvalidStateError"`, `"RuntimeError"`, `"ValueError"`, `"QueueEmpty"`, `"QueueFull"`,
    /// `"BrokenBarrierError"`, `"ExceptionGroup"`, `"Panic"`, `"Deadlock"`, `"LimitExceeded"`, `"IncompleteReadError"`,
    /// `"LimitOverrunError"`, `"ConnectionRefusedError"`, `"ConnectionResetError"`,
    /// `"BrokenPipeError"`, `"OSError"`, or `"Error"` for user errors. Traces print it.
    ///
    /// ```
    /// assert_eq!(tulipsim::Error::timeout().kind_name(), "TimeoutError");
    /// ```
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Cancelled(_) => "CancelledError",
            Error::Timeout(_) => "TimeoutError",
            Error::InvalidState(_) => "InvalidStateError",
            Error::Runtime(_) => "RuntimeError",
            Error::Panic(_) => "Panic",
            Error::Deadlock(_) => "Deadlock",
            Error::Limit(_) => "LimitExceeded",
            Error::Value(_) => "ValueError",
            Error::QueueEmpty => "QueueEmpty",
            Error::QueueFull => "QueueFull",
            Error::BrokenBarrier(_) => "BrokenBarrierError",
            Error::Group(_) => "ExceptionGroup",
            Error::IncompleteRead(_) => "IncompleteReadError",
            Error::LimitOverrun(_) => "LimitOverrunError",
            Error::ConnectionRefused(_) => "ConnectionRefusedError",
            Error::ConnectionReset(_) => "ConnectionResetError",
            Error::BrokenPipe(_) => "BrokenPipeError",
            Error::Os(_) => "OSError",
            Error::User(_) => "Error",
        }
    }
}

impl Error {
    /// The error's first line, prefixed by its kind once: `RuntimeError: x` (never
    /// `RuntimeError: RuntimeError: x`), `Error: disk` for a user error.
    pub(crate) fn described(&self) -> String {
        let text = self.to_string();
        let first = text.lines().next().unwrap_or_default();
        let kind = self.kind_name();
        if first.starts_with(kind) {
            first.to_string()
        } else {
            format!("{kind}: {first}")
        }
    }

    /// A copy that is `Send + Sync` and a [`std::error::Error`] (this type holds `Rc`
    /// payloads, so it is neither, and its blanket `From<E: std::error::Error>` keeps it from
    /// being an `Error` itself): what `anyhow`, `Box<dyn Error + Send + Sync>` and threads
    /// need. It keeps the message, the kind and, for a panic, its location.
    ///
    /// ```
    /// use tulipsim::{Error, SendError};
    /// fn needs_send(e: impl std::error::Error + Send + Sync + 'static) -> String { e.to_string() }
    /// let e = Error::Runtime("boom".into());
    /// let s: SendError = e.to_send();
    /// assert_eq!(s.kind(), "RuntimeError");
    /// assert_eq!(needs_send(s), "RuntimeError: boom");
    /// ```
    pub fn to_send(&self) -> SendError {
        SendError {
            kind: self.kind_name(),
            message: self.to_string(),
            location: match self {
                Error::Panic(p) => p.location().map(str::to_string),
                _ => None,
            },
            cause: match self {
                Error::Timeout(t) => t
                    .cause()
                    .map(|c| Box::new(Error::Cancelled(c.clone()).to_send())),
                _ => None,
            },
        }
    }
}

/// A [`tulipsim::Error`](Error) made `Send + Sync` and a [`std::error::Error`]: its message,
/// kind and (for a panic) location. `?` converts an `Error` into one, or into a
/// `Box<dyn Error + Send + Sync>` through one; for `anyhow`, write `.map_err(SendError::from)?`
/// or use [`SendResult::send_err`].
///
/// ```
/// use tulipsim::{Error, SendError};
/// fn boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     let r: Result<(), Error> = Err(Error::msg("no"));
///     r?; // tulipsim::Error into Box<dyn Error + Send + Sync>
///     Ok(())
/// }
/// let e = boxed().unwrap_err();
/// assert_eq!(e.to_string(), "no");
/// let s = e.downcast::<SendError>().unwrap();
/// assert_eq!(s.kind(), "Error");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    kind: &'static str,
    message: String,
    location: Option<String>,
    /// A timeout's `CancelledError` (what [`Error::source`] gives), so that the chain
    /// survives the conversion.
    cause: Option<Box<SendError>>,
}

impl SendError {
    /// asyncio's name of the error's kind ([`Error::kind_name`]).
    ///
    /// ```
    /// let e = tulipsim::Error::timeout().to_send();
    /// assert_eq!(e.kind(), "TimeoutError");
    /// ```
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The error's text, as `tulipsim::Error`'s `Display` gives it.
    ///
    /// ```
    /// let e = tulipsim::Error::msg("disk full").to_send();
    /// assert_eq!(e.message(), "disk full");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where a panic happened, if the error is one and its location is known.
    ///
    /// ```
    /// let e = tulipsim::run(async { panic!("oops") as Result<(), tulipsim::Error> }).unwrap_err();
    /// assert!(e.to_send().location().is_some_and(|l| l.contains(".rs:")));
    /// ```
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The source is a timeout's `CancelledError`, as [`Error::source`] gives it:
///
/// ```
/// use std::error::Error as _;
/// use tulipsim::{sleep, wait_for, EventLoop};
/// let e = EventLoop::new().run_until_complete(wait_for(sleep(10), 1)).unwrap_err().to_send();
/// assert_eq!(e.source().unwrap().to_string(), "CancelledError");
/// ```
impl StdError for SendError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn StdError + 'static))
    }
}

impl From<Error> for SendError {
    fn from(e: Error) -> SendError {
        e.to_send()
    }
}

/// `?` from a tulipsim result in a function returning `Result<_, Box<dyn Error + Send +
/// Sync>>`: see [`SendError`].
impl From<Error> for Box<dyn StdError + Send + Sync> {
    fn from(err: Error) -> Box<dyn StdError + Send + Sync> {
        Box::new(err.to_send())
    }
}

/// `.send_err()` on a tulipsim result: its error as a [`SendError`], for `?` into `anyhow`
/// or any error type that needs `Send + Sync`.
///
/// ```
/// use tulipsim::{Error, SendError, SendResult};
/// fn sendable() -> Result<(), SendError> {
///     let r: Result<(), Error> = Err(Error::timeout());
///     r.send_err()?;
///     Ok(())
/// }
/// assert_eq!(sendable().unwrap_err().kind(), "TimeoutError");
/// ```
pub trait SendResult<T> {
    /// The result with its error made a [`SendError`].
    ///
    /// See [`SendResult`] for an example.
    fn send_err(self) -> Result<T, SendError>;
}

impl<T> SendResult<T> for Result<T, Error> {
    fn send_err(self) -> Result<T, SendError> {
        self.map_err(SendError::from)
    }
}

impl PartialEq for Error {
    /// Errors compare by value, except user errors, panics, deadlocks and limits, which compare
    /// by identity (the same raised object), as Python's `is` would.
    fn eq(&self, other: &Error) -> bool {
        match (self, other) {
            (Error::Cancelled(a), Error::Cancelled(b)) => a == b,
            (Error::Timeout(a), Error::Timeout(b)) => a == b,
            (Error::InvalidState(a), Error::InvalidState(b)) => a == b,
            (Error::Runtime(a), Error::Runtime(b)) => a == b,
            (Error::Panic(a), Error::Panic(b)) => Rc::ptr_eq(a, b),
            (Error::Deadlock(a), Error::Deadlock(b)) => Rc::ptr_eq(a, b),
            (Error::Limit(a), Error::Limit(b)) => Rc::ptr_eq(a, b),
            (Error::Value(a), Error::Value(b))
            | (Error::BrokenBarrier(a), Error::BrokenBarrier(b)) => a == b,
            (Error::QueueEmpty, Error::QueueEmpty) | (Error::QueueFull, Error::QueueFull) => true,
            (Error::Group(a), Error::Group(b)) => a == b,
            (Error::IncompleteRead(a), Error::IncompleteRead(b)) => a == b,
            (Error::LimitOverrun(a), Error::LimitOverrun(b)) => a == b,
            (Error::ConnectionRefused(a), Error::ConnectionRefused(b))
            | (Error::ConnectionReset(a), Error::ConnectionReset(b))
            | (Error::BrokenPipe(a), Error::BrokenPipe(b))
            | (Error::Os(a), Error::Os(b)) => a == b,
            (Error::User(a), Error::User(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cancelled(c) => fmt::Display::fmt(c, f),
            Error::Timeout(t) => fmt::Display::fmt(t, f),
            Error::InvalidState(m) => write!(f, "InvalidStateError: {m}"),
            Error::Runtime(m) => write!(f, "RuntimeError: {m}"),
            Error::Panic(p) => fmt::Display::fmt(p, f),
            Error::Deadlock(d) => fmt::Display::fmt(d, f),
            Error::Limit(l) => fmt::Display::fmt(l, f),
            Error::Value(m) => write!(f, "ValueError: {m}"),
            Error::QueueEmpty => f.write_str("QueueEmpty"),
            Error::QueueFull => f.write_str("QueueFull"),
            Error::BrokenBarrier(m) => write!(f, "BrokenBarrierError: {m}"),
            Error::Group(errors) => {
                write!(
                    f,
                    "ExceptionGroup: unhandled errors in a TaskGroup ({} sub-exception",
                    errors.len()
                )?;
                f.write_str(if errors.len() == 1 { ")" } else { "s)" })?;
                for e in errors.iter() {
                    write!(f, "\n  {}", e.to_string().replace('\n', "\n  "))?;
                }
                Ok(())
            }
            Error::IncompleteRead(e) => write!(f, "IncompleteReadError: {e}"),
            Error::LimitOverrun(e) => write!(f, "LimitOverrunError: {}", e.message),
            Error::ConnectionRefused(m) => write!(f, "ConnectionRefusedError: {m}"),
            Error::ConnectionReset(m) => write!(f, "ConnectionResetError: {m}"),
            Error::BrokenPipe(m) => write!(f, "BrokenPipeError: {m}"),
            Error::Os(m) => write!(f, "OSError: {m}"),
            Error::User(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::User(e) => write!(f, "User({e:?})"),
            // The Display of the simulator's own errors is the useful report; Debug shows it
            // whole so that `unwrap()` in a test prints the deadlock or panic in full.
            other => write!(f, "{other}"),
        }
    }
}

impl<E: StdError + 'static> From<E> for Error {
    fn from(err: E) -> Error {
        Error::User(Rc::new(err))
    }
}

/// Lets a test that returns `Result<(), Box<dyn std::error::Error>>` use `?` on tulipsim results.
impl From<Error> for Box<dyn StdError> {
    fn from(err: Error) -> Box<dyn StdError> {
        Box::new(StdAdapter(err))
    }
}

struct StdAdapter(Error);

impl fmt::Debug for StdAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for StdAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for StdAdapter {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.0 {
            Error::User(e) => Some(&**e),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

/// The payload of [`Error::Cancelled`]: the optional message given to `cancel`.
///
/// ```
/// use tulipsim::Error;
/// if let Error::Cancelled(c) = Error::cancelled_with("bye") {
///     assert_eq!(c.message(), Some("bye"));
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelledError {
    pub(crate) message: Option<Rc<str>>,
}

impl CancelledError {
    /// The message passed to `cancel_with`, if any.
    ///
    /// ```
    /// # use tulipsim::Error;
    /// let Error::Cancelled(c) = Error::cancelled() else { unreachable!() };
    /// assert_eq!(c.message(), None);
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl StdError for CancelledError {}

/// asyncio's `TimeoutError`, as [`Error::timeout()`] carries it: with the `CancelledError` it
/// replaced, when a deadline cancelled the awaitable and that cancellation came out of it
/// (CPython's `raise TimeoutError from exc`). [`source`](StdError::source) gives that cause.
///
/// Timeouts compare equal whatever their cause, so `assert_eq!(r, Err(Error::timeout()))`
/// checks "it timed out", as `matches!(r, Err(Error::Timeout(_)))` does.
///
/// ```
/// use std::error::Error as _;
/// use tulipsim::{sleep, wait_for, Error, EventLoop};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(wait_for(sleep(10), 1));
/// assert_eq!(r, Err(Error::timeout()));
/// let Err(Error::Timeout(t)) = r else { unreachable!() };
/// assert_eq!(t.cause().map(|c| c.message()), Some(None));
/// assert_eq!(t.source().unwrap().to_string(), "CancelledError");
/// ```
#[derive(Clone, Debug, Default)]
pub struct TimeoutError {
    cause: Option<CancelledError>,
}

impl TimeoutError {
    /// The `CancelledError` this timeout replaced, if the deadline cancelled something.
    ///
    /// ```
    /// let tulipsim::Error::Timeout(t) = tulipsim::Error::timeout() else { unreachable!() };
    /// assert!(t.cause().is_none());
    /// ```
    pub fn cause(&self) -> Option<&CancelledError> {
        self.cause.as_ref()
    }
}

impl PartialEq for TimeoutError {
    fn eq(&self, _: &TimeoutError) -> bool {
        true
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimeoutError")
    }
}

impl StdError for TimeoutError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause.as_ref().map(|c| c as &(dyn StdError + 'static))
    }
}
impl StdError for PanicError {}
impl StdError for DeadlockError {}
impl StdError for LimitError {}
impl StdError for IncompleteReadError {}
impl StdError for LimitOverrunError {}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LimitOverrunError: {}", self.message)
    }
}

impl fmt::Display for CancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "CancelledError: {m}"),
            None => f.write_str("CancelledError"),
        }
    }
}

/// The payload of [`Error::Panic`]: a panic caught inside a task or a callback.
///
/// ```
/// use tulipsim::{Error, EventLoop, LoopConfig, PanicPolicy};
///
/// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
/// let r: Result<(), Error> = lp.run_until_complete(async { panic!("boom") });
/// let Err(Error::Panic(p)) = r else { panic!("expected a panic") };
/// assert_eq!(p.message(), "boom");
/// assert_eq!(p.task(), Some("Task-1"));
/// ```
#[derive(Debug)]
pub struct PanicError {
    pub(crate) message: String,
    pub(crate) task: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) spawned_at: Option<&'static Location<'static>>,
    pub(crate) seed: Option<u64>,
}

impl PanicError {
    /// The panic's message (`panic!("...")` text), or a placeholder for non-string payloads.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop, LoopConfig, PanicPolicy};
    /// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    /// let r: Result<(), Error> = lp.run_until_complete(async { panic!("boom") });
    /// let Err(Error::Panic(p)) = r else { panic!() };
    /// assert_eq!(p.message(), "boom");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The name of the task that panicked; `None` for a plain callback.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop, LoopConfig, PanicPolicy};
    /// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    /// let t = lp.create_task_named("worker", async { if true { panic!("boom") }; Ok(()) });
    /// let _ = lp.run_until_complete(tulipsim::sleep(0));
    /// let Err(Error::Panic(p)) = t.result() else { panic!() };
    /// assert_eq!(p.task(), Some("worker"));
    /// ```
    pub fn task(&self) -> Option<&str> {
        self.task.as_deref()
    }

    /// Where the panic happened (`file:line:col`), when the panic hook could record it.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop, LoopConfig, PanicPolicy};
    /// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    /// let r: Result<(), Error> = lp.run_until_complete(async { panic!("boom") });
    /// let Err(Error::Panic(p)) = r else { panic!() };
    /// assert!(p.location().unwrap().contains(".rs:"));
    /// ```
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

impl fmt::Display for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(t) => write!(f, "task {t} panicked: {}", self.message)?,
            None => write!(f, "callback panicked: {}", self.message)?,
        }
        if let Some(l) = &self.location {
            write!(f, " at {l}")?;
        }
        if let Some(s) = self.spawned_at {
            write!(f, " (task spawned at {s})")?;
        }
        if let Some(seed) = self.seed {
            write!(f, " [seed {seed}]")?;
        }
        Ok(())
    }
}

/// The payload of [`Error::Deadlock`]: every task still pending, and what each one awaits.
///
/// ```
/// use tulipsim::{Error, EventLoop};
///
/// let lp = EventLoop::new();
/// let never = lp.create_future::<()>();
/// let Err(Error::Deadlock(d)) = lp.run_until_complete(async move { never.await }) else {
///     panic!("expected a deadlock")
/// };
/// assert_eq!(d.tasks().len(), 1);
/// assert_eq!(d.tasks()[0].name(), "Task-1");
/// assert!(d.tasks()[0].awaiting().starts_with("Future<()> created at"));
/// ```
#[derive(Debug)]
pub struct DeadlockError {
    pub(crate) time: f64,
    pub(crate) tasks: Vec<WaitingTask>,
}

impl DeadlockError {
    /// The virtual time at which the loop found nothing left to do.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let never = lp.create_future::<()>();
    /// let r = lp.run_until_complete(async move { sleep(2).await?; never.await });
    /// let Err(Error::Deadlock(d)) = r else { panic!() };
    /// assert_eq!(d.time(), 2.0);
    /// ```
    pub fn time(&self) -> f64 {
        self.time
    }

    /// The tasks that were still pending, in creation order.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let never = lp.create_future::<()>();
    /// let n = never.clone();
    /// lp.create_task_named("stuck", async move { n.await });
    /// let Err(Error::Deadlock(d)) = lp.run_until_complete(never) else { panic!() };
    /// assert_eq!(d.tasks()[0].name(), "stuck");
    /// ```
    pub fn tasks(&self) -> &[WaitingTask] {
        &self.tasks
    }
}

impl fmt::Display for DeadlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Deadlock at t={:.6}s: nothing is ready and no timer is pending, \
             but {} task(s) still wait:",
            self.time,
            self.tasks.len()
        )?;
        for t in &self.tasks {
            write!(f, "\n  {t}")?;
        }
        Ok(())
    }
}

/// One pending task in a [`DeadlockError`].
///
/// ```
/// use tulipsim::{Error, EventLoop};
/// let lp = EventLoop::new();
/// let never = lp.create_future::<()>();
/// let Err(Error::Deadlock(d)) = lp.run_until_complete(async move { never.await }) else { panic!() };
/// let t = &d.tasks()[0];
/// assert!(t.to_string().starts_with("Task-1 awaits Future<()> created at "));
/// ```
#[derive(Debug, Clone)]
pub struct WaitingTask {
    pub(crate) name: String,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) suspended_at: Option<&'static Location<'static>>,
    pub(crate) awaiting: String,
}

impl WaitingTask {
    /// The task's name (`Task-N` unless it was named).
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let never = lp.create_future::<()>();
    /// let Err(Error::Deadlock(d)) = lp.run_until_complete(async move { never.await }) else { panic!() };
    /// assert_eq!(d.tasks()[0].name(), "Task-1");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the task waits on, e.g. `Future<i32> created at src/x.rs:3:9`.
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let never = lp.create_future::<u8>();
    /// let Err(Error::Deadlock(d)) = lp.run_until_complete(async move { never.await }) else { panic!() };
    /// assert!(d.tasks()[0].awaiting().starts_with("Future<u8> created at "));
    /// ```
    pub fn awaiting(&self) -> &str {
        &self.awaiting
    }
}

impl fmt::Display for WaitingTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} awaits {}", self.name, self.awaiting)?;
        if let Some(s) = self.suspended_at {
            write!(f, " at {s}")?;
        }
        write!(f, " (spawned at {})", self.spawned_at)
    }
}

/// The payload of [`Error::Limit`]: which configured limit a run reached.
///
/// ```
/// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
///
/// let lp = EventLoop::with_config(LoopConfig::default().max_steps(1_000));
/// let r: Result<(), Error> = lp.run_until_complete(async {
///     loop { sleep(0).await? }
/// });
/// let Err(Error::Limit(l)) = r else { panic!() };
/// assert_eq!(l.steps(), 1_000);
/// ```
#[derive(Debug)]
pub struct LimitError {
    pub(crate) what: LimitKind,
    pub(crate) steps: u64,
    pub(crate) time: f64,
    pub(crate) max_steps: u64,
    pub(crate) max_time: f64,
    pub(crate) ready_entries: usize,
    pub(crate) runnable: Vec<RunnableTask>,
    /// For the wall-clock watchdog: its limit and the task that was running.
    pub(crate) watchdog: Option<(std::time::Duration, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitKind {
    Steps,
    Time,
    /// The harness's wall-clock watchdog.
    Wall,
}

/// A task still ready to run when a run reached its step limit: [`LimitError::runnable`].
///
/// ```
/// use tulipsim::{create_task, sleep, Error, EventLoop, LoopConfig};
///
/// let lp = EventLoop::with_config(LoopConfig::default().max_steps(1_000));
/// let r: Result<(), Error> = lp.run_until_complete(async {
///     loop { sleep(0).await? }
/// });
/// let Err(Error::Limit(l)) = r else { panic!() };
/// assert_eq!(l.runnable()[0].name(), "Task-1");
/// assert!(l.runnable()[0].waited_steps() <= 1);
/// ```
#[derive(Debug, Clone)]
pub struct RunnableTask {
    pub(crate) name: String,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) waited_steps: u64,
}

impl RunnableTask {
    /// The task's name.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_steps(100));
    /// let r: Result<(), Error> = lp.run_until_complete(async { loop { sleep(0).await? } });
    /// let Err(Error::Limit(l)) = r else { panic!() };
    /// assert_eq!(l.runnable()[0].name(), "Task-1");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the task was spawned.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_steps(100));
    /// let r: Result<(), Error> = lp.run_until_complete(async { loop { sleep(0).await? } });
    /// let Err(Error::Limit(l)) = r else { panic!() };
    /// assert!(l.runnable()[0].spawned_at().file().ends_with(".rs"));
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// About how many steps it has been ready without running.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_steps(100));
    /// let r: Result<(), Error> = lp.run_until_complete(async { loop { sleep(0).await? } });
    /// let Err(Error::Limit(l)) = r else { panic!() };
    /// assert!(l.runnable()[0].waited_steps() <= 1); // the only task: it never waits long
    /// ```
    pub fn waited_steps(&self) -> u64 {
        self.waited_steps
    }
}

impl LimitError {
    /// How many ready-queue entries had run when the limit was reached.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_steps(50));
    /// let r: Result<(), Error> = lp.run_until_complete(async { loop { sleep(0).await? } });
    /// let Err(Error::Limit(l)) = r else { panic!() };
    /// assert_eq!(l.steps(), 50);
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The virtual time when the limit was reached, in seconds.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_time(10));
    /// let Err(Error::Limit(l)) = lp.run_until_complete(sleep(60)) else { panic!() };
    /// assert!(l.time() <= 10.0);
    /// ```
    pub fn time(&self) -> f64 {
        self.time
    }

    /// True if the step limit was reached, false if the virtual-time limit was.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_time(10));
    /// let Err(Error::Limit(l)) = lp.run_until_complete(sleep(60)) else { panic!() };
    /// assert!(!l.is_step_limit()); // the time limit
    /// ```
    pub fn is_step_limit(&self) -> bool {
        self.what == LimitKind::Steps
    }

    /// True if the harness's wall-clock watchdog ended the run (see `Check::watchdog`).
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_time(10));
    /// let Err(Error::Limit(l)) = lp.run_until_complete(sleep(60)) else { panic!() };
    /// assert!(!l.is_watchdog()); // the virtual-time limit, not the watchdog
    /// ```
    pub fn is_watchdog(&self) -> bool {
        self.what == LimitKind::Wall
    }

    /// At the step limit: the tasks still ready to run, longest-waiting first (empty at the
    /// time limit).
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_time(10));
    /// let Err(Error::Limit(l)) = lp.run_until_complete(sleep(60)) else { panic!() };
    /// assert!(l.runnable().is_empty()); // nothing was ready: time simply ran out
    /// ```
    pub fn runnable(&self) -> &[RunnableTask] {
        &self.runnable
    }

    /// True if the step limit was reached while entries were still ready to run: starvation
    /// (a ready task never chosen) or livelock (tasks keeping each other busy, a spin on
    /// `sleep(0)` for something that cannot happen), not a program that merely ran long.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_steps(100));
    /// let r: Result<(), Error> = lp.run_until_complete(async { loop { sleep(0).await? } });
    /// let Err(Error::Limit(l)) = r else { panic!() };
    /// assert!(l.is_starvation_or_livelock());
    /// assert!(l.to_string().contains("starvation or livelock"));
    /// ```
    pub fn is_starvation_or_livelock(&self) -> bool {
        self.what == LimitKind::Steps && self.ready_entries > 0
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            LimitKind::Steps if self.is_starvation_or_livelock() => {
                write!(
                    f,
                    "starvation or livelock: step limit reached ({} steps) at virtual time {:.6}s \
                     with {} entr{} still ready to run, so the program was not stuck but \
                     not finishing either: a ready task may never have been chosen, or tasks keep \
                     each other busy (a spin on sleep(0) for something that cannot happen)",
                    self.max_steps,
                    self.time,
                    self.ready_entries,
                    if self.ready_entries == 1 { "y" } else { "ies" }
                )?;
                let mut tasks = self.runnable.clone();
                tasks.sort_by_key(|t| std::cmp::Reverse(t.waited_steps));
                if !tasks.is_empty() {
                    write!(f, "; runnable tasks:")?;
                }
                for t in tasks.iter().take(10) {
                    write!(
                        f,
                        "\n  {} (spawned at {}), ready for about {} steps",
                        t.name, t.spawned_at, t.waited_steps
                    )?;
                }
                if tasks.len() > 10 {
                    write!(f, "\n  ... and {} more", tasks.len() - 10)?;
                }
                write!(
                    f,
                    "\nIf the program only needs more steps, raise the limit: \
                     Check::max_steps or LoopConfig::max_steps"
                )
            }
            LimitKind::Steps => write!(
                f,
                "step limit reached: {} steps ran (the limit is {}; virtual time {:.6}s); \
                 a task may be spinning on sleep(0) or a callback rescheduling itself. If the \
                 program only needs more steps, raise it: Check::max_steps or \
                 LoopConfig::max_steps",
                self.steps, self.max_steps, self.time
            ),
            LimitKind::Wall => {
                let (limit, task) = self.watchdog.clone().unwrap_or_default();
                write!(
                    f,
                    "wall-clock watchdog: the run took more than {limit:?} of real time ({} steps, \
                     virtual time {:.6}s); running: {task}. A step that takes this long is \
                     a synchronous loop or blocking call between two `.await`s. If the run is \
                     only slow, raise the limit: Check::watchdog or TULIPSIM_WATCHDOG=<seconds>",
                    self.steps, self.time
                )
            }
            LimitKind::Time => write!(
                f,
                "virtual-time limit reached at t={:.6}s after {} steps (the limit is {:.6}s); \
                 a timer may be rescheduling itself forever. If the program only needs more \
                 virtual time, raise it: Check::max_time or LoopConfig::max_time",
                self.time, self.steps, self.max_time
            ),
        }
    }
}

/// The payload of [`Error::IncompleteRead`]: the stream ended after `partial` bytes, before the
/// `expected` count (`None` when a separator was awaited, as by `readuntil`).
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::{Error, EventLoop};
///
/// let lp = EventLoop::new();
/// let err = lp.run_until_complete(async {
///     let _server = start_server(|_r, w| async move {
///         w.write(b"abc")?;
///         w.close();
///         Ok(())
///     }, "server", 80).await?;
///     let (reader, _writer) = open_connection("server", 80).await?;
///     Ok(reader.readexactly(5).await.unwrap_err())
/// }).unwrap();
/// let Error::IncompleteRead(e) = err else { panic!("{err}") };
/// assert_eq!(e.partial(), b"abc");
/// assert_eq!(e.expected(), Some(5));
/// assert_eq!(e.to_string(), "3 bytes read on a total of 5 expected bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    pub(crate) partial: Vec<u8>,
    pub(crate) expected: Option<usize>,
}

impl IncompleteReadError {
    /// The bytes read before the end of the stream.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let err = lp.run_until_complete(async {
    ///     let _server = start_server(|_r, w| async move {
    ///         w.write(b"ab")?;
    ///         w.close();
    ///         Ok(())
    ///     }, "server", 80).await?;
    ///     let (reader, _writer) = open_connection("server", 80).await?;
    ///     Ok(reader.readexactly(4).await.unwrap_err())
    /// }).unwrap();
    /// let Error::IncompleteRead(e) = err else { panic!("{err}") };
    /// assert_eq!(e.partial(), b"ab");
    /// ```
    pub fn partial(&self) -> &[u8] {
        &self.partial
    }

    /// How many bytes were asked for, or `None` if the read looked for a separator.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let err = lp.run_until_complete(async {
    ///     let _server = start_server(|_r, w| async move {
    ///         w.write(b"no separator")?;
    ///         w.close();
    ///         Ok(())
    ///     }, "server", 80).await?;
    ///     let (reader, _writer) = open_connection("server", 80).await?;
    ///     Ok(reader.readuntil(b";").await.unwrap_err())
    /// }).unwrap();
    /// let Error::IncompleteRead(e) = err else { panic!("{err}") };
    /// assert_eq!(e.expected(), None); // a separator was awaited, not a count
    /// ```
    pub fn expected(&self) -> Option<usize> {
        self.expected
    }
}

impl fmt::Display for IncompleteReadError {
    /// CPython's text: `3 bytes read on a total of 5 expected bytes` (`undefined` expected).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes read on a total of ", self.partial.len())?;
        match self.expected {
            Some(n) => write!(f, "{n} expected bytes"),
            None => f.write_str("undefined expected bytes"),
        }
    }
}

/// The payload of [`Error::LimitOverrun`]: `readuntil` gave up after `consumed` bytes without
/// finding its separator within the stream's limit, or found it beyond the limit. The bytes stay
/// in the reader's buffer.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::{Error, EventLoop};
///
/// let lp = EventLoop::new();
/// let err = lp.run_until_complete(async {
///     let _server = start_server(|_r, w| async move { w.write(b"0123456789;") }, "server", 80)
///         .await?;
///     let (reader, _writer) = open_connection("server", 80).limit(4).await?;
///     Ok(reader.readuntil(b";").await.unwrap_err())
/// }).unwrap();
/// let Error::LimitOverrun(e) = err else { panic!("{err}") };
/// assert_eq!(e.consumed(), 10);
/// assert_eq!(e.message(), "Separator is found, but chunk is longer than limit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    pub(crate) message: &'static str,
    pub(crate) consumed: usize,
}

impl LimitOverrunError {
    /// CPython's message: which of the two overruns happened.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let err = lp.run_until_complete(async {
    ///     let _server = start_server(|_r, w| async move { w.write(b"0123456789") }, "server", 80)
    ///         .await?;
    ///     let (reader, _writer) = open_connection("server", 80).limit(4).await?;
    ///     Ok(reader.readuntil(b";").await.unwrap_err())
    /// }).unwrap();
    /// let Error::LimitOverrun(e) = err else { panic!("{err}") };
    /// assert_eq!(e.message(), "Separator is not found, and chunk exceed the limit");
    /// ```
    pub fn message(&self) -> &str {
        self.message
    }

    /// How many bytes `readuntil` would have to consume (asyncio's `consumed`).
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{Error, EventLoop};
    /// let lp = EventLoop::new();
    /// let err = lp.run_until_complete(async {
    ///     let _server = start_server(|_r, w| async move { w.write(b"012345;") }, "server", 80)
    ///         .await?;
    ///     let (reader, _writer) = open_connection("server", 80).limit(4).await?;
    ///     Ok(reader.readuntil(b";").await.unwrap_err())
    /// }).unwrap();
    /// let Error::LimitOverrun(e) = err else { panic!("{err}") };
    /// assert_eq!(e.consumed(), 6);
    /// ```
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}
