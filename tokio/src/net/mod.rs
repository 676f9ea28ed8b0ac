//! tokio's `net` module on tulipsim's simulated network: no real socket is ever opened.
//!
//! [`TcpListener`] and [`TcpStream`] are tulipsim's streams (`start_server`,
//! `open_connection`) behind tokio's API: bytes take virtual time to cross a link, writers are
//! held back by flow control, and every network fault applies (delays, resets, partitions,
//! half-closes, unresponsive hosts). Hosts are named as in [`ToSocketAddrs`]; binding port 0
//! picks a free port, as it does on a real machine.
//!
//! ```
//! # use tulipsim_tokio as tokio;
//! # #[cfg(tulipsim)] {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::{TcpListener, TcpStream};
//! tulipsim::EventLoop::new().run_until_complete(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     tokio::spawn(async move {
//!         let (mut socket, _) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         socket.read_exact(&mut buf).await.unwrap();
//!         socket.write_all(&buf).await.unwrap(); // echo
//!     });
//!     let mut client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     let mut reply = [0; 5];
//!     client.read_exact(&mut reply).await.unwrap();
//!     assert_eq!(&reply, b"hello");
//!     Ok(())
//! }).unwrap();
//! # }
//! ```

mod addr;
mod listener;
mod stream;
pub mod tcp;

use std::io;
use std::net::SocketAddr;

pub use addr::ToSocketAddrs;
pub use listener::TcpListener;
pub use stream::TcpStream;

/// Resolves `host` on the simulated network (tokio's `lookup_host`; no DNS is asked).
///
/// See [`ToSocketAddrs`] for an example.
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    let addrs = host.to_sim_addrs()?;
    Ok(addrs
        .into_iter()
        .map(|a| a.socket_addr())
        .collect::<Vec<_>>()
        .into_iter())
}

/// A tulipsim error as the `io::Error` tokio would give.
pub(crate) fn io_error(e: tulipsim::Error) -> io::Error {
    let kind = match &e {
        tulipsim::Error::ConnectionRefused(_) => io::ErrorKind::ConnectionRefused,
        tulipsim::Error::ConnectionReset(_) => io::ErrorKind::ConnectionReset,
        tulipsim::Error::BrokenPipe(_) => io::ErrorKind::BrokenPipe,
        tulipsim::Error::Os(m) if m.contains("in use") => io::ErrorKind::AddrInUse,
        tulipsim::Error::Cancelled(_) => io::ErrorKind::Interrupted,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}
