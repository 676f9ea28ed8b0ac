# as_completed: results in completion order; a timeout turns the awaitables still unsatisfied
# into TimeoutError without cancelling the inputs; an input's exception is raised by its await.
from vloop import new_loop
import asyncio

loop = new_loop()

async def slow(delay, result, fail=False):
    await asyncio.sleep(delay)
    if fail:
        raise ValueError(result)
    return result

async def main():
    for f in asyncio.as_completed([slow(3, "c"), slow(1, "a"), slow(2, "b")]):
        print("got", await f, "at", loop.time())
    late = asyncio.create_task(slow(9, "slow"))
    for f in asyncio.as_completed([slow(1, "quick"), late], timeout=5):
        try:
            print("got", await f, "at", loop.time())
        except asyncio.TimeoutError:
            print("TimeoutError at", loop.time(), "late cancelled", late.cancelled())
    print("late still finishes:", await late, "at", loop.time())
    for f in asyncio.as_completed([slow(1, "bad", fail=True), slow(2, "good")]):
        try:
            print("got", await f, "at", loop.time())
        except ValueError as e:
            print("raised", repr(e), "at", loop.time())

loop.run_until_complete(main())
