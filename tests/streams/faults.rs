//! Network faults on the simulated streams: seeded (`FaultConfig::net_delay`, `net_reset`,
//! `net_partition`, `net_half_close`, `net_unresponsive`) and scripted (`Network::partition`, `heal`, `reset_connections`,
//! `set_unresponsive`). Each shows the error the program sees, and that nothing accepted is
//! lost, duplicated or reordered; seeded runs replay.

use crate::common;

use std::cell::RefCell;
use std::rc::Rc;

use common::lp;
use tulipsim::scheduler::Replay;
use tulipsim::streams::{network, open_connection, start_server};
use tulipsim::{sleep, wait_for, Error, EventLoop, FaultConfig};

/// What a transfer did: the bytes the client's writes accepted, what the server read, how the
/// server's read ended, how the client's writing ended.
#[derive(Debug, PartialEq)]
struct Transfer {
    sent: Vec<u8>,
    received: Vec<u8>,
    server_end: Result<(), Error>,
    client_end: Result<(), Error>,
}

/// The client writes `chunks` chunks of 1000 numbered bytes (draining after each), then the
/// end of the stream; the server reads everything until the end or an error.
async fn transfer(chunks: usize) -> Result<Transfer, Error> {
    let received = Rc::new(RefCell::new(Vec::new()));
    let server_end = Rc::new(RefCell::new(None));
    let (rx, se) = (received.clone(), server_end.clone());
    let server = start_server(
        move |r, w| {
            let (rx, se) = (rx.clone(), se.clone());
            async move {
                let outcome = loop {
                    match r.read(4096).await {
                        Ok(b) if b.is_empty() => break Ok(()),
                        Ok(b) => rx.borrow_mut().extend_from_slice(&b),
                        Err(e) => break Err(e),
                    }
                };
                *se.borrow_mut() = Some(outcome);
                w.close();
                Ok(())
            }
        },
        "server",
        9000,
    )
    .await?;
    let (_r, w) = open_connection("server", 9000).await?;
    let mut sent = Vec::new();
    let mut client_end = Ok(());
    for i in 0..chunks {
        let chunk: Vec<u8> = (0..1000).map(|j| ((i * 1000 + j) % 251) as u8).collect();
        if let Err(e) = w.write(&chunk) {
            client_end = Err(e);
            break;
        }
        // Accepted by the transport: from here on, the network must not lose it (unless reset).
        sent.extend_from_slice(&chunk);
        if let Err(e) = w.drain().await {
            client_end = Err(e);
            break;
        }
    }
    if client_end.is_ok() {
        w.write_eof();
    }
    server.close();
    server.wait_closed().await?;
    w.close();
    let server_end = server_end.borrow_mut().take().unwrap_or(Ok(()));
    let received = received.borrow().clone();
    Ok(Transfer {
        sent,
        received,
        server_end,
        client_end,
    })
}

#[test]
fn a_reset_fault_fails_reads_and_drain_with_connection_reset() {
    let lp = lp(1, FaultConfig::default().net_reset(1.0));
    let r = lp.run_until_complete(async {
        let _s = start_server(
            |r, _w| async move {
                let e = r.read(-1).await.unwrap_err();
                assert!(matches!(e, Error::ConnectionReset(_)), "{e:?}");
                Ok(())
            },
            "server",
            7,
        )
        .await?;
        let (r, w) = open_connection("server", 7).await?;
        w.write(b"hello")?;
        let read = r.read(-1).await;
        let drain = w.drain().await;
        Ok((read, drain))
    });
    let (read, drain) = r.unwrap();
    assert!(matches!(read, Err(Error::ConnectionReset(_))), "{read:?}");
    assert!(matches!(drain, Err(Error::ConnectionReset(_))), "{drain:?}");
    let trace = lp.trace().to_string();
    assert!(
        trace.contains("fault net-reset: the connection ('client', 49152) <-> ('server', 7)"),
        "{trace}"
    );
    assert_eq!(lp.fired_faults().queries().len(), 1);
}

#[test]
fn a_scripted_reset_mid_stream_leaves_the_reader_a_prefix() {
    let lp = EventLoop::new();
    let (sent, got, err) = lp
        .run_until_complete(async {
            let got = Rc::new(RefCell::new(Vec::new()));
            let g = got.clone();
            let err = Rc::new(RefCell::new(None));
            let e2 = err.clone();
            let _s = start_server(
                move |r, _w| {
                    let (g, e2) = (g.clone(), e2.clone());
                    async move {
                        loop {
                            match r.read(100).await {
                                Ok(b) if b.is_empty() => return Ok(()),
                                Ok(b) => g.borrow_mut().extend_from_slice(&b),
                                Err(e) => {
                                    *e2.borrow_mut() = Some(e);
                                    return Ok(());
                                }
                            }
                        }
                    }
                },
                "server",
                7,
            )
            .await?;
            let (_r, w) = open_connection("server", 7).await?;
            let mut sent = Vec::new();
            for i in 0..20u8 {
                w.write([i; 50])?;
                sent.extend_from_slice(&[i; 50]);
                sleep(0.001).await?;
            }
            assert_eq!(network()?.reset_connections("client", "server"), 1);
            assert!(matches!(w.drain().await, Err(Error::ConnectionReset(_))));
            sleep(1).await?;
            assert_eq!(network()?.reset_connections("client", "server"), 0);
            let got = got.borrow().clone();
            let err = err.borrow_mut().take();
            Ok((sent, got, err))
        })
        .unwrap();
    assert!(matches!(err, Some(Error::ConnectionReset(_))), "{err:?}");
    assert!(!got.is_empty() && got.len() < sent.len(), "{}", got.len());
    assert_eq!(got[..], sent[..got.len()]);
}

#[test]
fn under_seeded_resets_the_reader_gets_a_prefix_never_a_byte_twice() {
    let (mut reset, mut whole) = (0, 0);
    for seed in 0..40 {
        let lp = lp(seed, FaultConfig::default().net_reset(0.03));
        let t = lp.run_until_complete(transfer(40)).unwrap();
        assert!(t.received.len() <= t.sent.len(), "seed {seed}");
        assert_eq!(t.received[..], t.sent[..t.received.len()], "seed {seed}");
        if lp.fired_faults().queries().is_empty() {
            assert_eq!(t.received, t.sent, "seed {seed}");
            assert_eq!(t.server_end, Ok(()), "seed {seed}");
            whole += 1;
        } else {
            assert!(
                matches!(t.server_end, Err(Error::ConnectionReset(_))),
                "seed {seed}: {:?}",
                t.server_end
            );
            assert!(t.received.len() < 40_000, "seed {seed}");
            reset += 1;
        }
    }
    assert!(reset > 5 && whole > 5, "reset {reset}, whole {whole}");
}

#[test]
fn a_scripted_partition_blocks_a_read_until_the_heal_then_gives_every_byte() {
    let lp = EventLoop::new();
    let (got, at) = lp
        .run_until_complete(async {
            let _s = start_server(
                |_r, w| async move {
                    for i in 0..10u8 {
                        w.write([i; 1000])?;
                        w.drain().await?;
                    }
                    w.close();
                    Ok(())
                },
                "server",
                7,
            )
            .await?;
            let (r, _w) = open_connection("server", 7).await?;
            let net = network()?;
            net.partition("server", "client");
            let healer = tulipsim::create_task(async move {
                sleep(5).await?;
                net.heal("client", "server");
                Ok(())
            })?;
            let got = r.read(-1).await?;
            let at = tulipsim::get_running_loop()?.time();
            healer.await?;
            Ok((got, at))
        })
        .unwrap();
    let want: Vec<u8> = (0..10u8).flat_map(|i| [i; 1000]).collect();
    assert_eq!(got, want);
    assert!(at >= 5.0, "read returned at {at}");
}

/// Over 30 seeds with a fault that holds packets for 0.5 s: every transfer ends well with
/// every byte, and each run where the fault fired took the hold's time and traced `fired`.
fn holding_fault_loses_nothing(faults: FaultConfig, fired: &[&str]) {
    let mut held = 0;
    for seed in 0..30 {
        let lp = lp(seed, faults.clone());
        let t = lp.run_until_complete(transfer(30)).unwrap();
        assert_eq!(t.client_end, Ok(()), "seed {seed}");
        assert_eq!(t.server_end, Ok(()), "seed {seed}");
        assert_eq!(t.received, t.sent, "seed {seed}");
        if !lp.fired_faults().queries().is_empty() {
            held += 1;
            assert!(lp.time() >= 0.5, "seed {seed}");
            let trace = lp.trace().to_string();
            for text in fired {
                assert!(trace.contains(text), "seed {seed}: {text:?} not in {trace}");
            }
        }
    }
    assert!(held > 5, "{held}");
}

#[test]
fn seeded_partitions_hold_bytes_and_lose_none() {
    holding_fault_loses_nothing(
        FaultConfig::default().net_partition(0.05, 0.5),
        &["fault net-partition: the link"],
    );
}

#[test]
fn seeded_unresponsive_hosts_hold_bytes_and_lose_none() {
    holding_fault_loses_nothing(
        FaultConfig::default().net_unresponsive(0.05, 0.5),
        &[
            "fault net-unresponsive: the host ",
            " stops responding for 0.500000s",
        ],
    );
}

#[test]
fn an_unresponsive_fault_on_the_server_times_a_connect_out_then_it_answers() {
    let lp = lp(0, FaultConfig::default().net_unresponsive(1.0, 3.0));
    let (first, at) = lp
        .run_until_complete(async {
            let _s = start_server(|_r, _w| async { Ok(()) }, "server", 7).await?;
            let first = wait_for(open_connection("server", 7), 1.0).await.map(drop);
            let net = network()?;
            assert!(net.is_unresponsive("server"));
            assert!(!net.is_unresponsive("client"));
            sleep(2.5).await?; // past the 3 s the server does not respond for
            assert!(!net.is_unresponsive("server"));
            // The stalled host answers again; the next packet may stall it again (p = 1), but
            // only for another 3 s: the connection completes.
            let (_r, w) = open_connection("server", 7).await?;
            w.close();
            Ok((first, tulipsim::get_running_loop()?.time()))
        })
        .unwrap();
    assert_eq!(first, Err(Error::timeout()));
    // Each packet of the second connect stalls its host (p = 1): it takes a few 3 s stalls.
    assert!(at >= 6.5, "{at}");
    let fired = lp.fired_faults().queries().len();
    assert!(fired >= 2, "{fired}");
}

#[test]
fn an_unresponsive_host_times_a_connect_out() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = start_server(|_r, _w| async { Ok(()) }, "server", 7).await?;
        network()?.set_unresponsive("server", true);
        let r = wait_for(open_connection("server", 7), 1.0).await;
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
        Ok(())
    })
    .unwrap();
    assert_eq!(lp.time(), 1.0);
}

#[test]
fn an_unresponsive_peer_holds_data_until_it_responds_again() {
    let lp = EventLoop::new();
    let t = lp
        .run_until_complete(async {
            let net = network()?;
            let n2 = net.clone();
            let flipper = tulipsim::create_task(async move {
                sleep(0.01).await?;
                n2.set_unresponsive("server", true);
                sleep(3).await?;
                n2.set_unresponsive("server", false);
                Ok(())
            })?;
            let t = transfer(20).await?;
            flipper.await?;
            assert!(!net.is_unresponsive("server"));
            Ok(t)
        })
        .unwrap();
    assert_eq!(t.received, t.sent);
    assert!(lp.time() >= 3.0);
}

#[test]
fn delayed_packets_arrive_later_and_in_order() {
    let base = lp(0, FaultConfig::default());
    let plain = base.run_until_complete(transfer(30)).unwrap();
    let mut later = 0;
    for seed in 0..20 {
        let lp = lp(seed, FaultConfig::default().net_delay(0.3, 0.05));
        let t = lp.run_until_complete(transfer(30)).unwrap();
        assert_eq!(t.received, t.sent, "seed {seed}");
        assert_eq!(t.received, plain.received, "seed {seed}");
        assert!(lp.time() >= base.time(), "seed {seed}");
        later += usize::from(lp.time() > base.time());
    }
    assert!(later > 10, "{later}");
}

/// What a paced exchange did: the bytes the client's writes accepted, what the server read,
/// how the client's writing ended, and the server's answer (the byte count it read).
#[derive(Debug, PartialEq)]
struct Paced {
    sent: Vec<u8>,
    received: Vec<u8>,
    client_end: Result<(), Error>,
    answer: Vec<u8>,
}

/// The client writes 30 chunks of 100 bytes, 2 ms apart (each arrives before the next is
/// written), then the end of the stream, and reads the answer; the server reads to the end of
/// the stream and answers how many bytes it read.
async fn paced_exchange() -> Result<Paced, Error> {
    let received = Rc::new(RefCell::new(Vec::new()));
    let rx = received.clone();
    let _server = start_server(
        move |r, w| {
            let rx = rx.clone();
            async move {
                let got = r.read(-1).await?;
                w.write(got.len().to_string())?;
                rx.borrow_mut().extend_from_slice(&got);
                w.close();
                Ok(())
            }
        },
        "server",
        9100,
    )
    .await?;
    let (r, w) = open_connection("server", 9100).await?;
    let (mut sent, mut client_end) = (Vec::new(), Ok(()));
    for i in 0..30u8 {
        if let Err(e) = w.write([i; 100]) {
            client_end = Err(e);
            break;
        }
        sent.extend_from_slice(&[i; 100]);
        sleep(0.002).await?;
    }
    w.write_eof();
    let answer = r.read(-1).await?;
    w.close();
    let received = received.borrow().clone();
    Ok(Paced {
        sent,
        received,
        client_end,
        answer,
    })
}

#[test]
fn a_half_close_ends_the_stream_early_and_breaks_the_next_write_only() {
    let lp = lp(1, FaultConfig::default().net_half_close(1.0));
    let p = lp.run_until_complete(paced_exchange()).unwrap();
    // The first chunk arrives and shuts the client's write side: it is the whole stream.
    assert_eq!(p.sent, [0; 100]);
    assert_eq!(p.received, p.sent);
    assert!(
        matches!(&p.client_end, Err(Error::BrokenPipe(m)) if &**m == "[Errno 32] Broken pipe"),
        "{:?}",
        p.client_end
    );
    assert_eq!(p.answer, b"100"); // the server's direction still works
    let trace = lp.trace().to_string();
    assert!(
        trace.contains(
            "fault net-half-close: ('client', 49152) stops writing to ('server', 9100) as 100 bytes arrive"
        ),
        "{trace}"
    );
    assert_eq!(lp.fired_faults().queries().len(), 1);
}

#[test]
fn under_seeded_half_closes_the_reader_gets_exactly_what_the_writer_accepted() {
    let (mut cut, mut whole) = (0, 0);
    for seed in 0..40 {
        let lp = lp(seed, FaultConfig::default().net_half_close(0.03));
        let p = lp.run_until_complete(paced_exchange()).unwrap();
        assert_eq!(p.received, p.sent, "seed {seed}");
        assert_eq!(p.answer, p.sent.len().to_string().as_bytes(), "seed {seed}");
        if lp.fired_faults().queries().is_empty() {
            assert_eq!(
                (p.sent.len(), &p.client_end),
                (3000, &Ok(())),
                "seed {seed}"
            );
            whole += 1;
        } else {
            assert!(p.sent.len() < 3000, "seed {seed}");
            assert!(
                matches!(p.client_end, Err(Error::BrokenPipe(_))),
                "seed {seed}"
            );
            cut += 1;
        }
    }
    assert!(cut > 5 && whole > 5, "half-closed {cut}, whole {whole}");
}

fn all_net() -> FaultConfig {
    FaultConfig::default()
        .net_delay(0.2, 0.05)
        .net_reset(0.02)
        .net_partition(0.02, 0.3)
        .net_half_close(0.02)
        .net_unresponsive(0.02, 0.3)
}

#[test]
fn the_same_seed_with_network_faults_gives_the_same_trace_twice() {
    for seed in 0..10 {
        let run = || {
            let lp = lp(seed, all_net());
            let t = lp.run_until_complete(transfer(20)).unwrap();
            (lp.trace().to_string(), t, lp.time())
        };
        let (a, b) = (run(), run());
        assert_eq!(a.0, b.0, "seed {seed}");
        assert_eq!(a.1, b.1, "seed {seed}");
        assert_eq!(a.2, b.2, "seed {seed}");
    }
}

#[test]
fn a_fired_network_fault_plan_replays() {
    let mut some = 0;
    for seed in 0..20 {
        let original = lp(seed, all_net());
        let first = original.run_until_complete(transfer(20)).unwrap();
        let fired = original.fired_faults();
        some += usize::from(!fired.queries().is_empty());
        let replay = lp(seed, all_net());
        replay.set_scheduler(Replay::new(Default::default()).with_faults(fired.clone()));
        let second = replay.run_until_complete(transfer(20)).unwrap();
        assert_eq!(replay.fired_faults(), fired, "seed {seed}");
        assert_eq!(first, second, "seed {seed}");
        assert_eq!(original.time(), replay.time(), "seed {seed}");
    }
    assert!(some > 5, "{some}");
}
