//! What the simulated [`network`](super::network) joins: hosts, named by their addresses, and
//! the links between them.

use std::fmt;
use std::rc::Rc;

use crate::events::IntoDelay;
use crate::exceptions::Error;

const DEFAULT_LATENCY_NS: i64 = 1_000_000;
const DEFAULT_BANDWIDTH: u64 = 10_000_000;

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
    pub(super) host: Rc<str>,
    pub(super) port: u16,
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

    pub(super) fn checked(latency: impl IntoDelay, bandwidth: u64) -> Result<Link, Error> {
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
