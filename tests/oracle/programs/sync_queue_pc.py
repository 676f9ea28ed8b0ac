# Queue(maxsize=1) between two producers and two consumers that sleep between items: a full
# queue blocks put() and an empty one blocks get(), and blocked tasks are served in the order
# they started waiting.
from vloop import new_loop
import asyncio

loop = new_loop()

async def producer(name, q, items, pause):
    for item in items:
        print(name, "puts", item, "at", loop.time(), q)
        await q.put(item)
        print(name, "put", item, "at", loop.time(), "qsize", q.qsize())
        await asyncio.sleep(pause)

async def consumer(name, q, n, pause):
    for _ in range(n):
        item = await q.get()
        print(name, "got", item, "at", loop.time(), q)
        await asyncio.sleep(pause)

async def main():
    q = asyncio.Queue(maxsize=1)
    print("maxsize", q.maxsize, "empty", q.empty(), "full", q.full())
    tasks = [
        asyncio.create_task(producer("P1", q, [1, 2, 3], 0)),
        asyncio.create_task(producer("P2", q, [10, 20], 0.5)),
        asyncio.create_task(consumer("C1", q, 3, 1)),
        asyncio.create_task(consumer("C2", q, 2, 0.25)),
    ]
    for t in tasks:
        await t
    print("end", q, "empty", q.empty(), "full", q.full())

loop.run_until_complete(main())
print("time", loop.time())
