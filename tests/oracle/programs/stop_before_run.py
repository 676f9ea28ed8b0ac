# stop() before run_forever(): the loop runs one iteration (what was already scheduled) and
# returns; what that iteration scheduled runs on the next run.
from vloop import new_loop

loop = new_loop()
loop.call_soon(lambda: (print("A"), loop.call_soon(lambda: print("B"))))
loop.stop()
loop.run_forever()
print("returned after one iteration")
loop.call_soon(loop.stop)
loop.run_forever()
print("time", loop.time())
