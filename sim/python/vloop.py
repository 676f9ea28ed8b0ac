"""A virtual-time asyncio event loop for CPython 3.11: the oracle tulipsim is checked against.

It is asyncio's own BaseEventLoop (so `_run_once`, Future, Task and every task function are
CPython's code), with the selector replaced: `select(timeout)` moves a virtual clock forward
instead of sleeping, and `time()` reads that clock. With nothing ready and no timer,
`select(None)` would block forever: it raises Deadlock instead.

Three orders CPython leaves to chance are fixed, each to the order tulipsim documents (and each
an order CPython itself can produce):
- timers with equal deadlines fire in scheduling order (CPython's heap does not keep it);
- a TaskGroup keeps its tasks in creation order (CPython keeps a set, ordered by address);
- as_completed watches its inputs in argument order (CPython iterates a set).
"""
import asyncio
import asyncio.base_events
import asyncio.events
import asyncio.taskgroups
import asyncio.tasks
import inspect
import itertools


class Deadlock(Exception):
    pass


# Set by a program that met a RecursionError (worker.py resets it before each program).
RECURSED = False


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


_seq = itertools.count()


class _FifoTimerHandle(asyncio.events.TimerHandle):
    """A timer handle ordered by (deadline, scheduling order)."""

    __slots__ = ("_seq",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._seq = next(_seq)

    def __lt__(self, other):
        return (self._when, self._seq) < (other._when, other._seq)

    def __le__(self, other):
        return (self._when, self._seq) <= (other._when, other._seq)

    def __gt__(self, other):
        return (self._when, self._seq) > (other._when, other._seq)

    def __ge__(self, other):
        return (self._when, self._seq) >= (other._when, other._seq)


class VirtualLoop(asyncio.base_events.BaseEventLoop):
    def __init__(self):
        super().__init__()
        # Exceptions passed to the exception handler (errors in callbacks, say), for callers that
        # want to know what the default handler would only have logged.
        self.handler_exceptions = []
        self._now_ns = 0
        self._selector = _VirtualSelector(self)
        self._clock_resolution = 1e-9

    def time(self):
        return self._now_ns / 1e9

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

    def call_exception_handler(self, context):
        self.handler_exceptions.append(context.get("exception"))
        super().call_exception_handler(context)

    def call_at(self, when, callback, *args, context=None):
        # BaseEventLoop.call_at, with a handle that keeps scheduling order among equal deadlines.
        self._check_closed()
        timer = _FifoTimerHandle(when, callback, args, self, context=context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        import heapq
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer


class OrderedSet:
    """The set operations TaskGroup and as_completed use, in insertion order."""

    def __init__(self, items=()):
        self._d = dict.fromkeys(items)

    def add(self, x):
        self._d[x] = None

    def discard(self, x):
        self._d.pop(x, None)

    def remove(self, x):
        del self._d[x]

    def clear(self):
        self._d.clear()

    def __iter__(self):
        return iter(list(self._d))

    def __len__(self):
        return len(self._d)

    def __bool__(self):
        return bool(self._d)

    def __contains__(self, x):
        return x in self._d


_tg_init = asyncio.taskgroups.TaskGroup.__init__


def _ordered_tg_init(self):
    _tg_init(self)
    self._tasks = OrderedSet()


asyncio.taskgroups.TaskGroup.__init__ = _ordered_tg_init


def _patch_as_completed():
    src = inspect.getsource(asyncio.tasks.as_completed)
    patched = src.replace("for f in set(fs)}", "for f in OrderedSet(fs))") \
                 .replace("todo = {ensure_future(", "todo = OrderedSet(ensure_future(")
    if patched.count("OrderedSet") != 2:
        raise RuntimeError("vloop: CPython's as_completed changed; update the patch")
    ns = dict(vars(asyncio.tasks))
    ns["OrderedSet"] = OrderedSet
    exec(compile(patched, asyncio.tasks.__file__, "exec"), ns)
    asyncio.tasks.as_completed = ns["as_completed"]
    asyncio.as_completed = ns["as_completed"]


_patch_as_completed()


def _rewrite(function, old, new):
    src = inspect.getsource(function)
    if src.count(old) != 1:
        raise RuntimeError(f"vloop: CPython's {function.__name__} changed; update the patch")
    ns = dict(vars(inspect.getmodule(function)))
    exec(compile(src.replace(old, new), inspect.getsourcefile(function), "exec"), ns)
    return ns[function.__name__]


# tulipsim's deliberate differences from CPython 3.11 (docs/semantics.md), as patches that make
# asyncio behave like tulipsim. Off unless a caller turns them on: the oracle is CPython as it
# is; the differential test turns one on only to name the difference a mismatch comes from.
_wait_for = asyncio.tasks.wait_for
DEVIATIONS = {
    # wait_for does not swallow the caller's cancellation when the inner is already done.
    "wait_for_keeps_cancellation": (
        ("wait_for", _wait_for),
        ("wait_for", _rewrite(
            _wait_for,
            "        except exceptions.CancelledError:\n"
            "            if fut.done():\n"
            "                return fut.result()\n",
            "        except exceptions.CancelledError:\n"
            "            if fut.done():\n"
            "                raise\n",
        )),
    ),
}


def use_deviations(names):
    """Turns the named deviations on and every other one off."""
    for name, (original, patched) in DEVIATIONS.items():
        attr, fn = patched if name in names else original
        setattr(asyncio.tasks, attr, fn)
        setattr(asyncio, attr, fn)


def new_loop():
    loop = VirtualLoop()
    asyncio.set_event_loop(loop)
    return loop
