# wait_for: the timeout cancels the inner and waits for it to finish cancelling; a result the
# inner produces while being cancelled is returned; a timeout <= 0; the caller's cancellation
# cancels the inner; a result at the same instant as the timeout wins.
from vloop import new_loop
import asyncio

loop = new_loop()

async def slow(delay, result):
    await asyncio.sleep(delay)
    return result

async def stubborn():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("stubborn: cancelled at", loop.time(), "- cleaning up for 2 s")
        await asyncio.sleep(2)
        print("stubborn: done cleaning at", loop.time())
        raise

async def returns_on_cancel():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        return "value produced while being cancelled"

async def main():
    print("in time:", await asyncio.wait_for(slow(1, "fast"), 2), "at", loop.time())
    try:
        await asyncio.wait_for(slow(10, "x"), 1)
    except asyncio.TimeoutError:
        print("timeout at", loop.time())
    try:
        await asyncio.wait_for(stubborn(), 1)
    except asyncio.TimeoutError:
        print("timeout after the inner finished cancelling, at", loop.time())
    print("result kept:", await asyncio.wait_for(returns_on_cancel(), 1), "at", loop.time())
    try:
        await asyncio.wait_for(slow(1, "on time"), 1)
    except asyncio.TimeoutError:
        print("same instant, timeout's timer first: TimeoutError at", loop.time())
    early = asyncio.create_task(slow(1, "made it"))
    await asyncio.sleep(0)  # the inner's timer is now scheduled before wait_for's
    print("same instant, inner's timer first:", await asyncio.wait_for(early, 1), "at", loop.time())
    fut = loop.create_future(); fut.set_result("ready")
    print("timeout 0, done future:", await asyncio.wait_for(fut, 0))
    try:
        await asyncio.wait_for(slow(1, "never"), 0)
    except asyncio.TimeoutError:
        print("timeout 0 raises TimeoutError at", loop.time())
    print("no limit:", await asyncio.wait_for(slow(3, "unbounded"), None), "at", loop.time())
    inner = asyncio.create_task(slow(10, "inner"))
    async def caller():
        return await asyncio.wait_for(inner, 5)
    c = asyncio.create_task(caller())
    await asyncio.sleep(1)
    c.cancel()
    try:
        await c
    except asyncio.CancelledError:
        print("caller cancelled; inner cancelled:", inner.cancelled(), "at", loop.time())

loop.run_until_complete(main())
