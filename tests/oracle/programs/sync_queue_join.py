# join() returns at once when every item put has been marked done, and otherwise when the
# last task_done() call comes; every joiner wakes, in the order they started waiting.
# task_done() once too often is a ValueError.
from vloop import new_loop
import asyncio

loop = new_loop()

async def worker(name, q):
    while True:
        item = await q.get()
        print(name, "processing", item, "at", loop.time())
        await asyncio.sleep(item)
        q.task_done()
        print(name, "done with", item, "at", loop.time(), q)

async def joiner(name, q):
    await q.join()
    print(name, "joined at", loop.time())

async def main():
    q = asyncio.Queue()
    await q.join()
    print("join of an empty queue returns at", loop.time())
    for i in [3, 1, 2, 1]:
        q.put_nowait(i)
    print("queued", q)
    workers = [asyncio.create_task(worker(n, q)) for n in ("W1", "W2")]
    joiners = [asyncio.create_task(joiner(n, q)) for n in ("J1", "J2")]
    await q.join()
    print("main joined at", loop.time(), q)
    for j in joiners:
        await j
    for w in workers:
        w.cancel()
    for w in workers:
        try:
            await w
        except asyncio.CancelledError:
            print("worker cancelled", w.cancelled())
    try:
        q.task_done()
    except ValueError as e:
        print("ValueError:", e)
    await q.join()
    print("joined again at", loop.time())

loop.run_until_complete(main())
print("time", loop.time())
