# Event.set() wakes every waiter in the order they started waiting, and clear() right after
# set() does not stop them. A task that starts waiting after the clear waits for the next set.
# A cancelled wait leaves no waiter behind.
from vloop import new_loop
import asyncio

loop = new_loop()

def state(prim):
    r = repr(prim)
    return r[r.index("["):-1]

async def waiter(name, ev):
    print(name, "waits at", loop.time(), state(ev))
    r = await ev.wait()
    print(name, "woke", r, "at", loop.time(), "is_set", ev.is_set(), state(ev))

async def main():
    ev = asyncio.Event()
    a = asyncio.create_task(waiter("A", ev))
    b = asyncio.create_task(waiter("B", ev))
    await asyncio.sleep(1)
    c = asyncio.create_task(waiter("C", ev))
    ev.set()
    ev.clear()
    print("set and cleared", state(ev))
    await asyncio.sleep(0)
    print("one hop later", state(ev))
    d = asyncio.create_task(waiter("D", ev))
    await asyncio.sleep(0)
    loop.call_later(1, ev.set)
    await d
    print("D done at", loop.time(), "C done", c.done())
    await asyncio.sleep(0)
    print("C done", c.done(), state(ev))
    print("wait on a set event ->", await ev.wait())

    ev.clear()
    w = asyncio.create_task(ev.wait())
    loop.call_soon(w.cancel)
    try:
        await w
    except asyncio.CancelledError:
        print("wait cancelled", w.cancelled(), state(ev))

loop.run_until_complete(main())
print("time", loop.time())
