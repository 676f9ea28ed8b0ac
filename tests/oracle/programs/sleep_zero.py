# sleep(0) yields exactly once: two tasks alternate step by step, and a callback scheduled
# between their steps runs in between.
from vloop import new_loop
import asyncio

loop = new_loop()

async def worker(name):
    for i in range(3):
        print(name, i)
        if i == 1 and name == "A":
            loop.call_soon(lambda: print("callback from A"))
        await asyncio.sleep(0)
    return name

async def main():
    a = asyncio.create_task(worker("A"))
    b = asyncio.create_task(worker("B"))
    print("main got", await a, await b)

loop.run_until_complete(main())
print("time", loop.time())
