# Flow control of a StreamWriter whose writes outpace the wire: CPython's own
# _SelectorSocketTransport.write/_write_ready, _FlowControlMixin (high 64 KiB, low 16 KiB, then
# set_write_buffer_limits(high=20000)), FlowControlMixin._drain_helper and StreamWriter.drain,
# over a fake socket that models tulipsim's simulated wire (src/streams/network.rs): send()
# takes one segment of at most 16 KiB when the wire is idle, the wire is then busy for
# len / 10 MB/s, and the socket is writable again when it is idle. tests/streams.rs runs the
# same writes on tulipsim's network and must print the same lines.
from vloop import new_loop
import asyncio
import socket
from asyncio import selector_events, streams

SEGMENT = 16384
BANDWIDTH = 10_000_000  # bytes per second

loop = new_loop()


class WireSocket:
    family = socket.AF_UNIX  # no TCP_NODELAY to set
    type = socket.SOCK_STREAM
    proto = 0

    def __init__(self):
        self.busy_until = 0  # ns

    def fileno(self):
        return 3

    def getsockname(self):
        return ("client", 49152)

    def getpeername(self):
        return ("server", 8888)

    def send(self, data):
        now = loop._now_ns
        if now < self.busy_until:
            raise BlockingIOError
        n = min(len(data), SEGMENT)
        self.busy_until = now + -(-n * 10**9 // BANDWIDTH)
        return n

    def shutdown(self, how):
        pass

    def close(self):
        pass


sock = WireSocket()

# The selector's part: the socket is writable when the wire is idle.
loop._transports = {}
writer_cb = None
token = 0


def _add_writer(fd, callback, *args):
    global writer_cb, token
    writer_cb = callback
    token += 1
    loop.call_at(sock.busy_until / 1e9, _writable, token)


def _remove_writer(fd):
    global writer_cb, token
    writer_cb = None
    token += 1


def _writable(t):
    if t != token or writer_cb is None:
        return
    writer_cb()
    if writer_cb is not None and t == token:
        loop.call_at(sock.busy_until / 1e9, _writable, t)


loop._add_writer = _add_writer
loop._remove_writer = _remove_writer
loop._add_reader = lambda fd, cb, *args: None
loop._remove_reader = lambda fd: None


def log(line):
    print(f"t={loop._now_ns} {line}")


class LoggingProtocol(streams.StreamReaderProtocol):
    def pause_writing(self):
        log(f"pause_writing size={transport.get_write_buffer_size()}")
        super().pause_writing()

    def resume_writing(self):
        log(f"resume_writing size={transport.get_write_buffer_size()}")
        super().resume_writing()


reader = streams.StreamReader(loop=loop)
protocol = LoggingProtocol(reader, loop=loop)
transport = selector_events._SelectorSocketTransport(loop, sock, protocol)
writer = streams.StreamWriter(transport, protocol, reader, loop)


async def write_and_drain(n, count):
    for _ in range(count):
        writer.write(b"x" * n)
        log(f"write {n} -> size={transport.get_write_buffer_size()} paused={protocol._paused}")
        blocks = protocol._paused
        await writer.drain()
        if blocks:
            log(f"drain returned size={transport.get_write_buffer_size()}")


async def main():
    await write_and_drain(10000, 24)
    transport.set_write_buffer_limits(high=20000)
    log(f"limits {transport.get_write_buffer_limits()} paused={protocol._paused}")
    await write_and_drain(7000, 12)


loop.run_until_complete(main())
