# Three tasks contend for a Lock and get it in FIFO order; B, cancelled while waiting, leaves
# the queue and C is next. Then the cancel/release race (bpo-32734): a waiter cancelled in the
# callback that releases the lock passes its wake-up on, so exactly one task gets the lock; and
# a waiter woken and then cancelled before it runs passes the wake-up on too.
from vloop import new_loop
import asyncio

loop = new_loop()

def state(prim):
    r = repr(prim)
    return r[r.index("["):-1]

async def worker(name, lock):
    print(name, "wants the lock at", loop.time(), state(lock))
    try:
        await lock.acquire()
    except asyncio.CancelledError as e:
        print(name, "cancelled while waiting", e.args, state(lock))
        raise
    print(name, "holds the lock at", loop.time(), state(lock))
    await asyncio.sleep(1)
    lock.release()
    print(name, "released at", loop.time(), state(lock))
    return name

async def racer(name, lock):
    try:
        await lock.acquire()
    except asyncio.CancelledError:
        print(name, "cancelled", state(lock))
        raise
    print(name, "acquired", state(lock))

async def main():
    lock = asyncio.Lock()
    a = asyncio.create_task(worker("A", lock))
    b = asyncio.create_task(worker("B", lock))
    c = asyncio.create_task(worker("C", lock))
    await asyncio.sleep(0.5)
    print("cancel B ->", b.cancel("go away"), state(lock))
    for t in (a, b, c):
        try:
            print("result", await t, "at", loop.time())
        except asyncio.CancelledError:
            print("B ended cancelled", b.cancelled())

    lock = asyncio.Lock()
    await lock.acquire()
    t1 = asyncio.create_task(racer("t1", lock))
    t2 = asyncio.create_task(racer("t2", lock))
    t3 = asyncio.create_task(racer("t3", lock))
    await asyncio.sleep(0)
    print("three waiting", state(lock))

    def trigger():
        t1.cancel()
        lock.release()
        print("trigger", state(lock))

    loop.call_soon(trigger)
    await asyncio.sleep(0)
    print("hop 1: t1", t1.done(), "t2", t2.done(), state(lock))
    await asyncio.sleep(0)
    print("hop 2: t1", t1.cancelled(), "t2", t2.done(), "t3", t3.done(), state(lock))

    t4 = asyncio.create_task(racer("t4", lock))
    await asyncio.sleep(0)
    lock.release()
    print("t3 cancel ->", t3.cancel(), state(lock))
    await asyncio.sleep(0)
    print("hop 1: t3", t3.cancelled(), "t4", t4.done(), state(lock))
    await asyncio.sleep(0)
    print("hop 2: t4", t4.done(), state(lock))
    lock.release()
    try:
        lock.release()
    except RuntimeError as e:
        print("RuntimeError:", e)

loop.run_until_complete(main())
print("time", loop.time())
