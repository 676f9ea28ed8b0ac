# Cancelling a task that awaits another task cancels the inner one (it is the outer's waiter).
# If the inner catches the CancelledError and returns a value, the outer receives that value and
# is not cancelled.
from vloop import new_loop
import asyncio

loop = new_loop()

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("inner caught; cancelling", asyncio.current_task().cancelling())
        return 5
    return 0

async def outer(it):
    v = await it
    print("outer got", v, "cancelling", asyncio.current_task().cancelling())
    return v * 2

async def main():
    it = asyncio.create_task(inner())
    ot = asyncio.create_task(outer(it))
    await asyncio.sleep(1)
    print("cancel outer ->", ot.cancel())
    print("inner cancelling", it.cancelling(), "outer cancelling", ot.cancelling())
    print("outer result", await ot, "outer cancelled", ot.cancelled(), "inner cancelled", it.cancelled())

loop.run_until_complete(main())
