"""Scopes and control flow of the interpreted script, and the budgets that bound a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_CALL_DEPTH = 8
# Function bodies run per lint, at most: helpers that call helpers several times each grow
# exponentially with depth (torch's meta_utils.py ran for minutes). Past the budget, calls are
# unresolved, like calls into code the analysis cannot see.
MAX_CALLS = 2000
# Bodies that build no module (functions, methods of plain classes) one call from the script
# into the project runs, at most (classes/link.py): reading a model runs its modules'
# `__init__`s, with a few helpers and configs beside them, while a package's data builders
# run thousands of plain bodies (transformers' conversion mappings: 2,000, a second each).
# The largest call into the project in the real-code corpus (bench/) ran 159 bodies in all.
MAX_PROJECT_CALL_DATA_BODIES = 200
# The text of one such body, at most: a function longer than this is a table of data, not the
# construction of a model, and is not parsed (read as a body libcst cannot parse: the call is
# one into unseen code). transformers' checkpoint conversion table is one function of 135 KB
# (0.2 s to parse, then it ran past the bound above); the largest function run in the
# real-code corpus is 24 KB (open_clip's create_model, which builds the model).
MAX_PROJECT_DATA_BODY_CHARS = 64_000
MAX_ITERATIONS = 20_000


class BoundSpent(BaseException):
    """One call into the project went past MAX_PROJECT_CALL_DATA_BODIES: it ends at once
    (classes/link.py), however deep. Not an Exception: the handlers that take what Python
    would raise on (`1 / 0`: unknown) and a bug in the analysis must let it through."""


class ReturnSignal(Exception):
    """`return` inside a function the interpreter follows."""

    def __init__(self, value: Any) -> None:
        self.value = value


class ContinueSignal(Exception):
    """`continue` in a loop the interpreter runs per element."""


class BreakSignal(Exception):
    """`break` in a loop the interpreter runs per element."""


class UnreadableBody(Exception):
    """A function body read on demand (a project class's method, analysis/classes/
    module_index.py) that libcst cannot parse: the call is one into code the analysis
    cannot see."""


@dataclass
class Frame:
    """Variables of one scope; `parent` is the module scope for functions."""

    names: dict[str, Any] = field(default_factory=dict)
    parent: Frame | None = None

    def lookup(self, name: str) -> Any:
        frame: Frame | None = self
        while frame is not None:
            if name in frame.names:
                return frame.names[name]
            frame = frame.parent
        return MISSING

    def bind(self, name: str, value: Any) -> None:
        self.names[name] = value


MISSING = object()
