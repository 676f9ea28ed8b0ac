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

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::mem;
use std::rc::{Rc, Weak};

use super::reader::ReaderState;
use super::server::ServerInner;
use super::transport::TransportState;
use super::writer::FlowState;
use crate::base_events::{CloseHook, LoopInner};
use crate::events::{IntoDelay, LoopHandle};
use crate::exceptions::Error;
use crate::futures::Future;

type Site = &'static std::panic::Location<'static>;

const DEFAULT_LATENCY_NS: i64 = 1_000_000;
const DEFAULT_BANDWIDTH: u64 = 10_000_000;
const DEFAULT_SEGMENT: usize = 16 * 1024;
const FIRST_EPHEMERAL_PORT: u16 = 49152;

/// A host name and a port: what asyncio gives as a `(host, port)` tuple for `"peername"` and
/// `"sockname"`.
///
/// It prints as Python prints the tuple, and compares equal to a `(&str, u16)` pair.
///
/// ```
/// use tulipsim::streams::Address;
/// let a = Address::new("server", 8888);
/// assert_eq!(a, ("server", 8888));
/// assert_eq!(a.to_string(), "('server', 8888)");
/// assert_eq!((a.host(), a.port()), ("server", 8888));
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    host: Rc<str>,
    port: u16,
}

impl Address {
    /// The address of `port` on `host`.
    ///
    /// ```
    /// let a = tulipsim::streams::Address::new("db", 5432);
    /// assert_eq!(a.to_string(), "('db', 5432)");
    /// ```
    pub fn new(host: &str, port: u16) -> Address {
        Address {
            host: host.into(),
            port,
        }
    }

    /// The host name.
    ///
    /// ```
    /// assert_eq!(tulipsim::streams::Address::new("db", 5432).host(), "db");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    ///
    /// ```
    /// assert_eq!(tulipsim::streams::Address::new("db", 5432).port(), 5432);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "('{}', {})", self.host, self.port)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq<(&str, u16)> for Address {
    fn eq(&self, other: &(&str, u16)) -> bool {
        &*self.host == other.0 && self.port == other.1
    }
}

/// The settings of a link between two hosts: one-way latency and bandwidth.
///
/// ```
/// let lp = tulipsim::EventLoop::new();
/// let net = tulipsim::streams::Network::of(&lp);
/// let link = net.link("a", "b");
/// assert_eq!(link.latency(), 0.001); // the defaults
/// assert_eq!(link.bandwidth(), 10_000_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    latency_ns: i64,
    bandwidth: u64,
}

impl Link {
    /// The one-way latency in seconds.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// net.set_link("a", "b", 0.25, 1_000).unwrap();
    /// assert_eq!(net.link("b", "a").latency(), 0.25); // both ways
    /// ```
    pub fn latency(&self) -> f64 {
        crate::events::nanos_to_secs(self.latency_ns)
    }

    /// The one-way latency in nanoseconds.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert_eq!(tulipsim::streams::Network::of(&lp).link("a", "a").latency_ns(), 1_000_000);
    /// ```
    pub fn latency_ns(&self) -> i64 {
        self.latency_ns
    }

    /// The bandwidth in bytes per second.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let net = tulipsim::streams::Network::of(&lp);
    /// net.set_link("a", "b", 0.25, 1_000).unwrap();
    /// assert_eq!(net.link("a", "b").bandwidth(), 1_000);
    /// ```
    pub fn bandwidth(&self) -> u64 {
        self.bandwidth
    }

    /// How long `len` bytes occupy the wire, in nanoseconds, rounded up.
    pub(crate) fn transmit_ns(&self, len: usize) -> i64 {
        let ns = (len as u128 * 1_000_000_000).div_ceil(u128::from(self.bandwidth));
        i64::try_from(ns).unwrap_or(i64::MAX)
    }

    fn checked(latency: impl IntoDelay, bandwidth: u64) -> Result<Link, Error> {
        let latency_ns = latency.into_nanos();
        if latency_ns < 0 {
            return Err(Error::value("latency must be >= 0"));
        }
        if bandwidth == 0 {
            return Err(Error::value("bandwidth must be > 0 bytes per second"));
        }
        Ok(Link {
            latency_ns,
            bandwidth,
        })
    }
}

impl Default for Link {
    fn default() -> Self {
        Link {
            latency_ns: DEFAULT_LATENCY_NS,
            bandwidth: DEFAULT_BANDWIDTH,
        }
    }
}

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
    held: RefCell<Vec<EndRef>>,
    /// Every connection made, to find those between two hosts.
    conns: RefCell<Vec<Weak<Conn>>>,
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
    fn blocked(&self, a: &str, b: &str) -> bool {
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
            lp.call_at_nanos_exact(
                until,
                Box::new(move || {
                    if let Some(net) = net.upgrade() {
                        net.release();
                    }
                }),
            );
        }
    }

    /// `host` stops responding until `until` (the unresponsive fault); a scripted
    /// `set_unresponsive(host, true)` stays until lifted.
    fn stall(self: &Rc<Self>, host: &str, until: i64) {
        let mut unresponsive = self.unresponsive.borrow_mut();
        let entry = unresponsive.entry(host.into()).or_insert(Some(until));
        if entry.is_some() {
            *entry = Some(until);
        }
        drop(unresponsive);
        self.release_at(until);
    }

    /// Cuts the link `a`-`b`, until `until` (or until healed). A cut until healed stays so.
    fn cut(self: &Rc<Self>, a: &str, b: &str, until: Option<i64>) {
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
    ///     assert!(matches!(r, Err(Error::Timeout)));
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

/// What travels on a connection.
pub(crate) enum Packet {
    /// A connection request, to the listener.
    Syn,
    /// The listener accepted.
    SynAck,
    /// Nothing listens there.
    Refused,
    /// Bytes.
    Data(Vec<u8>),
    /// The end of the stream (the sender shut down writing, or closed).
    Fin,
    /// The connection is reset.
    Rst,
}

impl Packet {
    fn describe(&self) -> String {
        match self {
            Packet::Syn => "a connection request".to_string(),
            Packet::SynAck => "a connection answer".to_string(),
            Packet::Refused => "a refusal".to_string(),
            Packet::Data(d) => format!("{} bytes", d.len()),
            Packet::Fin => "the end of the stream".to_string(),
            Packet::Rst => "a reset".to_string(),
        }
    }
}

/// The client end's index in [`Conn::ends`]; the server's is 1.
pub(crate) const CLIENT: usize = 0;

/// One connection: two ends, each with its transport, its reader and its protocol state.
pub(crate) struct Conn {
    pub(crate) lp: Weak<LoopInner>,
    pub(crate) net: Weak<NetworkInner>,
    pub(crate) ends: [End; 2],
}

/// One end of a connection.
pub(crate) struct End {
    pub(crate) sockname: Address,
    pub(crate) transport: RefCell<TransportState>,
    pub(crate) reader: ReaderState,
    pub(crate) flow: FlowState,
    /// Set when the connection is lost (`wait_closed` awaits it).
    pub(crate) closed: Future<()>,
    /// The packets on their way to this end, oldest first.
    inflight: RefCell<VecDeque<Packet>>,
    last_arrival: Cell<i64>,
    /// The server whose connection this is (a server end, once accepted).
    pub(crate) server: RefCell<Option<Rc<ServerInner>>>,
    /// `open_connection`'s future, until the listener answers (the client end).
    pub(crate) connect_waiter: RefCell<Option<Future<()>>>,
}

impl End {
    fn new(lp: &Rc<LoopInner>, sockname: Address, limit: usize, site: Site) -> End {
        End {
            sockname,
            transport: RefCell::new(TransportState::default()),
            reader: ReaderState::new(limit),
            flow: FlowState::default(),
            closed: Future::bound(Rc::downgrade(lp), site),
            inflight: RefCell::new(VecDeque::new()),
            last_arrival: Cell::new(i64::MIN),
            server: RefCell::new(None),
            connect_waiter: RefCell::new(None),
        }
    }
}

impl Conn {
    /// A connection from `local` to `remote`, not yet requested, by `open_connection` at
    /// `site` (where its futures say they were created).
    pub(crate) fn new(
        lp: &Rc<LoopInner>,
        net: &Rc<NetworkInner>,
        (local, remote): (Address, Address),
        limit: usize,
        site: Site,
    ) -> Rc<Conn> {
        let conn = Rc::new(Conn {
            lp: Rc::downgrade(lp),
            net: Rc::downgrade(net),
            ends: [
                End::new(lp, local, limit, site),
                End::new(lp, remote, limit, site),
            ],
        });
        let mut conns = net.conns.borrow_mut();
        conns.retain(|c| c.strong_count() > 0);
        conns.push(Rc::downgrade(&conn));
        conn
    }
}

/// One end of a connection, as the handles ([`StreamReader`](super::StreamReader),
/// [`StreamWriter`](super::StreamWriter), [`Transport`](super::Transport)) hold it.
#[derive(Clone)]
pub(crate) struct EndRef {
    pub(crate) conn: Rc<Conn>,
    pub(crate) side: usize,
}

impl EndRef {
    pub(crate) fn new(conn: &Rc<Conn>, side: usize) -> EndRef {
        EndRef {
            conn: conn.clone(),
            side,
        }
    }

    pub(crate) fn end(&self) -> &End {
        &self.conn.ends[self.side]
    }

    pub(crate) fn peer(&self) -> EndRef {
        EndRef::new(&self.conn, 1 - self.side)
    }

    pub(crate) fn peer_end(&self) -> &End {
        &self.conn.ends[1 - self.side]
    }

    /// The loop, while it is open.
    pub(crate) fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        self.conn.lp.upgrade().filter(|lp| !lp.is_closed())
    }

    pub(crate) fn now(&self) -> i64 {
        self.conn.lp.upgrade().map_or(0, |lp| lp.now())
    }

    /// The hosts of this end and of its peer.
    pub(crate) fn hosts(&self) -> (&str, &str) {
        (&self.end().sockname.host, &self.peer_end().sockname.host)
    }

    /// The link this connection runs over, as it is set now.
    pub(crate) fn link(&self) -> Link {
        let (a, b) = (&self.conn.ends[0].sockname, &self.conn.ends[1].sockname);
        self.conn
            .net
            .upgrade()
            .map_or_else(Link::default, |net| net.link(&a.host, &b.host))
    }

    pub(crate) fn segment(&self) -> usize {
        self.conn
            .net
            .upgrade()
            .map_or(DEFAULT_SEGMENT, |net| net.segment())
    }

    /// Runs `f` on this end at the next iteration (asyncio's `call_soon`).
    pub(crate) fn call_soon(&self, f: impl FnOnce(&EndRef) + 'static) {
        if let Some(lp) = self.loop_inner() {
            let me = self.clone();
            lp.call_soon_handle(Box::new(move || f(&me)));
        }
    }

    /// Sends `packet` to the peer, to arrive at `arrival`, or with the peer's previous packet if
    /// that one arrives later. One timer per packet; each delivers the oldest packet of this
    /// direction, so the order holds even if a timer fires late.
    pub(crate) fn send(&self, packet: Packet, arrival: i64) {
        let Some(lp) = self.loop_inner() else {
            return;
        };
        let to = self.peer_end();
        let arrival = lp.net_delay(arrival, || {
            format!(
                "{} from {} to {}",
                packet.describe(),
                self.end().sockname,
                to.sockname
            )
        });
        let arrival = arrival.max(to.last_arrival.get());
        to.last_arrival.set(arrival);
        to.inflight.borrow_mut().push_back(packet);
        let peer = self.peer();
        lp.call_at_nanos_exact(arrival, Box::new(move || peer.deliver()));
    }

    /// Sends `packet` after one latency.
    pub(crate) fn send_after_latency(&self, packet: Packet) {
        let arrival = self.now().saturating_add(self.link().latency_ns());
        self.send(packet, arrival);
    }

    /// A delivery timer fired at this end: take the oldest packet on its way here.
    ///
    /// A cut link or an unresponsive host holds the delivery (the packet stays in flight)
    /// until it heals; the partition and reset faults are asked here.
    fn deliver(&self) {
        self.deliver_packet(true)
    }

    /// [`deliver`](Self::deliver), asking the partition fault or not.
    fn deliver_packet(&self, ask_partition: bool) {
        if self.end().inflight.borrow().is_empty() {
            return;
        }
        if let Some(net) = self.conn.net.upgrade() {
            let (here, there) = self.hosts();
            if net.blocked(here, there) {
                net.held.borrow_mut().push(self.clone());
                return;
            }
            if let Some(lp) = self.loop_inner().filter(|_| ask_partition) {
                let cut = lp.net_partition(|secs| {
                    format!("the link {there} <-> {here} is cut for {secs:.6}s")
                });
                if let Some(duration) = cut {
                    net.cut(here, there, Some(lp.now().saturating_add(duration)));
                    net.held.borrow_mut().push(self.clone());
                    return;
                }
                let stalled = lp.net_unresponsive(|secs| {
                    format!("the host {here} stops responding for {secs:.6}s")
                });
                if let Some(duration) = stalled {
                    net.stall(here, lp.now().saturating_add(duration));
                    net.held.borrow_mut().push(self.clone());
                    return;
                }
            }
        }
        let packet = self.end().inflight.borrow_mut().pop_front();
        let Some(packet) = packet else {
            return;
        };
        if let Packet::Data(data) = &packet {
            let open = {
                let t = self.end().transport.borrow();
                t.is_connected() && !t.sock_closed
            } && !self.is_closing();
            if open {
                if let Some(lp) = self.loop_inner() {
                    let reset = lp.net_reset(|| {
                        format!(
                            "the connection {} <-> {} is reset as {} bytes reach {}",
                            self.peer_end().sockname,
                            self.end().sockname,
                            data.len(),
                            self.end().sockname.host
                        )
                    });
                    if reset {
                        // The packet is lost; this end is reset now, the peer a latency on.
                        self.reset_received();
                        self.send_after_latency(Packet::Rst);
                        return;
                    }
                    let sender_open = !self.peer_end().transport.borrow().write_shut();
                    if sender_open
                        && lp.net_half_close(|| {
                            format!(
                                "{} stops writing to {} as {} bytes arrive",
                                self.peer_end().sockname,
                                self.end().sockname,
                                data.len()
                            )
                        })
                    {
                        self.peer().shut_write();
                    }
                }
            }
        }
        match packet {
            Packet::Syn => super::server::accept(self),
            Packet::SynAck => super::server::connected(self),
            Packet::Refused => super::server::refused(self),
            Packet::Rst => self.reset_received(),
            data_or_fin => self.receive(data_or_fin),
        }
    }
}
