# asyncio.run() cancels the tasks still pending when main returns and runs them to the end. A
# task that catches its CancelledError, runs cleanup and then raises another exception has that
# exception reported to the loop's exception handler before run() returns; a task that lets the
# cancellation escape is not reported. (One background task each: asyncio keeps all_tasks() in
# a set, so the order among several would be CPython's address order.)
from vloop import new_loop
import asyncio

def handler(loop, ctx):
    print("handler:", ctx["message"], "|", ctx["exception"], "|", ctx["task"].get_name())

async def stubborn():
    try:
        await asyncio.sleep(100)
    except asyncio.CancelledError:
        print("stubborn cancelled at", asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        print("stubborn cleaned up")
        raise ValueError("failed while cancelled")

async def quiet():
    try:
        await asyncio.sleep(100)
    except asyncio.CancelledError:
        print("quiet cancelled")
        raise

async def main(bg):
    asyncio.get_running_loop().set_exception_handler(handler)
    asyncio.create_task(bg(), name="bg")
    await asyncio.sleep(1)
    print("main returns")
    return "done"

for bg in [stubborn, quiet]:
    with asyncio.Runner(loop_factory=new_loop) as runner:
        r = runner.run(main(bg))
    print("run ->", r)
