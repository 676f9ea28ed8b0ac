# sleep(d) is a future set by a timer callback: at the deadline the timer runs, and the task
# resumes one iteration later, after every other callback due at that instant.
from vloop import new_loop
import asyncio

loop = new_loop()

async def sleeper():
    print("sleeper sleeps", loop.time())
    await asyncio.sleep(1)
    print("sleeper woke", loop.time())

task = loop.create_task(sleeper())
loop.call_soon(lambda: loop.call_later(1, lambda: print("timer A", loop.time())))
loop.call_later(2, lambda: print("timer B", loop.time()))
loop.run_until_complete(task)
loop.run_until_complete(asyncio.sleep(5))
print("time", loop.time())
