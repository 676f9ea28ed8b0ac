# Done-callbacks are scheduled with call_soon when the future completes, in registration order,
# behind what is already ready; one added after completion is scheduled at once; callbacks
# scheduled while an iteration runs wait for the next; a timer due now joins this iteration.
from vloop import new_loop
import asyncio

loop = new_loop()
fut = loop.create_future()
fut.add_done_callback(lambda f: print("cb1", f.result()))
fut.add_done_callback(lambda f: print("cb2", f.result()))
loop.call_soon(lambda: print("soon1"))
fut.set_result(7)
print("set_result returned")
loop.call_soon(lambda: print("soon2"))
fut.add_done_callback(lambda f: print("cb3 added after done"))
loop.call_soon(lambda: (print("soon3"), loop.call_soon(lambda: print("nested"))))
loop.call_later(0, lambda: print("later0"))
loop.run_until_complete(asyncio.sleep(0))
print("time", loop.time())
