//! The wire of the simulated [`network`](super::network): connections, their two ends, the
//! packets in flight between them, and their delivery, one timer per packet. What the wire
//! runs over (links, partitions, unresponsive hosts, listeners) is the network's; the seeded
//! faults on packets are asked here, as they travel.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use super::hosts::{Address, Link};
use super::network::{NetworkInner, DEFAULT_SEGMENT};
use super::reader::ReaderState;
use super::server::ServerInner;
use super::transport::TransportState;
use super::writer::FlowState;
use crate::base_events::LoopInner;
use crate::futures::Future;

type Site = &'static std::panic::Location<'static>;

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
            lp.call_soon_handle(move || f(&me));
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
        lp.call_at_nanos_exact(arrival, move || peer.deliver());
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
    pub(super) fn deliver_packet(&self, ask_partition: bool) {
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
