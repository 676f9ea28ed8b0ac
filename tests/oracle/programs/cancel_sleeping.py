# Task.cancel() on a sleeping task cancels the sleep's future: the CancelledError arrives at the
# task's await one iteration later. The task may catch it and return a value; it is then not
# cancelled, and cancelling() still counts the request until uncancel().
from vloop import new_loop
import asyncio

loop = new_loop()

async def catcher():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        print("caught", e.args, "at", loop.time())
        print("cancelling inside", asyncio.current_task().cancelling())
        await asyncio.sleep(1)
        return "cleaned up"

async def ticker():
    for i in range(3):
        print("tick", i)
        await asyncio.sleep(0)

async def main():
    t = asyncio.create_task(catcher())
    await asyncio.sleep(2)
    asyncio.create_task(ticker())
    print("cancel ->", t.cancel("stop now"), "cancelled()", t.cancelled())
    print("again ->", t.cancel(), "cancelling", t.cancelling())
    r = await t
    print("result", r, "cancelled()", t.cancelled(), "cancelling", t.cancelling(), "at", loop.time())
    print("cancel done task ->", t.cancel(), "cancelling", t.cancelling())

loop.run_until_complete(main())
