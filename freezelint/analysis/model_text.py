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


def kept_as_a_module(variable: str, text: str, attribute: bool) -> bool:
    """Whether what is kept in `variable` (an attribute of that name when `attribute`:
    `self.model = ...`) is used as a module: the variable itself (`model.parameters()`,
    `model.fc = nn.Linear(...)`), or, for an attribute, that attribute of any object
    (`self.model.parameters()`) or a variable of its name."""
    used = used_as_modules(text)
    return variable in used.variables or (attribute and variable in used.attributes)


@dataclass(frozen=True)
class UsedAsModules:
    variables: frozenset[str]  # `model` in `model.parameters()`
    attributes: frozenset[str]  # `model` in `self.model.parameters()`


# A name (not part of a longer one) followed by what uses it as a module.
_USED_NAME = re.compile(r"(?<![\w.])([^\W\d]\w*)(?=" + _USED_AS_A_MODULE.pattern + ")")
_USED_ATTRIBUTE = re.compile(r"\.([^\W\d]\w*)(?=" + _USED_AS_A_MODULE.pattern + ")")


# What ends every use above (the part after the chain of links), from its first literal
# character (`=` of `\s*=\s*nn.`: the whitespace before it is looked back over); one
# pattern each, as `re` scans for a literal quickly and tries an alternation everywhere. A
# use lies on the line where its end starts, for a chain holds no line break.
_USE_ENDS = (
    re.compile(r"\.(?:(?:named_)?(?:parameters|modules|children|buffers)|state_dict"
               r"|load_state_dict|requires_grad_|train|eval|apply)\s*\("
               r"|\.(?:in_features|out_features|requires_grad)\b"),
    re.compile(r"=\s*(?:torch\.)?nn\."),
)


@lru_cache(maxsize=4)
def used_as_modules(text: str) -> UsedAsModules:
    """Every name `text` uses as a module (`_USED_AS_A_MODULE` follows it), in one pass each
    for variables and attributes: for a question about any name of the file, where asking
    name by name scanned the text once per name. (Remembered: a file asks about many names;
    the bound keeps at most that many texts alive, in practice the last file's.) The two
    patterns look ahead from every name they try: they are tried only on the lines where a
    use ends (`_USE_ENDS`), a few of a file's (on the whole text, 6 ms of a large file)."""
    variables: set[str] = set()
    attributes: set[str] = set()
    segments: dict[int, int] = {}  # per line where a use ends: where it starts and stops
    lines = LineBounds(text)  # (a hostile line holds thousands of ends)
    ends = sorted((end.start(), end.end()) for pattern in _USE_ENDS
                  for end in pattern.finditer(text))
    for start, stop in ends:
        while start and text[start - 1].isspace():  # (`model.fc \n = nn.Linear(...)`)
            start -= 1
        line, line_end = lines.of(start)
        segments[line] = max(segments.get(line, line_end), stop)
    for line, last in segments.items():
        variables.update(_USED_NAME.findall(text, line, last))
        attributes.update(_USED_ATTRIBUTE.findall(text, line, last))
    return UsedAsModules(frozenset(variables), frozenset(attributes))


class LineBounds:
    """The bounds of the line a position of `text` is on, for positions asked mostly in
    increasing order: each line's bounds are looked for once (a hostile line of megabytes
    holds many of the positions asked)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._start, self._end = 0, -1

    def of(self, at: int) -> tuple[int, int]:
        """The offset where the line of `at` starts and that of the break ending it."""
        if not self._start <= at <= self._end:
            self._start = self.text.rfind("\n", 0, at) + 1
            self._end = line_end(self.text, self._start)
        return self._start, self._end


def line_end(text: str, start: int) -> int:
    """The offset of the line break ending the line at `start` (the text's end if none)."""
    end = text.find("\n", start)
    return end if end >= 0 else len(text)
