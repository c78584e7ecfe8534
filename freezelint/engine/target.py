"""The oldest Python a project supports, for fixes that use newer syntax or methods.

`str.removeprefix` exists from Python 3.9: a fix must not write it into a project that still
supports 3.8. The project says which versions it supports in the nearest pyproject.toml
(`[project] requires-python`, or Ruff's `[tool.ruff] target-version`) or ruff.toml; with
none of them, Ruff's own default (3.9) is assumed, as Ruff does.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

DEFAULT = (3, 9)
_SPECIFIER = re.compile(r"(>=|~=|==|>)\s*(\d+)\.(\d+)")
_RUFF_TARGET = re.compile(r"py(\d)(\d+)")


def minimum_python(path: Path | None) -> tuple[int, int]:
    """The oldest (major, minor) the project of the file at `path` supports."""
    if path is None:
        return DEFAULT
    return _for_directory(path.absolute().parent)


@lru_cache(maxsize=256)
def _for_directory(directory: Path) -> tuple[int, int]:
    for folder in (directory, *directory.parents):
        for name in ("pyproject.toml", "ruff.toml", ".ruff.toml"):
            candidate = folder / name
            if candidate.is_file():
                found = _declared(candidate)
                if found is not None:
                    return found
    return DEFAULT


def _declared(path: Path) -> tuple[int, int] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):  # an unreadable file is engine/config.py's to report
        return None
    if path.name == "pyproject.toml":
        ruff = data.get("tool", {}).get("ruff", {})
        requires = data.get("project", {}).get("requires-python")
    else:
        ruff, requires = data, None
    if isinstance(requires, str):
        versions = [_version(op, major, minor) for op, major, minor in _SPECIFIER.findall(requires)]
        if versions:
            return min(versions)
    target = ruff.get("target-version") if isinstance(ruff, dict) else None
    match = _RUFF_TARGET.fullmatch(target) if isinstance(target, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _version(operator: str, major: str, minor: str) -> tuple[int, int]:
    """`>3.7` admits 3.8 at the oldest; `>=3.7`, `~=3.7`, `==3.7` admit 3.7."""
    version = (int(major), int(minor))
    return (version[0], version[1] + 1) if operator == ">" else version
