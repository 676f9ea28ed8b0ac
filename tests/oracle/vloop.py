"""A virtual-time asyncio event loop for CPython 3.11: the oracle tulipsim is checked against.

It is asyncio's own BaseEventLoop (so `_run_once`, Future, Task and every task function are
CPython's code), with two things replaced: the selector, whose `select(timeout)` moves a virtual
clock forward instead of sleeping, and `time()`, which reads that clock. The clock counts
integer nanoseconds, as tulipsim's does. With nothing ready and no timer, `select(None)` would
block forever: it raises Deadlock instead.
"""
import asyncio
import asyncio.base_events


class Deadlock(Exception):
    pass


class _VirtualSelector:
    def __init__(self, loop):
        self._loop = loop

    def select(self, timeout):
        if timeout is None:
            raise Deadlock("nothing is ready and no timer is pending")
        if timeout > 0:
            self._loop._now_ns += round(timeout * 1e9)
        return []

    def close(self):
        pass


class VirtualLoop(asyncio.base_events.BaseEventLoop):
    def __init__(self):
        super().__init__()
        self._now_ns = 0
        self._selector = _VirtualSelector(self)
        self._clock_resolution = 1e-9

    def time(self):
        return self._now_ns / 1e9

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass


def new_loop():
    loop = VirtualLoop()
    asyncio.set_event_loop(loop)
    return loop
