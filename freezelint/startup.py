"""Process start-up: the console entry point, and a cache that makes importing libcst cheap.

Before Python 3.13, `dataclasses` builds each generated method of a class (`__init__`,
`__repr__`, `__eq__`, `__hash__`, a frozen class's `__setattr__`...) by compiling a fresh
string of source with `exec()`. libcst defines about 200 node dataclasses, so `import libcst`
compiles some 900 small functions every time: about 100 ms of a 0.3 s `freezelint check`,
and the same work on every run.

While the CLI runs, the `exec` that the `dataclasses` module calls is one that looks the
source text up among code objects compiled by earlier runs, and compiles (and remembers)
only text it has not seen. A code object is exactly what `compile()` returns for that text,
so the classes are the same as without the cache. Code is kept in one file per top-level
package that defines the classes (libcst, freezelint, torch when `freezelint run` imports
it...), each read only when that package first defines a dataclass: a warm run, which never
imports libcst, does not pay for reading libcst's. The files are specific to the interpreter
version and optimisation level; a missing, unreadable or corrupt file only means compiling
as usual, and a file that cannot be written is not written. Like `__pycache__`, the files hold
code that runs: they live in the user's own cache directory.
`FREEZELINT_NO_STARTUP_CACHE=1` turns the cache off.
"""

from __future__ import annotations

import dataclasses
import gc
import marshal
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import CodeType
from typing import Any, NoReturn

from freezelint.common.files import replace_atomically, user_cache_root
from freezelint.common.process import owns_the_process

DISABLE_VARIABLE = "FREEZELINT_NO_STARTUP_CACHE"
# Far more than any one package defines (libcst: ~900); a bound that keeps a program
# generating endless distinct dataclasses from growing a file without limit.
MAX_ENTRIES = 5000


def startup_cache_dir() -> Path:
    """One directory per interpreter build: the exact version (hexversion also tells
    pre-releases apart, whose bytecode may differ) and the optimisation level."""
    tag = f"{sys.implementation.cache_tag}-{sys.hexversion:x}-O{sys.flags.optimize}"
    return user_cache_root() / "startup" / tag


class CompiledCode:
    """Code objects by source text, in one file per top-level package, read on demand."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._packages: dict[str, dict[str, CodeType]] = {}
        self._changed: set[str] = set()

    def get(self, package: str, source: str) -> CodeType:
        codes = self._packages.get(package)
        if codes is None:
            codes = self._packages[package] = _load(self._file(package))
        code = codes.get(source)
        if code is None:
            # What exec() would compile: dataclasses has no __future__ flags to inherit.
            code = compile(source, "<string>", "exec", dont_inherit=True)
            if len(codes) < MAX_ENTRIES:
                codes[source] = code
                self._changed.add(package)
        return code

    def packages(self) -> dict[str, dict[str, CodeType]]:
        """What has been read or compiled so far, per package."""
        return self._packages

    def save(self) -> None:
        for package in sorted(self._changed):
            _save(self._file(package), self._packages[package])
        self._changed.clear()

    def _file(self, package: str) -> Path:
        return self.directory / f"{package}.marshal"


def _package(globals: Any) -> str:
    """The top-level package of the module whose class is being built: `dataclasses` passes
    that module's namespace as the globals of the code it executes."""
    name = globals.get("__name__") if isinstance(globals, dict) else None
    top = name.partition(".")[0] if isinstance(name, str) else ""
    return top if top.isidentifier() else "_unnamed"


# A cache file: this header, the CRC-32 of the rest (4 bytes, big-endian), then the marshal
# data. A file whose checksum does not match (a flipped bit, a truncated or foreign file) is
# never unmarshalled: marshal trusts its input, and corrupt code objects can do anything
# from raising SystemError to crashing the interpreter when run.
_MAGIC = b"freezelint-startup-1\n"


def _load(path: Path) -> dict[str, CodeType]:
    """The code objects of a cache file; none when it is missing or fails its checksum."""
    import zlib

    try:
        stored = path.read_bytes()
    except OSError:
        return {}
    header, checksum, payload = (stored[:len(_MAGIC)], stored[len(_MAGIC):len(_MAGIC) + 4],
                                 stored[len(_MAGIC) + 4:])
    if header != _MAGIC or checksum != zlib.crc32(payload).to_bytes(4, "big"):
        return {}  # compiled afresh, and the file rewritten when the run ends
    try:
        loaded = marshal.loads(payload)
    except Exception:  # a file that passed the checksum and still does not load
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {text: code for text, code in loaded.items()
            if isinstance(text, str) and isinstance(code, CodeType)}


def _save(path: Path, codes: dict[str, CodeType]) -> None:
    """Concurrent runs each write a whole file, the last wins; a file that cannot be
    written is not."""
    import zlib

    payload = marshal.dumps(codes)
    with suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, _MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)


@contextmanager
def compiled_dataclass_cache(directory: Path | None = None) -> Iterator[CompiledCode | None]:
    """Serve the source texts `dataclasses` executes from the files in `directory` while
    the block runs. Yields the cache (None when turned off); what the block compiled is
    saved when it ends, even when it ends with SystemExit."""
    if os.environ.get(DISABLE_VARIABLE):
        yield None
        return
    cache = CompiledCode(directory or startup_cache_dir())

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            source = cache.get(_package(globals), source)
        exec(source, globals, locals)

    had_own_exec = "exec" in vars(dataclasses)
    previous = vars(dataclasses).get("exec")
    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        yield cache
    finally:
        if had_own_exec:
            dataclasses.exec = previous  # type: ignore[attr-defined]
        else:
            del dataclasses.exec  # type: ignore[attr-defined]
        cache.save()


def main() -> None:
    """The `freezelint` command (and `python -m freezelint`).

    Two costs of a short run are not paid. The cyclic garbage collector is off while the
    command-line module is imported: imports make no garbage worth collecting, and the
    collector would traverse every new class and function dozens of times (`check` keeps
    it off for its first file, cli/batch.py). And a command that says so
    (`cli.main.may_skip_teardown`: `check`) ends with `os._exit` once the exit handlers
    ran and the output is flushed, instead of Python's own exit, which frees every module
    and object one by one: ~50 ms after linting one script, a sixth of a cold run."""
    gc.disable()
    with compiled_dataclass_cache():
        from freezelint.cli import main as cli

        gc.enable()
        try:
            cli.main()
            status: Any = 0
        except SystemExit as end:
            status = end.code
    if (status is None or isinstance(status, int)) and cli.may_skip_teardown() \
            and owns_the_process():
        _end_now(status or 0)
    raise SystemExit(status)


def _end_now(status: int) -> NoReturn:
    """Exit as Python's own exit does, without freeing objects and modules one by one:
    the exit handlers run, standard output and error are flushed, and a flush that fails
    (a closed pipe) is left to Python's exit to report as it always does. Only from the
    main thread with no other thread running (those would be cut off), and not under a
    profiler or tracer (`python -m cProfile`, coverage), which reports after the program
    returns."""
    import atexit
    import threading

    if (threading.active_count() > 1 or threading.current_thread() is not threading.main_thread()
            or sys.getprofile() is not None or sys.gettrace() is not None):
        raise SystemExit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            raise SystemExit(status) from None
    os._exit(status & 0xFF)
