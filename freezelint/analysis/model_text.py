"""Where a file's text uses a variable as a model, read from the text alone.

Two readers ask it before anything is parsed or run: the pre-filter (prefilter.py: is a file
that builds something from the project worth parsing?) and the project link
(analysis/classes/link.py: is a project function whose result is kept worth running?). Both
need the same answer from the same words, so it is written once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# After a variable: `.parameters()`, `.named_modules()`, `.state_dict()`, `.requires_grad_()`,
# `.train()`, a layer of it replaced or sized (`.fc = nn.Linear(...)`, `.fc.in_features`), a
# submodule frozen (`.encoder.requires_grad = ...`).
# The chain between them is bounded (16 links, subscripts of 100 characters: real ones have a
# few), so that trying it from every link of a hostile chain of a million stays linear.
_LINKS = r"(?:\.\w+|\[[^\]\n]{0,100}\])"
_USED_AS_A_MODULE = re.compile(
    _LINKS + r"{0,16}\.(?:(?:named_)?(?:parameters|modules|children|buffers)"
    r"|state_dict|load_state_dict|requires_grad_|train|eval|apply)\s*\("
    r"|" + _LINKS + r"{1,16}\s*=\s*(?:torch\.)?nn\."
    r"|" + _LINKS + r"{0,16}\.(?:in_features|out_features|requires_grad)\b")


def occurrences(name: str, text: str, then: str = "") -> Iterator[int]:
    """Where `name` occurs as a whole name (not part of a longer one, nor an attribute);
    with `then`, only where that text follows it (found with the name: a module's name
    is everywhere, followed by a dot a few times)."""
    found = name + then
    start = text.find(found)
    while start >= 0:
        before = text[start - 1] if start else " "
        end = start + len(name)
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_.") and (
                then or not (after.isalnum() or after == "_")):
            yield start
        start = text.find(found, end)


@lru_cache(maxsize=256)
def used_as_a_module(variable: str, text: str, attribute: bool = False) -> bool:
    """Whether `text` uses `variable` as a module somewhere (`model.parameters()`,
    `model.fc = nn.Linear(...)`); with `attribute`, the attribute of that name of any
    object (`self.model.parameters()`). (Remembered: a file assigns many calls to the same
    few variables, and each was looked for through the whole text again. A string's hash is
    computed once; the bound keeps at most that many texts alive, in practice the last
    file's.)"""
    if attribute:
        return any(_USED_AS_A_MODULE.match(text, at + len(variable) + 1)
                   for at in _attribute_occurrences(variable, text))
    return any(_USED_AS_A_MODULE.match(text, at + len(variable))
               for at in occurrences(variable, text))


def kept_as_a_module(variable: str, text: str, attribute: bool) -> bool:
    """Whether what is kept in `variable` (an attribute of that name when `attribute`:
    `self.model = ...`) is used as a module: the variable itself, or, for an attribute, that
    attribute of any object (`self.model.parameters()`) or a variable of its name."""
    return used_as_a_module(variable, text) or (
        attribute and used_as_a_module(variable, text, attribute=True))


def _attribute_occurrences(name: str, text: str) -> Iterator[int]:
    """Where `.name` occurs as a whole attribute name (at the dot)."""
    found = "." + name
    start = text.find(found)
    while start >= 0:
        end = start + len(found)
        after = text[end] if end < len(text) else " "
        if not (after.isalnum() or after == "_"):
            yield start
        start = text.find(found, end)


@dataclass(frozen=True)
class UsedAsModules:
    variables: frozenset[str]  # `model` in `model.parameters()`
    attributes: frozenset[str]  # `model` in `self.model.parameters()`


# A name (not part of a longer one) followed by what uses it as a module.
_USED_NAME = re.compile(r"(?<![\w.])([^\W\d]\w*)(?=" + _USED_AS_A_MODULE.pattern + ")")
_USED_ATTRIBUTE = re.compile(r"\.([^\W\d]\w*)(?=" + _USED_AS_A_MODULE.pattern + ")")


@lru_cache(maxsize=4)
def used_as_modules(text: str) -> UsedAsModules:
    """Every name `text` uses as a module, as `used_as_a_module` finds one, in one pass each
    for variables and attributes: for a question about any name of the file (after a star
    import), where asking name by name would scan the text once per name."""
    return UsedAsModules(frozenset(_USED_NAME.findall(text)),
                         frozenset(_USED_ATTRIBUTE.findall(text)))
