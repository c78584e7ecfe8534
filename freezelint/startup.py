"""Process start-up: the console entry point, and a cache that makes importing libcst cheap.

Before Python 3.13, `dataclasses` builds each generated method of a class (`__init__`,
`__repr__`, `__eq__`, `__hash__`, a frozen class's `__setattr__`...) by compiling a fresh
string of source with `exec()`. libcst defines about 200 node dataclasses, so `import libcst`
compiles some 900 small functions every time: about 100 ms of a 0.3 s `freezelint check`,
and the same work on every run.

While the CLI runs, the `exec` that the `dataclasses` module calls is one that looks the
source text up in a file of code objects compiled by an earlier run, and compiles (and
remembers) only text it has not seen. A code object is exactly what `compile()` returns for
that text, so the classes are the same as without the cache. The file is specific to the
interpreter version and optimisation level; a missing, unreadable or corrupt file only means
compiling as usual, and a file that cannot be written is not written.
`FREEZELINT_NO_STARTUP_CACHE=1` turns the cache off.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import CodeType
from typing import Any

DISABLE_VARIABLE = "FREEZELINT_NO_STARTUP_CACHE"
# Far more than the dataclasses freezelint and libcst define; a bound that keeps a program
# generating endless distinct dataclasses from growing the file without limit.
MAX_ENTRIES = 5000


def user_cache_root() -> Path:
    """freezelint's per-user cache directory (XDG), shared by the model and start-up caches."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "freezelint"


def startup_cache_path() -> Path:
    version = "-".join(map(str, sys.version_info[:3])) + f"-{sys.implementation.cache_tag}"
    return user_cache_root() / "startup" / f"dataclasses-{version}-O{sys.flags.optimize}.marshal"


def _load(path: Path) -> dict[str, CodeType]:
    try:
        loaded = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {text: code for text, code in loaded.items()
            if isinstance(text, str) and isinstance(code, CodeType)}


def _save(path: Path, codes: dict[str, CodeType]) -> None:
    """Atomically replace the file; concurrent runs each write a whole file, the last wins."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(marshal.dumps(codes))
        os.replace(temporary, path)
    except OSError:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)


@contextmanager
def compiled_dataclass_cache(path: Path | None = None) -> Iterator[dict[str, CodeType]]:
    """Serve the source texts `dataclasses` executes from `path` while the block runs.

    Yields the text -> code mapping (what was loaded plus what the block compiled); new
    entries are saved when the block ends, even when it ends with SystemExit."""
    if os.environ.get(DISABLE_VARIABLE):
        yield {}
        return
    path = path or startup_cache_path()
    codes = _load(path)
    known = len(codes)

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        if not isinstance(source, str):
            exec(source, globals, locals)
            return
        code = codes.get(source)
        if code is None:
            # What exec() would compile: dataclasses has no __future__ flags to inherit.
            code = compile(source, "<string>", "exec", dont_inherit=True)
            if len(codes) < MAX_ENTRIES:
                codes[source] = code
        exec(code, globals, locals)

    had_own_exec = "exec" in vars(dataclasses)
    previous = vars(dataclasses).get("exec")
    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        yield codes
    finally:
        if had_own_exec:
            dataclasses.exec = previous  # type: ignore[attr-defined]
        else:
            del dataclasses.exec  # type: ignore[attr-defined]
        if len(codes) > known:
            _save(path, codes)


def main() -> None:
    """The `freezelint` command (and `python -m freezelint`)."""
    with compiled_dataclass_cache():
        from freezelint.cli import main as cli

        cli()
