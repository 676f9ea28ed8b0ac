//! asyncio's `StreamWriter`, and the protocol side of flow control (`FlowControlMixin` and
//! `StreamReaderProtocol.connection_lost`), ported from CPython 3.11's `streams.py`.
//!
//! `drain()` is `StreamWriter.drain` with `_drain_helper`: it raises the reader's exception if
//! the connection was lost with one; if the transport is closing it first yields once (so that
//! a pending `connection_lost` runs); then, if the connection is lost, it raises
//! `ConnectionResetError("Connection lost")`; if writing is not paused it returns at once;
//! otherwise it waits on a future until `resume_writing` (or `connection_lost`) completes it.
//! Cancelled while it waits, it leaves the waiters' list, and the bytes already accepted by
//! `write()` stay in the transport's buffer and are all sent.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::task::{Context, Poll, Waker};

use super::network::Address;
use super::transport::Transport;
use super::wire::EndRef;
use crate::exceptions::Error;
use crate::futures::Future;
use crate::locks::{remove_waiter, WaiterAwait};

/// The protocol's flow-control state (`FlowControlMixin`).
#[derive(Default)]
pub(crate) struct FlowState {
    paused: Cell<bool>,
    drain_waiters: RefCell<VecDeque<Future<()>>>,
    connection_lost: Cell<bool>,
    /// The waker of a [`StreamWriter::poll_drain`] that waits for writing to resume.
    poll_waker: RefCell<Option<Waker>>,
}

/// asyncio's `StreamWriter`: the writing half of a connection.
///
/// Made by [`open_connection`](super::open_connection) and handed to a server's handler. Clones
/// are handles to the same writer. `write()` never blocks: call [`drain`](Self::drain) after
/// writing to wait while the transport's buffer is above its high-water mark.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::EventLoop;
///
/// let lp = EventLoop::new();
/// let echoed = lp.run_until_complete(async {
///     // An echo server: each line comes back.
///     let _server = start_server(|reader, writer| async move {
///         loop {
///             let line = reader.readline().await?;
///             if line.is_empty() {
///                 break;
///             }
///             writer.write(&line)?;
///             writer.drain().await?;
///         }
///         writer.close();
///         Ok(())
///     }, "server", 7).await?;
///     let (reader, writer) = open_connection("server", 7).await?;
///     writer.write(b"ping\n")?;
///     writer.drain().await?;
///     let line = reader.readline().await?;
///     writer.close();
///     writer.wait_closed().await?;
///     Ok(line)
/// });
/// assert_eq!(echoed.unwrap(), b"ping\n");
/// ```
#[derive(Clone)]
pub struct StreamWriter {
    pub(crate) end: EndRef,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<StreamWriter transport={:?}>", self.transport())
    }
}

impl StreamWriter {
    pub(crate) fn new(end: EndRef) -> StreamWriter {
        StreamWriter { end }
    }

    /// The transport ([`Transport`]): flow-control settings, reading pause.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert_eq!(writer.transport().get_write_buffer_size(), 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn transport(&self) -> Transport {
        Transport {
            end: self.end.clone(),
        }
    }

    /// Queues `data`; see [`Transport::write`]. `Err(Runtime)` after
    /// [`write_eof`](Self::write_eof), `Err(BrokenPipe)` after a half-close fault.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|r, w| async move { w.write(r.read(5).await?) }, "server", 80).await?;
    /// let (reader, writer) = open_connection("server", 80).await?;
    /// writer.write(b"hello")?;
    /// assert_eq!(reader.read(5).await?, b"hello");
    /// writer.write_eof();
    /// assert!(writer.write(b"more").is_err());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn write(&self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        self.end.write(data.as_ref())
    }

    /// Writes every buffer of `data`, joined, as one write.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move {
    ///     w.writelines([&b"a"[..], b"b", b"c"])?;
    ///     w.close();
    ///     Ok(())
    /// }, "server", 80).await?;
    /// let (reader, _writer) = open_connection("server", 80).await?;
    /// assert_eq!(reader.read(-1).await?, b"abc");
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn writelines<I>(&self, data: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.transport().writelines(data)
    }

    /// True: the stream can be half-closed with [`write_eof`](Self::write_eof).
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert!(writer.can_write_eof());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Half-closes: the peer's reader sees the end of the stream after the data written so far;
    /// this end can still read.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// // The server answers once the request is complete (at its end of stream).
    /// let _server = start_server(|r, w| async move {
    ///     let request = r.read(-1).await?;
    ///     w.write(format!("{} bytes", request.len()))?;
    ///     w.close();
    ///     Ok(())
    /// }, "server", 80).await?;
    /// let (reader, writer) = open_connection("server", 80).await?;
    /// writer.write(b"hello")?;
    /// writer.write_eof();
    /// assert!(writer.write(b"more").is_err());
    /// assert_eq!(reader.read(-1).await?, b"5 bytes");
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn write_eof(&self) {
        self.end.write_eof()
    }

    /// Closes the connection once the buffer is sent; see [`Transport::close`].
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert!(!writer.is_closing());
    /// writer.close();
    /// assert!(writer.is_closing());
    /// writer.wait_closed().await?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn close(&self) {
        self.end.close()
    }

    /// True once the writer is closing or closed.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert!(!writer.is_closing());
    /// writer.close();
    /// assert!(writer.is_closing());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn is_closing(&self) -> bool {
        self.end.is_closing()
    }

    /// Waits until the connection is lost: `Ok` after a close, the error after a reset.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// writer.close();
    /// writer.wait_closed().await?; // Ok: closed, not reset
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn wait_closed(&self) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (closed, site) = (self.end.end().closed.clone(), Location::caller());
        async move { closed.wait_at(site).await }
    }

    /// `"peername"` or `"sockname"`: see [`Transport::get_extra_info`].
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let _server = start_server(|_r, w| async move {
    ///     assert_eq!(w.get_extra_info("peername").unwrap(), ("client", 49152));
    ///     Ok(())
    /// }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert_eq!(writer.get_extra_info("peername").unwrap(), ("server", 80));
    /// assert_eq!(writer.get_extra_info("sockname").unwrap(), ("client", 49152));
    /// assert_eq!(writer.get_extra_info("socket"), None);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn get_extra_info(&self, name: &str) -> Option<Address> {
        self.transport().get_extra_info(name)
    }

    /// Waits while the transport's buffer is above the high-water mark (see the
    /// [module docs](self)); `Err(ConnectionReset)` once the connection is lost.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// // The server reads everything; a peer that never read would hold drain() forever.
    /// let _s = start_server(|r, _w| async move { r.read(-1).await.map(drop) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// writer.write(vec![0u8; 1 << 20])?; // far above the high-water mark
    /// writer.drain().await?; // returns once the wire has taken enough of it
    /// assert!(writer.transport().get_write_buffer_size() < 1 << 20);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn drain(&self) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (end, site) = (self.end.clone(), Location::caller());
        async move {
            if let Some(exc) = end.reader_exception() {
                return Err(exc);
            }
            if end.is_closing() {
                // Let a pending connection_lost run first, as CPython does.
                crate::tasks::sleep(0).await?;
            }
            end.drain_helper(site).await
        }
    }
}

impl StreamWriter {
    /// [`drain`](Self::drain), poll-style, for runtime adapters whose IO is poll-based
    /// (`tulipsim-tokio`'s `TcpStream` calls it before each write).
    ///
    /// `Ready(Ok(()))` if writing is not paused; the reader's error, or
    /// `Err(ConnectionReset)` once the connection is lost; otherwise `Pending`, and `cx`'s
    /// waker is woken when writing resumes or the connection is lost. Unlike `drain()` it
    /// does not yield first on a closing transport.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// writer.write(b"small")?; // far below the high-water mark: no wait
    /// std::future::poll_fn(|cx| writer.poll_drain(cx)).await?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(exc) = self.end.reader_exception() {
            return Poll::Ready(Err(exc));
        }
        let flow = &self.end.end().flow;
        if flow.connection_lost.get() {
            return Poll::Ready(Err(Error::ConnectionReset("Connection lost".into())));
        }
        if !flow.paused.get() {
            return Poll::Ready(Ok(()));
        }
        let mut waker = flow.poll_waker.borrow_mut();
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl EndRef {
    /// Wakes a waiting [`StreamWriter::poll_drain`].
    fn wake_drain_poller(&self) {
        let poller = self.end().flow.poll_waker.borrow_mut().take();
        if let Some(w) = poller {
            w.wake();
        }
    }

    /// `FlowControlMixin.pause_writing`.
    pub(crate) fn pause_writing(&self) {
        self.end().flow.paused.set(true);
    }

    /// `FlowControlMixin.resume_writing`: every waiting `drain()` returns.
    pub(crate) fn resume_writing(&self) {
        let flow = &self.end().flow;
        flow.paused.set(false);
        self.wake_drain_poller();
        let waiters: Vec<_> = flow.drain_waiters.borrow().iter().cloned().collect();
        for w in waiters.iter().filter(|w| !w.done()) {
            let _ = w.set_result(());
        }
    }

    /// `StreamReaderProtocol.connection_lost` and `FlowControlMixin.connection_lost`.
    pub(crate) fn protocol_connection_lost(&self, exc: Option<&Error>) {
        match exc {
            None => self.feed_eof(),
            Some(e) => self.reader_set_exception(e.clone()),
        }
        let closed = &self.end().closed;
        if !closed.done() {
            let _ = match exc {
                None => closed.set_result(()),
                Some(e) => closed.set_exception(e.clone()),
            };
            // CPython's __del__ retrieves it: losing a connection is not an unhandled error.
            let _ = closed.exception();
        }
        let flow = &self.end().flow;
        flow.connection_lost.set(true);
        self.wake_drain_poller();
        if !flow.paused.get() {
            return;
        }
        let waiters: Vec<_> = flow.drain_waiters.borrow().iter().cloned().collect();
        for w in waiters.iter().filter(|w| !w.done()) {
            let _ = match exc {
                None => w.set_result(()),
                Some(e) => w.set_exception(e.clone()),
            };
        }
    }

    /// `FlowControlMixin._drain_helper`.
    async fn drain_helper(&self, site: &'static Location<'static>) -> Result<(), Error> {
        let flow = &self.end().flow;
        if flow.connection_lost.get() {
            return Err(Error::ConnectionReset("Connection lost".into()));
        }
        if !flow.paused.get() {
            return Ok(());
        }
        let waiter = Future::bound(self.conn.lp.clone(), site);
        flow.drain_waiters.borrow_mut().push_back(waiter.clone());
        let woken = WaiterAwait::new(&waiter, site, || {
            remove_waiter(&flow.drain_waiters, &waiter)
        })
        .await;
        remove_waiter(&flow.drain_waiters, &waiter);
        woken
    }
}
