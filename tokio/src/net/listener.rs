//! `TcpListener`: a tulipsim server whose connections queue up for `accept`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use tulipsim::streams::{StreamReader, StreamWriter};

use super::addr::{first, ip_of, ToSocketAddrs};
use super::{io_error, TcpStream};
use crate::local::Local;
use crate::on_loop::OnLoop;

/// Accepted connections not yet taken by `accept`.
#[derive(Default)]
struct Backlog {
    queue: VecDeque<(StreamReader, StreamWriter)>,
    waker: Option<Waker>,
}

struct Listening {
    server: tulipsim::Server,
    backlog: Rc<RefCell<Backlog>>,
    addr: SocketAddr,
}

impl Drop for Listening {
    fn drop(&mut self) {
        // While the loop closes, its network is being shut down anyway.
        if tulipsim::get_running_loop().is_err() {
            return;
        }
        self.server.close();
        // Connections nobody accepted are closed, as the kernel resets them.
        let pending: Vec<_> = self.backlog.borrow_mut().queue.drain(..).collect();
        for (_, writer) in pending {
            writer.close();
        }
    }
}

/// A TCP listener on the simulated network (tokio's `TcpListener`).
///
/// See the [module docs](super) for an example.
pub struct TcpListener {
    inner: Local<Listening>,
}

impl TcpListener {
    /// Listens at `addr`; port 0 picks a free port ([`local_addr`](Self::local_addr) says
    /// which). `AddrInUse` if something already listens there.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use tokio::net::TcpListener;
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let a = TcpListener::bind("127.0.0.1:6379").await.unwrap();
    ///     assert_eq!(a.local_addr().unwrap().to_string(), "127.0.0.1:6379");
    ///     let again = TcpListener::bind("0.0.0.0:6379").await.unwrap_err();
    ///     assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addr = first(&addr)?;
        // Only `Send` values live across the await: the backlog waits in a `Local`.
        let (binding, backlog) = start_listening(&addr)?;
        let server = binding.await.map_err(io_error)?;
        let sockets = server.sockets();
        let bound = sockets
            .first()
            .ok_or_else(|| io::Error::other("not listening"))?;
        let addr = SocketAddr::new(ip_of(bound.host()), bound.port());
        Ok(TcpListener {
            inner: Local::new(Listening {
                server,
                backlog: backlog.get(),
                addr,
            }),
        })
    }

    /// Waits for a connection; gives the stream and the peer's address.
    ///
    /// See the [module docs](super) for an example.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    ///
    /// See the [module docs](super) for an example (through `accept`).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let listening = self.inner.get();
        let mut backlog = listening.backlog.borrow_mut();
        match backlog.queue.pop_front() {
            Some((reader, writer)) => {
                drop(backlog);
                let stream = TcpStream::from_parts(reader, writer);
                let peer = stream.peer_addr()?;
                Poll::Ready(Ok((stream, peer)))
            }
            None => {
                backlog.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The address it listens at.
    ///
    /// See [`bind`](Self::bind) for an example.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.get().addr)
    }

    /// Accepted and ignored: the simulated network has no TTL.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// tulipsim::EventLoop::new().run_until_complete(async {
    ///     let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     l.set_ttl(64).unwrap();
    ///     assert_eq!(l.ttl().unwrap(), 64);
    ///     Ok(())
    /// }).unwrap();
    /// # }
    /// ```
    pub fn set_ttl(&self, _ttl: u32) -> io::Result<()> {
        Ok(())
    }

    /// Always 64; see [`set_ttl`](Self::set_ttl).
    ///
    /// See [`set_ttl`](Self::set_ttl) for an example.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(64)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.inner.try_get().map(|l| l.addr);
        f.debug_struct("TcpListener").field("addr", &addr).finish()
    }
}

/// Starts a tulipsim server whose handler queues each connection in the backlog.
fn start_listening(
    addr: &super::addr::SimAddr,
) -> io::Result<(OnLoop<tulipsim::Server>, Local<RefCell<Backlog>>)> {
    let backlog: Rc<RefCell<Backlog>> = Rc::default();
    let queue = Rc::downgrade(&backlog);
    let start = tulipsim::start_server(
        move |reader, writer| {
            match queue.upgrade() {
                Some(q) => {
                    let mut q = q.borrow_mut();
                    q.queue.push_back((reader, writer));
                    if let Some(w) = q.waker.take() {
                        w.wake();
                    }
                }
                None => writer.close(),
            }
            std::future::ready(Ok(()))
        },
        &addr.host,
        addr.port,
    );
    let name = format!("bind {}:{}", addr.host, addr.port);
    let binding = OnLoop::spawn(&name, async move { start.await })
        .map_err(|e| no_runtime("TcpListener::bind", e))?;
    Ok((binding, Local::from_rc(backlog)))
}

/// Outside a simulation there is no network to use: say so, naming the call.
pub(crate) fn no_runtime(what: &str, e: tulipsim::Error) -> io::Error {
    io::Error::other(format!(
        "{what}: there is no running simulation ({e}); with tulipsim-tokio (--cfg tulipsim) \
         the network is simulated inside #[tokio::test], #[tokio::main] or Runtime::block_on"
    ))
}
