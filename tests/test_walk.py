"""analysis/walk.py reads a node's children without rebuilding the tree, and skips the fields
that only hold layout: nothing that can hold code is ever skipped."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import libcst as cst
import pytest

from freezelint.analysis.walk import LAYOUT_FIELDS, TRIVIA, children, walk

ROOT = Path(__file__).resolve().parent.parent

NODE_CLASSES = [value for name in dir(cst) if isinstance(value := getattr(cst, name), type)
                and issubclass(value, cst.CSTNode) and dataclasses.is_dataclass(value)]


def _types(annotation: object) -> set[object]:
    origin_args = typing.get_args(annotation)
    if typing.get_origin(annotation) is None:
        return {annotation}
    return set().union(*(_types(arg) for arg in origin_args))


def _may_hold_code(annotation: object) -> bool:
    return any(not isinstance(t, type)  # anything not plainly a class: assume code
               or (issubclass(t, cst.CSTNode) and not issubclass(t, TRIVIA))
               for t in _types(annotation))


@pytest.mark.parametrize("kind", NODE_CLASSES, ids=lambda kind: kind.__name__)
def test_no_skipped_field_can_hold_code(kind: type) -> None:
    hints = typing.get_type_hints(kind)
    for field in dataclasses.fields(kind):
        if field.name in LAYOUT_FIELDS or field.name.startswith("whitespace"):
            assert not _may_hold_code(hints[field.name]), (kind.__name__, field.name)


def _all_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Every child that is a code node, reading every field (what walk.children skips
    nothing of)."""
    found = []
    for field in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, field.name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, cst.CSTNode) and not isinstance(item, TRIVIA):
                found.append(item)
    return found


def test_children_are_every_code_child_in_real_code() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "freezelint").rglob("*.py"))]
    nodes = 0
    for text in texts:
        for node in walk(cst.parse_module(text)):
            assert children(node) == _all_children(node), type(node).__name__
            nodes += 1
    assert nodes > 100_000
