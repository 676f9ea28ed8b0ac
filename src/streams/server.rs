//! `start_server`, `Server` and `open_connection`, as asyncio's `streams.py` and
//! `base_events.Server` have them, on the simulated network.
//!
//! A server listens at a `(host, port)` of the loop's [`Network`](super::Network). Each
//! connection it accepts gets a [`StreamReader`] and a [`StreamWriter`], and the handler runs
//! on them as a task of its own (asyncio's `client_connected_cb`, made a task). A handler that
//! fails is reported to the loop's exception handler ("Unhandled exception in
//! client_connected_cb") and its connection is closed.
//!
//! `open_connection(host, port)` connects from the host `"client"`;
//! [`local_host`](OpenConnection::local_host) picks another, so that links between named hosts
//! apply. It returns once the listener has answered, one round trip later.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future as StdFuture, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use super::network::{Address, NetworkInner};
use super::reader::{StreamReader, DEFAULT_LIMIT};
use super::wire::{Conn, EndRef, Packet, CLIENT};
use super::writer::StreamWriter;
use crate::base_events::{ExceptionContext, LoopInner};
use crate::events;
use crate::exceptions::Error;
use crate::futures::Future;

type Site = &'static Location<'static>;
type HandlerFuture = Pin<Box<dyn StdFuture<Output = Result<(), Error>>>>;
type Handler = Rc<dyn Fn(StreamReader, StreamWriter) -> HandlerFuture>;

/// The host `open_connection` connects from unless told otherwise.
const DEFAULT_CLIENT_HOST: &str = "client";

/// A listening server's state (asyncio's `Server`).
pub(crate) struct ServerInner {
    lp: Weak<LoopInner>,
    net: Weak<NetworkInner>,
    /// `None` once closed.
    sockets: RefCell<Option<Vec<Address>>>,
    /// Dropped on close: it may hold anything, this server included.
    handler: RefCell<Option<Handler>>,
    limit: usize,
    active: Cell<usize>,
    /// `None` once woken: closed and every connection gone.
    waiters: RefCell<Option<Vec<Future<()>>>>,
    site: Site,
}

impl ServerInner {
    fn is_serving(&self) -> bool {
        self.sockets.borrow().is_some()
    }

    fn attach(&self) {
        self.active.set(self.active.get() + 1);
    }

    /// A connection of this server is lost.
    pub(crate) fn detach(&self) {
        self.active.set(self.active.get().saturating_sub(1));
        if self.active.get() == 0 && !self.is_serving() {
            self.wakeup();
        }
    }

    fn wakeup(&self) {
        let waiters = self.waiters.borrow_mut().take();
        for w in waiters.iter().flatten().filter(|w| !w.done()) {
            let _ = w.set_result(());
        }
    }

    fn close(self: &Rc<Self>) {
        let Some(sockets) = self.sockets.borrow_mut().take() else {
            return;
        };
        if let Some(net) = self.net.upgrade() {
            let mut listeners = net.listeners.borrow_mut();
            for addr in &sockets {
                if listeners.get(addr).is_some_and(|s| Rc::ptr_eq(s, self)) {
                    let gone = listeners.remove(addr);
                    drop(gone);
                }
            }
        }
        let handler = self.handler.borrow_mut().take();
        drop(handler);
        if self.active.get() == 0 {
            self.wakeup();
        }
    }

    /// The loop is closing: stop without waking anyone (nothing can run any more).
    pub(crate) fn shut(&self) {
        let sockets = self.sockets.borrow_mut().take();
        let handler = self.handler.borrow_mut().take();
        let waiters = self.waiters.borrow_mut().take();
        drop((sockets, handler, waiters));
    }
}

/// asyncio's `Server`: what [`start_server`] returns.
///
/// Closing it stops listening (connections already made go on, as in asyncio);
/// [`wait_closed`](Self::wait_closed) waits until it is closed and all its connections are
/// gone. Clones are handles to the same server.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::{Error, EventLoop};
///
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     let server = start_server(|_r, w| async move {
///         w.close();
///         Ok(())
///     }, "server", 8888).await?;
///     assert!(server.is_serving());
///     assert_eq!(server.sockets(), [("server", 8888)]);
///     let (reader, _w) = open_connection("server", 8888).await?;
///     assert_eq!(reader.read(-1).await?, b""); // the handler closed it
///     server.close();
///     server.wait_closed().await?;
///     let refused = open_connection("server", 8888).await.unwrap_err();
///     assert!(matches!(refused, Error::ConnectionRefused(_)));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Rc<ServerInner>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Server sockets={:?}>", self.sockets())
    }
}

impl Server {
    /// Stops listening: new connection requests are refused. Connections already accepted
    /// are not closed. Closing twice does nothing.
    ///
    /// ```
    /// # use tulipsim::streams::start_server;
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// server.close();
    /// server.close(); // twice: nothing more
    /// assert!(!server.is_serving());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn close(&self) {
        self.inner.close()
    }

    /// Waits until the server is closed and every connection it accepted is lost (Python
    /// 3.12.1's rule; 3.11 returns at once when the server is closed already, see
    /// `docs/semantics.md`).
    ///
    /// ```
    /// # use tulipsim::streams::start_server;
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// server.close();
    /// server.wait_closed().await?; // no connection was made: at once
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn wait_closed(&self) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move {
            let waiter = {
                let mut waiters = inner.waiters.borrow_mut();
                let Some(waiters) = waiters.as_mut() else {
                    return Ok(());
                };
                let w = Future::bound(inner.lp.clone(), site);
                waiters.push(w.clone());
                w
            };
            waiter.wait_at(site).await
        }
    }

    /// True until [`close`](Self::close).
    ///
    /// ```
    /// # use tulipsim::streams::start_server;
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// assert!(server.is_serving());
    /// server.close();
    /// assert!(!server.is_serving());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn is_serving(&self) -> bool {
        self.inner.is_serving()
    }

    /// The addresses it listens at; none once closed.
    ///
    /// ```
    /// # use tulipsim::streams::start_server;
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    /// assert_eq!(server.sockets(), [("server", 80)]);
    /// server.close();
    /// assert!(server.sockets().is_empty());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn sockets(&self) -> Vec<Address> {
        self.inner.sockets.borrow().clone().unwrap_or_default()
    }
}

/// asyncio's `start_server(client_connected_cb, host, port)`: listens at `(host, port)` of
/// the running loop's network and runs `handler(reader, writer)` as a task for each
/// connection. Port 0 picks a free ephemeral port ([`Server::sockets`] says which).
///
/// Awaiting it gives the [`Server`]: `Err(Os)` if something already listens there,
/// `Err(Value)` for a zero limit, `Err(Runtime)` outside a running loop. Set the readers' limit
/// (default 64 KiB) with [`limit`](StartServer::limit).
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// let lp = tulipsim::EventLoop::new();
/// let reply = lp.run_until_complete(async {
///     // An echo server: one task per connection runs the handler.
///     let _server = start_server(|reader, writer| async move {
///         let line = reader.readline().await?;
///         writer.write(line)?;
///         writer.drain().await
///     }, "server", 7).await?;
///     let (reader, writer) = open_connection("server", 7).await?;
///     writer.write(b"hello\n")?;
///     reader.readline().await
/// });
/// assert_eq!(reply.unwrap(), b"hello\n");
/// ```
#[track_caller]
pub fn start_server<F, Fut>(handler: F, host: &str, port: u16) -> StartServer
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: StdFuture<Output = Result<(), Error>> + 'static,
{
    StartServer {
        handler: Rc::new(move |r, w| -> HandlerFuture { Box::pin(handler(r, w)) }),
        host: host.into(),
        port,
        limit: DEFAULT_LIMIT,
        site: Location::caller(),
    }
}

/// The awaitable [`start_server`] returns; set options before awaiting it.
///
/// ```
/// use tulipsim::streams::start_server;
/// let lp = tulipsim::EventLoop::new();
/// lp.run_until_complete(async {
///     let starting: tulipsim::streams::StartServer =
///         start_server(|_r, _w| async { Ok(()) }, "server", 80).limit(1024);
///     let server = starting.await?;
///     assert!(server.is_serving());
///     Ok(())
/// }).unwrap();
/// ```
#[must_use = "start_server() does nothing until awaited"]
pub struct StartServer {
    handler: Handler,
    host: Rc<str>,
    port: u16,
    limit: usize,
    site: Site,
}

impl StartServer {
    /// The limit of each connection's [`StreamReader`] (asyncio's `limit=`): the longest line
    /// or separated chunk, and half the buffer size at which reading pauses.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// # lp.run_until_complete(async {
    /// let server = tulipsim::streams::start_server(|_r, _w| async { Ok(()) }, "s", 1)
    ///     .limit(1024)
    ///     .await?;
    /// # drop(server); Ok(()) }).unwrap();
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    fn start(self) -> Result<Server, Error> {
        if self.limit == 0 {
            return Err(Error::value("Limit cannot be <= 0"));
        }
        let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
        let net = NetworkInner::of(&lp);
        if net.closed.get() {
            return Err(Error::runtime("Event loop is closed"));
        }
        let port = match self.port {
            0 => net.ephemeral_port(&self.host),
            p => p,
        };
        let addr = Address::new(&self.host, port);
        if net.listeners.borrow().contains_key(&addr) {
            return Err(Error::Os(
                format!(
                    "[Errno 98] error while attempting to bind on address {addr}: \
                     address already in use"
                )
                .into(),
            ));
        }
        let inner = Rc::new(ServerInner {
            lp: Rc::downgrade(&lp),
            net: Rc::downgrade(&net),
            sockets: RefCell::new(Some(vec![addr.clone()])),
            handler: RefCell::new(Some(self.handler)),
            limit: self.limit,
            active: Cell::new(0),
            waiters: RefCell::new(Some(Vec::new())),
            site: self.site,
        });
        net.listeners.borrow_mut().insert(addr, inner.clone());
        Ok(Server { inner })
    }
}

impl IntoFuture for StartServer {
    type Output = Result<Server, Error>;
    type IntoFuture = Pin<Box<dyn StdFuture<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.start() })
    }
}

/// asyncio's `open_connection(host, port)`: connects to `(host, port)` on the running loop's
/// network, from the host `"client"` (see [`local_host`](OpenConnection::local_host)).
///
/// Awaiting it gives `(reader, writer)` one round trip later, or `Err(ConnectionRefused)` if
/// nothing listens there (also after a round trip). Cancelled while connecting, it abandons
/// the connection: the server's end, if it was accepted, is reset.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server};
/// use tulipsim::{Error, EventLoop};
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     let refused = open_connection("server", 80).await.unwrap_err();
///     assert!(matches!(refused, Error::ConnectionRefused(_)));
///     let _server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
///     let (_reader, writer) = open_connection("server", 80).await?;
///     assert_eq!(writer.get_extra_info("peername").unwrap(), ("server", 80));
///     Ok(())
/// }).unwrap();
/// ```
#[track_caller]
pub fn open_connection(host: &str, port: u16) -> OpenConnection {
    OpenConnection {
        host: host.into(),
        port,
        local_host: DEFAULT_CLIENT_HOST.into(),
        limit: DEFAULT_LIMIT,
        site: Location::caller(),
    }
}

/// The awaitable [`open_connection`] returns; set options before awaiting it.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server, OpenConnection};
/// let lp = tulipsim::EventLoop::new();
/// lp.run_until_complete(async {
///     let _server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
///     let connecting: OpenConnection = open_connection("server", 80).limit(100).local_host("me");
///     let (_reader, writer) = connecting.await?;
///     assert_eq!(writer.get_extra_info("sockname").unwrap().host(), "me");
///     Ok(())
/// }).unwrap();
/// ```
#[must_use = "open_connection() does nothing until awaited"]
pub struct OpenConnection {
    host: Rc<str>,
    port: u16,
    local_host: Rc<str>,
    limit: usize,
    site: Site,
}

impl OpenConnection {
    /// The limit of the returned [`StreamReader`] (asyncio's `limit=`, default 64 KiB).
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let r = lp.run_until_complete(async {
    ///     let _server = start_server(|_r, w| async move { w.write(b"a long line\n") }, "server", 80)
    ///         .await?;
    ///     let (reader, _writer) = open_connection("server", 80).limit(4).await?;
    ///     reader.readline().await
    /// });
    /// assert!(matches!(r, Err(Error::Value(_)))); // readline's error for a line over the limit
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The host to connect from (default `"client"`): the connection uses the link between it
    /// and the server's host, and the server sees it as the peer's host.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server, Network};
    /// let lp = tulipsim::EventLoop::new();
    /// Network::of(&lp).set_link("laptop", "server", 0.5, 1_000_000).unwrap();
    /// lp.run_until_complete(async {
    ///     let _server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
    ///     let (_reader, _writer) = open_connection("server", 80).local_host("laptop").await?;
    ///     Ok(())
    /// }).unwrap();
    /// assert_eq!(lp.time(), 1.0); // one round trip on the laptop's link
    /// ```
    pub fn local_host(mut self, host: &str) -> Self {
        self.local_host = host.into();
        self
    }

    async fn connect(self) -> Result<(StreamReader, StreamWriter), Error> {
        if self.limit == 0 {
            return Err(Error::value("Limit cannot be <= 0"));
        }
        let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
        let net = NetworkInner::of(&lp);
        let local = Address::new(&self.local_host, net.ephemeral_port(&self.local_host));
        let remote = Address::new(&self.host, self.port);
        let conn = Conn::new(&lp, &net, (local, remote), self.limit, self.site);
        let client = EndRef::new(&conn, CLIENT);
        let answer = Future::bound(Rc::downgrade(&lp), self.site);
        *client.end().connect_waiter.borrow_mut() = Some(answer.clone());
        client.send_after_latency(Packet::Syn);
        let mut abandon = Abandon(Some(client.clone()));
        answer.wait_at(self.site).await?;
        abandon.0 = None;
        Ok((StreamReader::new(client.clone()), StreamWriter::new(client)))
    }
}

impl IntoFuture for OpenConnection {
    type Output = Result<(StreamReader, StreamWriter), Error>;
    type IntoFuture = Pin<Box<dyn StdFuture<Output = Self::Output>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.connect())
    }
}

/// `open_connection` did not finish (cancelled, refused, or dropped): let go of the client end.
struct Abandon(Option<EndRef>);

impl Drop for Abandon {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else {
            return;
        };
        let waiter = client.end().connect_waiter.borrow_mut().take();
        drop(waiter);
        if client.end().transport.borrow().sock_closed {
            return; // refused
        }
        let connected = client.end().transport.borrow().is_connected();
        if connected {
            // The answer came, but too late for the caller: close it properly.
            client.close();
        } else {
            // A late answer is met with a reset.
            client.mark_dead();
        }
    }
}

/// A connection request reached `end` (the server end): accept it or refuse it.
pub(crate) fn accept(end: &EndRef) {
    let Some(lp) = end.loop_inner() else {
        return;
    };
    let server = end.conn.net.upgrade().and_then(|net| {
        let listeners = net.listeners.borrow();
        listeners.get(&end.end().sockname).cloned()
    });
    let handler = server
        .as_ref()
        .and_then(|s| s.handler.borrow().clone().filter(|_| s.is_serving()));
    let (Some(server), Some(handler)) = (server, handler) else {
        end.mark_dead();
        end.send_after_latency(Packet::Refused);
        return;
    };
    server.attach();
    end.end().reader.set_limit(server.limit);
    end.end().transport.borrow_mut().set_connected();
    *end.end().server.borrow_mut() = Some(server.clone());
    end.send_after_latency(Packet::SynAck);
    let coro = handler(
        StreamReader::new(end.clone()),
        StreamWriter::new(end.clone()),
    );
    drop(handler);
    let site = server.site;
    let task = crate::tasks::new_task(&lp, None, coro, site);
    let (me, lp_weak) = (end.clone(), Rc::downgrade(&lp));
    task.add_done_callback(move |t: &Future<()>| {
        if let Ok(Some(exc)) = t.exception() {
            if let Some(lp) = lp_weak.upgrade() {
                lp.report(ExceptionContext {
                    future: None,
                    message: "Unhandled exception in client_connected_cb".to_string(),
                    error: Some(exc),
                    task: t.as_task().map(|t| t.get_name()),
                    site: Some(site),
                });
            }
            me.close();
        }
    });
}

/// The listener's answer reached the client end.
pub(crate) fn connected(end: &EndRef) {
    let waiter = end.end().connect_waiter.borrow_mut().take();
    match waiter.filter(|w| !w.done()) {
        Some(w) if !end.end().transport.borrow().sock_closed => {
            end.end().transport.borrow_mut().set_connected();
            let _ = w.set_result(());
        }
        // Nobody waits any more: reset the server's end.
        _ => {
            end.mark_dead();
            end.send_after_latency(Packet::Rst);
        }
    }
}

/// The listener refused: `open_connection` fails.
pub(crate) fn refused(end: &EndRef) {
    end.mark_dead();
    let waiter = end.end().connect_waiter.borrow_mut().take();
    if let Some(w) = waiter.filter(|w| !w.done()) {
        let addr = &end.peer_end().sockname;
        let _ = w.set_exception(Error::ConnectionRefused(
            format!("[Errno 111] Connect call failed {addr}").into(),
        ));
    }
}

type Connection = (StreamReader, StreamWriter);

impl crate::tasks::private::Sealed<Connection> for OpenConnection {}

/// An `OpenConnection` is awaitable by the task functions as any coroutine is, so
/// `wait_for(open_connection(..), t)` and `create_task`-style helpers take it directly:
///
/// ```
/// use tulipsim::streams::open_connection;
/// use tulipsim::{wait_for, Error, EventLoop};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async { wait_for(open_connection("nowhere", 1), 1.0).await });
/// assert!(matches!(r, Err(Error::ConnectionRefused(_))));
/// ```
impl crate::tasks::Awaitable<Connection> for OpenConnection {
    fn ensure_on(
        self,
        lp: Option<&crate::events::LoopHandle>,
        site: &'static std::panic::Location<'static>,
    ) -> crate::tasks::private::Ensured<Connection> {
        self.into_future().ensure_on(lp, site)
    }

    fn into_direct(
        self,
        site: &'static std::panic::Location<'static>,
    ) -> crate::tasks::private::Direct<Connection> {
        self.into_future().into_direct(site)
    }

    fn outcome(ensured: &crate::tasks::private::Ensured<Connection>) -> Result<Connection, Error> {
        <<OpenConnection as IntoFuture>::IntoFuture as crate::tasks::Awaitable<Connection>>::outcome(
            ensured,
        )
    }
}
