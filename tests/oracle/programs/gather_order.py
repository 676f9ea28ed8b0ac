# gather: results in argument order; the first error reaches the outer future at once while the
# other children keep running; return_exceptions collects everything; cancelling the outer
# cancels the children; a child cancelled by other means is an exception, not a cancellation.
from vloop import new_loop
import asyncio

loop = new_loop()

async def child(name, delay, fail=False):
    print("start", name)
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print("cancelled", name, "at", loop.time())
        raise
    if fail:
        print("fail", name, "at", loop.time())
        raise ValueError(name)
    print("done", name, "at", loop.time())
    return name

async def main():
    r = await asyncio.gather(child("a", 2), child("b", 1), child("c", 3))
    print("results", r, "at", loop.time())
    g = asyncio.gather(child("d", 3), child("e", 1, fail=True), child("f", 2))
    try:
        await g
    except ValueError as e:
        print("outer raised", repr(e), "at", loop.time())
    await asyncio.sleep(3)
    r = await asyncio.gather(child("g", 1, fail=True), child("h", 2), return_exceptions=True)
    print("with exceptions", [repr(x) for x in r], "at", loop.time())
    i = asyncio.create_task(child("i", 5))
    j = asyncio.create_task(child("j", 5))
    g = asyncio.gather(i, j)
    await asyncio.sleep(1)
    print("cancel outer ->", g.cancel())
    try:
        await g
    except asyncio.CancelledError:
        print("outer raised CancelledError; cancelled()", g.cancelled(), "at", loop.time())
    k = asyncio.create_task(child("k", 5))
    l = asyncio.create_task(child("l", 2))
    g = asyncio.gather(k, l)
    await asyncio.sleep(1)
    k.cancel()
    try:
        await g
    except asyncio.CancelledError:
        print("child cancel: outer raised CancelledError; cancelled()", g.cancelled(), "l done", l.done())
    await asyncio.sleep(2)
    print("l result", l.result(), "at", loop.time())
    print("empty", await asyncio.gather())

loop.run_until_complete(main())
