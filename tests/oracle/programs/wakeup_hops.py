# A task awaiting a future resumes one loop iteration after the future's result is set: its
# wakeup is a done-callback scheduled with call_soon.
from vloop import new_loop
import asyncio

loop = new_loop()
fut = loop.create_future()

async def waiter():
    print("waiter start")
    v = await fut
    print("waiter got", v)

def setter():
    print("set")
    fut.set_result(7)
    loop.call_soon(lambda: print("after set"))

task = loop.create_task(waiter())
loop.call_soon(lambda: print("cb1"))
loop.call_soon(setter)
loop.run_until_complete(task)
