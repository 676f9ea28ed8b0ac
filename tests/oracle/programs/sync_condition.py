# Condition.notify(1) wakes the longest waiter only, notify_all() all the others; each
# notified task returns from wait() only once it holds the lock, so they run one at a time,
# in FIFO order. wait_for() re-checks its predicate after every notification.
from vloop import new_loop
import asyncio

loop = new_loop()

def state(prim):
    r = repr(prim)
    return r[r.index("["):-1]

async def consumer(name, cond):
    async with cond:
        print(name, "waits at", loop.time(), state(cond))
        r = await cond.wait()
        print(name, "notified", r, "at", loop.time(), state(cond))
        await asyncio.sleep(0.5)
    print(name, "done at", loop.time(), state(cond))

async def taker(name, cond, items):
    async with cond:
        r = await cond.wait_for(lambda: len(items) > 0)
        print(name, "takes", items.pop(0), "at", loop.time(), r)

async def main():
    cond = asyncio.Condition()
    ts = [asyncio.create_task(consumer(n, cond)) for n in "ABCD"]
    await asyncio.sleep(1)
    async with cond:
        cond.notify(1)
        print("notify(1)", state(cond))
    await asyncio.sleep(1)
    async with cond:
        cond.notify_all()
        print("notify_all", state(cond))
    print("main released at", loop.time(), state(cond))
    for t in ts:
        await t
    print("all done at", loop.time())

    items = []
    takers = [asyncio.create_task(taker(n, cond, items)) for n in "XY"]
    await asyncio.sleep(0)
    for i in range(2):
        await asyncio.sleep(1)
        async with cond:
            items.append(i)
            cond.notify_all()
            print("put", i, state(cond))
    for t in takers:
        await t
    try:
        cond.notify()
    except RuntimeError as e:
        print("RuntimeError:", e)
    try:
        await cond.wait()
    except RuntimeError as e:
        print("RuntimeError:", e)

loop.run_until_complete(main())
print("time", loop.time())
