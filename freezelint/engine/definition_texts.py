"""Where each definition of a file's text is, found without a parse.

A top-level `def` or `class` (or its first decorator) starts at the first column, a method at
its class body's indentation, and a definition's text runs to the next one. That text may
hold more than the definition (module-level code or class attributes up to the next
definition), never less: a word missing from it is missing from the definition. When the
definitions found this way are not exactly the module's or the class's own, in order (a line
of a multi-line string that looks like one, a lone carriage return ending lines), there are
no spans.

What uses them: engine/model_free.py (which definitions use no model) and engine/sites.py
(which hold no site).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from freezelint.analysis.plain_python import body_of

# A definition's first line: its first decorator, or `def`/`class` itself; group 1 the
# indentation, group 2 the name (none for a decorator).
_START = re.compile(r"^([ \t]*)(?:@|(?:async[ \t]+)?(?:def|class)[ \t]+(\w+))", re.MULTILINE)

Definition = cst.FunctionDef | cst.ClassDef
DefinitionSpan = tuple[Definition, int, int]  # a definition, where its text starts and ends


def _spans(text: str, start: int, end: int, definitions: Sequence[Definition], *,
           top: bool) -> list[DefinitionSpan] | None:
    """Where each of `definitions` (the definitions of one block, in order) starts in
    `text[start:end]` and where the next one does: the top level's (`top`), or a class
    body's (the class statement first, its methods at the shallowest indentation after it).
    None when what is found there is not exactly `definitions`."""
    found: list[tuple[int, str, str]] = []  # (start, indentation, name)
    decorated_at: int | None = None
    for match in _START.finditer(text, start, end):
        if match.group(2) is None:  # a decorator: the definition starts here
            decorated_at = match.start() if decorated_at is None else decorated_at
            continue
        found.append((match.start() if decorated_at is None else decorated_at,
                      match.group(1), match.group(2)))
        decorated_at = None
    if not top:
        found = found[1:]  # the class statement itself
    indent = "" if top else min((width for _, width, _ in found), key=len, default="")
    starts = [(at, name) for at, width, name in found if width == indent]
    if not starts or [name for _, name in starts] != [d.name.value for d in definitions]:
        return None
    ends = [at for at, _ in starts[1:]] + [end]
    return [(definition, at, stop)
            for definition, (at, _), stop in zip(definitions, starts, ends, strict=True)]


def top_level_spans(module: cst.Module, text: str) -> list[DefinitionSpan] | None:
    """The top-level functions and classes of `module`, whose source is `text`."""
    top = [s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))]
    return _spans(text, 0, len(text), top, top=True) if top else None


def method_spans(text: str, span: DefinitionSpan) -> list[DefinitionSpan] | None:
    """The methods of the class of `span` (a top-level span of `text`)."""
    own = [s for s in body_of(span[0]) if isinstance(s, cst.FunctionDef)]
    return _spans(text, span[1], span[2], own, top=False) if own else None
