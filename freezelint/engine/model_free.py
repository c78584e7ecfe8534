"""The file's functions, classes and methods that use no model the way a rule judges one.

The engine reads the project's modules only for a file whose text holds a site word or a
model use (facts.MODEL_USES): nothing else in it could be judged on what they define. The
same holds for one function, class or method of a file that does: when its text holds
neither, and it names no definition of the file that does (a helper it calls, a class it
builds or derives from, a method of its own class), the interpreter runs it without reading
the project (Interpreter.read_project off): a call into the project is then a call of unknown
code, as in a file that uses no model. Such runs were a sixth of a large package's lint: a
library's generators, schedulers and trainers build the project's configs and caches in
every method, and most methods hold no model use.

What a definition is named by does not matter: a function called from one that reads the
project reads it too (Interpreter.call_function); only its own run, whose results go
nowhere, does not. A class's `__init__` (and the hooks that run before its optimizer) build
what its other methods use: they are set apart only with their whole class.

Each definition's text is found without a parse: a top-level `def` or `class` (or its first
decorator) starts at the first column, a method at its class body's indentation, and the
text runs to the next one. That text may hold more (module-level code or class attributes
up to the next definition): more words, a run that still reads the project. When the
definitions found this way are not exactly the module's or the class's own, in order (a line
of a multi-line string that looks like one), none of them is set apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from freezelint.analysis.facts import MODEL_USES
from freezelint.analysis.plain_python import body_of
from freezelint.engine.sites import may_have_sites

# A definition's first line: its first decorator, or `def`/`class` itself; group 1 the
# indentation, group 2 the name (none for a decorator).
_START = re.compile(r"^([ \t]*)(?:@|(?:async[ \t]+)?(?:def|class)[ \t]+(\w+))", re.MULTILINE)
_IDENTIFIER = re.compile(r"[^\W\d]\w*")

Definition = cst.FunctionDef | cst.ClassDef
Span = tuple[Definition, int, int]  # a definition, where its text starts and ends


def _uses_a_model(text: str) -> bool:
    return may_have_sites(text) or MODEL_USES.search(text) is not None


def _spans(text: str, start: int, end: int, definitions: Sequence[Definition], *,
           top: bool) -> list[Span] | None:
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


def _free(text: str, spans: list[Span], reading: set[str]) -> list[Definition]:
    """Those of `spans` that hold no model use and name nothing in `reading` (the names
    that read), nor any of `spans` that does, at any remove; `reading` gains the others."""
    free: dict[Definition, set[str]] = {}
    for definition, start, end in spans:
        if _uses_a_model(text[start:end]):
            reading.add(definition.name.value)
        else:
            free[definition] = set(_IDENTIFIER.findall(text, start, end))
    changed = True
    while changed:
        changed = False
        for definition, names in list(free.items()):
            if not names.isdisjoint(reading):
                reading.add(definition.name.value)
                del free[definition]
                changed = True
    return list(free)


def model_free_definitions(module: cst.Module, text: str) -> frozenset[cst.CSTNode]:
    """The top-level functions and classes of `module` (whose source is `text`) that hold no
    site word and no model use and name no top-level definition that does or names one, at
    any remove; the methods of the others' classes that hold neither and name no such
    definition nor a method of their class that reads. (The interpreter still runs a class's
    `__init__` and setup hooks as their class does.)"""
    top = [s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))]
    spans = _spans(text, 0, len(text), top, top=True) if top else None
    if spans is None:
        return frozenset()
    reading: set[str] = set()
    quiet: set[cst.CSTNode] = set(_free(text, spans, reading))
    for definition, start, end in spans:
        if isinstance(definition, cst.ClassDef) and definition not in quiet:
            own = [s for s in body_of(definition) if isinstance(s, cst.FunctionDef)]
            methods = _spans(text, start, end, own, top=False) if own else None
            quiet.update(_free(text, methods, set(reading)) if methods else ())
    return frozenset(quiet)
