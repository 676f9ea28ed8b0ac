//! The simulated network under [`streams`](super): hosts, listeners, links, and the packets of
//! each connection.
//!
//! # The model
//!
//! - **Hosts are names** (`"server"`, `"db-1"`), not IP addresses; an address is a host and a
//!   port ([`Address`]). A server listens at one address; a connection's client end gets an
//!   ephemeral port of its host, counted from 49152 in the order connections are made.
//! - **Links.** Every pair of hosts is joined by a link with a one-way **latency** (default
//!   1 ms) and a **bandwidth** in bytes per second (default 10 MB/s), the same in both
//!   directions; [`Network::set_link`] changes one pair, [`Network::set_default_link`] the rest.
//!   A host talking to itself uses the link `(host, host)`.
//! - **The wire.** Each direction of a connection has a wire that carries one *segment* at a
//!   time: at most [`segment_size`](Network::segment_size) bytes (default 16 KiB), taken from the
//!   front of the sender's write buffer when the wire is idle. A segment of `n` bytes occupies the
//!   wire for `n / bandwidth` seconds and arrives `latency` seconds after it has left it. So a
//!   chunk written at `t` on an idle wire arrives at `t + n / bandwidth + latency`, and nothing
//!   overtakes: the packets of one direction arrive in the order they were sent.
//! - **The write buffer** of a transport is what has been written but not yet taken by the
//!   wire; asyncio's flow control (high and low water marks, `drain()`) watches its size. See
//!   [`transport`](super::transport).
//! - **Receive window.** When a reader pauses its transport (its buffer passed twice its
//!   limit), the sender's wire stops taking segments at once, and starts again when the reader
//!   resumes: the backpressure of a slow reader reaches the writer. Segments already on their
//!   way are held by the receiving end until it reads again. No acknowledgement traffic is
//!   simulated.
//! - **Delivery is a timer.** Every packet (connection request, data, end of stream, reset) is
//!   one `call_at` timer at its arrival time, so the virtual clock moves to it and the loop's
//!   decision point sees it like any other timer. A delivery timer delivers the oldest packet
//!   of its direction, so even timers that a policy or a fault fires late keep the order.
//! - **Connecting** takes one round trip: the request reaches the listener after one latency
//!   (the server's handler starts then), the answer returns after another. With nothing
//!   listening, the answer is a refusal, and `open_connection` fails with
//!   [`Error::ConnectionRefused`].
//! - **Closing** sends the end of stream after the data already written. Data that reaches an
//!   end whose socket is closed is answered with a reset, which the sender sees as
//!   [`Error::ConnectionReset`].
//!
//! - **Faults.** A partition ([`Network::partition`], or the seeded
//!   [`FaultConfig::net_partition`](crate::FaultConfig::net_partition)) or an unresponsive host
//!   ([`Network::set_unresponsive`], or the seeded
//!   [`FaultConfig::net_unresponsive`](crate::FaultConfig::net_unresponsive)) holds the
//!   packets that reach an end over the link: they stay in flight, in order, and arrive when
//!   it heals; nothing is reset or lost. The seeded
//!   [`net_half_close`](crate::FaultConfig::net_half_close) shuts one direction after what
//!   its sender accepted.
//!   [`Network::reset_connections`] and the seeded
//!   [`net_reset`](crate::FaultConfig::net_reset) reset connections;
//!   [`net_delay`](crate::FaultConfig::net_delay) makes packets late, their order kept.
//!
//! The network belongs to its event loop: [`network()`] gives the running loop's,
//! [`Network::of`] any loop's. Closing the loop frees it, with its listeners and their
//! handlers.
//!
//! The network is in three files: this one, its topology (hosts, ports, listeners, links,
//! partitions, the [`Network`] handle and its scripted faults); `hosts.rs`, the [`Address`]
//! and [`Link`] values it is made of; and `wire.rs`, the connections and the packets in flight
//! on them, with their delivery.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::mem;
use std::rc::{Rc, Weak};

pub use super::hosts::{Address, Link};
use super::server::ServerInner;
use super::wire::{Conn, EndRef};
use crate::base_events::{CloseHook, LoopInner};
use crate::events::{IntoDelay, LoopHandle};
use crate::exceptions::Error;

pub(super) const DEFAULT_SEGMENT: usize = 16 * 1024;
const FIRST_EPHEMERAL_PORT: u16 = 49152;

/// Two host names, the smaller first: a link's key.
type HostPair = (Rc<str>, Rc<str>);

/// One loop's network: its links, its listeners, the ports it handed out.
pub(crate) struct NetworkInner {
    default_link: Cell<Link>,
    links: RefCell<BTreeMap<HostPair, Link>>,
    segment: Cell<usize>,
    pub(crate) listeners: RefCell<BTreeMap<Address, Rc<ServerInner>>>,
    next_port: RefCell<BTreeMap<Rc<str>, u16>>,
    /// The loop closed: nothing listens any more.
    pub(crate) closed: Cell<bool>,
    lp: Weak<LoopInner>,
    /// Cut links: until when (a partition fault), or `None` until healed (a scripted one).
    partitions: RefCell<BTreeMap<HostPair, Option<i64>>>,
    /// Hosts that do not respond: until when (the fault), or `None` until told (scripted).
    unresponsive: RefCell<BTreeMap<Rc<str>, Option<i64>>>,
    /// Deliveries held by a cut link or an unresponsive host, in the order they were due.
    pub(super) held: RefCell<Vec<EndRef>>,
    /// Every connection made, to find those between two hosts.
    pub(super) conns: RefCell<Vec<Weak<Conn>>>,
}

impl CloseHook for NetworkInner {
    fn close(&self) {
        self.shutdown();
    }
}

impl NetworkInner {
    fn new(closed: bool, lp: Weak<LoopInner>) -> NetworkInner {
        NetworkInner {
            lp,
            partitions: RefCell::new(BTreeMap::new()),
            unresponsive: RefCell::new(BTreeMap::new()),
            held: RefCell::new(Vec::new()),
            conns: RefCell::new(Vec::new()),
            default_link: Cell::new(Link::default()),
            links: RefCell::new(BTreeMap::new()),
            segment: Cell::new(DEFAULT_SEGMENT),
            listeners: RefCell::new(BTreeMap::new()),
            next_port: RefCell::new(BTreeMap::new()),
            closed: Cell::new(closed),
        }
    }

    /// The loop's network, made on first use. A closed loop gets a detached, closed one, so
    /// that nothing is stored in a loop that will not free it again.
    pub(crate) fn of(lp: &Rc<LoopInner>) -> Rc<NetworkInner> {
        if lp.is_closed() {
            return Rc::new(NetworkInner::new(true, Weak::new()));
        }
        lp.close_hook(|| NetworkInner::new(false, Rc::downgrade(lp)))
    }

    /// The loop is closing: every listener stops and drops its handler, which may hold
    /// anything (its own server included).
    pub(crate) fn shutdown(&self) {
        self.closed.set(true);
        let listeners = mem::take(&mut *self.listeners.borrow_mut());
        for server in listeners.values() {
            server.shut();
        }
        drop(listeners);
        let held = mem::take(&mut *self.held.borrow_mut());
        drop(held);
        self.conns.borrow_mut().clear();
        self.partitions.borrow_mut().clear();
        self.unresponsive.borrow_mut().clear();
    }

    fn now(&self) -> i64 {
        self.lp.upgrade().map_or(0, |lp| lp.now())
    }

    /// The link between `a` and `b` is cut, or one of them does not respond.
    pub(super) fn blocked(&self, a: &str, b: &str) -> bool {
        if self.is_unresponsive(a) || self.is_unresponsive(b) {
            return true;
        }
        let partitions = self.partitions.borrow();
        if partitions.is_empty() {
            return false;
        }
        self.still(partitions.get(&Self::key(a, b)))
    }

    fn is_unresponsive(&self, host: &str) -> bool {
        let unresponsive = self.unresponsive.borrow();
        !unresponsive.is_empty() && self.still(unresponsive.get(host))
    }

    /// A block with this end is still on: scripted (`None`, until lifted) or until a time.
    fn still(&self, block: Option<&Option<i64>>) -> bool {
        match block {
            Some(None) => true,
            Some(Some(until)) => self.now() < *until,
            None => false,
        }
    }

    /// Calls `release` at `until`, when a fault's block ends.
    fn release_at(self: &Rc<Self>, until: i64) {
        if let Some(lp) = self.lp.upgrade() {
            let net = Rc::downgrade(self);
            lp.call_at_nanos_exact(until, move || {
                if let Some(net) = net.upgrade() {
                    net.release();
                }
            });
        }
    }

    /// `host` stops responding until `until` (the unresponsive fault); a scripted
    /// `set_unresponsive(host, true)` stays until lifted.
    pub(super) fn stall(self: &Rc<Self>, host: &str, until: i64) {
        let mut unresponsive = self.unresponsive.borrow_mut();
        let entry = unresponsive.entry(host.into()).or_insert(Some(until));
        if entry.is_some() {
            *entry = Some(until);
        }
        drop(unresponsive);
        self.release_at(until);
    }

    /// Cuts the link `a`-`b`, until `until` (or until healed). A cut until healed stays so.
    pub(super) fn cut(self: &Rc<Self>, a: &str, b: &str, until: Option<i64>) {
        let mut partitions = self.partitions.borrow_mut();
        let entry = partitions.entry(Self::key(a, b)).or_insert(until);
        if entry.is_some() {
            *entry = until;
        }
        drop(partitions);
        if let Some(until) = until {
            self.release_at(until);
        }
    }

    /// Delivers, on the next iteration and in order, what is held and no longer blocked.
    fn release(&self) {
        let now = self.now();
        let on = |until: &Option<i64>| !matches!(until, Some(u) if now >= *u);
        self.partitions.borrow_mut().retain(|_, until| on(until));
        self.unresponsive.borrow_mut().retain(|_, until| on(until));
        let held = mem::take(&mut *self.held.borrow_mut());
        let (still, free): (Vec<EndRef>, Vec<EndRef>) = held.into_iter().partition(|end| {
            let (a, b) = end.hosts();
            self.blocked(a, b)
        });
        self.held.borrow_mut().extend(still);
        for end in free {
            // Released packets are not asked the partition fault again: each is asked once.
            end.call_soon(|end| end.deliver_packet(false));
        }
    }

    /// The connections between hosts `a` and `b`, either way round.
    fn conns_between(&self, a: &str, b: &str) -> Vec<Rc<Conn>> {
        self.conns
            .borrow()
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|c| {
                let (x, y) = (&*c.ends[0].sockname.host, &*c.ends[1].sockname.host);
                (x == a && y == b) || (x == b && y == a)
            })
            .collect()
    }

    fn key(a: &str, b: &str) -> HostPair {
        if a <= b {
            (a.into(), b.into())
        } else {
            (b.into(), a.into())
        }
    }

    pub(crate) fn link(&self, a: &str, b: &str) -> Link {
        let links = self.links.borrow();
        if links.is_empty() {
            return self.default_link.get();
        }
        links
            .get(&Self::key(a, b))
            .copied()
            .unwrap_or_else(|| self.default_link.get())
    }

    pub(crate) fn segment(&self) -> usize {
        self.segment.get()
    }

    /// The next ephemeral port of `host` that nothing listens on.
    pub(crate) fn ephemeral_port(&self, host: &Rc<str>) -> u16 {
        let mut ports = self.next_port.borrow_mut();
        let next = ports.entry(host.clone()).or_insert(FIRST_EPHEMERAL_PORT);
        let listeners = self.listeners.borrow();
        loop {
            let port = *next;
            *next = if port == u16::MAX {
                FIRST_EPHEMERAL_PORT
            } else {
                port + 1
            };
            if !listeners.contains_key(&Address {
                host: host.clone(),
                port,
            }) {
                return port;
            }
        }
    }
}

/// A handle to an event loop's simulated network, to configure its links.
///
/// [`network()`] gives the running loop's; [`Network::of`] gives any loop's, for setting
/// links up before the loop runs. Every handle of a loop is the same network.
///
/// ```
/// use tulipsim::streams::{open_connection, start_server, Network};
/// use tulipsim::EventLoop;
///
/// let lp = EventLoop::new();
/// // 50 ms each way between "laptop" and "server": connecting takes one round trip.
/// Network::of(&lp).set_link("laptop", "server", 0.05, 1_000_000).unwrap();
/// lp.run_until_complete(async {
///     let _server = start_server(|_r, _w| async { Ok(()) }, "server", 80).await?;
///     let (_reader, writer) = open_connection("server", 80).local_host("laptop").await?;
///     writer.close();
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(lp.time(), 0.1);
/// ```
#[derive(Clone)]
pub struct Network {
    inner: Rc<NetworkInner>,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Network listeners={:?}>", self.listeners())
    }
}

/// The running loop's [`Network`]; `Err(Runtime)` outside a running loop.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// let latency = lp.run_until_complete(async {
///     let net = tulipsim::streams::network()?;
///     net.set_default_link(0.02, 1_000_000)?;
///     Ok(net.link("a", "b").latency())
/// });
/// assert_eq!(latency.unwrap(), 0.02);
/// assert!(tulipsim::streams::network().is_err()); // no loop is running here
/// ```
pub fn network() -> Result<Network, Error> {
    let lp =
        crate::events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
    Ok(Network {
        inner: NetworkInner::of(&lp),
    })
}

impl Network {
    /// The network of `lp` (made on first use).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp); // before the loop runs
    /// net.set_default_link(0.01, 1_000_000).unwrap();
    /// assert_eq!(tulipsim::streams::Network::of(&lp).link("x", "y").latency(), 0.01); // same network
    /// ```
    pub fn of(lp: &LoopHandle) -> Network {
        Network {
            inner: NetworkInner::of(&lp.inner),
        }
    }

    /// Sets the link between hosts `a` and `b`, both ways: one-way `latency` (seconds, or a
    /// `Duration`) and `bandwidth` in bytes per second. `Err(Value)` for a negative latency or
    /// a zero bandwidth. Packets already sent keep their arrival times; later ones use the new
    /// link.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// net.set_link("a", "b", std::time::Duration::from_millis(5), 1_000_000).unwrap();
    /// assert_eq!(net.link("a", "b").latency(), 0.005);
    /// assert!(net.set_link("a", "b", 0.1, 0).is_err()); // a zero bandwidth
    /// ```
    pub fn set_link(
        &self,
        a: &str,
        b: &str,
        latency: impl IntoDelay,
        bandwidth: u64,
    ) -> Result<(), Error> {
        let link = Link::checked(latency, bandwidth)?;
        self.inner
            .links
            .borrow_mut()
            .insert(NetworkInner::key(a, b), link);
        Ok(())
    }

    /// Sets the link of every pair of hosts that has none of its own.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// net.set_link("a", "b", 0.5, 1_000).unwrap();
    /// net.set_default_link(0.02, 5_000).unwrap();
    /// assert_eq!(net.link("a", "b").latency(), 0.5); // has its own
    /// assert_eq!(net.link("a", "c").latency(), 0.02);
    /// ```
    pub fn set_default_link(&self, latency: impl IntoDelay, bandwidth: u64) -> Result<(), Error> {
        self.inner
            .default_link
            .set(Link::checked(latency, bandwidth)?);
        Ok(())
    }

    /// The link between `a` and `b`.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// assert_eq!(net.link("a", "b").latency(), 0.001); // the default link
    /// ```
    pub fn link(&self, a: &str, b: &str) -> Link {
        self.inner.link(a, b)
    }

    /// Sets how many bytes the wire takes from a write buffer at once (default 16 KiB);
    /// `Err(Value)` for 0.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// net.set_segment_size(1460).unwrap();
    /// assert_eq!(net.segment_size(), 1460);
    /// ```
    pub fn set_segment_size(&self, bytes: usize) -> Result<(), Error> {
        if bytes == 0 {
            return Err(Error::value("segment size must be > 0"));
        }
        self.inner.segment.set(bytes);
        Ok(())
    }

    /// How many bytes the wire takes from a write buffer at once.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert_eq!(tulipsim::streams::Network::of(&lp).segment_size(), 16 * 1024); // the default
    /// ```
    pub fn segment_size(&self) -> usize {
        self.inner.segment()
    }

    /// The addresses servers listen at, in order.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// lp.run_until_complete(async {
    ///     let _s = tulipsim::streams::start_server(|_r, _w| async { Ok(()) }, "db", 5432).await?;
    ///     assert_eq!(tulipsim::streams::network()?.listeners(), [("db", 5432)]);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn listeners(&self) -> Vec<Address> {
        self.inner.listeners.borrow().keys().cloned().collect()
    }

    /// Cuts the link between hosts `a` and `b`, both ways, until [`heal`](Self::heal). Packets
    /// that reach either end meanwhile are held, not lost, and arrive in order after the heal;
    /// a connection request waits too. No connection is reset, however long the partition
    /// lasts: only the program's own timeouts notice it. (A partition can also be a seeded
    /// fault: [`FaultConfig::net_partition`](crate::FaultConfig::net_partition).)
    ///
    /// ```
    /// use tulipsim::streams::{network, open_connection, start_server};
    /// use tulipsim::{sleep, EventLoop};
    ///
    /// let lp = EventLoop::new();
    /// let got = lp.run_until_complete(async {
    ///     let _s = start_server(|r, w| async move {
    ///         w.write(r.readline().await?)?; // an echo
    ///         w.drain().await
    ///     }, "server", 7).await?;
    ///     let (r, w) = open_connection("server", 7).await?;
    ///     let net = network()?;
    ///     net.partition("client", "server");
    ///     assert!(net.is_partitioned("server", "client"));
    ///     w.write(b"after the heal\n")?;
    ///     sleep(10).await?; // the bytes wait at the cut
    ///     net.heal("client", "server");
    ///     r.readline().await
    /// });
    /// assert_eq!(got.unwrap(), b"after the heal\n");
    /// assert!(lp.time() > 10.0);
    /// ```
    pub fn partition(&self, a: &str, b: &str) {
        self.inner.cut(a, b, None);
    }

    /// Joins hosts `a` and `b` again (after [`partition`](Self::partition) or a partition
    /// fault): what was held arrives on the next iteration, in order, unless a host is
    /// unresponsive. Healing a link that is not cut does nothing.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// net.heal("a", "b"); // not cut: nothing happens
    /// net.partition("a", "b");
    /// net.heal("b", "a");
    /// assert!(!net.is_partitioned("a", "b"));
    /// ```
    pub fn heal(&self, a: &str, b: &str) {
        let gone = self
            .inner
            .partitions
            .borrow_mut()
            .remove(&NetworkInner::key(a, b));
        if gone.is_some() {
            self.inner.release();
        }
    }

    /// True while the link between `a` and `b` is cut (by [`partition`](Self::partition) or a
    /// partition fault not yet healed).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// assert!(!net.is_partitioned("a", "b"));
    /// net.partition("a", "b");
    /// assert!(net.is_partitioned("b", "a"));
    /// ```
    pub fn is_partitioned(&self, a: &str, b: &str) -> bool {
        let partitions = self.inner.partitions.borrow();
        match partitions.get(&NetworkInner::key(a, b)) {
            Some(None) => true,
            Some(Some(until)) => self.inner.now() < *until,
            None => false,
        }
    }

    /// Resets every established connection between hosts `a` and `b`, now: both ends lose
    /// their connection with `ConnectionResetError` (reads and `drain()` fail with it), and
    /// what was on its way is dropped when it arrives. Returns how many connections it reset.
    ///
    /// ```
    /// use tulipsim::streams::{network, open_connection, start_server};
    /// use tulipsim::{Error, EventLoop};
    ///
    /// let lp = EventLoop::new();
    /// lp.run_until_complete(async {
    ///     let _s = start_server(|r, _w| async move {
    ///         let e = r.read(-1).await.unwrap_err();
    ///         assert!(matches!(e, Error::ConnectionReset(_)));
    ///         Ok(())
    ///     }, "server", 7).await?;
    ///     let (r, w) = open_connection("server", 7).await?;
    ///     assert_eq!(network()?.reset_connections("client", "server"), 1);
    ///     assert!(matches!(r.read(-1).await, Err(Error::ConnectionReset(_))));
    ///     assert!(matches!(w.drain().await, Err(Error::ConnectionReset(_))));
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn reset_connections(&self, a: &str, b: &str) -> usize {
        let mut reset = 0;
        for conn in self.inner.conns_between(a, b) {
            let mut any = false;
            for side in 0..2 {
                let end = EndRef::new(&conn, side);
                let live = {
                    let t = end.end().transport.borrow();
                    t.is_connected() && !t.sock_closed
                };
                if live {
                    end.reset_received();
                    any = true;
                }
            }
            reset += usize::from(any);
        }
        reset
    }

    /// Makes `host` stop responding (`true`) or respond again (`false`; this also ends an
    /// unresponsive fault early). While it does not respond, every packet from it or to it is
    /// held by the network, as if each of its links were cut, and arrives in order once it
    /// responds again. So a connection request to it
    /// never completes while it is unresponsive, and only a timeout ends the wait
    /// (`wait_for(open_connection(..), t)`); nothing is reset or lost.
    ///
    /// ```
    /// use tulipsim::streams::{network, open_connection, start_server};
    /// use tulipsim::{wait_for, Error, EventLoop};
    ///
    /// let lp = EventLoop::new();
    /// lp.run_until_complete(async {
    ///     let _s = start_server(|_r, _w| async { Ok(()) }, "server", 7).await?;
    ///     let net = network()?;
    ///     net.set_unresponsive("server", true);
    ///     assert!(net.is_unresponsive("server"));
    ///     let r = wait_for(open_connection("server", 7), 1.0).await;
    ///     assert!(matches!(r, Err(Error::Timeout(_))));
    ///     net.set_unresponsive("server", false);
    ///     let (_r, w) = open_connection("server", 7).await?;
    ///     w.close();
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_unresponsive(&self, host: &str, unresponsive: bool) {
        if unresponsive {
            self.inner
                .unresponsive
                .borrow_mut()
                .insert(host.into(), None);
        } else if self.inner.unresponsive.borrow_mut().remove(host).is_some() {
            self.inner.release();
        }
    }

    /// True while `host` does not respond (after [`set_unresponsive`](Self::set_unresponsive),
    /// or for the time of an unresponsive fault).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// assert!(!net.is_unresponsive("server"));
    /// net.set_unresponsive("server", true);
    /// assert!(net.is_unresponsive("server"));
    /// ```
    pub fn is_unresponsive(&self, host: &str) -> bool {
        self.inner.is_unresponsive(host)
    }
}
