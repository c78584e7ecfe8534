"""The file's functions and classes that use no model the way a rule judges one.

The engine reads the project's modules only for a file whose text holds a site word or a
model use (facts.MODEL_USES): nothing else in it could be judged on what they define. The
same holds for one function or class of a file that does: when its text holds neither, and
it names no function or class of the file that does (a helper it calls, a class it builds),
the interpreter runs it without reading the project (Interpreter.read_project off): a call
into the project is then a call of unknown code, as in a file that uses no model. Such runs
were a tenth of a large package's lint: a library's generators and batch schedulers build
the project's configs and caches in every method.

Each definition's text is found without a parse: a top-level `def` or `class` (or its first
decorator) starts at the first column, and its text runs to the next one. That text may
hold the module-level code between them as well (more words, a run that still reads the
project). When the definitions found this way are not exactly the module's own, in order
(a line of a multi-line string at the first column that looks like one), no definition is
set apart.
"""

from __future__ import annotations

import re

import libcst as cst

from freezelint.analysis.facts import MODEL_USES
from freezelint.engine.sites import may_have_sites

# A top-level definition's first line: its first decorator, or `def`/`class` itself.
_START = re.compile(r"^(?:@|(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+))", re.MULTILINE)
_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def _uses_a_model(text: str) -> bool:
    return may_have_sites(text) or MODEL_USES.search(text) is not None


def _parts(module: cst.Module, text: str) -> list[tuple[cst.CSTNode | None, str]] | None:
    """Each top-level function and class of `module` with its text (module-level code up
    to the next definition included), after the code before the first one (None for its
    node); None when the text's definitions are not the module's."""
    definitions = [stmt for stmt in module.body
                   if isinstance(stmt, (cst.FunctionDef, cst.ClassDef))]
    starts: list[tuple[int, str]] = []
    decorated_at: int | None = None
    for match in _START.finditer(text):
        name = match.group(1) or match.group(2)
        if name is None:  # a decorator: the definition starts here
            if decorated_at is None:
                decorated_at = match.start()
            continue
        starts.append((match.start() if decorated_at is None else decorated_at, name))
        decorated_at = None
    if not starts or decorated_at is not None or [name for _, name in starts] != [
            stmt.name.value for stmt in definitions]:
        return None
    ends = [start for start, _ in starts[1:]] + [len(text)]
    return [(None, text[:starts[0][0]]), *(
        (stmt, text[start:end])
        for stmt, (start, _), end in zip(definitions, starts, ends, strict=True))]


def model_free_definitions(module: cst.Module, text: str) -> frozenset[cst.CSTNode]:
    """The top-level functions and classes of `module` (whose source is `text`) that hold
    no site word and no model use, and name none that does or names one, at any remove (a
    helper it calls with what it built, a class it builds or derives from).

    What they are named by does not matter: a function called from one that reads the
    project reads it too (Interpreter.call_function); only its own run, whose results go
    nowhere, does not."""
    parts = _parts(module, text)
    if parts is None:
        return frozenset()
    free: dict[cst.CSTNode, set[str]] = {}
    reading: set[str] = set()  # names of the definitions that read the project
    for stmt, chunk in parts:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            if _uses_a_model(chunk):
                reading.add(stmt.name.value)
            else:
                free[stmt] = set(_IDENTIFIER.findall(chunk))
    changed = True
    while changed:
        changed = False
        for stmt, names in list(free.items()):
            if not names.isdisjoint(reading):
                reading.add(stmt.name.value)  # type: ignore[attr-defined]
                del free[stmt]
                changed = True
    return frozenset(free)
