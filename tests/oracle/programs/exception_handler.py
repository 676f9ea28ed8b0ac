# loop.call_exception_handler(context) hands the context to the handler set with
# set_exception_handler: at once when the loop is not running. From a task, CPython calls the
# handler at once too, where tulipsim calls it after the task's step (docs/semantics.md): this
# program prints nothing in between. A future whose exception nobody retrieved is reported with
# the future in the context.
from vloop import new_loop
import asyncio
import gc

loop = new_loop()

def handler(loop, ctx):
    print("handler:", ctx["message"], "|", ctx.get("exception"), "|", "future" in ctx)

loop.set_exception_handler(handler)
loop.call_exception_handler({"message": "outside the loop", "exception": ValueError("x")})
print("after the call outside the loop")

async def main():
    loop.call_exception_handler({"message": "from a task"})
    await asyncio.sleep(0)
    print("one hop later")
    f = loop.create_future()
    f.set_exception(ValueError("nobody looks"))
    del f
    gc.collect()
    await asyncio.sleep(0)
    print("after the future was freed")

loop.run_until_complete(main())
