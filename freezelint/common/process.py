"""Whether freezelint is the program running in this process, or a function someone called.

Ending a run without Python's teardown (startup.py) and leaving the garbage collector off
at its end (cli/main.py) are right only for the program itself: a caller that runs
freezelint in-process (`runpy`, a test harness) must get SystemExit back, and its collector.
"""

from __future__ import annotations

import os
import sys


def owns_the_process() -> bool:
    """Whether freezelint is the program itself (`python -m freezelint`, the `freezelint`
    script), not a caller's function: a program that runs it in-process (`runpy`, a test
    harness) gets SystemExit back and goes on."""
    program = sys.modules.get("__main__")
    spec = getattr(program, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) == "freezelint.__main__":
        return True
    file = getattr(program, "__file__", None)
    return isinstance(file, str) and bool(sys.argv) and file == sys.argv[0] \
        and os.path.basename(file).startswith("freezelint")
