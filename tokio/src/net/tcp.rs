//! The halves of a split [`TcpStream`] (tokio's `net::tcp`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stream::{Conn, TcpStream};
use crate::local::Local;

/// The borrowed read half of [`TcpStream::split`].
///
/// See [`TcpStream::split`] for an example.
#[derive(Debug)]
pub struct ReadHalf<'a> {
    pub(crate) stream: &'a TcpStream,
}

/// The borrowed write half of [`TcpStream::split`].
///
/// See [`TcpStream::split`] for an example.
#[derive(Debug)]
pub struct WriteHalf<'a> {
    pub(crate) stream: &'a TcpStream,
}

/// The owned read half of [`TcpStream::into_split`].
///
/// See [`TcpStream::into_split`] for an example.
pub struct OwnedReadHalf {
    pub(crate) conn: Arc<Local<Conn>>,
}

/// The owned write half of [`TcpStream::into_split`]; dropping it shuts down the write side.
///
/// See [`TcpStream::into_split`] for an example.
pub struct OwnedWriteHalf {
    conn: Arc<Local<Conn>>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams.
///
/// See [`OwnedReadHalf::reunite`] for an example.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

impl OwnedReadHalf {
    /// The stream again, from its two halves.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// # use tokio::net::{TcpListener, TcpStream};
    /// # tulipsim::EventLoop::new().run_until_complete(async {
    /// # let _l = TcpListener::bind("127.0.0.1:80").await.unwrap();
    /// let stream = TcpStream::connect("127.0.0.1:80").await.unwrap();
    /// let (rd, wr) = stream.into_split();
    /// let _stream = rd.reunite(wr).unwrap();
    /// # Ok(()) }).unwrap();
    /// # }
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if Arc::ptr_eq(&self.conn, &other.conn) {
            let mut other = other;
            other.shutdown_on_drop = false;
            Ok(TcpStream {
                conn: self.conn.clone(),
            })
        } else {
            Err(ReuniteError(self, other))
        }
    }

    /// The address of the other end.
    ///
    /// See [`TcpStream::local_addr`] for an example.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.get().peer_addr()
    }

    /// The address of this end.
    ///
    /// See [`TcpStream::local_addr`] for an example.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.get().local_addr()
    }
}

impl OwnedWriteHalf {
    pub(crate) fn new(conn: Arc<Local<Conn>>) -> OwnedWriteHalf {
        OwnedWriteHalf {
            conn,
            shutdown_on_drop: true,
        }
    }

    /// Drops the half without shutting down the write side.
    ///
    /// See [`TcpStream::into_split`] for an example of the halves.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The address of the other end.
    ///
    /// See [`TcpStream::local_addr`] for an example.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.get().peer_addr()
    }

    /// The address of this end.
    ///
    /// See [`TcpStream::local_addr`] for an example.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.get().local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop && tulipsim::get_running_loop().is_ok() {
            if let Some(conn) = self.conn.try_get() {
                conn.shutdown_write();
            }
        }
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedReadHalf")
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedWriteHalf")
    }
}

macro_rules! read_half {
    ($t:ty, $conn:ident => $e:expr) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let $conn = &*self;
                $e.get().poll_read(cx, buf)
            }
        }
    };
}

macro_rules! write_half {
    ($t:ty, $conn:ident => $e:expr) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $conn = &*self;
                $e.get().poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $conn = &*self;
                $e.get().shutdown_write();
                Poll::Ready(Ok(()))
            }
        }
    };
}

read_half!(ReadHalf<'_>, h => h.stream.conn);
read_half!(OwnedReadHalf, h => h.conn);
write_half!(WriteHalf<'_>, h => h.stream.conn);
write_half!(OwnedWriteHalf, h => h.conn);
