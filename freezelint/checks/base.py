"""What a rule is: a function that reads the analysis and yields Findings.

A rule names only its id: its name, severity and documentation come from `rules/FZLnnn-*.md`.
Rules never parse, never import torch and never print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from freezelint.analysis.facts import Facts
from freezelint.common.diagnostics import Safety


@dataclass(frozen=True)
class Lines:
    """Several statements replacing one: rendered one per line at the indentation of the
    statement they replace, with the file's own line ending."""

    parts: tuple[cst.CSTNode | str, ...]


@dataclass(frozen=True)
class Replacement:
    """Replace `node` with `new` (a node rendered by libcst, raw text, or Lines)."""

    node: cst.CSTNode
    new: cst.CSTNode | str | Lines


@dataclass(frozen=True)
class FixSpec:
    title: str
    safety: Safety
    replacements: tuple[Replacement, ...]


@dataclass(frozen=True)
class Finding:
    node: cst.CSTNode
    message: str
    related: tuple[tuple[cst.CSTNode, str], ...] = ()
    fixes: tuple[FixSpec, ...] = ()


@dataclass
class Context:
    module: cst.Module
    facts: Facts
    text: str
    data: dict[str, object] = field(default_factory=dict)


Check = Callable[[Context], Iterator[Finding]]
REGISTRY: dict[str, Check] = {}


def rule(rule_id: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        REGISTRY[rule_id] = check
        return check
    return register


def fix(title: str, safety: Safety,
        *replacements: tuple[cst.CSTNode, cst.CSTNode | str | Lines]) -> FixSpec:
    return FixSpec(title, safety, tuple(Replacement(n, new) for n, new in replacements))


def examples(names: list[str] | set[str], limit: int = 3) -> str:
    """`a`, `b`, `c` and 12 more: a message names a few real parameters, never 159."""
    ordered = list(names)
    shown = ", ".join(f"`{n}`" for n in ordered[:limit])
    rest = len(ordered) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def torch_nn(module: cst.Module) -> tuple[str, FixImport | None]:
    """How this file can name `torch.nn`, and the import a fix must add when it cannot:
    `nn` after `import torch.nn as nn` or `from torch import nn`, `torch.nn` after
    `import torch`, otherwise `nn` plus `from torch import nn`."""
    last_import: cst.BaseSmallStatement | None = None
    has_torch = False
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                last_import = small
                for alias in small.names:
                    name = _dotted(alias.name)
                    if name == "torch.nn" and alias.asname is not None:
                        return _alias(alias), None
                    has_torch = has_torch or (name.split(".")[0] == "torch"
                                              and alias.asname is None)
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                last_import = small
                if small.module is not None and _dotted(small.module) == "torch":
                    for alias in small.names:
                        if _dotted(alias.name) == "nn":
                            return _alias(alias), None
    if has_torch:
        return "torch.nn", None
    if last_import is None:
        return "nn", None  # no import to add it after: callers offer no fix
    return "nn", FixImport(last_import, "from torch import nn")


@dataclass(frozen=True)
class FixImport:
    """An import a fix needs, added once after the file's last top-level import."""

    after: cst.BaseSmallStatement
    line: str

    def replacement(self) -> tuple[cst.CSTNode, Lines]:
        return self.after, Lines((self.after, self.line))


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return node.value if isinstance(node, cst.Name) else ""


def _alias(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _dotted(alias.name)
