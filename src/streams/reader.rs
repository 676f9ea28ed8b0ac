//! asyncio's `StreamReader`, ported from CPython 3.11's `streams.py`: a buffer that the
//! transport feeds, and coroutines that wait on it.
//!
//! Every read waits on one waiter future (`_wait_for_data`) and takes bytes out of the buffer
//! only after that wait returned, so a read cancelled while it waits takes nothing: the bytes
//! that arrived stay in the buffer for the next read. (`read(-1)` also puts back the blocks it
//! had gathered, where CPython drops them: see `docs/semantics.md`.)
//!
//! When the buffer holds more than twice the limit, the reader pauses its transport (the
//! sender's wire stops, see [`network`](mod@super::network)); a read that brings it back to the
//! limit or below resumes it (`_maybe_resume_transport`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::task::{Context, Poll, Waker};

use super::wire::EndRef;
use crate::exceptions::Error;
use crate::futures::Future;
use crate::locks::WaiterAwait;

type Site = &'static Location<'static>;

/// asyncio's `_DEFAULT_LIMIT`: 64 KiB.
pub(crate) const DEFAULT_LIMIT: usize = 64 * 1024;

/// The reader's part of a connection end.
pub(crate) struct ReaderState {
    buffer: RefCell<Vec<u8>>,
    eof: Cell<bool>,
    waiter: RefCell<Option<Future<()>>>,
    exception: RefCell<Option<Error>>,
    paused: Cell<bool>,
    limit: Cell<usize>,
    /// The waker of a [`StreamReader::poll_read`] that waits for data.
    poll_waker: RefCell<Option<Waker>>,
}

impl ReaderState {
    pub(crate) fn new(limit: usize) -> ReaderState {
        ReaderState {
            buffer: RefCell::new(Vec::new()),
            eof: Cell::new(false),
            waiter: RefCell::new(None),
            exception: RefCell::new(None),
            paused: Cell::new(false),
            limit: Cell::new(limit),
            poll_waker: RefCell::new(None),
        }
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.set(limit);
    }

    fn exception(&self) -> Option<Error> {
        self.exception.borrow().clone()
    }

    fn len(&self) -> usize {
        self.buffer.borrow().len()
    }

    /// Removes and returns the first `n` bytes (or all there are).
    fn take(&self, n: usize) -> Vec<u8> {
        let mut buf = self.buffer.borrow_mut();
        let n = n.min(buf.len());
        if n == buf.len() {
            return std::mem::take(&mut *buf);
        }
        buf.drain(..n).collect()
    }
}

/// asyncio's `StreamReader`: the reading half of a connection.
///
/// Made by [`open_connection`](super::open_connection) and handed to a server's handler. Clones
/// are handles to the same reader. Only one read may wait for data at a time (a second is
/// `Err(Runtime)`, as in asyncio).
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::EventLoop;
///
/// let lp = EventLoop::new();
/// let lines = lp.run_until_complete(async {
///     let _server = start_server(|_r, w| async move {
///         w.write(b"one\ntwo\nthree")?;
///         w.write_eof();
///         Ok(())
///     }, "server", 80).await?;
///     let (reader, _writer) = open_connection("server", 80).await?;
///     let mut lines = Vec::new();
///     while !reader.at_eof() {
///         lines.push(String::from_utf8(reader.readline().await?).unwrap());
///     }
///     Ok(lines)
/// });
/// assert_eq!(lines.unwrap(), ["one\n", "two\n", "three"]);
/// ```
#[derive(Clone)]
pub struct StreamReader {
    pub(crate) end: EndRef,
}

impl fmt::Debug for StreamReader {
    /// CPython's repr without the transport: `<StreamReader 3 bytes eof>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.end.end().reader;
        f.write_str("<StreamReader")?;
        let len = r.len();
        if len > 0 {
            write!(f, " {len} bytes")?;
        }
        if r.eof.get() {
            f.write_str(" eof")?;
        }
        if r.limit.get() != DEFAULT_LIMIT {
            write!(f, " limit={}", r.limit.get())?;
        }
        if r.waiter.borrow().is_some() {
            f.write_str(" waiter")?;
        }
        if let Some(e) = &*r.exception.borrow() {
            write!(f, " exception={e}")?;
        }
        if r.paused.get() {
            f.write_str(" paused")?;
        }
        f.write_str(">")
    }
}

impl StreamReader {
    pub(crate) fn new(end: EndRef) -> StreamReader {
        StreamReader { end }
    }

    /// Reads up to `n` bytes, as soon as at least one is there; `n = -1` reads until the end
    /// of the stream; `n = 0` returns nothing at once. At the end of the stream, an empty
    /// vector.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move {
    ///     w.write(b"hello ")?;
    ///     tulipsim::sleep(1).await?;
    ///     w.write(b"world")?;
    ///     w.close();
    ///     Ok(())
    /// }, "server", 80).await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// assert_eq!(reader.read(3).await?, b"hel");
    /// assert_eq!(reader.read(-1).await?, b"lo world"); // until the server closes
    /// assert_eq!(reader.read(100).await?, b"");
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn read(&self, n: isize) -> impl StdFuture<Output = Result<Vec<u8>, Error>> + 'static {
        let (end, site) = (self.end.clone(), Location::caller());
        async move {
            if let Some(exc) = end.end().reader.exception() {
                return Err(exc);
            }
            match usize::try_from(n) {
                Ok(0) => Ok(Vec::new()),
                Ok(n) => end.read_some(n, site).await,
                Err(_) => end.read_to_eof(site).await,
            }
        }
    }

    /// Reads one line, up to and including `\n`; at the end of the stream, the partial line
    /// (or nothing). A line longer than the limit is `Err(Value)`, and is dropped from the
    /// buffer (the whole line if its end is there, else everything buffered).
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move { w.write(b"a\nb") }, "server", 80).await?;
    /// let (reader, writer) = open_connection("server", 80).await?;
    /// assert_eq!(reader.readline().await?, b"a\n");
    /// writer.close(); // the server's end closes too: the partial last line comes back
    /// # drop(writer);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn readline(&self) -> impl StdFuture<Output = Result<Vec<u8>, Error>> + 'static {
        let (end, site) = (self.end.clone(), Location::caller());
        async move {
            match end.readuntil(b"\n", site).await {
                Err(Error::IncompleteRead(e)) => Ok(e.partial.clone()),
                Err(Error::LimitOverrun(e)) => {
                    let r = &end.end().reader;
                    {
                        let mut buf = r.buffer.borrow_mut();
                        if buf.get(e.consumed..).is_some_and(|b| b.starts_with(b"\n")) {
                            buf.drain(..e.consumed + 1);
                        } else {
                            buf.clear();
                        }
                    }
                    end.maybe_resume_transport();
                    Err(Error::value(e.message))
                }
                other => other,
            }
        }
    }

    /// Reads exactly `n` bytes. If the stream ends first, `Err(IncompleteRead)` carries the
    /// bytes there were (and the buffer is emptied).
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # use tulipsim::Error;
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move {
    ///     w.write(b"12345678")?;
    ///     w.close();
    ///     Ok(())
    /// }, "server", 80).await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// assert_eq!(reader.readexactly(5).await?, b"12345");
    /// let Err(Error::IncompleteRead(e)) = reader.readexactly(5).await else { panic!() };
    /// assert_eq!((e.partial(), e.expected()), (&b"678"[..], Some(5)));
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn readexactly(
        &self,
        n: usize,
    ) -> impl StdFuture<Output = Result<Vec<u8>, Error>> + 'static {
        let (end, site) = (self.end.clone(), Location::caller());
        async move {
            let r = &end.end().reader;
            if let Some(exc) = r.exception() {
                return Err(exc);
            }
            if n == 0 {
                return Ok(Vec::new());
            }
            while r.len() < n {
                if r.eof.get() {
                    return Err(Error::incomplete_read(r.take(usize::MAX), Some(n)));
                }
                end.wait_for_data("readexactly", site).await?;
            }
            let data = r.take(n);
            end.maybe_resume_transport();
            Ok(data)
        }
    }

    /// Reads up to and including `separator`. If the stream ends first,
    /// `Err(IncompleteRead)` carries what there was (and the buffer is emptied); if the
    /// separator is not within the limit, `Err(LimitOverrun)`, and the bytes stay buffered.
    /// An empty separator is `Err(Value)`.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move { w.write(b"GET / HTTP/1.1\r\n\r\n") }, "server", 80)
    ///     .await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// assert_eq!(reader.readuntil(b"\r\n\r\n").await?, b"GET / HTTP/1.1\r\n\r\n");
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn readuntil(
        &self,
        separator: impl AsRef<[u8]>,
    ) -> impl StdFuture<Output = Result<Vec<u8>, Error>> + 'static {
        let (end, site, sep) = (
            self.end.clone(),
            Location::caller(),
            separator.as_ref().to_vec(),
        );
        async move { end.readuntil(&sep, site).await }
    }

    /// True if the stream ended and the buffer is empty.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move { w.write(b"x")?; w.write_eof(); Ok(()) }, "server", 80).await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// assert_eq!(reader.read(1).await?, b"x");
    /// assert_eq!(reader.read(1).await?, b""); // the end of the stream
    /// assert!(reader.at_eof());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn at_eof(&self) -> bool {
        let r = &self.end.end().reader;
        r.eof.get() && r.len() == 0
    }

    /// The error the connection was lost with, if any; every read raises it.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// assert!(reader.exception().is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn exception(&self) -> Option<Error> {
        self.end.end().reader.exception()
    }

    /// Reads up to `buf.len()` bytes into `buf`, poll-style, for runtime adapters whose IO is
    /// poll-based (`tulipsim-tokio`'s `TcpStream` implements tokio's `AsyncRead` with it).
    ///
    /// `Ready(Ok(n))` with `n > 0` bytes if any are buffered; `Ready(Ok(0))` at the end of the
    /// stream (or for an empty `buf`); the connection's error if it was lost with one;
    /// otherwise `Pending`, and `cx`'s waker is woken when data, the end or an error arrives.
    /// Only the latest poll's waker is kept, as for any `AsyncRead`. The reads of the
    /// `async` methods and this one share the buffer; do not mix them on one connection while
    /// one is waiting.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move { w.write(b"hello") }, "server", 80).await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// let mut buf = [0u8; 16];
    /// let n = std::future::poll_fn(|cx| reader.poll_read(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Result<usize, Error>> {
        let r = &self.end.end().reader;
        if let Some(exc) = r.exception() {
            return Poll::Ready(Err(exc));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = {
            let mut data = r.buffer.borrow_mut();
            let n = buf.len().min(data.len());
            buf[..n].copy_from_slice(&data[..n]);
            data.drain(..n);
            n
        };
        if n > 0 {
            self.end.maybe_resume_transport();
            return Poll::Ready(Ok(n));
        }
        if r.eof.get() {
            return Poll::Ready(Ok(0));
        }
        // Waiting while paused would wait forever, as in `_wait_for_data`.
        if r.paused.get() {
            r.paused.set(false);
            self.end.resume_reading();
        }
        let mut waker = r.poll_waker.borrow_mut();
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl EndRef {
    /// `feed_data`: bytes arrived.
    pub(crate) fn feed_data(&self, data: Vec<u8>) {
        let r = &self.end().reader;
        if data.is_empty() || r.eof.get() {
            return;
        }
        r.buffer.borrow_mut().extend_from_slice(&data);
        self.wakeup_waiter(None);
        self.maybe_pause_transport();
    }

    fn maybe_pause_transport(&self) {
        let r = &self.end().reader;
        if !r.paused.get() && r.len() > 2 * r.limit.get() {
            self.pause_reading();
            r.paused.set(true);
        }
    }

    /// `feed_eof`: the stream ended.
    pub(crate) fn feed_eof(&self) {
        self.end().reader.eof.set(true);
        self.wakeup_waiter(None);
    }

    /// `set_exception`: every later read raises `exc`; a waiting one now.
    pub(crate) fn reader_set_exception(&self, exc: Error) {
        *self.end().reader.exception.borrow_mut() = Some(exc.clone());
        self.wakeup_waiter(Some(exc));
    }

    pub(crate) fn reader_exception(&self) -> Option<Error> {
        self.end().reader.exception()
    }

    /// `_wakeup_waiter` (or `set_exception`'s wake-up, with `exc`); a waiting
    /// [`StreamReader::poll_read`] is woken too.
    fn wakeup_waiter(&self, exc: Option<Error>) {
        let poller = self.end().reader.poll_waker.borrow_mut().take();
        if let Some(w) = poller {
            w.wake();
        }
        let waiter = self.end().reader.waiter.borrow_mut().take();
        if let Some(w) = waiter.filter(|w| !w.cancelled()) {
            // The waiter may be done already (woken, not yet resumed): then nothing to do.
            let _ = match exc {
                None => w.set_result(()),
                Some(exc) => w.set_exception(exc),
            };
        }
    }

    /// `_maybe_resume_transport`.
    fn maybe_resume_transport(&self) {
        let r = &self.end().reader;
        if r.paused.get() && r.len() <= r.limit.get() {
            r.paused.set(false);
            self.resume_reading();
        }
    }

    /// `_wait_for_data`.
    async fn wait_for_data(&self, func: &str, site: Site) -> Result<(), Error> {
        let r = &self.end().reader;
        if r.waiter.borrow().is_some() {
            return Err(Error::runtime(format!(
                "{func}() called while another coroutine is already waiting for incoming data"
            )));
        }
        // Waiting while paused would wait forever (readexactly(n) with n > the limit).
        if r.paused.get() {
            r.paused.set(false);
            self.resume_reading();
        }
        let waiter = Future::bound(self.conn.lp.clone(), site);
        *r.waiter.borrow_mut() = Some(waiter.clone());
        let clear = || {
            let mine = r.waiter.borrow().as_ref().is_some_and(|w| w.same(&waiter));
            if mine {
                let w = r.waiter.borrow_mut().take();
                drop(w);
            }
        };
        let woken = WaiterAwait::new(&waiter, site, clear).await;
        clear();
        woken
    }

    /// `read(n)` for `n > 0`.
    async fn read_some(&self, n: usize, site: Site) -> Result<Vec<u8>, Error> {
        let r = &self.end().reader;
        if let Some(exc) = r.exception() {
            return Err(exc);
        }
        if r.len() == 0 && !r.eof.get() {
            self.wait_for_data("read", site).await?;
        }
        let data = r.take(n);
        self.maybe_resume_transport();
        Ok(data)
    }

    /// `read(-1)`: `read(limit)` until the end of the stream. Cancelled (or failing) half-way,
    /// it puts the blocks it gathered back in front of the buffer.
    async fn read_to_eof(&self, site: Site) -> Result<Vec<u8>, Error> {
        let r = &self.end().reader;
        let mut blocks = Vec::new();
        loop {
            match self.read_some(r.limit.get(), site).await {
                Ok(block) if block.is_empty() => return Ok(blocks),
                Ok(block) => blocks.extend_from_slice(&block),
                Err(e) => {
                    if !blocks.is_empty() {
                        r.buffer.borrow_mut().splice(..0, blocks);
                        self.maybe_pause_transport();
                    }
                    return Err(e);
                }
            }
        }
    }

    async fn readuntil(&self, sep: &[u8], site: Site) -> Result<Vec<u8>, Error> {
        let r = &self.end().reader;
        let seplen = sep.len();
        if seplen == 0 {
            return Err(Error::value("Separator should be at least one-byte string"));
        }
        if let Some(exc) = r.exception() {
            return Err(exc);
        }
        let limit = r.limit.get();
        let mut offset = 0;
        let isep = loop {
            let buflen = r.len();
            if buflen.saturating_sub(offset) >= seplen {
                let found = r.buffer.borrow()[offset..]
                    .windows(seplen)
                    .position(|w| w == sep);
                if let Some(i) = found {
                    break offset + i;
                }
                offset = buflen + 1 - seplen;
                if offset > limit {
                    return Err(Error::limit_overrun(
                        "Separator is not found, and chunk exceed the limit",
                        offset,
                    ));
                }
            }
            if r.eof.get() {
                return Err(Error::incomplete_read(r.take(usize::MAX), None));
            }
            self.wait_for_data("readuntil", site).await?;
        };
        if isep > limit {
            return Err(Error::limit_overrun(
                "Separator is found, but chunk is longer than limit",
                isep,
            ));
        }
        let chunk = r.take(isep + seplen);
        self.maybe_resume_transport();
        Ok(chunk)
    }
}
