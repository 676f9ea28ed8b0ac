# shield: cancelling the awaiter does not cancel the inner, but the awaiter gets CancelledError;
# cancelling the inner cancels the shield; the inner's error reaches the awaiter.
from vloop import new_loop
import asyncio

loop = new_loop()

async def inner(name, delay, fail=False):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print(name, "cancelled at", loop.time())
        raise
    if fail:
        raise ValueError(name)
    print(name, "finished at", loop.time())
    return name

async def caller(label, aw):
    try:
        r = await asyncio.shield(aw)
        print(label, "got", r, "at", loop.time())
    except asyncio.CancelledError:
        print(label, "got CancelledError at", loop.time())
        raise
    except ValueError as e:
        print(label, "got", repr(e), "at", loop.time())

async def main():
    t1 = asyncio.create_task(inner("inner1", 3))
    c1 = asyncio.create_task(caller("caller1", t1))
    await asyncio.sleep(1)
    c1.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    print("caller1 cancelled", c1.cancelled(), "inner1 done", t1.done())
    print("inner1 result", await t1, "at", loop.time())
    t2 = asyncio.create_task(inner("inner2", 3))
    c2 = asyncio.create_task(caller("caller2", t2))
    await asyncio.sleep(1)
    t2.cancel()
    await asyncio.sleep(0); await asyncio.sleep(0); await asyncio.sleep(0)
    print("caller2 cancelled", c2.cancelled())
    t3 = asyncio.create_task(inner("inner3", 1, fail=True))
    await caller("caller3", t3)
    t4 = asyncio.create_task(inner("inner4", 0))
    await asyncio.sleep(0.5)
    print("shield of done task is the task:", asyncio.shield(t4) is t4)

loop.run_until_complete(main())
