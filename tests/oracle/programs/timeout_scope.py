# timeout scopes: expiry turns the task's cancellation into TimeoutError; reschedule moves the
# deadline; nested scopes; a scope that does not expire changes nothing.
from vloop import new_loop
import asyncio

loop = new_loop()

async def main():
    try:
        async with asyncio.timeout(2) as cm:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                print("body saw CancelledError at", loop.time())
                raise
    except TimeoutError:
        print("TimeoutError at", loop.time(), "expired", cm.expired(), "cancelling", asyncio.current_task().cancelling())
    async with asyncio.timeout(5) as cm:
        await asyncio.sleep(1)
        cm.reschedule(loop.time() + 10)
        await asyncio.sleep(6)
    print("rescheduled scope finished at", loop.time(), "expired", cm.expired())
    try:
        async with asyncio.timeout(10):
            async with asyncio.timeout(1) as inner:
                await asyncio.sleep(5)
    except TimeoutError:
        print("inner TimeoutError at", loop.time(), "inner expired", inner.expired())
    async with asyncio.timeout(None) as cm:
        await asyncio.sleep(1)
    print("no deadline:", cm.when(), "at", loop.time())
    async with asyncio.timeout_at(loop.time() - 1) as cm:
        try:
            await asyncio.sleep(0)
            print("not reached")
        except asyncio.CancelledError:
            print("past deadline cancels on the next iteration at", loop.time())
            raise
    print("not reached either")

try:
    loop.run_until_complete(main())
except TimeoutError:
    print("main raised TimeoutError at", loop.time())
