# A deadline in the past fires on the next iteration, in deadline order, before timers due now.
from vloop import new_loop
import asyncio

loop = new_loop()

async def main():
    await asyncio.sleep(10)
    loop.call_later(0, lambda: print("due now"))
    loop.call_later(-1, lambda: print("1 s ago"))
    loop.call_later(-5, lambda: print("5 s ago"))
    loop.call_at(2.0, lambda: print("at t=2"))
    await asyncio.sleep(0)
    print("main resumed", loop.time())

loop.run_until_complete(main())
