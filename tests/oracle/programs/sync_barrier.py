# Barrier(3): the third task to wait releases the other two, and each gets its own index (the
# order it arrived in). A task that arrives while the barrier drains waits for the next round.
# reset() while tasks wait breaks their wait; abort() breaks the waiters and every later wait
# until a reset. A waiter cancelled while it waits leaves the count; one cancelled after its
# release ends cancelled. Barrier(0) is refused.
from vloop import new_loop
import asyncio

loop = new_loop()

def state(prim):
    r = repr(prim)
    return r[r.index("["):-1]

async def party(name, b):
    print(name, "waits at", loop.time(), state(b))
    try:
        i = await b.wait()
    except asyncio.BrokenBarrierError as e:
        print(name, "broken:", e, "at", loop.time(), state(b))
        return "broken"
    except asyncio.CancelledError:
        print(name, "cancelled at", loop.time(), state(b))
        raise
    print(name, "passed with index", i, "at", loop.time(), state(b))
    return i

def flags(tasks):
    return " ".join("x" if t.cancelled() else "d" if t.done() else "." for t in tasks)

async def main():
    try:
        asyncio.Barrier(0)
    except ValueError as e:
        print("Barrier(0):", e)

    b = asyncio.Barrier(3)
    print("parties", b.parties, "n_waiting", b.n_waiting, "broken", b.broken, state(b))
    ts = [asyncio.create_task(party(n, b)) for n in "AB"]
    await asyncio.sleep(1)
    print("two waiting", state(b), flags(ts))
    ts.append(asyncio.create_task(party("C", b)))
    ts.append(asyncio.create_task(party("D", b)))
    await asyncio.sleep(0)
    print("one hop after C", state(b), flags(ts))
    await asyncio.sleep(0)
    print("two hops after C", state(b), flags(ts))
    await asyncio.sleep(0)
    print("three hops after C", state(b), flags(ts))
    ts.append(asyncio.create_task(party("E", b)))
    ts.append(asyncio.create_task(party("F", b)))
    print("results", [await t for t in ts], "at", loop.time(), state(b))

    # reset() with two waiting: both are broken, the barrier fills again afterwards.
    b = asyncio.Barrier(3)
    ts = [asyncio.create_task(party(n, b)) for n in ["R1", "R2"]]
    await asyncio.sleep(1)
    await b.reset()
    print("reset", state(b), flags(ts))
    ts.append(asyncio.create_task(party("R3", b)))
    await asyncio.sleep(0)
    print("R3 during reset", state(b), flags(ts))
    print("results", [await t for t in ts[:2]], state(b))
    ts += [asyncio.create_task(party(n, b)) for n in ["R4", "R5"]]
    print("results", [await t for t in ts[2:]], state(b))
    await b.reset()
    print("reset of an idle barrier", state(b))

    # abort(): waiters and later waits are broken until reset().
    b = asyncio.Barrier(2)
    w = asyncio.create_task(party("W1", b))
    await asyncio.sleep(0)
    await b.abort()
    print("aborted", state(b), "broken", b.broken, "n_waiting", b.n_waiting)
    print("W1 ->", await w)
    print("late ->", await party("W2", b))
    await b.reset()
    print("after reset", state(b), "broken", b.broken)
    ws = [asyncio.create_task(party(n, b)) for n in ["W3", "W4"]]
    print("results", [await t for t in ws], state(b))

    # A waiter cancelled while it waits leaves the count.
    b = asyncio.Barrier(2)
    k = asyncio.create_task(party("K1", b))
    await asyncio.sleep(0)
    print("K1 waiting", state(b))
    k.cancel()
    await asyncio.sleep(0)
    print("K1 cancelled", state(b), flags([k]))
    ks = [asyncio.create_task(party(n, b)) for n in ["K2", "K3"]]
    print("results", [await t for t in ks], state(b))

    # A waiter cancelled after the barrier released it, before it ran, ends cancelled; the
    # barrier drains all the same.
    b = asyncio.Barrier(2)
    x1 = asyncio.create_task(party("X1", b))
    await asyncio.sleep(0)
    x2 = asyncio.create_task(party("X2", b))
    await asyncio.sleep(0)
    print("X2 released", state(b), flags([x1, x2]))
    x1.cancel()
    try:
        await x1
    except asyncio.CancelledError:
        print("X1 ended cancelled", state(b))
    print("X2 ->", await x2, state(b))

loop.run_until_complete(main())
print("time", loop.time())
