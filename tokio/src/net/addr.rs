//! Addresses: tulipsim's network names hosts; tokio's speaks `SocketAddr`.
//!
//! An IP address is the host of that name ("10.0.0.2"). The loopback and unspecified
//! addresses and `localhost` are the one local host, "127.0.0.1", where every simulated task
//! runs unless told otherwise. Any other name ("db", "server-1") is a host too, with a stable
//! IPv4 address in 10.0.0.0/8 derived from its name, so `peer_addr()` can give a `SocketAddr`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// The host every simulated task connects from and `bind("0.0.0.0:..")` listens on.
pub(crate) const LOCAL_HOST: &str = "127.0.0.1";

thread_local! {
    /// Names given an address, for turning the address back into the name.
    static NAMED: RefCell<BTreeMap<IpAddr, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// A resolved address: the host's name on the simulated network, and a port.
#[derive(Clone, Debug)]
#[doc(hidden)]
pub struct SimAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl SimAddr {
    pub(crate) fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(ip_of(&self.host), self.port)
    }
}

fn host_of_ip(ip: IpAddr) -> String {
    if ip.is_loopback() || ip.is_unspecified() {
        return LOCAL_HOST.to_string();
    }
    NAMED
        .with(|n| n.borrow().get(&ip).cloned())
        .unwrap_or_else(|| ip.to_string())
}

/// The address of a host name: its own if it is one, else a stable one from the name.
pub(crate) fn ip_of(host: &str) -> IpAddr {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return IpAddr::V4(Ipv4Addr::LOCALHOST);
    }
    // FNV-1a: the same address for the same name on every machine and in every run.
    let mut h: u32 = 0x811c_9dc5;
    for b in host.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let [_, b, c, d] = h.to_be_bytes();
    let ip = IpAddr::V4(Ipv4Addr::new(10, b, c, d.max(1)));
    NAMED.with(|n| {
        n.borrow_mut().entry(ip).or_insert_with(|| host.to_string());
    });
    ip
}

fn resolve_str(s: &str) -> io::Result<SimAddr> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(from_socket_addr(addr));
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "invalid port value"))?;
    resolve_host_port(host, port)
}

fn resolve_host_port(host: &str, port: u16) -> io::Result<SimAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(from_socket_addr(SocketAddr::new(ip, port)));
    }
    if host.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid socket address: empty host",
        ));
    }
    let host = if host.eq_ignore_ascii_case("localhost") {
        LOCAL_HOST.to_string()
    } else {
        ip_of(host);
        host.to_string()
    };
    Ok(SimAddr { host, port })
}

fn from_socket_addr(addr: SocketAddr) -> SimAddr {
    SimAddr {
        host: host_of_ip(addr.ip()),
        port: addr.port(),
    }
}

pub(crate) mod sealed {
    use super::SimAddr;

    pub trait Sealed {
        fn to_sim_addrs(&self) -> std::io::Result<Vec<SimAddr>>;
    }
}

/// What `bind`, `connect` and [`lookup_host`](super::lookup_host) accept (tokio's
/// `ToSocketAddrs`): a `SocketAddr`, an `(ip, port)` pair, `"host:port"`, `("host", port)`,
/// or a slice of `SocketAddr`s. Names resolve on the simulated network, never through DNS.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let addrs: Vec<_> = tokio::net::lookup_host("db:5432").await.unwrap().collect();
///     assert_eq!(addrs.len(), 1);
///     assert_eq!(addrs[0].port(), 5432);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

macro_rules! socket_addr_like {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::Sealed for $t {
            fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
                Ok(vec![from_socket_addr(SocketAddr::from(*self))])
            }
        }
    )*};
}

socket_addr_like!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
        Ok(vec![resolve_str(self)?])
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
        self.as_str().to_sim_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
        Ok(vec![resolve_host_port(self.0, self.1)?])
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
        Ok(vec![resolve_host_port(&self.0, self.1)?])
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::Sealed for [SocketAddr] {
    fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
        Ok(self.iter().map(|a| from_socket_addr(*a)).collect())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {
    fn to_sim_addrs(&self) -> io::Result<Vec<SimAddr>> {
        (**self).to_sim_addrs()
    }
}

/// The first address, or tokio's error for none.
pub(crate) fn first(addr: &impl ToSocketAddrs) -> io::Result<SimAddr> {
    addr.to_sim_addrs()?.into_iter().next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    })
}
