# Timers with equal deadlines fire in the order they were scheduled (for two, CPython's heap
# keeps that order too), and call_at/call_later agree on the clock.
from vloop import new_loop

loop = new_loop()
loop.call_later(1, lambda: print("first", loop.time()))
loop.call_at(1.0, lambda: print("second", loop.time()))
loop.call_later(0.5, lambda: print("earlier", loop.time()))
h = loop.call_later(0.75, lambda: print("cancelled timer ran"))
h.cancel()
loop.call_later(3, loop.stop)
loop.run_forever()
print("time", loop.time())
