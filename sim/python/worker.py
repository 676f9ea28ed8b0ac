"""Runs tulipsim-sim's emitted programs: one JSON object per stdin line ({"program": source,
"pure": bool, "deviations": [names]}), one JSON object per stdout line ({"lines": [...],
"handler_exceptions": [type names], "recursed": bool} or {"error": traceback}).

"deviations" turns on vloop's patches that make asyncio behave like tulipsim where tulipsim
differs on purpose (vloop.DEVIATIONS); "handler_exceptions" names the exceptions the loop's
exception handler received (errors inside callbacks, which asyncio only logs); "recursed" says
whether a RecursionError happened anywhere, even one a task caught or wrapped.

With "pure", asyncio's pure-Python Future and Task (_PyFuture, _PyTask) replace the C ones for
that run: the two implementations differ in a few corner cases, and tulipsim follows the
pure-Python one where they do (docs/conformance.md lists the cases).

vloop comes from $TULIPSIM_VLOOP_SOURCE when set (the CLI embeds it), else from sys.path.
"""
import gc
import json
import logging
import os
import sys
import traceback
import types
import warnings

logging.disable(logging.CRITICAL)
warnings.simplefilter("ignore")
# A finished program leaves pending tasks behind; collecting them closes their coroutines, whose
# cleanup code then meets a closed loop. That is noise, not a result: ignore it.
sys.unraisablehook = lambda unraisable: None

source = os.environ.get("TULIPSIM_VLOOP_SOURCE")
if source is not None:
    vloop = types.ModuleType("vloop")
    vloop.__file__ = "vloop.py"
    exec(compile(source, "vloop.py", "exec"), vloop.__dict__)
    sys.modules["vloop"] = vloop
else:
    import vloop

import asyncio.futures
import asyncio.tasks

C_IMPLEMENTATION = (asyncio.futures.Future, asyncio.tasks.Task)
PURE_IMPLEMENTATION = (asyncio.futures._PyFuture, asyncio.tasks._PyTask)


def use(implementation):
    asyncio.futures.Future, asyncio.tasks.Task = implementation


for request in sys.stdin:
    try:
        request = json.loads(request)
        use(PURE_IMPLEMENTATION if request.get("pure") else C_IMPLEMENTATION)
        vloop.use_deviations(request.get("deviations", []))
        vloop.RECURSED = False
        namespace = {"__name__": "scenario"}
        exec(compile(request["program"], "scenario.py", "exec"), namespace)
        lines = namespace["run"]()
        handled = namespace["loop"].handler_exceptions
        reply = {
            "lines": lines,
            "handler_exceptions": [type(e).__name__ for e in handled if e],
            "recursed": vloop.RECURSED or any(isinstance(e, RecursionError) for e in handled),
        }
    except BaseException:
        reply = {"error": traceback.format_exc()}
    finally:
        use(C_IMPLEMENTATION)
        vloop.use_deviations([])
        # Collect now, between programs, so no cleanup of this one runs inside the next.
        gc.collect()
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
