# TaskGroup: waits for its tasks; the first failure cancels the siblings and the body; errors
# are grouped; an outer cancellation propagates as CancelledError. (Only one sibling is pending
# when a failure aborts the group: CPython cancels several in set order, which varies from run
# to run; tulipsim cancels them in creation order, see tests/task_functions.rs.)
from vloop import new_loop
import asyncio

loop = new_loop()

async def child(name, delay, fail=False):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print(name, "cancelled at", loop.time())
        raise
    if fail:
        print(name, "fails at", loop.time())
        raise ValueError(name)
    print(name, "done at", loop.time())
    return name

async def main():
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(child("a", 2))
        b = tg.create_task(child("b", 1))
        print("body done at", loop.time())
    print("group 1 done at", loop.time(), a.result(), b.result())
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("d", 1, fail=True))
            tg.create_task(child("e", 2, fail=True))
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                print("body cancelled at", loop.time(), "cancelling", asyncio.current_task().cancelling())
                raise
    except* ValueError as eg:
        print("group 2 raised", [str(e) for e in eg.exceptions], "at", loop.time(),
              "cancelling", asyncio.current_task().cancelling())
        print("group 2:", eg)
    async def runs_group():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("f", 5))
    t = asyncio.create_task(runs_group())
    await asyncio.sleep(1)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("outer cancel propagated at", loop.time())
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("h", 1))
            raise KeyError("body")
    except* KeyError as eg:
        print("body error grouped:", [repr(e) for e in eg.exceptions], "at", loop.time())

loop.run_until_complete(main())
