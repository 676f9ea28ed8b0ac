//! A connection end's transport: asyncio's `_SelectorSocketTransport` with
//! `_FlowControlMixin`, over the simulated wire of [`network`](mod@super::network).
//!
//! (Long on purpose: CPython's transport and its flow-control mixin are one class whose
//! states interlock; a third of the file is their doc examples.)
//!
//! # Write buffer and flow control
//!
//! `write()` hands bytes to the wire if it is idle (up to one segment, as CPython's `write`
//! first tries `sock.send()`), and appends the rest to the **write buffer**. Whenever the wire
//! becomes idle again (after `segment / bandwidth` seconds) it takes the next segment from the
//! front of the buffer, as CPython's `_write_ready` does when the socket is writable. So the
//! buffer size that flow control watches ([`Transport::get_write_buffer_size`]) is the number of
//! bytes written but not yet put on the wire.
//!
//! The rules are `_FlowControlMixin`'s, exactly: after a `write()` that leaves the buffer
//! *larger than* the high-water mark, the protocol is paused (`pause_writing`, and `drain()`
//! blocks); when the wire takes bytes and the buffer drops *to or below* the low-water mark,
//! it is resumed (`resume_writing`, and blocked `drain()`s return). The defaults are 64 KiB and
//! 16 KiB; [`set_write_buffer_limits`](Transport::set_write_buffer_limits) changes them (and,
//! as in CPython, may pause but never resumes).
//!
//! # Reading
//!
//! Arriving data goes to the end's [`StreamReader`](super::StreamReader) at once, unless the
//! transport's reading is paused ([`pause_reading`](Transport::pause_reading), which the reader
//! does when its buffer passes twice its limit). While it is paused, the peer's wire stops
//! taking segments and what was already on its way is held here until reading resumes.
//!
//! # Closing
//!
//! `write_eof()` sends the end of the stream after the buffered data (a half-close: this end
//! can still read). `close()` stops reading, lets the buffer drain, then loses the connection
//! (`connection_lost(None)`: this end's reader sees EOF, `wait_closed()` returns) and sends the
//! end of the stream. `abort()` drops the buffer and loses the connection at once. Data that
//! arrives after the socket is closed is answered with a reset: the peer loses its connection
//! with `ConnectionResetError`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;

use super::network::Address;
use super::wire::{EndRef, Packet};
use crate::exceptions::Error;

const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// The state of one end's transport.
pub(crate) struct TransportState {
    /// Written, not yet taken by the wire.
    pub(crate) buffer: Vec<u8>,
    /// When the wire finishes carrying its current segment.
    busy_until: i64,
    /// A timer will let the wire take the next segment.
    pull_pending: bool,
    /// `write_eof()` was called, or the half-close fault shut the write side.
    eof: bool,
    /// The half-close fault shut the write side: writes are a broken pipe.
    shut: bool,
    fin_sent: bool,
    closing: bool,
    /// asyncio's `_conn_lost`: nonzero once `connection_lost` is scheduled.
    conn_lost: u32,
    /// The socket is closed: data arriving now is answered with a reset.
    pub(crate) sock_closed: bool,
    rst_sent: bool,
    reading_paused: bool,
    eof_received: bool,
    /// Arrived while reading was paused, in order.
    held: VecDeque<Packet>,
    read_ready_pending: bool,
    high: usize,
    low: usize,
    /// asyncio's `_protocol_paused`.
    protocol_paused: bool,
    /// The listener accepted (the transport exists, in asyncio's terms).
    connected: bool,
}

impl TransportState {
    pub(crate) fn set_connected(&mut self) {
        self.connected = true;
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// No more data goes out of this end: it sent, or will send, the end of the stream.
    pub(crate) fn write_shut(&self) -> bool {
        self.eof || self.closing
    }
}

impl Default for TransportState {
    fn default() -> Self {
        TransportState {
            buffer: Vec::new(),
            busy_until: i64::MIN,
            pull_pending: false,
            eof: false,
            shut: false,
            fin_sent: false,
            closing: false,
            conn_lost: 0,
            sock_closed: false,
            rst_sent: false,
            reading_paused: false,
            eof_received: false,
            held: VecDeque::new(),
            read_ready_pending: false,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            protocol_paused: false,
            connected: false,
        }
    }
}

/// The transport of one end of a stream connection (what asyncio's `writer.transport` is).
///
/// [`StreamWriter`](super::StreamWriter) forwards to it; use it directly for the flow-control
/// settings and for pausing reading. See the [module docs](self) for the model.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::EventLoop;
///
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     let _server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
///     let (_reader, writer) = open_connection("server", 80).await?;
///     let transport = writer.transport();
///     assert_eq!(transport.get_write_buffer_limits(), (16384, 65536));
///     transport.write(vec![0; 100_000])?; // the wire takes 16 KiB at once
///     assert_eq!(transport.get_write_buffer_size(), 100_000 - 16_384);
///     assert!(transport.is_writing_paused()); // above the high-water mark
///     writer.drain().await?; // until the buffer is down to 16 KiB
///     assert!(transport.get_write_buffer_size() <= 16_384);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Transport {
    pub(crate) end: EndRef,
}

impl fmt::Debug for Transport {
    /// CPython's repr, with the simulated socket's addresses instead of its fd.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.end.end().transport.borrow();
        let state = if t.sock_closed {
            " closed"
        } else if t.closing {
            " closing"
        } else {
            ""
        };
        write!(
            f,
            "<Transport{state} {} -> {} read={} write=<bufsize={}>>",
            self.end.end().sockname,
            self.end.peer_end().sockname,
            if !t.closing && !t.reading_paused {
                "polling"
            } else {
                "idle"
            },
            t.buffer.len()
        )
    }
}

impl Transport {
    /// Queues `data` to be sent; see the [module docs](self). `Err(Runtime)` after
    /// [`write_eof`](Self::write_eof), `Err(BrokenPipe)` after the half-close fault
    /// ([`FaultConfig::net_half_close`](crate::FaultConfig::net_half_close)) shut this end's
    /// write side. After the connection is lost, data is dropped silently, as asyncio drops it.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// t.write(b"hello")?;
    /// t.write_eof();
    /// assert!(t.write(b"more").is_err()); // after write_eof: RuntimeError
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
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// writer.transport().writelines([&b"a"[..], b"b", b"c"])?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn writelines<I>(&self, data: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut joined = Vec::new();
        for chunk in data {
            joined.extend_from_slice(chunk.as_ref());
        }
        self.end.write(&joined)
    }

    /// Sends the end of the stream once the buffer is on the wire (a half-close). Later writes
    /// fail; reading goes on.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// let lp = tulipsim::EventLoop::new();
    /// let got = lp.run_until_complete(async {
    ///     let _s = start_server(|r, w| async move {
    ///         let all = r.read(-1).await?; // until the client's end of stream
    ///         w.write(all)?;
    ///         w.close();
    ///         Ok(())
    ///     }, "server", 80).await?;
    ///     let (reader, writer) = open_connection("server", 80).await?;
    ///     writer.transport().write(b"abc")?;
    ///     writer.transport().write_eof(); // this end can still read
    ///     reader.read(-1).await
    /// });
    /// assert_eq!(got.unwrap(), b"abc");
    /// ```
    pub fn write_eof(&self) {
        self.end.write_eof()
    }

    /// True: a stream transport can half-close.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert!(writer.transport().can_write_eof());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Closes the transport: reading stops, the buffer drains, then the connection is lost
    /// and the end of the stream sent. Closing twice does nothing.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// t.close();
    /// assert!(t.is_closing());
    /// writer.wait_closed().await?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn close(&self) {
        self.end.close()
    }

    /// Closes at once: the buffered data is dropped and the connection lost on the next
    /// iteration (the data already on the wire still arrives, then the end of the stream).
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// writer.write(vec![0; 100_000])?;
    /// writer.transport().abort();
    /// assert_eq!(writer.transport().get_write_buffer_size(), 0);
    /// writer.wait_closed().await?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn abort(&self) {
        self.end.force_close(None)
    }

    /// True once [`close`](Self::close) or [`abort`](Self::abort) was called, or the connection
    /// was lost.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// assert!(!t.is_closing());
    /// t.abort();
    /// assert!(t.is_closing());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn is_closing(&self) -> bool {
        self.end.end().transport.borrow().closing
    }

    /// `"peername"` (the other end's address) or `"sockname"` (this end's); `None` for any
    /// other name.
    ///
    /// See [`StreamWriter::get_extra_info`](super::StreamWriter::get_extra_info) for an
    /// example.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// assert_eq!(t.get_extra_info("peername").unwrap(), ("server", 80));
    /// assert!(t.get_extra_info("socket").is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn get_extra_info(&self, name: &str) -> Option<Address> {
        match name {
            "peername" => Some(self.end.peer_end().sockname.clone()),
            "sockname" => Some(self.end.end().sockname.clone()),
            _ => None,
        }
    }

    /// Bytes written but not yet taken by the wire.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// assert_eq!(t.get_write_buffer_size(), 0);
    /// t.write(vec![0; 20_000])?; // the wire takes 16 KiB at once
    /// assert_eq!(t.get_write_buffer_size(), 20_000 - 16_384);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn get_write_buffer_size(&self) -> usize {
        self.end.end().transport.borrow().buffer.len()
    }

    /// `(low, high)`: the water marks.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// assert_eq!(writer.transport().get_write_buffer_limits(), (16 * 1024, 64 * 1024)); // (low, high)
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let t = self.end.end().transport.borrow();
        (t.low, t.high)
    }

    /// Sets the water marks as CPython does: with neither, 64 KiB and 16 KiB; with one, the
    /// other is 4 times more or a quarter of it. `Err(Value)` unless `high >= low`. Pauses the
    /// protocol if the buffer is already above the new high mark (it never resumes it).
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// t.set_write_buffer_limits(Some(1000), None)?;
    /// assert_eq!(t.get_write_buffer_limits(), (250, 1000));
    /// t.set_write_buffer_limits(None, Some(10))?;
    /// assert_eq!(t.get_write_buffer_limits(), (10, 40));
    /// assert!(t.set_write_buffer_limits(Some(1), Some(2)).is_err());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), Error> {
        let high = match (high, low) {
            (Some(h), _) => h,
            (None, None) => DEFAULT_HIGH_WATER,
            (None, Some(l)) => l.saturating_mul(4),
        };
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(Error::value(format!(
                "high ({high}) must be >= low ({low}) must be >= 0"
            )));
        }
        {
            let mut t = self.end.end().transport.borrow_mut();
            t.high = high;
            t.low = low;
        }
        self.end.maybe_pause_protocol();
        Ok(())
    }

    /// True while the protocol is paused (between `pause_writing` and `resume_writing`), that
    /// is while `drain()` blocks. CPython keeps it in the private `_protocol_paused`.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// t.set_write_buffer_limits(Some(100), None)?;
    /// t.write(vec![0; 20_000])?;
    /// assert!(t.is_writing_paused());
    /// writer.drain().await?;
    /// assert!(!t.is_writing_paused());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn is_writing_paused(&self) -> bool {
        self.end.end().transport.borrow().protocol_paused
    }

    /// Stops handing arriving data to the reader; the peer's wire stops too.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// t.pause_reading();
    /// assert!(!t.is_reading());
    /// t.resume_reading();
    /// assert!(t.is_reading());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn pause_reading(&self) {
        self.end.pause_reading()
    }

    /// Resumes reading: held data is handed to the reader on the next iteration.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// t.pause_reading();
    /// t.resume_reading();
    /// assert!(t.is_reading());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn resume_reading(&self) {
        self.end.resume_reading()
    }

    /// True unless reading is paused or the transport is closing.
    ///
    /// ```
    /// # use tulipsim::streams::{open_connection, start_server};
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// # let _s = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// let (_reader, writer) = open_connection("server", 80).await?;
    /// let t = writer.transport();
    /// assert!(t.is_reading());
    /// t.close();
    /// assert!(!t.is_reading()); // closing
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn is_reading(&self) -> bool {
        let t = self.end.end().transport.borrow();
        !t.closing && !t.reading_paused
    }
}

impl EndRef {
    fn state(&self) -> &RefCell<TransportState> {
        &self.end().transport
    }

    /// The peer takes data: its reading is not paused (the receive window is open), or it is
    /// closing (what arrives then is dropped, or answered with a reset).
    fn window_open(&self) -> bool {
        let peer = self.peer_end().transport.borrow();
        !peer.reading_paused || peer.closing
    }

    /// `_SelectorSocketTransport.write`.
    pub(crate) fn write(&self, data: &[u8]) -> Result<(), Error> {
        let mut rest = data;
        {
            let mut t = self.state().borrow_mut();
            if t.shut {
                return Err(Error::BrokenPipe("[Errno 32] Broken pipe".into()));
            }
            if t.eof {
                return Err(Error::runtime("Cannot call write() after write_eof()"));
            }
            if data.is_empty() {
                return Ok(());
            }
            if t.conn_lost > 0 {
                t.conn_lost += 1;
                return Ok(());
            }
            let idle = t.buffer.is_empty() && !t.pull_pending && self.now() >= t.busy_until;
            drop(t);
            if idle && self.window_open() {
                // Try to send now: the idle wire takes one segment.
                let n = rest.len().min(self.segment());
                self.put_on_wire(rest[..n].to_vec());
                rest = &rest[n..];
                if rest.is_empty() {
                    return Ok(());
                }
            }
        }
        self.state().borrow_mut().buffer.extend_from_slice(rest);
        self.schedule_pull();
        self.maybe_pause_protocol();
        Ok(())
    }

    /// The wire carries `bytes` from now (or from when it is free), and the peer gets them a
    /// latency after.
    fn put_on_wire(&self, bytes: Vec<u8>) {
        let link = self.link();
        let arrival = {
            let mut t = self.state().borrow_mut();
            let start = t.busy_until.max(self.now());
            t.busy_until = start.saturating_add(link.transmit_ns(bytes.len()));
            t.busy_until.saturating_add(link.latency_ns())
        };
        self.send(Packet::Data(bytes), arrival);
    }

    /// Arranges for the wire to take the next segment when it is free, if there is one and
    /// the peer takes data.
    fn schedule_pull(&self) {
        {
            let t = self.state().borrow();
            if t.pull_pending || t.buffer.is_empty() || t.conn_lost > 0 {
                return;
            }
        }
        if !self.window_open() {
            return; // the peer's resume_reading calls again
        }
        let when = {
            let mut t = self.state().borrow_mut();
            t.pull_pending = true;
            t.busy_until.max(self.now())
        };
        let Some(lp) = self.loop_inner() else {
            return;
        };
        let me = self.clone();
        lp.call_at_nanos_exact(when, move || me.pull());
    }

    /// `_write_ready`: the wire is free; it takes the next segment of the buffer.
    fn pull(&self) {
        let chunk = {
            let mut t = self.state().borrow_mut();
            t.pull_pending = false;
            if t.conn_lost > 0 || t.buffer.is_empty() {
                return;
            }
            drop(t);
            if !self.window_open() {
                return;
            }
            let n = self.segment();
            let mut t = self.state().borrow_mut();
            let n = n.min(t.buffer.len());
            t.buffer.drain(..n).collect::<Vec<u8>>()
        };
        self.put_on_wire(chunk);
        self.maybe_resume_protocol();
        let (empty, closing, eof) = {
            let t = self.state().borrow();
            (t.buffer.is_empty(), t.closing, t.eof)
        };
        if !empty {
            self.schedule_pull();
        } else if closing {
            self.call_connection_lost(None);
        } else if eof {
            self.send_fin();
        }
    }

    /// `_maybe_pause_protocol`.
    pub(crate) fn maybe_pause_protocol(&self) {
        {
            let mut t = self.state().borrow_mut();
            if t.buffer.len() <= t.high || t.protocol_paused {
                return;
            }
            t.protocol_paused = true;
        }
        self.pause_writing();
    }

    /// `_maybe_resume_protocol`.
    fn maybe_resume_protocol(&self) {
        {
            let mut t = self.state().borrow_mut();
            if !t.protocol_paused || t.buffer.len() > t.low {
                return;
            }
            t.protocol_paused = false;
        }
        self.resume_writing();
    }

    /// The end of the stream goes after everything on the wire.
    fn send_fin(&self) {
        let arrival = {
            let mut t = self.state().borrow_mut();
            if t.fin_sent {
                return;
            }
            t.fin_sent = true;
            t.busy_until.max(self.now())
        };
        self.send(
            Packet::Fin,
            arrival.saturating_add(self.link().latency_ns()),
        );
    }

    pub(crate) fn write_eof(&self) {
        let empty = {
            let mut t = self.state().borrow_mut();
            if t.closing || t.eof {
                return;
            }
            t.eof = true;
            t.buffer.is_empty()
        };
        if empty {
            self.send_fin();
        }
    }

    /// The half-close fault: this end's write side is shut, after what it already accepted.
    pub(crate) fn shut_write(&self) {
        self.state().borrow_mut().shut = true;
        self.write_eof();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.state().borrow().closing
    }

    pub(crate) fn close(&self) {
        let lose_now = {
            let mut t = self.state().borrow_mut();
            if t.closing {
                return;
            }
            t.closing = true;
            // Else `pull` loses the connection once the buffer is on the wire.
            t.conn_lost += u32::from(t.buffer.is_empty());
            t.buffer.is_empty()
        };
        if lose_now {
            self.call_soon(|end| end.call_connection_lost(None));
        }
        // Our window opens: what the peer sends now is dropped, then refused.
        self.peer().schedule_pull();
    }

    /// `_force_close`: drop the buffer, lose the connection on the next iteration.
    pub(crate) fn force_close(&self, exc: Option<Error>) {
        let buffer = {
            let mut t = self.state().borrow_mut();
            if t.conn_lost > 0 {
                return;
            }
            t.closing = true;
            t.conn_lost += 1;
            std::mem::take(&mut t.buffer)
        };
        drop(buffer);
        self.call_soon(move |end| end.call_connection_lost(exc));
        self.peer().schedule_pull();
    }

    /// `_call_connection_lost`: tell the protocol, close the socket.
    pub(crate) fn call_connection_lost(&self, exc: Option<Error>) {
        self.state().borrow_mut().sock_closed = true;
        self.protocol_connection_lost(exc.as_ref());
        if exc.is_none() {
            self.send_fin();
        }
        let server = self.end().server.borrow_mut().take();
        if let Some(server) = server {
            server.detach();
        }
    }

    /// A reset arrived: the connection is lost with `ConnectionResetError`.
    pub(crate) fn reset_received(&self) {
        {
            let mut t = self.state().borrow_mut();
            if t.sock_closed {
                return;
            }
            t.fin_sent = true; // nothing more goes out
        }
        self.force_close(Some(Error::ConnectionReset(
            "[Errno 104] Connection reset by peer".into(),
        )));
    }

    /// Data or the end of the stream arrived.
    pub(crate) fn receive(&self, packet: Packet) {
        let mut t = self.state().borrow_mut();
        if t.sock_closed {
            let reset = matches!(packet, Packet::Data(_)) && !t.rst_sent;
            t.rst_sent |= reset;
            drop(t);
            if reset {
                self.send_after_latency(Packet::Rst);
            }
            return;
        }
        if t.closing || t.eof_received {
            return; // the reader was removed
        }
        if t.reading_paused || !t.held.is_empty() {
            t.held.push_back(packet);
            return;
        }
        drop(t);
        self.process(packet);
    }

    /// `data_received` or `eof_received`.
    fn process(&self, packet: Packet) {
        match packet {
            Packet::Data(data) => self.feed_data(data),
            Packet::Fin => {
                // StreamReaderProtocol keeps the transport open: it stops reading only.
                self.state().borrow_mut().eof_received = true;
                self.feed_eof();
            }
            _ => {}
        }
    }

    /// Reading resumed: hand the held packets over while it stays resumed.
    fn read_ready(&self) {
        self.state().borrow_mut().read_ready_pending = false;
        loop {
            let packet = {
                let mut t = self.state().borrow_mut();
                if t.closing || t.reading_paused || t.eof_received {
                    return;
                }
                t.held.pop_front()
            };
            match packet {
                Some(p) => self.process(p),
                None => return,
            }
        }
    }

    pub(crate) fn pause_reading(&self) {
        let mut t = self.state().borrow_mut();
        if t.closing || t.reading_paused {
            return;
        }
        t.reading_paused = true;
    }

    pub(crate) fn resume_reading(&self) {
        let read_ready = {
            let mut t = self.state().borrow_mut();
            if t.closing || !t.reading_paused {
                return;
            }
            t.reading_paused = false;
            let ready = !t.held.is_empty() && !t.read_ready_pending;
            t.read_ready_pending |= ready;
            ready
        };
        if read_ready {
            self.call_soon(|end| end.read_ready());
        }
        self.peer().schedule_pull();
    }

    /// The client end gave up on connecting or was refused: no protocol, a closed socket.
    pub(crate) fn mark_dead(&self) {
        let mut t = self.state().borrow_mut();
        t.closing = true;
        t.conn_lost = t.conn_lost.max(1);
        t.sock_closed = true;
        t.fin_sent = true;
    }
}
