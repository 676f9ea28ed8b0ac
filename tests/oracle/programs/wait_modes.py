# wait: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED and timeout; done and pending; the
# timeout cancels nothing.
from vloop import new_loop
import asyncio

loop = new_loop()

async def job(delay, fail=False):
    await asyncio.sleep(delay)
    if fail:
        raise ValueError(delay)
    return delay

def names(fs, tasks):
    return sorted(tasks[f] for f in fs)

async def main():
    tasks = {}
    def mk(name, delay, fail=False):
        t = asyncio.create_task(job(delay, fail))
        tasks[t] = name
        return t
    a, b, c = mk("a", 3), mk("b", 1), mk("c", 2)
    done, pending = await asyncio.wait([a, b, c], return_when=asyncio.FIRST_COMPLETED)
    print("FIRST_COMPLETED done", names(done, tasks), "pending", names(pending, tasks), "at", loop.time())
    d, e = mk("d", 1), mk("e", 2, fail=True)
    done, pending = await asyncio.wait([a, c, d, e], return_when=asyncio.FIRST_EXCEPTION)
    print("FIRST_EXCEPTION done", names(done, tasks), "pending", names(pending, tasks), "at", loop.time())
    done, pending = await asyncio.wait([a, c, d, e], return_when=asyncio.FIRST_EXCEPTION)
    print("FIRST_EXCEPTION again", names(done, tasks), names(pending, tasks), "at", loop.time())
    f, g = mk("f", 10), mk("g", 1)
    done, pending = await asyncio.wait([f, g], timeout=4)
    print("timeout done", names(done, tasks), "pending", names(pending, tasks), "at", loop.time(), "f cancelled", f.cancelled())
    done, pending = await asyncio.wait([f])
    print("ALL_COMPLETED done", names(done, tasks), "at", loop.time(), "result", f.result())
    try:
        await asyncio.wait([])
    except ValueError as ex:
        print("empty:", ex)
    e.exception()

loop.run_until_complete(main())
