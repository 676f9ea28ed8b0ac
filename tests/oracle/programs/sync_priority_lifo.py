# PriorityQueue keeps its items as heapq does: items that compare equal come out in heapq's
# order, which is not insertion order. LifoQueue returns the newest item first. Blocked getters
# of both are served in FIFO order.
from vloop import new_loop
import asyncio

loop = new_loop()

class Job:
    """Ordered by priority only, so jobs of equal priority compare equal."""
    def __init__(self, pri, name):
        self.pri, self.name = pri, name
    def __lt__(self, other):
        return self.pri < other.pri
    def __repr__(self):
        return f"{self.name}{self.pri}"

async def getter(name, q):
    item = await q.get()
    print(name, "got", item, "at", loop.time())

async def main():
    q = asyncio.PriorityQueue()
    for pri, name in zip([2, 1, 2, 1, 3, 1, 2, 1, 0, 2], "abcdefghij"):
        q.put_nowait(Job(pri, name))
    print(q)
    print("order", [q.get_nowait() for _ in range(q.qsize())])

    q = asyncio.PriorityQueue(maxsize=2)
    gs = [asyncio.create_task(getter(n, q)) for n in ("G1", "G2", "G3")]
    await asyncio.sleep(0)
    print(q)
    for pri, name in [(5, "x"), (1, "y"), (1, "z")]:
        await q.put(Job(pri, name))
        print("put", name, q)
    for g in gs:
        await g

    q = asyncio.LifoQueue(maxsize=3)
    for i in [1, 3, 2]:
        await q.put(i)
    print(q, "full", q.full())
    print("order", [q.get_nowait() for _ in range(q.qsize())])
    gs = [asyncio.create_task(getter(n, q)) for n in ("L1", "L2")]
    await asyncio.sleep(0)
    loop.call_later(1, q.put_nowait, 7)
    loop.call_later(1, q.put_nowait, 8)
    for g in gs:
        await g

loop.run_until_complete(main())
print("time", loop.time())
