"""Walking a libcst tree without rebuilding it.

`CSTNode.visit()` and `CSTNode.children` both go through `_visit_and_replace_children`, which
constructs (and validates) a new copy of every node it passes: a transformer's semantics, paid
by read-only visitors too. On the transformers corpus one such pass over the trees was half
of a cold run. Here a node's children are read from its dataclass fields directly, and
whitespace, comments and punctuation, which never hold code, are not entered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import libcst as cst

# Nodes that are only layout or punctuation: nothing under them is code.
TRIVIA: tuple[type[cst.CSTNode], ...] = (
    cst.BaseParenthesizableWhitespace, cst.TrailingWhitespace, cst.EmptyLine, cst.Comment,
    cst.Newline, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
    cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.BaseBinaryOp, cst.BaseBooleanOp,
    cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp, cst.Asynchronous,
)

# A handler takes the node type it is registered for (libcst's classes are final).
Handler = Callable[[Any], None]

# Fields that hold only layout or punctuation in every node class (tests/test_walk.py checks
# them against the type annotations of all of libcst's nodes): not read at all, which halves
# the cost of a walk (most of a node's fields are whitespace and parentheses).
LAYOUT_FIELDS = frozenset({
    "lpar", "rpar", "comma", "leading_lines", "lines_after_decorators", "semicolon",
    "trailing_whitespace", "header", "footer", "equal", "colon", "dot", "lbracket",
    "rbracket", "lbrace", "rbrace", "operator", "asynchronous", "newline", "first_colon",
    "second_colon", "default_indent", "default_newline", "encoding", "has_trailing_newline",
    "indent",
})

# Per concrete type, cached: its field names that may hold code, and whether a value's type
# is a code node. Nodes are ABCs, so a plain isinstance() per value would go through ABCMeta
# on every field.
_FIELDS: dict[type, tuple[str, ...]] = {}
_CODE: dict[type, bool] = {}


_TRIVIA_SET = frozenset(TRIVIA)


def _is_code(kind: type) -> bool:
    known = _CODE.get(kind)
    if known is None:
        # From the class's own bases, not issubclass(): node classes are ABCs, and an ABC's
        # negative subclass test walks all its subclasses (the first test of each node type
        # against the 22 trivia bases cost ~0.2 ms, tens of ms of a cold run). libcst's
        # classes inherit their bases; none is registered as a virtual subclass.
        mro = kind.__mro__
        known = _CODE[kind] = cst.CSTNode in mro and not any(b in _TRIVIA_SET for b in mro)
    return known


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's direct children that can hold code, in field order (which is source order
    except in a few nodes, e.g. `IfExp` lists its test first)."""
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(kind)
            if f.name not in LAYOUT_FIELDS and not f.name.startswith("whitespace"))
    found: list[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        value_kind = type(value)
        if value_kind is tuple or value_kind is list:
            found.extend(item for item in value if _is_code(type(item)))
        elif _is_code(value_kind):
            found.append(value)
    return found


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node under it that can hold code, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def traverse(node: cst.CSTNode, on_enter: Mapping[type, Handler],
             on_leave: Mapping[type, Handler]) -> None:
    """Call `on_enter[type(n)](n)` for `node` and each node under it, parents first, and
    `on_leave[type(n)](n)` once everything under `n` was entered (exact types, no
    subclasses: libcst's node classes are final)."""
    stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        kind = type(current)
        if leaving:
            on_leave[kind](current)
            continue
        enter = on_enter.get(kind)
        if enter is not None:
            enter(current)
        if kind in on_leave:
            stack.append((current, True))
        stack.extend((child, False) for child in reversed(children(current)))
