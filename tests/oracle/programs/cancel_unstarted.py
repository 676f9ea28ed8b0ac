# Cancelling a task before its first step: CancelledError is thrown before its first line, so
# none of it runs.
from vloop import new_loop
import asyncio

loop = new_loop()

async def body():
    print("body ran")

async def main():
    t = asyncio.create_task(body())
    print("cancel ->", t.cancel())
    try:
        await t
    except asyncio.CancelledError:
        print("awaiter got CancelledError")
    print("cancelled", t.cancelled(), "cancelling", t.cancelling())

loop.run_until_complete(main())
