# A task awaiting a plain future: Task.cancel() cancels that future (other awaiters see it
# cancelled too). A task that raises CancelledError itself ends cancelled without cancel().
from vloop import new_loop
import asyncio

loop = new_loop()

async def await_it(name, fut):
    try:
        await fut
    except asyncio.CancelledError as e:
        print(name, "got CancelledError", e.args)
        raise

async def raiser():
    raise asyncio.CancelledError("own")

async def main():
    fut = loop.create_future()
    a = asyncio.create_task(await_it("a", fut))
    b = asyncio.create_task(await_it("b", fut))
    await asyncio.sleep(0)
    a.cancel("via a")
    print("fut cancelled", fut.cancelled())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    print("a", a.cancelled(), "b", b.cancelled(), "b cancelling", b.cancelling())
    r = asyncio.create_task(raiser())
    await asyncio.sleep(0)
    print("raiser cancelled", r.cancelled(), "cancelling", r.cancelling())

loop.run_until_complete(main())
