//! asyncio's streams on the simulated network: the reader's and writer's semantics (CPython
//! 3.11's `streams.py`), flow control (`_FlowControlMixin`, checked against CPython in
//! `tests/oracle/programs/streams_flow_control.py`), cancellation, determinism and leaks.

use crate::common;
use common::expected;

use std::cell::RefCell;
use std::rc::Rc;

use common::Log;
use tulipsim::streams::{network, open_connection, start_server, Network};
use tulipsim::{
    check, create_task, get_running_loop, sleep, Error, EventLoop, LoopConfig, Policy, Task,
    TraceLevel,
};

/// An echo server on ("server", 7): every line comes back, until the end of the stream.
async fn echo_server() -> Result<tulipsim::Server, Error> {
    start_server(
        |reader, writer| async move {
            loop {
                let line = reader.readline().await?;
                if line.is_empty() {
                    break;
                }
                writer.write(&line)?;
                writer.drain().await?;
            }
            writer.close();
            Ok(())
        },
        "server",
        7,
    )
    .await
}

#[test]
fn echo_round_trip_takes_the_link_latencies() {
    let lp = EventLoop::new();
    let times = lp
        .run_until_complete(async {
            let lp = get_running_loop()?;
            let server = echo_server().await?;
            let (reader, writer) = open_connection("server", 7).await?;
            let connected = lp.time_ns();
            writer.write(b"hello\n")?;
            writer.drain().await?;
            let line = reader.readline().await?;
            assert_eq!(line, b"hello\n");
            let echoed = lp.time_ns();
            writer.write_eof();
            assert_eq!(reader.read(-1).await?, b""); // the server closed after our EOF
            assert!(reader.at_eof());
            writer.close();
            writer.wait_closed().await?;
            server.close();
            server.wait_closed().await?;
            Ok((connected, echoed, lp.time_ns()))
        })
        .unwrap();
    // Connecting: one round trip of 1 ms each way.
    assert_eq!(times.0, 2_000_000);
    // 6 bytes at 10 MB/s take 600 ns on the wire, each way, plus 1 ms latency each way.
    assert_eq!(times.1, 2_000_000 + 2 * (600 + 1_000_000));
    // Our EOF reaches the server 1 ms later, its EOF comes back 1 ms after that.
    assert_eq!(times.2, times.1 + 2_000_000);
}

#[test]
fn extra_info_names_both_ends() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let _server = start_server(
            move |_r, w| {
                let s = s.clone();
                async move {
                    s.borrow_mut().push(w.get_extra_info("sockname").unwrap());
                    s.borrow_mut().push(w.get_extra_info("peername").unwrap());
                    Ok(())
                }
            },
            "db",
            5432,
        )
        .await?;
        let (_r1, w1) = open_connection("db", 5432).await?;
        let (_r2, w2) = open_connection("db", 5432).local_host("app").await?;
        assert_eq!(w1.get_extra_info("sockname").unwrap(), ("client", 49152));
        assert_eq!(w1.get_extra_info("peername").unwrap(), ("db", 5432));
        assert_eq!(w2.get_extra_info("sockname").unwrap(), ("app", 49152));
        assert_eq!(w2.get_extra_info("nothing"), None);
        assert_eq!(
            *seen.borrow(),
            [
                ("db", 5432),
                ("client", 49152),
                ("db", 5432),
                ("app", 49152)
            ]
        );
        Ok(())
    })
    .unwrap();
}

/// A server that writes `data` in one write, then closes.
async fn serve_bytes(data: &'static [u8], port: u16) -> Result<tulipsim::Server, Error> {
    start_server(
        move |_r, w| async move {
            w.write(data)?;
            w.close();
            Ok(())
        },
        "server",
        port,
    )
    .await
}

#[test]
fn readline_returns_lines_then_the_partial_last_one() {
    let lp = EventLoop::new();
    let lines = lp
        .run_until_complete(async {
            let _s = serve_bytes(b"a\nbb\n\nccc", 1).await?;
            let (reader, _w) = open_connection("server", 1).await?;
            let mut lines = Vec::new();
            loop {
                let line = reader.readline().await?;
                if line.is_empty() {
                    break;
                }
                lines.push(line);
            }
            assert!(reader.at_eof());
            Ok(lines)
        })
        .unwrap();
    assert_eq!(lines, [&b"a\n"[..], b"bb\n", b"\n", b"ccc"]);
}

#[test]
fn readline_longer_than_the_limit_is_a_value_error_and_drops_the_line() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = serve_bytes(b"0123456789\nok\n", 1).await?;
        let (reader, _w) = open_connection("server", 1).limit(4).await?;
        let err = reader.readline().await.unwrap_err();
        assert_eq!(
            err,
            Error::Value("Separator is found, but chunk is longer than limit".into())
        );
        // The whole long line went, newline included; the next one is intact.
        assert_eq!(reader.readline().await?, b"ok\n");
        Ok(())
    })
    .unwrap();
}

#[test]
fn readexactly_and_its_incomplete_read() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = serve_bytes(b"0123456789", 1).await?;
        let (reader, _w) = open_connection("server", 1).await?;
        assert_eq!(reader.readexactly(0).await?, b"");
        assert_eq!(reader.readexactly(4).await?, b"0123");
        let Err(Error::IncompleteRead(e)) = reader.readexactly(10).await else {
            panic!("expected IncompleteReadError");
        };
        assert_eq!(e.partial(), b"456789");
        assert_eq!(e.expected(), Some(10));
        assert_eq!(
            e.to_string(),
            "6 bytes read on a total of 10 expected bytes"
        );
        // The partial bytes were taken out of the buffer, as in CPython.
        assert!(reader.at_eof());
        assert_eq!(reader.read(-1).await?, b"");
        Ok(())
    })
    .unwrap();
}

#[test]
fn readexactly_waits_across_several_deliveries() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = start_server(
            |_r, w| async move {
                for part in [&b"ab"[..], b"cd", b"ef"] {
                    w.write(part)?;
                    sleep(1).await?;
                }
                Ok(())
            },
            "server",
            1,
        )
        .await?;
        let (reader, _w) = open_connection("server", 1).await?;
        assert_eq!(reader.readexactly(5).await?, b"abcde");
        let lp = get_running_loop()?;
        // "ef" was written at 2.001 s and arrives 200 ns + 1 ms later.
        assert_eq!(lp.time_ns(), 2_001_000_000 + 200 + 1_000_000);
        Ok(())
    })
    .unwrap();
}

#[test]
fn readuntil_limit_overrun_and_incomplete_read() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = serve_bytes(b"key=value;0123456789abc", 1).await?;
        let (reader, _w) = open_connection("server", 1).limit(8).await?;
        assert_eq!(reader.readuntil(b"=").await?, b"key=");
        assert_eq!(reader.readuntil(b";").await?, b"value;");
        // No separator within the limit: CPython's offset rule gives consumed = buflen + 1 -
        // seplen once the end of the stream arrived (13 buffered, a 2-byte separator: 12).
        let err = reader.readuntil(b"--").await.unwrap_err();
        let Error::LimitOverrun(e) = &err else {
            panic!("{err}")
        };
        assert_eq!(
            e.message(),
            "Separator is not found, and chunk exceed the limit"
        );
        assert_eq!(e.consumed(), 12);
        // The bytes stayed. With 8 left (not over the limit), the end of the stream comes
        // before a separator.
        assert_eq!(reader.read(5).await?, b"01234");
        let Err(Error::IncompleteRead(e)) = reader.readuntil(b"z").await else {
            panic!("expected IncompleteReadError");
        };
        assert_eq!(e.partial(), b"56789abc");
        assert_eq!(e.expected(), None);
        assert!(reader.at_eof());
        assert_eq!(
            reader.readuntil(b"").await.unwrap_err(),
            Error::Value("Separator should be at least one-byte string".into())
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn read_minus_one_reads_to_eof_across_deliveries_and_read_n_is_at_most_n() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = start_server(
            |_r, w| async move {
                w.write(vec![1u8; 100_000])?; // 7 segments of at most 16 KiB
                w.write(b"tail")?;
                w.write_eof();
                Ok(())
            },
            "server",
            1,
        )
        .await?;
        let (reader, _w) = open_connection("server", 1).await?;
        assert_eq!(reader.read(0).await?, b"");
        let first = reader.read(10).await?;
        assert_eq!(first, [1u8; 10]);
        assert!(!reader.at_eof());
        let rest = reader.read(-1).await?;
        assert_eq!(rest.len(), 100_000 - 10 + 4);
        assert!(rest.ends_with(b"tail"));
        assert!(reader.at_eof());
        assert_eq!(reader.read(5).await?, b"");
        Ok(())
    })
    .unwrap();
}

#[test]
fn write_eof_is_a_half_close() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        // The server reads the whole request (to EOF), then answers on the same connection.
        let _s = start_server(
            |r, w| async move {
                let request = r.read(-1).await?;
                assert!(r.at_eof());
                w.write(format!("got {} bytes", request.len()))?;
                w.close();
                Ok(())
            },
            "server",
            1,
        )
        .await?;
        let (reader, writer) = open_connection("server", 1).await?;
        assert!(writer.can_write_eof());
        writer.write(b"request body")?;
        writer.write_eof();
        assert_eq!(
            writer.write(b"late").unwrap_err(),
            Error::Runtime("Cannot call write() after write_eof()".into())
        );
        assert!(!writer.is_closing()); // half-closed only: still reading
        assert_eq!(reader.read(-1).await?, b"got 12 bytes");
        Ok(())
    })
    .unwrap();
}

#[test]
fn connection_refused_after_one_round_trip() {
    let lp = EventLoop::new();
    let err = lp
        .run_until_complete(async {
            Network::of(&get_running_loop()?).set_link("client", "nowhere", 0.25, 1_000)?;
            Ok(open_connection("nowhere", 80).await.unwrap_err())
        })
        .unwrap();
    assert_eq!(
        err,
        Error::ConnectionRefused("[Errno 111] Connect call failed ('nowhere', 80)".into())
    );
    assert_eq!(err.kind_name(), "ConnectionRefusedError");
    assert!(err.is_connection_error());
    assert_eq!(lp.time(), 0.5);
}

#[test]
fn a_closed_server_refuses_and_wait_closed_waits_for_its_connections() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let lp = get_running_loop()?;
        let server = start_server(
            |r, w| async move {
                r.read(-1).await?; // until the client's EOF
                sleep(1).await?;
                w.close();
                Ok(())
            },
            "server",
            9,
        )
        .await?;
        let (reader, writer) = open_connection("server", 9).await?;
        server.close();
        assert!(!server.is_serving());
        assert!(server.sockets().is_empty());
        server.close(); // twice: nothing
        let refused = open_connection("server", 9).await.unwrap_err();
        assert!(matches!(refused, Error::ConnectionRefused(_)));
        let (s, l2) = (server.clone(), l.clone());
        let waiter = create_task(async move {
            s.wait_closed().await?;
            l2.push(format!(
                "wait_closed returned at {}",
                get_running_loop()?.time_ns()
            ));
            Ok(())
        })?;
        writer.write_eof();
        assert_eq!(reader.read(-1).await?, b"");
        l.push(format!("client saw EOF at {}", lp.time_ns()));
        writer.close();
        waiter.await?;
        // Closed and no connection left: returns at once now.
        server.wait_closed().await?;
        Ok(())
    })
    .unwrap();
    // Connected at 2 ms; refused at 4 ms; our EOF reaches the server at 5 ms; it sleeps 1 s
    // and closes: its connection is lost then (wait_closed returns), its EOF reaches us 1 ms
    // later.
    assert_eq!(
        log.lines(),
        [
            "wait_closed returned at 1005000000",
            "client saw EOF at 1006000000",
        ]
    );
}

#[test]
fn address_in_use_and_ephemeral_ports() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _a = start_server(|_r, _w| async { Ok(()) }, "h", 80).await?;
        let err = start_server(|_r, _w| async { Ok(()) }, "h", 80)
            .await
            .unwrap_err();
        assert_eq!(err.kind_name(), "OSError");
        assert_eq!(
            err.to_string(),
            "OSError: [Errno 98] error while attempting to bind on address ('h', 80): \
             address already in use"
        );
        let b = start_server(|_r, _w| async { Ok(()) }, "h", 0).await?;
        assert_eq!(b.sockets(), [("h", 49152)]);
        // The client end of a connection from h does not take the listening port.
        let (_r, w) = open_connection("h", 49152).local_host("h").await?;
        assert_eq!(w.get_extra_info("sockname").unwrap(), ("h", 49153));
        assert_eq!(network()?.listeners(), [("h", 80), ("h", 49152)]);
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_failing_handler_is_reported_and_its_connection_closed() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = start_server(
            |_r, _w| async { Err::<(), _>(Error::msg("handler failed")) },
            "server",
            1,
        )
        .await?;
        let (reader, _w) = open_connection("server", 1).await?;
        assert_eq!(reader.read(-1).await?, b"");
        Ok(())
    })
    .unwrap();
    let reports = lp.take_reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].message(),
        "Unhandled exception in client_connected_cb"
    );
    assert_eq!(reports[0].error().unwrap().to_string(), "handler failed");
}

#[test]
fn writing_to_a_closed_peer_is_reset_and_drain_raises() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let lp = get_running_loop()?;
        let _s = start_server(
            |_r, w| async move {
                w.close();
                Ok(())
            },
            "server",
            1,
        )
        .await?;
        let (reader, writer) = open_connection("server", 1).await?;
        // The server closed at once: its EOF follows the answer to our connection request.
        assert_eq!(reader.read(-1).await?, b"");
        assert_eq!(lp.time(), 0.002);
        // Reaches the closed socket at 3 ms, which answers with a reset, here at 4 ms.
        writer.write(b"anyone?")?;
        writer.drain().await?; // not paused: returns at once
        sleep(0.01).await?;
        let reset = Error::ConnectionReset("[Errno 104] Connection reset by peer".into());
        assert_eq!(writer.drain().await.unwrap_err(), reset);
        assert_eq!(reader.read(1).await.unwrap_err(), reset);
        assert_eq!(writer.wait_closed().await.unwrap_err(), reset);
        assert!(writer.is_closing());
        writer.write(b"dropped silently")?;
        assert_eq!(lp.time(), 0.012);
        Ok(())
    })
    .unwrap();
    assert!(lp.take_reports().is_empty());
}

#[test]
fn drain_after_close_raises_connection_lost() {
    // CPython 3.11: drain() on a closing transport yields once, so the connection_lost that
    // close() scheduled runs, then _drain_helper raises ConnectionResetError('Connection lost').
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = start_server(|_r, _w| async { Ok(()) }, "server", 1).await?;
        let (reader, writer) = open_connection("server", 1).await?;
        writer.close();
        assert_eq!(
            writer.drain().await.unwrap_err(),
            Error::ConnectionReset("Connection lost".into())
        );
        writer.wait_closed().await?;
        // connection_lost(None) fed our own reader its EOF.
        assert!(reader.at_eof());
        Ok(())
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Flow control

/// A server that reads everything, then answers with the byte count and closes.
async fn counting_server(port: u16) -> Result<tulipsim::Server, Error> {
    start_server(
        |r, w| async move {
            let mut total = 0;
            loop {
                let block = r.read(1 << 20).await?;
                if block.is_empty() {
                    break;
                }
                assert!(block.iter().all(|&b| b == b'x'));
                total += block.len();
            }
            w.write(total.to_string())?;
            w.close();
            Ok(())
        },
        "server",
        port,
    )
    .await
}

/// The program of `tests/oracle/programs/streams_flow_control.py`, on tulipsim's network (its default
/// link: 1 ms, 10 MB/s, 16 KiB segments), logging what CPython logs.
///
/// The pause lines are exact: `pause_writing` happens inside `write()`, so a write after which
/// `is_writing_paused()` turned true is where it happened. The resume lines are measured where
/// the blocked `drain()` returns; CPython logs them inside `resume_writing`. Equal lines show
/// that tulipsim's drain returned at the virtual time and buffer size at which CPython resumes.
///
/// The first cycle by hand, from `_FlowControlMixin`'s rules: the idle wire takes the first
/// write (10000 bytes, busy until 1 ms); writes 2..8 go to the buffer, and the 8th leaves
/// 70000 > 65536 bytes: pause. The wire takes 16384 bytes every 1.6384 ms from 1 ms on: 53616,
/// 37232, 20848, then 4464 <= 16384 at 1 + 3 * 1.6384 = 5.9152 ms: resume.
#[test]
fn flow_control_pauses_and_resumes_where_cpython_does() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    let total = lp
        .run_until_complete(async move {
            let lp = get_running_loop()?;
            let _server = counting_server(8888).await?;
            let (reader, writer) = open_connection("server", 8888).await?;
            let t0 = lp.time_ns();
            let transport = writer.transport();
            let line = |text: String| l.push(format!("t={} {text}", lp.time_ns() - t0));
            let write_and_drain = |n: usize, count: usize| {
                let (writer, transport, line) = (&writer, &transport, &line);
                async move {
                    for _ in 0..count {
                        let was_paused = transport.is_writing_paused();
                        writer.write(vec![b'x'; n])?;
                        let size = transport.get_write_buffer_size();
                        if !was_paused && transport.is_writing_paused() {
                            line(format!("pause_writing size={size}"));
                        }
                        let paused = transport.is_writing_paused();
                        line(format!(
                            "write {n} -> size={size} paused={}",
                            common::py(paused)
                        ));
                        writer.drain().await?;
                        if paused {
                            let size = transport.get_write_buffer_size();
                            line(format!("resume_writing size={size}"));
                            line(format!("drain returned size={size}"));
                        }
                    }
                    Ok::<(), Error>(())
                }
            };
            write_and_drain(10000, 24).await?;
            let was_paused = transport.is_writing_paused();
            transport.set_write_buffer_limits(Some(20000), None)?;
            if !was_paused && transport.is_writing_paused() {
                let size = transport.get_write_buffer_size();
                line(format!("pause_writing size={size}"));
            }
            let (low, high) = transport.get_write_buffer_limits();
            let paused = common::py(transport.is_writing_paused());
            line(format!("limits ({low}, {high}) paused={paused}"));
            write_and_drain(7000, 12).await?;
            writer.write_eof();
            let count = reader.read(-1).await?;
            Ok(String::from_utf8(count).unwrap())
        })
        .unwrap();
    assert_eq!(total, (24 * 10000 + 12 * 7000).to_string());
    let lines = log.lines();
    assert_eq!(lines[7], "t=0 pause_writing size=70000");
    assert_eq!(lines[9], "t=5915200 resume_writing size=4464");
    assert_eq!(log.text(), expected("streams_flow_control"));
}

/// A reader that does not read pauses its transport once its buffer passes twice its limit;
/// the sender's wire stops, its buffer fills, and its drain() blocks until the reader reads.
///
/// By hand (relative to the connection at 2 ms; T = 16384 B / 10 MB/s = 1.6384 ms, L = 1 ms):
/// the writer writes 16 KiB chunks and drains when paused. The idle wire takes the first; 5
/// more leave 81920 > 65536 buffered: pause, after 6 writes (98304 bytes). The wire takes a
/// segment at T, 2T, ...; at 4T the buffer is down to 16384 <= 16384: resume, 4 more writes
/// to 81920, pause; again at 8T. Segment k arrives at kT + L, so the reader holds 9 * 16384 =
/// 147456 > 2 * 65536 at 9T + L and pauses reading. Segment 10 left at 9T, before that, and is
/// held; at 10T the window is closed and the wire stops. The writer stays blocked with 65536
/// bytes buffered (and still paused: 65536 > 16384), 14 writes accepted (229376 bytes).
/// The reader wakes at 1.001 s and takes all 147456 bytes: reading resumes, the wire takes a
/// segment at once and at each T after: 49152, 32768, 16384: resume at 1.001 s + 2T.
#[test]
fn a_slow_reader_holds_the_writer_back_across_the_link() {
    let lp = EventLoop::new();
    let log = Log::new();
    let server_side = Rc::new(RefCell::new(None));
    let (l, side) = (log.clone(), server_side.clone());
    let echoed = lp
        .run_until_complete(async move {
            let lp = get_running_loop()?;
            let _server = start_server(
                move |r, w| {
                    let side = side.clone();
                    async move {
                        *side.borrow_mut() = Some((r.clone(), w.transport()));
                        sleep(1).await?;
                        let mut total = 0;
                        loop {
                            let block = r.read(1 << 20).await?;
                            if block.is_empty() {
                                break;
                            }
                            total += block.len();
                        }
                        w.write(total.to_string())?;
                        w.close();
                        Ok(())
                    }
                },
                "server",
                1,
            )
            .await?;
            let (l2, lp2) = (l.clone(), lp.clone());
            let client_side = Rc::new(RefCell::new(None));
            let c = client_side.clone();
            let client = create_task(async move {
                let (reader, writer) = open_connection("server", 1).await?;
                let t = writer.transport();
                *c.borrow_mut() = Some(t.clone());
                let mut accepted = 0;
                for _ in 0..64 {
                    writer.write(vec![b'x'; 16384])?;
                    accepted += 16384;
                    if t.is_writing_paused() {
                        let size = t.get_write_buffer_size();
                        l2.push(format!(
                            "{} drain blocks: accepted={accepted} buffer={size}",
                            lp2.time_ns()
                        ));
                        writer.drain().await?;
                        let size = t.get_write_buffer_size();
                        l2.push(format!("{} drain returns: buffer={size}", lp2.time_ns()));
                    }
                }
                writer.write_eof();
                Ok(String::from_utf8(reader.read(-1).await?).unwrap())
            })?;
            sleep(0.5).await?;
            {
                let side = server_side.borrow();
                let (reader, transport) = side.as_ref().unwrap();
                l.push(format!(
                    "at 0.5 s: {reader:?} reading={}",
                    transport.is_reading()
                ));
                let client = client_side.borrow().clone().unwrap();
                l.push(format!(
                    "at 0.5 s: client buffer={} paused={}",
                    client.get_write_buffer_size(),
                    client.is_writing_paused()
                ));
            }
            client.await
        })
        .unwrap();
    assert_eq!(echoed, (64 * 16384).to_string());
    assert_eq!(
        log.lines()[..9],
        [
            "2000000 drain blocks: accepted=98304 buffer=81920",
            "8553600 drain returns: buffer=16384",
            "8553600 drain blocks: accepted=163840 buffer=81920",
            "15107200 drain returns: buffer=16384",
            "15107200 drain blocks: accepted=229376 buffer=81920",
            "at 0.5 s: <StreamReader 147456 bytes paused> reading=false",
            "at 0.5 s: client buffer=65536 paused=true",
            "1004276800 drain returns: buffer=16384",
            "1004276800 drain blocks: accepted=294912 buffer=81920",
        ]
    );
}

/// A reader that closes with its transport paused (and data unread) opens its window: what
/// the blocked writer sends next reaches a closed socket, and the reset fails its drain().
#[test]
fn a_paused_reader_that_closes_resets_the_blocked_writer() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let lp = get_running_loop()?;
        let _server = start_server(
            |_r, w| async move {
                sleep(1).await?; // never reads
                w.close();
                Ok(())
            },
            "server",
            1,
        )
        .await?;
        let (reader, writer) = open_connection("server", 1).await?;
        let err = loop {
            writer.write(vec![b'x'; 16384])?;
            if let Err(e) = writer.drain().await {
                break e;
            }
        };
        let reset = Error::ConnectionReset("[Errno 104] Connection reset by peer".into());
        assert_eq!(err, reset);
        // The server closed at 1.001 s; the wire took a segment at once, which reached the
        // closed socket 1.6384 ms + 1 ms later, and the reset came back 1 ms after that.
        assert_eq!(lp.time_ns(), 1_001_000_000 + 1_638_400 + 2_000_000);
        assert_eq!(reader.read(1).await.unwrap_err(), reset);
        Ok(())
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Cancellation

/// A server that writes `parts[i]` at second `i + 1` after it accepted, then closes.
fn paced_server(parts: &'static [&'static [u8]], port: u16) -> tulipsim::streams::StartServer {
    start_server(
        move |_r, w| async move {
            for part in parts {
                sleep(1).await?;
                w.write(part)?;
            }
            sleep(1).await?;
            w.close();
            Ok(())
        },
        "server",
        port,
    )
}

#[test]
fn a_connect_cancelled_before_the_answer_resets_the_accepted_end() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let l2 = l.clone();
        let _server = start_server(
            move |r, _w| {
                let l = l2.clone();
                async move {
                    let lp = get_running_loop()?;
                    l.push(format!("accepted at {}", lp.time_ns()));
                    let err = r.read(1).await.unwrap_err();
                    l.push(format!("{err} at {}", lp.time_ns()));
                    Ok(())
                }
            },
            "server",
            1,
        )
        .await?;
        let connecting = create_task(async { open_connection("server", 1).await })?;
        sleep(0.0015).await?; // the request was accepted at 1 ms; the answer comes at 2 ms
        connecting.cancel();
        assert!(connecting.await.unwrap_err().is_cancelled());
        sleep(1).await
    })
    .unwrap();
    assert_eq!(
        log.lines(),
        [
            "accepted at 1000000",
            "ConnectionResetError: [Errno 104] Connection reset by peer at 3000000",
        ]
    );
}

#[test]
fn a_read_cancelled_while_waiting_loses_nothing() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = paced_server(&[b"first ", b"second"], 1).await?;
        let (reader, _w) = open_connection("server", 1).await?;
        // Each kind of read, blocked on an empty buffer, then cancelled.
        let r = reader.clone();
        let blocked: Task<Vec<u8>> = create_task(async move { r.readexactly(100).await })?;
        sleep(0.5).await?;
        blocked.cancel();
        assert!(blocked.await.unwrap_err().is_cancelled());
        let r = reader.clone();
        let blocked: Task<Vec<u8>> = create_task(async move { r.read(10).await })?;
        sleep(0.1).await?;
        blocked.cancel();
        assert!(blocked.await.unwrap_err().is_cancelled());
        // No waiter was left behind: a new read works and gets every byte.
        assert_eq!(reader.read(-1).await?, b"first second");
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_read_cancelled_as_its_data_arrives_leaves_the_data_for_the_next_read() {
    // The cancel runs in the same iteration as the delivery, right after it: the read's
    // waiter is done (woken), so the cancellation is thrown at its next step, before it takes
    // anything from the buffer.
    let lp = EventLoop::new();
    let slot: Rc<RefCell<Option<Task<Vec<u8>>>>> = Rc::default();
    let s = slot.clone();
    lp.run_until_complete(async move {
        let _server = start_server(
            move |_r, w| {
                let s = s.clone();
                async move {
                    sleep(1).await?;
                    let lp = get_running_loop()?;
                    w.write(b"0123456789")?;
                    // 10 bytes: 1000 ns on the wire, then 1 ms.
                    let arrival = lp.time_ns() + 1000 + 1_000_000;
                    let task = s.borrow().clone().unwrap();
                    lp.call_at(arrival as f64 / 1e9, move || {
                        task.cancel();
                    });
                    Ok(())
                }
            },
            "server",
            1,
        )
        .await?;
        let (reader, _w) = open_connection("server", 1).await?;
        let r = reader.clone();
        let task = create_task(async move { r.readexactly(4).await })?;
        *slot.borrow_mut() = Some(task.clone());
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(get_running_loop()?.time_ns(), 1_002_001_000);
        assert_eq!(reader.readexactly(10).await?, b"0123456789");
        Ok(())
    })
    .unwrap();
}

#[test]
fn read_to_eof_cancelled_half_way_puts_its_blocks_back() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = paced_server(&[b"abc", b"def", b"ghi"], 1).await?;
        let (reader, _w) = open_connection("server", 1).await?;
        let r = reader.clone();
        let all: Task<Vec<u8>> = create_task(async move { r.read(-1).await })?;
        sleep(2.5).await?; // "abc" and "def" were read into the blocks; "ghi" is not there yet
        all.cancel();
        assert!(all.await.unwrap_err().is_cancelled());
        assert_eq!(reader.readexactly(6).await?, b"abcdef");
        assert_eq!(reader.read(-1).await?, b"ghi");
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_drain_cancelled_while_paused_loses_no_written_byte() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let lp = get_running_loop()?;
        let _s = counting_server(1).await?;
        let (reader, writer) = open_connection("server", 1).await?;
        let w = writer.clone();
        let blocked = create_task(async move {
            w.write(vec![b'x'; 200_000])?;
            assert!(w.transport().is_writing_paused());
            w.drain().await
        })?;
        sleep(0.001).await?;
        assert!(writer.transport().is_writing_paused());
        blocked.cancel();
        assert!(blocked.await.unwrap_err().is_cancelled());
        // The cancelled drain left no waiter behind: another drain blocks, and returns when
        // the buffer is down to the low-water mark.
        writer.drain().await?;
        assert!(writer.transport().get_write_buffer_size() <= 16384);
        // 200000 - 16384 buffered at 2 ms: resumes after the wire took 11 more segments
        // (200000 - 12 * 16384 = 3392 <= 16384), at 2 ms + 11 * 1.6384 ms.
        assert_eq!(lp.time_ns(), 2_000_000 + 11 * 1_638_400);
        assert_eq!(
            writer.transport().get_write_buffer_size(),
            200_000 - 12 * 16384
        );
        writer.write_eof();
        assert_eq!(reader.read(-1).await?, b"200000");
        Ok(())
    })
    .unwrap();
}

#[test]
fn two_reads_waiting_at_once_is_a_runtime_error() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let _s = paced_server(&[b"x"], 1).await?;
        let (reader, _w) = open_connection("server", 1).await?;
        let r = reader.clone();
        let first: Task<Vec<u8>> = create_task(async move { r.read(1).await })?;
        sleep(0.1).await?;
        assert_eq!(
            reader.readline().await.unwrap_err(),
            Error::Runtime(
                "readuntil() called while another coroutine is already waiting for incoming data"
                    .into()
            )
        );
        assert_eq!(first.await?, b"x");
        Ok(())
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Determinism

/// Three clients on two links talk to an echo server at once, with flow control at work.
async fn busy_network() -> Result<String, Error> {
    let lp = get_running_loop()?;
    let net = network()?;
    net.set_link("client", "server", 0.003, 2_000_000)?;
    net.set_link("app", "server", 0.0005, 50_000_000)?;
    let server = echo_server().await?;
    let mut clients = Vec::new();
    for (i, host) in ["client", "app", "client"].into_iter().enumerate() {
        clients.push(create_task(async move {
            let (reader, writer) = open_connection("server", 7).local_host(host).await?;
            let mut sent = 0;
            for j in 0..30 {
                let line = format!("{i}:{j}:{}\n", "y".repeat(1000 * (j % 5)));
                sent += line.len();
                writer.write(line)?;
                writer.drain().await?;
            }
            writer.write_eof();
            let mut got = 0;
            loop {
                let line = reader.readline().await?;
                if line.is_empty() {
                    break;
                }
                assert!(line.starts_with(format!("{i}:").as_bytes()));
                got += line.len();
            }
            assert_eq!(got, sent);
            writer.close();
            writer.wait_closed().await?;
            Ok(got)
        })?);
    }
    let got = tulipsim::gather(clients).await?;
    server.close();
    server.wait_closed().await?;
    Ok(format!("{got:?} at {}", lp.time_ns()))
}

#[test]
fn the_same_program_gives_the_same_trace() {
    let run = || {
        let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
        let result = lp.run_until_complete(busy_network()).unwrap();
        (result, lp.trace().to_string())
    };
    let (first, trace) = run();
    assert_eq!(run(), (first.clone(), trace.clone()));
    // Seven tasks, and every delivery and wire pull is a timer entry of the trace.
    assert!(trace.contains("Task-7 spawned"), "{trace}");
    assert!(trace.matches("timer ran").count() > 50, "{trace}");
}

#[test]
fn every_seed_of_a_random_schedule_is_deterministic() {
    let summary = check(busy_network)
        .policy(Policy::Random)
        .seeds(0..50)
        .determinism_check(true)
        .ignore_env()
        .outcome()
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(summary.runs, 100); // every seed twice, traces compared
                                   // And by hand: a seed's run twice is the same trace; different seeds differ somewhere.
    let run = |seed: u64| {
        let lp = EventLoop::with_config(LoopConfig::default().seed(seed).trace(TraceLevel::Full));
        lp.set_scheduler(tulipsim::scheduler::Random::new());
        let result = lp.run_until_complete(busy_network()).unwrap();
        (result, lp.trace().to_string())
    };
    let traces: Vec<_> = (0..4).map(run).collect();
    for (seed, t) in traces.iter().enumerate() {
        assert_eq!(&run(seed as u64), t);
    }
    assert!(traces.windows(2).any(|w| w[0].1 != w[1].1));
}

// ---------------------------------------------------------------------------------------------
// Leaks

use common::Live;

/// Open connections in every state, and servers whose handlers hold their own server.
fn build_network(lp: &EventLoop, live: &Live) {
    let (l, l2) = (live.clone(), live.clone());
    lp.create_task(async move {
        // A server whose handler holds the server itself (a cycle), and each connection's
        // task holding its reader and writer while blocked on a read.
        let slot: Rc<RefCell<Option<tulipsim::Server>>> = Rc::default();
        let (s, t) = (slot.clone(), l.track());
        let server = start_server(
            move |r, w| {
                let (_keep, t) = (s.borrow().clone(), t.0.track());
                async move {
                    let _t = t;
                    let _w = w;
                    r.read(-1).await?;
                    Ok(())
                }
            },
            "server",
            1,
        )
        .await?;
        *slot.borrow_mut() = Some(server);
        // A client blocked reading, one blocked in drain (paused writer, unread data on the
        // way), and one still connecting when the loop stops.
        let (reader, writer) = open_connection("server", 1).await?;
        let t = l.track();
        create_task(async move {
            let _t = t;
            let _w = writer;
            reader.read(1).await
        })?;
        let t = l.track();
        create_task(async move {
            let _t = t;
            let (_r, w) = open_connection("server", 1).await?;
            w.write(vec![0; 500_000])?;
            w.drain().await
        })?;
        let t = l2.track();
        create_task(async move {
            let _t = t;
            sleep(0.01).await?;
            let (_r, w) = open_connection("server", 1).await?;
            Ok(w)
        })?;
        Ok(())
    });
}

#[test]
fn closing_the_loop_frees_connections_and_servers() {
    let live = Live::default();
    let lp = EventLoop::new();
    build_network(&lp, &live);
    lp.run_until_complete(sleep(0.0105)).unwrap();
    // The server (1), its two handlers (2), the three clients (3).
    assert_eq!(live.count(), 6, "all alive before close");
    lp.close().unwrap();
    assert_eq!(live.count(), 0, "close freed everything");
    let _ = lp.take_reports();
}

#[test]
fn dropping_the_loop_frees_connections_and_servers() {
    let live = Live::default();
    {
        let lp = EventLoop::new();
        build_network(&lp, &live);
        lp.run_until_complete(sleep(0.0105)).unwrap();
        let _ = lp.take_reports();
    }
    assert_eq!(live.count(), 0);
}

#[test]
fn a_finished_exchange_frees_everything_without_closing() {
    let live = Live::default();
    let lp = EventLoop::new();
    let t = live.track();
    lp.run_until_complete(async move {
        let _t = t;
        let result = busy_network().await?;
        Ok(result)
    })
    .unwrap();
    assert_eq!(live.count(), 0);
    assert!(lp.all_tasks().is_empty());
    assert!(lp.take_reports().is_empty());
}
