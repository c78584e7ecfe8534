r"""What a rule is: a function that reads the analysis and yields Findings, and declares
what it needs.

    @rule("FZL106", reads=("syntax",), triggers=(r"requires_grad\s*==",))
    def requires_grad_comparison_statement(ctx: Context) -> Iterator[Finding]: ...

A rule declares its id (its name, severity, fix safety, opt-in and documentation come from
`rules/FZLnnn-*.md`), the facts it reads, and the text that can make it report: the
pre-filter (engine/prefilter.py) is built from these declarations, so a file is parsed only
when some rule could report on it. Importing `freezelint.checks` imports every module of the
package, and each `@rule` registers itself: a new rule is its module (or one function in a
theme module) and its Markdown file, nothing else (CONTRIBUTING.md).
Rules never parse, never import torch and never print.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import TypeVar

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
    """A fix as a rule states it: replacements of syntax nodes."""

    title: str
    safety: Safety
    replacements: tuple[Replacement, ...]


@dataclass(frozen=True)
class Finding:
    """What a rule reports: a node, a message, related nodes and fixes."""

    node: cst.CSTNode
    message: str
    related: tuple[tuple[cst.CSTNode, str], ...] = ()
    fixes: tuple[FixSpec, ...] = ()


@dataclass
class Context:
    """What a rule reads: the parsed file, the facts, the text."""

    module: cst.Module
    facts: Facts
    text: str
    data: dict[str, object] = field(default_factory=dict)

    def nodes(self, kind: type[NodeT]) -> list[NodeT]:
        """Every node of type `kind` in the file, in source order, for a rule that declared
        `visits=(kind,)` (and only in files its triggers found)."""
        return self.facts.syntax.nodes.get(kind, [])  # type: ignore[return-value]


NodeT = TypeVar("NodeT", bound=cst.CSTNode)
Check = Callable[[Context], Iterator[Finding]]
# A text test: a regular expression searched in the file, or a function of the file's text.
Trigger = str | Callable[[str], bool]
# What a rule may read besides the fields of Facts: the one-pass syntax collection.
SYNTAX = "syntax"
_FACTS = frozenset(f.name for f in fields(Facts))


@dataclass(frozen=True)
class Rule:
    """One rule and what it declares.

    - `reads`: the facts it reads (fields of `analysis.facts.Facts`).
    - `triggers`: text that can make it report with no model known. A file in which no
      rule's trigger is found, and which names no model, is not parsed at all.
    - `syntax`: for a rule that reads the syntax pass, the text that makes that pass worth
      running (by default its triggers; wider when a known model lets it report more).
    - `visits`: node types it wants from the syntax pass, read with `ctx.nodes(kind)`.
    """

    id: str
    check: Check
    reads: tuple[str, ...] = ()
    triggers: tuple[Callable[[str], bool], ...] = ()
    syntax: tuple[Callable[[str], bool], ...] = ()
    visits: tuple[type[cst.CSTNode], ...] = ()

    def __call__(self, ctx: Context) -> Iterator[Finding]:
        return self.check(ctx)


REGISTRY: dict[str, Rule] = {}


def rule(rule_id: str, *, reads: tuple[str, ...] = (), triggers: tuple[Trigger, ...] = (),
         syntax: tuple[Trigger, ...] | None = None,
         visits: tuple[type[cst.CSTNode], ...] = ()) -> Callable[[Check], Check]:
    """Register `check` as rule `rule_id`, with what it declares (see Rule)."""
    if visits and SYNTAX not in reads:
        reads = (*reads, SYNTAX)
    unknown = [name for name in reads if name != SYNTAX and name not in _FACTS]
    if unknown:
        raise ValueError(f"rule {rule_id} reads unknown facts: {', '.join(unknown)}")
    if SYNTAX not in reads and syntax:
        raise ValueError(f"rule {rule_id} has syntax triggers but does not read the syntax pass")

    def register(check: Check) -> Check:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        text_tests = tuple(_text_test(t) for t in triggers)
        syntax_tests = text_tests if syntax is None else tuple(_text_test(t) for t in syntax)
        REGISTRY[rule_id] = Rule(rule_id, check, tuple(reads), text_tests,
                                 syntax_tests if SYNTAX in reads else (), tuple(visits))
        return check
    return register


_COMPILED: dict[str, Callable[[str], bool]] = {}


def _text_test(trigger: Trigger) -> Callable[[str], bool]:
    """A pattern becomes its search (one per distinct pattern, shared by the rules that
    declare it, so the pre-filter searches it once), compiled when first searched: the
    pre-filter stops at the first test that matches, and most patterns are never needed."""
    if callable(trigger):
        return trigger
    test = _COMPILED.get(trigger)
    if test is None:
        test = _COMPILED[trigger] = _LazySearch(trigger)
    return test


class _LazySearch:
    """`pattern` found in a text, the pattern compiled on first use."""

    __slots__ = ("pattern", "search")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.search: Callable[[str], re.Match[str] | None] | None = None

    def __call__(self, text: str) -> bool:
        if self.search is None:
            self.search = re.compile(self.pattern).search
        return self.search(text) is not None


def fix(title: str, safety: Safety,
        *replacements: tuple[cst.CSTNode, cst.CSTNode | str | Lines]) -> FixSpec:
    return FixSpec(title, safety, tuple(Replacement(n, new) for n, new in replacements))


def parameters_argument(node: cst.CSTNode) -> cst.Call | None:
    """The `x.parameters()` an optimizer call gets as its first, positional argument: what a
    fix that keeps only the trainable parameters rewrites (FZL203, FZL209)."""
    if not isinstance(node, cst.Call) or not node.args or node.args[0].keyword is not None:
        return None
    source = node.args[0].value
    if isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute) \
            and source.func.attr.value == "parameters":
        return source
    return None


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
