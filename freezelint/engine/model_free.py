"""The file's functions, classes and methods that use no model the way a rule judges one.

The engine reads the project's modules only for a file whose text holds a site word or a
model use (facts.MODEL_USES): nothing else in it could be judged on what they define. The
same holds for one function, class or method of a file that does: when its text holds
neither, and it names no definition of the file that does (a helper it calls, a class it
builds or derives from, a method of its own class), the interpreter runs it without reading
the project (Interpreter.read_project off): a call into the project is then a call of unknown
code, as in a file that uses no model. Such runs were about a tenth of a large package's lint: a
library's generators, schedulers and trainers build the project's configs and caches in
every method, and most methods hold no model use.

What a definition is named by does not matter: a function called from one that reads the
project reads it too (Interpreter.call_function); only its own run, whose results go
nowhere, does not. A class's `__init__` (and the hooks that run before its optimizer) build
what its other methods use: they are set apart only with their whole class.

Each definition's text is the one engine/definition_texts.py finds.
"""

from __future__ import annotations

import re

import libcst as cst

from freezelint.analysis.facts import MODEL_USES
from freezelint.engine.definition_texts import Definition, DefinitionSpan, method_spans
from freezelint.engine.sites import may_have_sites

_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def uses_a_model(text: str) -> bool:
    """Whether `text` (a file's, or one definition's) holds a site word or a model use: only
    then can what the project's modules define change a finding there."""
    return may_have_sites(text) or MODEL_USES.search(text) is not None


def _free(text: str, spans: list[DefinitionSpan], reading: set[str]) -> list[Definition]:
    """Those of `spans` that hold no model use and name nothing in `reading` (the names
    that read), nor any of `spans` that does, at any remove; `reading` gains the others."""
    free: dict[Definition, set[str]] = {}
    for definition, start, end in spans:
        if uses_a_model(text[start:end]):
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


def model_free_definitions(text: str, spans: list[DefinitionSpan] | None
                           ) -> frozenset[cst.CSTNode]:
    """The top-level functions and classes of a module whose source is `text` (`spans`:
    their texts, definition_texts.top_level_spans) that hold no site word and no model use
    and name no top-level definition that does or names one, at any remove; the methods of
    the others' classes that hold neither and name no such definition nor a method of their
    class that reads. (The interpreter still runs a class's `__init__` and setup hooks as
    their class does.)"""
    if spans is None:
        return frozenset()
    reading: set[str] = set()
    quiet: set[cst.CSTNode] = set(_free(text, spans, reading))
    for span in spans:
        if isinstance(span[0], cst.ClassDef) and span[0] not in quiet:
            methods = method_spans(text, span)
            quiet.update(_free(text, methods, set(reading)) if methods else ())
    return frozenset(quiet)
