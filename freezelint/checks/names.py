"""FZL101 and FZL102: literals compared with real parameter and module names."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from freezelint.analysis.facts import NameTest
from freezelint.analysis.walk import walk
from freezelint.checks import layer_kinds
from freezelint.checks.base import Context, Finding, FixSpec, examples, fix, plural, rule
from freezelint.checks.layer_kinds import (
    KindSpelling,
    in_collection,
    kind_spelling,
    other_architectures_norm,
)
from freezelint.common.diagnostics import Safety
from freezelint.common.torch_api import STACKED_PREFIXES

_KIND_PHRASE = {
    "equal": "matches no {domain} name of {model}",
    "substring": "occurs in no {domain} name of {model}",
    "prefix": "starts no {domain} name of {model}",
    "suffix": "ends no {domain} name of {model}",
    "regex": "matches no {domain} name of {model}",
}


@rule("FZL101", reads=("name_tests",))
def name_matches_nothing(ctx: Context) -> Iterator[Finding]:
    alternatives = _Alternatives(ctx)
    for test in ctx.facts.name_tests.values():
        if test.matched or not test.tested or test.model.is_opaque(test.literal) \
                or test.model.manifest.could_match(test.literal, test.kind):
            continue
        manifest = test.model.manifest
        if _matches_known(test):
            continue
        others = alternatives.of(test.node)
        if any(_matched_within(ctx, other) for other in others):
            # One alternative of several (`"classifier" in n or "score" in n`): code written
            # for more than one architecture, of which this model has the other.
            continue
        domain_names = sorted(test.tested, key=_order(manifest))
        phrase = _KIND_PHRASE[test.kind].format(domain=test.domain, model=f"`{test.model.label}`")
        message = f"'{test.literal}' {phrase} ({plural(len(domain_names), test.domain)})"
        if other_architectures_norm(ctx.module, test.node, test.literal, ctx.facts.name_tests,
                                    manifest, ctx.facts.owner):
            continue
        spelling = kind_spelling(test.literal, manifest) if test.kind in {"substring", "suffix"} \
            else None
        if spelling is not None:  # a class name where a layer name belongs: all the names
            yield _kind_finding(ctx, test, message, spelling)
            continue
        from freezelint.models.suggest import suggestions  # (difflib: a finding only)

        options = suggestions(test.literal, domain_names, manifest, test.kind)
        if test.literal.endswith(".") and test.kind in {"prefix", "substring"}:
            # A layer prefix keeps its dot: 'layer.1' would also match layers 10 and 11.
            options = list(dict.fromkeys(o if o.endswith(".") else o + "." for o in options))
        parameterless = _parameterless_only(test)
        if parameterless:
            message += (f"; only modules without parameters have it "
                        f"({examples(parameterless, 2)}), so this test is always false")
        fixes: tuple[FixSpec, ...] = ()
        if options:
            message += f"; did you mean '{options[0]}'?"
            # No fix among alternatives: another dead one may get the same suggestion, and
            # an existing one may already be it (`"classifier" in n or "classifier" in n`).
            taken = {lit for other in others for lit in _literals(other)}
            alone = not any(sub in ctx.facts.name_tests for o in others for sub in walk(o))
            if isinstance(test.node, cst.SimpleString) and alone and options[0] not in taken:
                fixes = (fix(f"Replace with '{options[0]}'", Safety.UNSAFE,
                             (test.node, _requote(test.node, options[0]))),)
            if len(options) > 1:
                message += " Other close names: " + examples(options[1:]) + "."
        yield Finding(test.node, message, fixes=fixes)


def _kind_finding(ctx: Context, test: NameTest, message: str,
                  spelling: KindSpelling) -> Finding:
    fixes: tuple[FixSpec, ...] = ()
    node = test.node
    if spelling.entries and isinstance(node, cst.SimpleString) \
            and in_collection(ctx.module, node, ctx.facts.owner):
        strings = ", ".join(_requote(node, entry) for entry in spelling.entries)
        fixes = (fix(f"Replace with {strings}", Safety.UNSAFE, (node, strings)),)
    return Finding(node, message + layer_kinds.message(spelling), fixes=fixes)


class _Alternatives:
    """The other operands of the `or` chains a string literal sits in, read from the one
    top-level statement that holds the literal (the interpreter recorded which: `owner`),
    each statement once, not from the whole module per dead literal."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.statements: dict[int, tuple[set[cst.CSTNode], dict[cst.CSTNode, list[cst.CSTNode]]]] = {}
        self.module: dict[cst.CSTNode, list[cst.CSTNode]] | None = None

    def of(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        if not isinstance(node, cst.SimpleString):
            return []  # only a literal's own chains are read
        body = self.ctx.module.body
        top = self.ctx.facts.owner.get(node)
        if top is not None and 0 <= top < len(body):
            found = self.statements.get(top)
            if found is None:
                found = self.statements[top] = (set(walk(body[top])),
                                                 _or_alternatives(body[top]))
            if node in found[0]:
                return found[1].get(node, [])
        if self.module is None:  # not placed in a statement: the whole module
            self.module = _or_alternatives(self.ctx.module)
        return self.module.get(node, [])


def _or_alternatives(root: cst.CSTNode) -> dict[cst.CSTNode, list[cst.CSTNode]]:
    """For each string literal inside an operand of an `or` chain under `root`, the chain's
    other operands. A chain is read from its outermost `or` only: an inner one
    (`a or b` in `a or b or c`) has a part of the same operands, whose others are already
    listed. A parenthesized `or` counts as one operand; on its own it lists nothing (the
    chains inside it do)."""
    found: dict[cst.CSTNode, list[cst.CSTNode]] = {}
    inner: set[cst.CSTNode] = set()
    for node in walk(root):
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or) \
                and not node.lpar and node not in inner:
            operands = _or_operands(node, inner)
            for operand in operands:
                others = [o for o in operands if o is not operand]
                for sub in walk(operand):
                    if isinstance(sub, cst.SimpleString):
                        found.setdefault(sub, []).extend(others)
    return found


def _or_operands(node: cst.BaseExpression,
                 inner: set[cst.CSTNode] | None = None) -> list[cst.BaseExpression]:
    """The operands of the chain `node` heads (itself, if parenthesized); its nested `or`
    nodes are added to `inner`."""
    operands: list[cst.BaseExpression] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BooleanOperation) and isinstance(current.operator, cst.Or) \
                and not current.lpar:
            if current is not node and inner is not None:
                inner.add(current)
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    return operands


def _matched_within(ctx: Context, node: cst.CSTNode) -> bool:
    tests = ctx.facts.name_tests
    return any(sub in tests and tests[sub].matched for sub in walk(node))


def _literals(node: cst.CSTNode) -> set[str]:
    return {str(sub.evaluated_value) for sub in walk(node) if isinstance(sub, cst.SimpleString)}


def _parameterless_only(test: NameTest) -> list[str]:
    """Module paths the literal passes that hold no parameter (`dropout`, `act`): on
    parameter names such a test is always false."""
    if test.domain != "parameter":
        return []
    manifest = test.model.manifest
    holding = {p.name.rsplit(".", 1)[0] for p in manifest.parameters}
    holding |= {path.rsplit(".", i)[0] for path in list(holding)
                for i in range(1, path.count(".") + 1)}
    return [m for m in manifest.module_paths
            if m and m not in holding and _passes(m, test.literal, test.kind)]


def _passes(name: str, literal: str, kind: str) -> bool:
    if kind == "equal":
        return name == literal
    if kind == "substring":
        return literal in name
    if kind == "prefix":
        return name.startswith(literal)
    if kind == "suffix":
        return name.endswith(literal)
    return False


def _matches_known(test: NameTest) -> bool:
    """A literal that is a real name under another naming (transformers 4.x vs 5.x, a buffer,
    a module used in a parameter loop) is not a name that matches nothing; a module without
    parameters is not a name a parameter test can match."""
    known = test.model.manifest.all_known_names() - set(_parameterless_only(test))
    # Names yielded through a wrapper (`module.` after DataParallel) carry its prefix.
    wrapped = next((p for p in STACKED_PREFIXES
                    if test.tested and all(n.startswith(p) for n in test.tested)),
                   "")
    if wrapped:
        known = {wrapped + n for n in known}
    literal = test.literal
    if test.kind == "equal":
        return literal in known
    if test.kind == "substring":
        return any(literal in n for n in known)
    if test.kind == "prefix":
        return any(n.startswith(literal) for n in known)
    if test.kind == "suffix":
        return any(n.endswith(literal) for n in known)
    try:
        pattern = re.compile(literal)
    except re.error:
        return True
    return any(pattern.search(n) for n in known)


def _order(manifest):  # type: ignore[no-untyped-def]
    index = {n: i for i, n in enumerate(manifest.parameter_names)}
    return lambda name: (index.get(name, len(index)), name)


def _requote(node: cst.SimpleString, value: str) -> str:
    return f"{node.prefix}{node.quote}{value}{node.quote}"


@rule("FZL102", reads=("name_tests",))
def name_overmatch(ctx: Context) -> Iterator[Finding]:
    for test in ctx.facts.name_tests.values():
        if test.kind not in {"substring", "prefix"} or len(test.matched) < 2 \
                or test.model.manifest.could_match(test.literal, test.kind):
            continue
        literal = test.literal
        clean = [n for n in test.matched if _clean_match(literal, n)]
        stray = [n for n in test.matched if n not in clean]
        if not clean or not stray:
            continue
        order = _order(test.model.manifest)
        clean.sort(key=order)
        stray.sort(key=order)
        intended = literal if literal.endswith(".") else literal + "."
        message = (
            f"'{literal}' matches {plural(len(test.matched), test.domain)} of "
            f"`{test.model.label}`: {len(clean)} where it is a whole name part "
            f"({examples(clean, 2)}) and {len(stray)} more inside longer names "
            f"({examples(stray, 3)}); write '{intended}' to match only the first")
        fixes: tuple[FixSpec, ...] = ()
        if isinstance(test.node, cst.SimpleString) and not literal.endswith("."):
            fixes = (fix(f"Match whole name parts with '{intended}'", Safety.UNSAFE,
                         (test.node, _requote(test.node, intended))),)
        yield Finding(test.node, message, fixes=fixes)


def _clean_match(literal: str, name: str) -> bool:
    """True when `literal` occurs in `name` at dotted-part boundaries on both sides."""
    start = name.find(literal)
    while start != -1:
        end = start + len(literal)
        left = start == 0 or name[start - 1] == "." or literal.startswith(".")
        right = end == len(name) or name[end] == "." or literal.endswith(".")
        if left and right:
            return True
        start = name.find(literal, start + 1)
    return False
