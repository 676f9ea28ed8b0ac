# A task that does not catch CancelledError ends cancelled; awaiting it raises CancelledError
# carrying the message; result() and exception() raise CancelledError too.
from vloop import new_loop
import asyncio

loop = new_loop()

async def victim():
    print("victim start")
    await asyncio.sleep(10)
    print("never printed")

async def main():
    t = asyncio.create_task(victim())
    await asyncio.sleep(1)
    t.cancel("bye")
    try:
        await t
    except asyncio.CancelledError as e:
        print("awaiter got CancelledError", e.args)
    print("done", t.done(), "cancelled", t.cancelled(), "at", loop.time())
    try:
        t.exception()
    except asyncio.CancelledError:
        print("exception() raised CancelledError")

loop.run_until_complete(main())
