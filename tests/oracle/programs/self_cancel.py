# A task that cancels itself gets CancelledError at its next await, one iteration later (the
# future it awaits is cancelled). A task that cancels itself and returns without awaiting ends
# cancelled anyway.
from vloop import new_loop
import asyncio

loop = new_loop()

async def self_canceller():
    asyncio.current_task().cancel("me")
    print("requested")
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError as e:
        print("self got", e.args, "at", loop.time())
        raise

async def returner():
    asyncio.current_task().cancel()
    return 1

async def ticker():
    for i in range(3):
        print("tick", i)
        await asyncio.sleep(0)

async def main():
    a = asyncio.create_task(self_canceller())
    b = asyncio.create_task(ticker())
    c = asyncio.create_task(returner())
    await asyncio.sleep(0.5)
    print("a cancelled", a.cancelled(), "c cancelled", c.cancelled())

loop.run_until_complete(main())
