//! `TcpStream`: one end of a tulipsim connection behind tokio's `AsyncRead`/`AsyncWrite`.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tulipsim::streams::{Address, StreamReader, StreamWriter};

use super::addr::{first, ip_of, ToSocketAddrs, LOCAL_HOST};
use super::io_error;
use super::listener::no_runtime;
use super::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::local::Local;
use crate::on_loop::OnLoop;

/// The connection end both halves of a split stream share.
pub(crate) struct Conn {
    reader: StreamReader,
    writer: StreamWriter,
    nodelay: Cell<bool>,
    /// `shutdown()` was called (or an owned write half dropped): writes are a broken pipe.
    write_shut: Cell<bool>,
}

impl Drop for Conn {
    /// Dropping the last handle closes the socket: what was written is still sent, then EOF.
    fn drop(&mut self) {
        // While the loop closes (no running loop), everything is being freed anyway.
        if tulipsim::get_running_loop().is_ok() && !self.writer.is_closing() {
            self.writer.close();
        }
    }
}

fn socket_addr(addr: Option<Address>) -> io::Result<SocketAddr> {
    let addr = addr.ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
    Ok(SocketAddr::new(ip_of(addr.host()), addr.port()))
}

impl Conn {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.reader.poll_read(cx, buf.initialize_unfilled()) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(io_error(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match self.writer.poll_drain(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(io_error(e))),
            Poll::Ready(Ok(())) => {}
        }
        if self.write_shut.get() || self.writer.is_closing() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "Broken pipe: the stream's write side is shut down",
            )));
        }
        Poll::Ready(self.writer.write(buf).map(|()| buf.len()).map_err(io_error))
    }

    pub(crate) fn shutdown_write(&self) {
        if !self.write_shut.replace(true) && !self.writer.is_closing() {
            self.writer.write_eof();
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(self.writer.get_extra_info("peername"))
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(self.writer.get_extra_info("sockname"))
    }
}

/// A TCP connection on the simulated network (tokio's `TcpStream`).
///
/// Dropping it closes the connection once what was written is sent;
/// [`shutdown`](tokio::io::AsyncWriteExt::shutdown) shuts down the write side only (the peer
/// reads EOF, and can still answer).
///
/// See the [module docs](super) for an example.
pub struct TcpStream {
    pub(crate) conn: Arc<Local<Conn>>,
}

impl TcpStream {
    pub(crate) fn from_parts(reader: StreamReader, writer: StreamWriter) -> TcpStream {
        TcpStream {
            conn: Arc::new(Local::new(Conn {
                reader,
                writer,
                nodelay: Cell::new(false),
                write_shut: Cell::new(false),
            })),
        }
    }

    /// Connects to `addr` from the local host: one round trip of virtual time, or
    /// `ConnectionRefused` if nothing listens there.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use tokio::net::TcpStream;
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let refused = TcpStream::connect("127.0.0.1:1").await.unwrap_err();
    ///     assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addr = first(&addr)?;
        let name = format!("connect {}:{}", addr.host, addr.port);
        let connect = tulipsim::open_connection(&addr.host, addr.port).local_host(LOCAL_HOST);
        let (reader, writer) = OnLoop::spawn(&name, async move { connect.await })
            .map_err(|e| no_runtime("TcpStream::connect", e))?
            .await
            .map_err(io_error)?;
        Ok(TcpStream::from_parts(reader, writer))
    }

    /// The address of the other end.
    ///
    /// See [`local_addr`](Self::local_addr) for an example.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.get().peer_addr()
    }

    /// The address of this end.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use tokio::net::{TcpListener, TcpStream};
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let listener = TcpListener::bind("db:5432").await.unwrap();
    ///     let client = TcpStream::connect("db:5432").await.unwrap();
    ///     let (server_side, peer) = listener.accept().await.unwrap();
    ///     assert_eq!(client.peer_addr().unwrap(), listener.local_addr().unwrap());
    ///     assert_eq!(client.local_addr().unwrap(), peer);
    ///     assert_eq!(server_side.peer_addr().unwrap(), peer);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.get().local_addr()
    }

    /// Remembered, without effect: the simulated network does not batch small writes.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// # use tokio::net::{TcpListener, TcpStream};
    /// # tulipsim::EventLoop::new().run_until_complete(async {
    /// # let _l = TcpListener::bind("127.0.0.1:80").await.unwrap();
    /// let stream = TcpStream::connect("127.0.0.1:80").await.unwrap();
    /// stream.set_nodelay(true).unwrap();
    /// assert!(stream.nodelay().unwrap());
    /// # Ok(()) }).unwrap();
    /// # }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.conn.get().nodelay.set(nodelay);
        Ok(())
    }

    /// What [`set_nodelay`](Self::set_nodelay) was given.
    ///
    /// See [`set_nodelay`](Self::set_nodelay) for an example.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.conn.get().nodelay.get())
    }

    /// Borrowed read and write halves, usable at the same time.
    ///
    /// See [`into_split`](Self::into_split) for an example of the owned ones.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf { stream: self }, WriteHalf { stream: self })
    }

    /// Owned read and write halves, for two tasks (tokio's `into_split`). Dropping the write
    /// half shuts down the write side; the connection closes when both are dropped.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use tokio::net::{TcpListener, TcpStream};
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let listener = TcpListener::bind("127.0.0.1:7").await.unwrap();
    ///     tokio::spawn(async move {
    ///         let (socket, _) = listener.accept().await.unwrap();
    ///         let (mut rd, mut wr) = socket.into_split();
    ///         tokio::io::copy(&mut rd, &mut wr).await.unwrap(); // echo until EOF
    ///     });
    ///     let (mut rd, mut wr) = TcpStream::connect("127.0.0.1:7").await.unwrap().into_split();
    ///     wr.write_all(b"ping").await.unwrap();
    ///     drop(wr); // EOF: the echo loop ends, and the server's end closes
    ///     let mut echoed = Vec::new();
    ///     rd.read_to_end(&mut echoed).await.unwrap();
    ///     assert_eq!(echoed, b"ping");
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                conn: self.conn.clone(),
            },
            OwnedWriteHalf::new(self.conn),
        )
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.conn.get().poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.get().poll_write(cx, buf)
    }

    /// Written bytes are already on their way: nothing to flush, as for tokio's `TcpStream`.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.get().shutdown_write();
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let conn = self.conn.try_get();
        f.debug_struct("TcpStream")
            .field("local", &conn.as_ref().and_then(|c| c.local_addr().ok()))
            .field("peer", &conn.as_ref().and_then(|c| c.peer_addr().ok()))
            .finish()
    }
}
