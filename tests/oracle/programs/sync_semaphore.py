# Semaphore(2) with five tasks: two hold a slot at a time, the others get theirs in FIFO
# order; D, cancelled while waiting, leaves the queue. Then test_acquire_cancel_before_awoken:
# waiters cancelled before a release are skipped, and a waiter woken and then cancelled gives
# its slot to the next one. Last, a BoundedSemaphore refuses a release beyond its value.
from vloop import new_loop
import asyncio

loop = new_loop()

def state(prim):
    r = repr(prim)
    return r[r.index("["):-1]

def flags(tasks):
    return " ".join("x" if t.cancelled() else ("d" if t.done() else ".") for t in tasks)

async def worker(name, sem, hold):
    print(name, "wants a slot at", loop.time(), state(sem))
    try:
        async with sem:
            print(name, "got a slot at", loop.time(), state(sem))
            await asyncio.sleep(hold)
    except asyncio.CancelledError:
        print(name, "cancelled at", loop.time(), state(sem))
        raise
    print(name, "gave it back at", loop.time(), state(sem))

async def main():
    sem = asyncio.Semaphore(2)
    names = ["A", "B", "C", "D", "E"]
    holds = [3, 1, 2, 1, 1.5]
    tasks = [asyncio.create_task(worker(n, sem, h)) for n, h in zip(names, holds)]
    await asyncio.sleep(0.5)
    tasks[3].cancel()
    for n, t in zip(names, tasks):
        try:
            await t
            print(n, "finished at", loop.time())
        except asyncio.CancelledError:
            print(n, "was cancelled")
    print("final", state(sem))

    sem = asyncio.Semaphore(0)
    ts = [asyncio.create_task(sem.acquire()) for _ in range(4)]
    await asyncio.sleep(0)
    ts[0].cancel()
    ts[1].cancel()
    sem.release()
    print("released", flags(ts), state(sem))
    await asyncio.sleep(0)
    print("hop 1", flags(ts), state(sem))
    await asyncio.sleep(0)
    print("hop 2", flags(ts), state(sem))
    ts.append(asyncio.create_task(sem.acquire()))
    await asyncio.sleep(0)
    sem.release()
    print("released", flags(ts), state(sem))
    ts[3].cancel()
    await asyncio.sleep(0)
    print("hop 1", flags(ts), state(sem))
    await asyncio.sleep(0)
    print("hop 2", flags(ts), state(sem))

    b = asyncio.BoundedSemaphore(1)
    await b.acquire()
    b.release()
    print("bounded", state(b))
    try:
        b.release()
    except ValueError as e:
        print("ValueError:", e)
    try:
        asyncio.Semaphore(-1)
    except ValueError as e:
        print("ValueError:", e)

loop.run_until_complete(main())
print("time", loop.time())
