# A task seen only through current_task() (a TaskRef in tulipsim) tells its state without being
# awaited: done(), cancelled(), exception() and result() as Task has them. Reading exception()
# or result() retrieves the exception: only the task whose exception nobody read is reported
# once it is freed.
from vloop import new_loop
import asyncio

loop = new_loop()
reports = []
loop.set_exception_handler(lambda l, ctx: reports.append((ctx["message"], str(ctx["exception"]))))

async def child(name, refs):
    refs[name] = asyncio.current_task()
    await asyncio.sleep(1)
    if name in ("fail", "lost"):
        raise ValueError(name + " failed")
    return name

def show(name, t):
    # (A TaskRef's result has no type: only whether it returns is printed. For a pending task
    # CPython's C Task says "Result is not set." where the pure-Python one, like tulipsim, says
    # "Result is not ready.": only the error's type is printed.)
    parts = [name, "done", t.done(), "cancelled", t.cancelled()]
    try:
        r = t.exception()
        parts += ["exception ->", "None" if r is None else str(r)]
    except asyncio.CancelledError:
        parts += ["exception raises CancelledError"]
    except Exception as e:
        parts += ["exception raises", type(e).__name__, str(e)]
    try:
        t.result()
        parts += ["result returns"]
    except asyncio.CancelledError:
        parts += ["result raises CancelledError"]
    except Exception as e:
        parts += ["result raises", type(e).__name__]
    print(*parts)

async def main():
    refs = {}
    for name in ("ok", "fail", "cancel", "lost"):
        asyncio.create_task(child(name, refs))
    await asyncio.sleep(0)
    show("ok", refs["ok"])
    refs["cancel"].cancel()
    await asyncio.sleep(2)
    for name in ("ok", "fail", "cancel"):
        show(name, refs[name])
    print("lost done", refs["lost"].done())
    refs.clear()
    await asyncio.sleep(0)
    print("reports", reports)

loop.run_until_complete(main())
