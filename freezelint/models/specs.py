"""Telling a model spec's kind from its text alone, without loading anything.

Kept apart from user_model.py (which needs subprocess, hashlib and tempfile to build models)
so that resolving `--model ast` does not pay for them.
"""

from __future__ import annotations

import re

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def is_user_model_spec(spec: str) -> bool:
    """True for `pkg.module:callable` and `path/to/file.py:Name` (`Name.attr` allowed)."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not _DOTTED.fullmatch(attr):
        return False
    return target.endswith(".py") or bool(_DOTTED.fullmatch(target))
