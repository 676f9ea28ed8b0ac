# Cancelling get() or put() loses no item and strands no waiter. A reader woken by put_nowait()
# and cancelled before it runs passes the item to the next reader
# (test_get_cancel_drop_many_pending_readers); a cancelled putter leaves the queue of putters
# (test_put_cancelled_race); a putter woken by get_nowait() and then cancelled passes the free
# slot to the next putter (test_cancelled_put_silence_value_error_exception).
from vloop import new_loop
import asyncio

loop = new_loop()

def flags(tasks):
    return " ".join("x" if t.cancelled() else ("d" if t.done() else ".") for t in tasks)

async def reader(name, q):
    try:
        item = await q.get()
    except asyncio.CancelledError as e:
        print(name, "cancelled", e.args, q)
        raise
    print(name, "got", item, q)
    return item

async def writer(name, q, item):
    try:
        await q.put(item)
    except asyncio.CancelledError:
        print(name, "cancelled", q)
        raise
    print(name, "put", item, q)

async def main():
    q = asyncio.Queue()
    readers = [asyncio.create_task(reader(n, q)) for n in ("R1", "R2", "R3")]
    await asyncio.sleep(0)
    q.put_nowait(1)
    q.put_nowait(2)
    readers[0].cancel("late")
    print("two items for three readers", q)
    await asyncio.sleep(0)
    print("hop 1", flags(readers), q)
    await asyncio.sleep(0)
    print("hop 2", flags(readers), q)
    q.put_nowait(3)
    r = asyncio.create_task(reader("R4", q))
    await r
    print("R4 took", r.result(), q)

    q = asyncio.Queue(maxsize=1)
    puts = [asyncio.create_task(writer(n, q, i)) for n, i in (("Wa", "a"), ("Wb", "b"), ("Wc", "X"))]
    await asyncio.sleep(0)
    print("puts", flags(puts), q)
    puts[2].cancel()
    await asyncio.sleep(0)
    print("hop 1", flags(puts), q)
    print("get ->", q.get_nowait(), q)
    await asyncio.sleep(0)
    print("hop 2", flags(puts), q)
    print("get ->", q.get_nowait(), q)

    q.put_nowait("F")
    w1 = asyncio.create_task(writer("W1", q, "p"))
    w2 = asyncio.create_task(writer("W2", q, "q"))
    await asyncio.sleep(0)
    print("two putters wait", q)
    print("get ->", q.get_nowait(), q)
    w1.cancel()
    await asyncio.sleep(0)
    print("hop 1", flags([w1, w2]), q)
    await asyncio.sleep(0)
    print("hop 2", flags([w1, w2]), q)
    print("get ->", q.get_nowait(), "qsize", q.qsize())

    try:
        q.get_nowait()
    except asyncio.QueueEmpty:
        print("QueueEmpty")
    q.put_nowait("0")
    try:
        q.put_nowait("1")
    except asyncio.QueueFull:
        print("QueueFull")

loop.run_until_complete(main())
print("time", loop.time())
